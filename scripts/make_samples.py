"""Regenerate samples/: the blank-template-based sample inbox a bureau would receive.

Usage: python scripts/make_samples.py [OUTDIR]   (default: samples/)
       python scripts/make_samples.py --round [OUTDIR]   (only the round's files: roster, ledger, last year)

Every workbook is the tool's own template filled with openpyxl (as a person would), then, for the
broken ones, edited the way people break them. See samples/README.md for the list.
"""

from __future__ import annotations

import io
import shutil
import sys
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from selfeval_xlsx.layout import BUDGET_SHEET, INDICATOR_SHEET, META_SHEET_NAME

# the sample data and the openpyxl filler are the tests' fixtures (tests/), not part of the package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import sampledata
from openpyxl_fill import filled_bytes

#: 基本支出 + 项目支出 = 合计 (the seed's totals), as a department's table splits them.
SPLIT = {
    "budget.basic": {"initial": "2593.66", "adjusted": "2683.28", "executed": "2624.90"},
    "budget.project": {"initial": "6000.00", "adjusted": "7200.00", "executed": "6100.00"},
}


def gbk_zip(members: dict[str, bytes]) -> bytes:
    """A zip as made by Chinese Windows' built-in compressor: names stored as GBK bytes, no UTF-8 flag.

    zipfile writes a non-ASCII name as UTF-8 with the flag set, so each member is written under an ASCII
    placeholder of the GBK name's length, whose bytes (local header and central directory) are then
    replaced by the GBK bytes; no checksum covers names."""
    buf = io.BytesIO()
    swaps: list[tuple[bytes, bytes]] = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, (name, data) in enumerate(members.items()):
            raw = name.encode("gbk")
            placeholder = f"~gbk{n}~".ljust(len(raw), "_").encode("ascii")
            assert len(placeholder) == len(raw)
            swaps.append((placeholder, raw))
            info = zipfile.ZipInfo(placeholder.decode("ascii"), date_time=(2024, 1, 18, 9, 30, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    out = buf.getvalue()
    for placeholder, raw in swaps:
        assert out.count(placeholder) == 2  # local file header and central directory
        out = out.replace(placeholder, raw)
    return out


def email_with(attachment: bytes, filename: str, sender: str, when: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "jxg@zhaoxian-czj.example"
    msg["Subject"] = "报送2023年度整体支出绩效自评表"
    msg["Date"] = format_datetime(when)
    msg.set_content("您好，附件是我单位2023年度整体支出绩效自评表，请查收。")
    msg.add_attachment(
        attachment,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=filename,  # non-ASCII → RFC 2231 filename*=utf-8''…
    )
    return bytes(msg)


def main(out: Path) -> None:
    inbox = out / "inbox"
    if inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True)
    towns = [sampledata.township(i) for i in range(len(sampledata.TOWNS))]
    seed = sampledata.seed()

    def put(name: str, data: bytes) -> None:
        (inbox / name).write_bytes(data)

    seed_bytes = filled_bytes(seed, sampledata.YEAR)
    put("宋营镇2023自评表(修改).xlsx", seed_bytes)
    put("~$宋营镇2023自评表(修改).xlsx", b"\x05yinhua".ljust(165, b"\x00"))  # Excel's lock file
    put("宋营镇2023自评表(修改) - 副本.xlsx", seed_bytes)  # byte-identical copy
    put("城关街道2023年度自评表.xlsx", filled_bytes(towns[0], sampledata.YEAR))
    # 石桥镇 sent twice: the later 填报日期 wins
    early = sampledata.variant(
        towns[1], **{"identity.filled_on": "2024-01-08", "self_assessment.total": "99"}
    )
    put("石桥镇自评表.xlsx", filled_bytes(early, sampledata.YEAR))
    put("石桥镇自评表（更正）.xlsx", filled_bytes(towns[1], sampledata.YEAR))
    put("新建 Microsoft Excel 工作表.xlsx", filled_bytes(towns[2], sampledata.YEAR))  # 柏林镇, >100%
    (inbox / "邮件").mkdir()
    (inbox / "邮件" / "梨园镇报送自评表.eml").write_bytes(
        email_with(
            filled_bytes(towns[3], sampledata.YEAR),
            "梨园镇2023年整体支出绩效自评表.xlsx",
            "梨园镇财政所 <lyz@example.cn>",
            datetime(2024, 1, 16, 10, 5, tzinfo=UTC),
        )
    )
    put("洨河镇.xlsx", filled_bytes(towns[4], sampledata.YEAR))
    put(
        "安济镇自评材料.zip",
        gbk_zip({"安济镇/安济镇2023自评表.xlsx": filled_bytes(towns[5], sampledata.YEAR)}),
    )
    put("永通乡2023.xlsx", filled_bytes(towns[6], sampledata.YEAR))
    put("清水乡2023.xlsx", filled_bytes(towns[7], sampledata.YEAR))
    put("槐树乡2023.xlsx", filled_bytes(towns[8], sampledata.YEAR))
    put("关于报送绩效自评材料的通知.pdf", b"%PDF-1.4\n% not a workbook\n%%EOF\n")
    # a county department (统一社会信用代码, no township code) whose budget is split 基本/项目支出
    department = sampledata.variant(sampledata.department(), **SPLIT)
    put("赵县农业农村局2023部门整体自评.xlsx", filled_bytes(department, sampledata.YEAR))
    # a second evaluation of 宋营镇 in the same year: one project's, kept beside the 整体 one
    put(
        "宋营镇2023人居环境整治项目自评.xlsx",
        filled_bytes(sampledata.project(seed, "农村人居环境整治项目"), sampledata.YEAR),
    )

    # --- broken submissions, edited the way people break them --------------------------------------
    bad = sampledata.township(0, seed_value=101)

    def text_amount(wb) -> None:  # type: ignore[no-untyped-def]
        from selfeval_xlsx.layout import grid_cell

        r, c = grid_cell(BUDGET_SHEET.find("budget"), "total", "executed")
        wb[BUDGET_SHEET.name].cell(r, c).value = "约8700万"

    put(
        "错误样例-金额填文字.xlsx",
        filled_bytes(
            sampledata.variant(
                bad, **{"identity.unit_name": "北沙乡人民政府", "identity.division_code": "130133204000"}
            ),
            sampledata.YEAR,
            text_amount,
        ),
    )

    def drop_indicators(wb) -> None:  # type: ignore[no-untyped-def]
        del wb[INDICATOR_SHEET.name]  # (a missing 评价小组 is only a warning: the panel is optional)

    put(
        "错误样例-缺少绩效指标表.xlsx",
        filled_bytes(
            sampledata.variant(
                bad, **{"identity.unit_name": "南沙乡人民政府", "identity.division_code": "130133205000"}
            ),
            sampledata.YEAR,
            drop_indicators,
        ),
    )
    weights = sampledata.variant(
        bad, **{"identity.unit_name": "东河乡人民政府", "identity.division_code": "130133206000"}
    )
    weights["indicators"][0]["weight"] = 10  # total 85
    put("错误样例-分值合计不符.xlsx", filled_bytes(weights, sampledata.YEAR))
    typo = sampledata.variant(department, **{"identity.credit_code": sampledata.DEPARTMENT_CODE[:-1] + "0"})
    put("错误样例-信用代码错误.xlsx", filled_bytes(typo, sampledata.YEAR))  # last character mistyped
    put(
        "错误样例-区划代码错误.xlsx",
        filled_bytes(
            sampledata.variant(
                bad, **{"identity.unit_name": "西河乡人民政府", "identity.division_code": "130199207000"}
            ),
            sampledata.YEAR,
        ),
    )

    def old_template(wb) -> None:  # type: ignore[no-untyped-def]
        ws = wb[META_SHEET_NAME]
        for row in ws.iter_rows(min_col=1, max_col=2):
            if row[0].value == "template_version":
                row[1].value = "0.9"

    put(
        "错误样例-旧版模板.xlsx",
        filled_bytes(
            sampledata.variant(
                bad, **{"identity.unit_name": "北河乡人民政府", "identity.division_code": "130133208000"}
            ),
            sampledata.YEAR,
            old_template,
        ),
    )
    print(f"wrote {sum(1 for p in inbox.rglob('*') if p.is_file())} files under {inbox}")


# --- the collection round: roster, the bureau's ledger, last year's roll-up ---------------------------

#: The roster: (name, code, contact, phone, e-mail). Every accepted sample unit, three returned ones,
#: and two that sent nothing (韩村镇 with an e-mail: a reminder draft; 谢庄乡 without). 北河乡 and
#: 西河乡 (returned samples) are not on it: they show as units not on the roster.
ROSTER_EXTRA = [
    ("北沙乡人民政府", f"{sampledata.COUNTY_CODE}204000", "孙丽", "0311-84960204", ""),
    ("南沙乡人民政府", f"{sampledata.COUNTY_CODE}205000", "马静", "0311-84960205", ""),
    ("东河乡人民政府", f"{sampledata.COUNTY_CODE}206000", "郭涛", "0311-84960206", "dhx@example.cn"),
    ("韩村镇人民政府", f"{sampledata.COUNTY_CODE}107000", "冯敏", "0311-84960107", "hcz@example.cn"),
    ("谢庄乡人民政府", f"{sampledata.COUNTY_CODE}207000", "罗勇", "0311-84960207", ""),
]
#: The ledger's 全年执行数 of 洨河镇 differs from what it reported (by 12.3456 万元).
LEDGER_DIFFERS = ("洨河镇人民政府", "executed", Decimal("12.3456"))
#: Not in the ledger (the budget system files it under another code): its figures are not checked.
LEDGER_MISSING = "槐树乡人民政府"
#: Last year (2022): 清水乡's indicators are those of 2023 word for word (copied), the others differ.
COPIED = 7


def _accepted_units() -> list[dict]:  # type: ignore[type-arg]
    return [
        sampledata.seed(),
        *(sampledata.township(i) for i in range(len(sampledata.TOWNS))),
        sampledata.variant(sampledata.department(), **SPLIT),
    ]


def write_roster(path: Path) -> None:
    """The roster as a clerk types it in Excel: a title row, a header with *, codes typed as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "报送单位名单"
    ws.append([f"{sampledata.COUNTY}{sampledata.YEAR}年度整体支出绩效自评报送单位名单"])
    ws.merge_cells("A1:F1")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(["序号", "单位名称*", "行政区划代码/统一社会信用代码", "联系人", "联系电话", "电子邮箱"])
    emails = {"梨园镇人民政府": "lyz@example.cn", "宋营镇人民政府": "syz@example.cn"}
    rows = []
    for d in _accepted_units():
        ident = d["identity"]
        code = ident.get("division_code") or ident.get("credit_code")
        rows.append(
            (ident["unit_name"], code, ident["preparer"], ident["phone"], emails.get(ident["unit_name"], ""))
        )
    rows += ROSTER_EXTRA
    for n, (name, code, contact, phone, email) in enumerate(rows, start=1):
        ws.append([n, name, code, contact, phone, email])
        ws.cell(ws.max_row, 3).number_format = "@"
    for col, width in zip("ABCDEF", (6, 22, 24, 10, 16, 22), strict=True):
        ws.column_dimensions[col].width = width
    wb.save(path)


def write_ledger(path: Path) -> None:
    """The bureau's budget-system export: a .csv in GBK (as Excel on Chinese Windows saves it), in 元,
    with a title line and a 单位：元 line above the header."""
    lines = [f"{sampledata.COUNTY}{sampledata.YEAR}年度预算执行情况（预算管理一体化系统导出）", "单位：元"]
    lines.append("单位编码,单位名称,年初预算数,全年预算数,全年执行数")
    for d in _accepted_units():
        ident = d["identity"]
        if ident["unit_name"] == LEDGER_MISSING:
            continue
        total = {k: Decimal(v) for k, v in d["budget"]["total"].items()}
        name, key, diff = LEDGER_DIFFERS
        if ident["unit_name"] == name:
            total[key] += diff
        code = ident.get("division_code") or ident.get("credit_code")
        yuan = [f"{(total[k] * 10000):.2f}" for k in ("initial", "adjusted", "executed")]
        lines.append(",".join([code, ident["unit_name"], *(f'"{_thousands(y)}"' for y in yuan)]))
    lines.append(
        f'{sampledata.COUNTY_CODE}107000,韩村镇人民政府,"32,150,000.00","33,870,000.00","30,120,500.00"'
    )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))


def _thousands(text: str) -> str:
    whole, _, cents = text.partition(".")
    return f"{int(whole):,}.{cents}"


def _last_year(data: dict, index: int) -> dict:  # type: ignore[type-arg]
    """A unit's 2022 workbook: year and dates a year earlier, other figures, lower numeric actuals
    (except 清水乡's indicators, which 2023 copies word for word)."""
    ident = data["identity"]
    last = (
        sampledata.township(index, seed_value=2022 + index)
        if index not in (-1, COPIED)
        else sampledata.variant(data)
    )
    if index != COPIED:  # last year's numeric actuals a step lower, its own year in the text
        for row in last["indicators"]:
            actual = row.get("actual")
            if isinstance(actual, int | float | Decimal) or str(actual).replace(".", "").isdigit():
                row["actual"] = str((Decimal(str(actual)) * Decimal("0.9")).quantize(Decimal("0.01")))
            elif isinstance(actual, str):
                row["actual"] = actual.replace(str(sampledata.YEAR), str(sampledata.YEAR - 1))
    last["identity"] = {**last["identity"], "unit_name": ident["unit_name"], "year": sampledata.YEAR - 1}
    last["identity"]["filled_on"] = last["identity"]["filled_on"].replace(
        str(sampledata.YEAR + 1), str(sampledata.YEAR)
    )
    return last


def write_last_year(folder: Path) -> None:
    """Last year's output, made by running the tool on the 2022 workbooks of the accepted units; only
    ``rollup.json`` and the roll-up workbook are kept."""
    import tempfile

    from selfeval_xlsx.api import merge

    units = [
        (-1, sampledata.seed()),
        *((i, sampledata.township(i)) for i in range(len(sampledata.TOWNS))),
        (-1, sampledata.variant(sampledata.department(), **SPLIT)),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        inbox, out = Path(tmp) / "inbox", Path(tmp) / "out"
        inbox.mkdir()
        for n, (index, data) in enumerate(units):
            (inbox / f"{n:02d}.xlsx").write_bytes(filled_bytes(_last_year(data, index), sampledata.YEAR - 1))
        merge(inbox, out, jobs=1)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for p in out.iterdir():
            if p.name == "rollup.json" or p.name.startswith("汇总_"):
                shutil.copy2(p, folder / p.name)


def round_samples(out: Path) -> None:
    write_roster(out / "roster.xlsx")
    write_ledger(out / "ledger.csv")
    write_last_year(out / "last-year")
    print(f"wrote {out / 'roster.xlsx'}, {out / 'ledger.csv'} and {out / 'last-year'}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--round"]
    target = Path(args[0]) if args else Path(__file__).resolve().parents[1] / "samples"
    if "--round" not in sys.argv:
        main(target)
    round_samples(target)
