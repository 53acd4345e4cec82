"""The collection round's inputs, as a clerk makes them: rosters, ledger exports, last year's roll-up;
the 报送情况 statuses, prefilled workbooks and reminder drafts (issue 17)."""

from __future__ import annotations

import email
import io
import json
from decimal import Decimal
from email.policy import default as default_policy
from pathlib import Path

import openpyxl
import pytest
import sampledata

from selfeval_xlsx import messages
from selfeval_xlsx.api import validate_workbook
from selfeval_xlsx.collection.ledger import Reported, check_ledger, compare, read_ledger
from selfeval_xlsx.collection.prefill import prefilled_file_name, write_prefilled, write_prefilled_all
from selfeval_xlsx.collection.previous import Indicator, PreviousIndicator, copied_indicators, read_previous
from selfeval_xlsx.collection.reminders import reminder_draft
from selfeval_xlsx.collection.roster import Roster, RosterUnit, read_roster
from selfeval_xlsx.collection.status import MISSING, PASSED, RETURNED, Receipt, round_status
from selfeval_xlsx.findings import CODES
from selfeval_xlsx.layout import cell_of
from selfeval_xlsx.rules import load_rules

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
TOWN = f"{sampledata.COUNTY_CODE}101000"
HEADER = ["序号", "单位名称", "行政区划代码", "联系人", "联系电话", "电子邮箱"]


def excel_roster(rows: list[list[object]], header: list[str] = HEADER) -> bytes:
    """A roster as typed in Excel: a merged title row above the header."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["赵县2023年度自评报送单位名单"])
    ws.merge_cells("A1:F1")
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(lines: list[str], encoding: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


# --- roster ---------------------------------------------------------------------------------------------


def test_roster_from_excel_with_a_title_row_and_codes_typed_as_numbers():
    data = excel_roster(
        [
            [1, "宋营镇人民政府", 130133101000, "尹华", "0311-84950000", "syz@example.cn"],
            [2, "赵县农业农村局", sampledata.DEPARTMENT_CODE, "", "", ""],
        ]
    )
    roster = read_roster(data, name="名单.xlsx")
    assert roster.findings == []
    assert [(u.row, u.code, u.name, u.email) for u in roster.units] == [
        (3, TOWN, "宋营镇人民政府", "syz@example.cn"),
        (4, sampledata.DEPARTMENT_CODE, "赵县农业农村局", ""),
    ]
    assert roster.units[0].contact == "尹华" and roster.units[0].phone == "0311-84950000"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_roster_from_csv_as_excel_on_chinese_windows_saves_it(encoding):
    lines = [
        "单位全称,统一社会信用代码,经办人,手机,邮箱",
        f"宋营镇人民政府,{TOWN},尹华,13800000000,syz@example.cn",
    ]
    roster = read_roster(csv_bytes(lines, encoding), name="名单.csv")
    assert roster.findings == []
    assert [(u.code, u.name, u.contact, u.phone) for u in roster.units] == [
        (TOWN, "宋营镇人民政府", "尹华", "13800000000")
    ]


def test_a_bad_roster_gets_every_problem_with_its_row():
    lines = [
        "赵县报送单位名单",
        "单位名称*,单位代码,联系人,电子邮箱",
        f"宋营镇人民政府,{TOWN},尹华,syz@example",  # row 3: bad e-mail
        f"重复镇,{TOWN},,",  # row 4: duplicate code
        ",130133102000,,",  # row 5: no name
        "乱码镇,12345,,",  # row 6: malformed code
        "假县镇,999999101000,,",  # row 7: unknown county
        "长安区某街道,130102001000,,",  # row 8: another county
        "无码单位,,,",  # row 9: no code
    ]
    roster = read_roster(csv_bytes(lines, "gbk"), name="名单.csv")
    got = [(f.code, f.cell) for f in roster.findings]
    assert got == [
        ("roster-bad-email", "D3"),
        ("roster-duplicate", "B4"),
        ("roster-no-name", "B5"),
        ("roster-bad-code", "B6"),
        ("roster-unknown-county", "B7"),
        ("roster-other-county", "B8"),
        ("roster-no-code", "B9"),
    ]
    messages = {f.code: f.message for f in roster.findings}
    assert "第4行" in messages["roster-duplicate"] and "第3行" in messages["roster-duplicate"]
    assert "长安区" in messages["roster-other-county"] and "赵县" in messages["roster-other-county"]
    assert [u.name for u in roster.units] == [
        "宋营镇人民政府",
        "乱码镇",
        "假县镇",
        "长安区某街道",
        "无码单位",
    ]
    assert roster.units[0].email == ""  # a malformed address is never used for a reminder


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "旧版.xls"),
        (csv_bytes(["甲,乙", "1,2"], "gbk"), "找不到表头"),
        (b"PK\x03\x04broken", "无法"),
        (bytes([0x81, 0x20, 0xFF, 0xFE]) * 10, "编码"),
    ],
)
def test_an_unreadable_roster_is_one_finding_never_an_exception(data, reason):
    roster = read_roster(data, name="名单")
    assert not roster.usable
    assert roster.findings[0].code == "roster-unreadable"
    assert reason in roster.findings[0].message


# --- ledger ---------------------------------------------------------------------------------------------


def test_ledger_in_yuan_from_a_gbk_export_with_a_unit_line():
    lines = [
        "赵县2023年度预算执行情况",
        "单位：元",
        "单位编码,单位名称,年初预算数,全年预算数,全年执行数",
        f'{TOWN},宋营镇人民政府,"85,936,600.00","98,832,800.00",87249000',
        "合计,,1,2,3",
    ]
    ledger = read_ledger(csv_bytes(lines, "gbk"), name="台账.csv")
    assert ledger.findings == [] and ledger.unit == "元"
    (row,) = ledger.rows
    assert (row.initial, row.adjusted, row.executed) == (
        Decimal("8593.66"),
        Decimal("9883.28"),
        Decimal("8724.9"),
    )
    assert row.rate == Decimal("88.28")


def test_ledger_unit_from_a_column_header_or_the_caller():
    wb_rows = [["单位名称", "全年预算数（万元）", "全年执行数（万元）"], ["宋营镇", 9883.28, 8724.9]]
    wb = openpyxl.Workbook()
    for r in wb_rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    ledger = read_ledger(buf.getvalue(), name="台账.xlsx")
    assert ledger.unit == "万元" and ledger.rows[0].adjusted == Decimal("9883.28")
    plain = csv_bytes(["单位名称,全年预算数,全年执行数", "宋营镇,98832800,87249000"], "utf-8-sig")
    assert [f.code for f in read_ledger(plain, name="台账.csv").findings] == ["ledger-unit"]
    assert read_ledger(plain, name="台账.csv", unit="元").rows[0].adjusted == Decimal("9883.28")


def test_ledger_compared_at_the_reported_cells_with_both_figures():
    lines = [
        "单位：万元",
        "单位名称,全年预算数,全年执行数",
        "宋营镇,9883.28,8700.00",
        "韩村镇,100,90",
        "石桥镇,1,约2",
    ]
    ledger = read_ledger(csv_bytes(lines, "gbk"), name="台账.csv")
    assert [(f.code, f.cell) for f in ledger.findings] == [("ledger-bad-number", "C5")]
    units = [
        Reported(TOWN, "宋营镇人民政府", "宋营镇.xlsx", None, Decimal("9883.29"), Decimal("8724.90")),
        Reported("130133203000", "槐树乡人民政府", "槐树乡.xlsx", None, Decimal(1), Decimal(1)),
    ]
    matched, found = check_ledger(ledger, units, tolerance=load_rules().ledger_tolerance)
    assert matched[TOWN].name == "宋营镇"
    assert [(f.code, f.file, f.sheet, f.cell) for f in found] == [
        (
            "ledger-mismatch",
            "宋营镇.xlsx",
            *cell_of("/budget/total/executed"),
        ),  # 0.01 off is within tolerance
        ("ledger-missing", "槐树乡.xlsx", None, None),
        ("ledger-not-submitted", "台账.csv", None, None),
        ("ledger-not-submitted", "台账.csv", None, None),
    ]
    assert "8724.90" in found[0].message and "8700.00" in found[0].message and "多24.90" in found[0].message
    assert compare(ledger.rows[0], {"adjusted": Decimal("9883.30")}, tolerance=Decimal("0.01"))


def test_ledger_tolerance_is_a_profile_setting(tmp_path):
    profile = json.loads((Path(load_rules().source)).read_text(encoding="utf-8"))
    profile["ledger"] = {"tolerance": "0.5"}
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(profile, ensure_ascii=False), encoding="utf-8")
    assert load_rules(path).ledger_tolerance == Decimal("0.5")
    del profile["ledger"]
    path.write_text(json.dumps(profile, ensure_ascii=False), encoding="utf-8")
    assert load_rules(path).ledger_tolerance == Decimal("0.01")


# --- last year ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["last-year", "last-year/rollup.json", "last-year/汇总_赵县_2022.xlsx"])
def test_previous_from_the_folder_its_json_or_its_workbook(what):
    prev = read_previous(SAMPLES / what)
    assert prev.findings == []
    unit = prev.unit(TOWN)
    assert unit is not None and unit.year == sampledata.YEAR - 1 and unit.grade and unit.total is not None
    assert prev.indicators[TOWN] and prev.problems[TOWN]


@pytest.mark.parametrize("content", [b"{not json", b'{"rollups": [{"townships": [{"no": 1}]}]}', b"[]"])
def test_a_bad_previous_file_is_a_finding(tmp_path, content):
    path = tmp_path / "rollup.json"
    path.write_bytes(content)
    prev = read_previous(path)
    assert prev.units == {} and [f.code for f in prev.findings] == ["previous-unreadable"]


def test_copied_indicators_only_when_most_are_last_years_word_for_word():
    last = [PreviousIndicator(i, f"指标{i}", "100", "%", "98") for i in range(1, 5)]
    now = [Indicator(i, f"指标{i}", "100", "%", "98", "绩效指标", f"I{4 + i}") for i in range(1, 5)]
    found = copied_indicators(last, now, "a.xlsx")
    assert [(f.code, f.cell) for f in found] == [("copied-from-last-year", f"I{4 + i}") for i in range(1, 5)]
    half = now[:2] + [Indicator(i, f"指标{i}", "100", "%", "99") for i in (3, 4)]
    assert copied_indicators(last, half, "a.xlsx") == []  # two of four: a coincidence, not a copy


# --- statuses, reminders ------------------------------------------------------------------------------


def test_round_status_of_every_roster_unit_and_those_not_on_it():
    roster = Roster(
        "名单.xlsx",
        [
            RosterUnit(3, TOWN, "宋营镇人民政府"),
            RosterUnit(4, "130133102000", "石桥镇人民政府"),
            RosterUnit(5, "130133103000", "柏林镇人民政府", email="blz@example.cn"),
        ],
    )
    receipts = [
        Receipt(TOWN, "宋营镇人民政府", "rejected", "a.xlsx", "2024-01-08", "金额填了文字"),
        Receipt(TOWN, "宋营镇人民政府", "accepted", "b.xlsx", "2024-01-12"),
        Receipt("130133102999", "石桥镇", "rejected", "c.xlsx", "2024-01-09", "代码错误"),  # a typo: by name
        Receipt("130133102000", "石桥镇人民政府", "rejected", "d.xlsx", "2024-01-10", "分值不符"),
        Receipt("130133201000", "永通乡人民政府", "accepted", "e.xlsx", "2024-01-11"),
    ]
    status = round_status(roster, receipts)
    got = [
        (u.name, u.status, u.returned, u.first_received, u.last_received, u.on_roster) for u in status.units
    ]
    assert got == [
        ("宋营镇人民政府", PASSED, 1, "2024-01-08", "2024-01-12", True),
        ("石桥镇人民政府", RETURNED, 2, "2024-01-09", "2024-01-10", True),
        ("柏林镇人民政府", MISSING, 0, "", "", True),
        ("永通乡人民政府", PASSED, 0, "2024-01-11", "2024-01-11", False),
    ]
    assert status.units[1].reason == "分值不符"  # the latest return's reason
    assert status.summary() == "应报 3 个单位，已通过 1，已退回 1，未报送 1；名单外报送 1 个单位"
    assert json.loads(json.dumps(status.to_dict(), ensure_ascii=False))["counts"]["missing"] == 1


def test_reminder_draft_is_an_unsent_chinese_email():
    raw = reminder_draft(
        unit="柏林镇人民政府", email="blz@example.cn", contact="王芳", year=2023, county="赵县"
    )
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert msg["X-Unsent"] == "1" and msg["To"].addresses[0].addr_spec == "blz@example.cn"
    assert msg["Subject"] == "请尽快报送柏林镇人民政府2023年度整体支出绩效自评表"
    assert "尚未收到柏林镇人民政府" in msg.get_content()


# --- prefilled workbooks ----------------------------------------------------------------------------


def test_prefilled_workbooks_carry_the_identity_locked(tmp_path):
    roster = read_roster(SAMPLES / "roster.xlsx")
    done = write_prefilled_all(roster, tmp_path, year=sampledata.YEAR)
    assert len(done) == len(roster.units) == len(list(tmp_path.glob("*.xlsx")))
    town = next(p for p in done if p.unit.code == TOWN)
    assert (
        town.path.name
        == "宋营镇人民政府_2023_整体支出绩效自评表.xlsx"
        == prefilled_file_name("宋营镇人民政府", 2023)
    )
    doc, _ = validate_workbook(town.path)
    assert doc.get("/identity/unit_name") == "宋营镇人民政府"
    assert doc.get("/identity/division_code") == TOWN
    assert doc.get("/identity/county") == sampledata.COUNTY and doc.get("/identity/year") == sampledata.YEAR
    wb = openpyxl.load_workbook(town.path)
    for pointer in ("/identity/unit_name", "/identity/division_code", "/identity/county", "/identity/year"):
        sheet, ref = cell_of(pointer)
        assert wb[sheet].protection.sheet and wb[sheet][ref].protection.locked, pointer
    sheet, ref = cell_of("/identity/preparer")
    assert not wb[sheet][ref].protection.locked  # the rest is the township's to fill
    dept = next(p for p in done if p.unit.code == sampledata.DEPARTMENT_CODE)
    doc, _ = validate_workbook(dept.path)
    assert (
        doc.get("/identity/credit_code") == sampledata.DEPARTMENT_CODE
        and doc.get("/identity/division_code") is None
    )


def test_prefilled_file_names_are_safe_and_distinct(tmp_path):
    roster = Roster(
        "x", [RosterUnit(2, TOWN, "宋营镇/人民政府"), RosterUnit(3, "130133102000", "宋营镇/人民政府")]
    )
    names = sorted(p.path.name for p in write_prefilled_all(roster, tmp_path, year=2023))
    assert len(set(names)) == 2 and all("/" not in n for n in names)
    buf = io.BytesIO()
    write_prefilled(buf, roster.units[0], year=None)
    assert buf.getvalue()[:2] == b"PK"


def test_every_round_code_is_in_the_message_table():
    round_codes = [c for c in CODES if c.startswith(("roster-", "ledger-", "previous-"))]
    assert len(round_codes) >= 16
    for code in [*round_codes, "not-on-roster", "copied-from-last-year", "recurring-problem"]:
        assert CODES[code][1] and messages.MESSAGES[code]["default"], code
