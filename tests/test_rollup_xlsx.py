"""The roll-up workbook: sheets, figures, text safety, charts, the hidden data sheet and LibreOffice."""

from __future__ import annotations

import copy
import io
import shutil
import subprocess
import warnings
import zipfile
from decimal import Decimal as D
from pathlib import Path

import openpyxl
import pytest
from conftest import needs_soffice, soffice_convert
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selfeval_xlsx.rollup import FileRow, FindingRow, IndicatorRow, PanelRow, Rollup, TownshipRow
from selfeval_xlsx.rollup_read import (
    DATA_SHEET,
    ROLLUP_ID,
    ROLLUP_VERSION,
    is_rollup_workbook,
    read_rollup_workbook,
)
from selfeval_xlsx.rollup_write import SHEETS, write_rollup_workbook
from selfeval_xlsx.template import write_template

LINK = '=HYPERLINK("http://x","y")'
AT = "@SUM(1)"
PIPE = "+cmd|' /C calc'!A0"
ARRAY = "{=1+1}"
MINUS = "-2+3"
INJECTIONS = (LINK, AT, PIPE, ARRAY, MINUS)
GRADES = ("优秀", "良好", "一般", "较差")


def township(
    code: str, name: str, total: str, grade: str, self_total: str | None, **kw: object
) -> TownshipRow:
    base: dict[str, object] = dict(
        code=code,
        name=name,
        county="安阳县",
        year=2023,
        initial=D("1000.00"),
        adjusted=D("1200.00"),
        executed=D("1080.00"),
        rate=D("90.00"),
        budget_score=D("9.00"),
        output_score=D("40.00"),
        benefit_score=D("25.00"),
        satisfaction_score=D("8.00"),
        total=D(total),
        grade=grade,
        self_total=None if self_total is None else D(self_total),
        self_grade=grade,
        errors=0,
        warnings=1,
        file=f"{name}.xlsx",
        sha256=code * 5 + "abcd",
        filled_on="2024-01-15",
    )
    base.update(kw)
    return TownshipRow(**base)  # type: ignore[arg-type]


def indicator(code: str, name: str, seq: int, level3: str, **kw: object) -> IndicatorRow:
    base: dict[str, object] = dict(
        code=code,
        name=name,
        seq=seq,
        level1="产出指标",
        level2="数量指标",
        level3=level3,
        nature="≥",
        target="38",
        unit="个",
        actual="38",
        completion="",
        weight=D("20"),
        self_score=D("20"),
        score=D("20.00"),
        method="定量：实际/目标×分值",
        reason="",
    )
    base.update(kw)
    return IndicatorRow(**base)  # type: ignore[arg-type]


def sample() -> Rollup:
    """Four townships (one tie), an injection name, findings and every kind of file that was not used."""
    songying = township(
        "410522100000",
        "宋营镇人民政府",
        "90.83",
        "优秀",
        "100",
        initial=D("8593.66"),
        adjusted=D("9883.28"),
        executed=D("8724.90"),
        rate=D("88.28"),
        budget_score=D("8.83"),
        output_score=D("47.00"),
        benefit_score=D("27.00"),
        satisfaction_score=D("8.00"),
        errors=0,
        warnings=2,
        filled_on="2024-01-20",
    )
    townships = [
        township("410522001000", "北关街道办事处", "55.25", "较差", "70", self_grade="一般", errors=1),
        township("410522200000", LINK, "78.50", "良好", "80", initial=None, rate=None, adjusted=D("0.00")),
        songying,
        township(
            "410522101000", "白璧镇人民政府", "78.50", "良好", "78.50", source_rollup="北部片区汇总.xlsx"
        ),
    ]
    indicators = [
        indicator("410522100000", "宋营镇人民政府", 1, "预算项目数"),
        indicator(
            "410522100000", "宋营镇人民政府", 2, "质量", nature="定性", target="高质量完成", completion="达成"
        ),
        indicator(
            "410522200000",
            LINK,
            1,
            AT,
            target=PIPE,
            actual=ARRAY,
            reason=MINUS,
            self_score=None,
            score=D("15.5"),
        ),
    ]
    panel = [
        PanelRow("410522100000", "宋营镇人民政府", 2, "质量", 1, "卢迪", "党委副书记、镇长", D("18")),
        PanelRow("410522100000", "宋营镇人民政府", 2, "质量", 2, "尹华", "办公室主任", D("17.5")),
        PanelRow("410522200000", LINK, 1, AT, 1, MINUS, PIPE, D("15.5")),
    ]
    findings = [
        FindingRow(
            "宋营镇人民政府.xlsx",
            "410522100000",
            "宋营镇人民政府",
            "warning",
            "self-total-mismatch",
            "自评总分与核定不符",
            "自评表",
            "H20",
            "自评总分100与按表内数据计算的90.83不符，请核对。",
            "100",
        ),
        FindingRow(
            "坏文件.xlsx",
            "",
            "",
            "error",
            "missing-field",
            "必填项为空",
            "基本信息",
            "C4",
            "请填写单位名称。",
        ),
        FindingRow(f"{LINK}.xlsx", "410522200000", LINK, "info", "note", AT, "指标", "B5", MINUS, ARRAY),
    ]
    files = [
        FileRow("跳过.txt", "skipped", "不是Excel工作簿，已跳过。"),
        FileRow(
            "坏文件.xlsx",
            "rejected",
            "您单位报送的《坏文件.xlsx》未通过审核，请修改以下问题后重新报送：\n1. 请填写单位名称。",
        ),
        FileRow(
            "宋营镇2023自评表(修改).xlsx",
            "superseded",
            "宋营镇人民政府的此份报送已被更新的报送《宋营镇人民政府.xlsx》替代。",
            "410522100000",
            "宋营镇人民政府",
            "ab" * 32,
            "宋营镇人民政府.xlsx",
        ),
        FileRow(f"{LINK}.xlsx", "rejected", "请重新填写：\n1. 年初预算数为空。", "410522200000", LINK),
        FileRow("副本.xlsx", "duplicate", "与《宋营镇人民政府.xlsx》内容完全相同，已忽略。"),
    ]
    return Rollup(
        county_code="410522",
        county="安阳县",
        year=2023,
        rules="default",
        tool_version="0.1.0",
        generated="2024-03-01T10:00:00+08:00",
        townships=townships,
        indicators=indicators,
        panel=panel,
        findings=findings,
        files=files,
        counts={"seen": 9, "accepted": 4, "superseded": 1, "rejected": 2, "skipped": 2},
        grades=GRADES,
    )


def xlsx_bytes(roll: Rollup) -> bytes:
    buf = io.BytesIO()
    write_rollup_workbook(buf, roll)
    return buf.getvalue()


@pytest.fixture(scope="module")
def written() -> tuple[Rollup, bytes]:
    roll = sample()
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error"
        )  # xlsxwriter reports misuse (bad ranges, tables, long text) as warnings
        return roll, xlsx_bytes(roll)


@pytest.fixture(scope="module")
def book(written: tuple[Rollup, bytes]) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(written[1]))


def header_map(ws) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {c.value: c.column for c in ws[2] if c.value}


# --- structure ---------------------------------------------------------------------------------------


def test_sheets_in_order_and_data_sheet_hidden(book: openpyxl.Workbook) -> None:
    assert book.sheetnames == [  # what a bureau head reads first: the one-page 统计, then the ranking
        "统计",
        "汇总",
        "指标明细",
        "评价小组",
        "问题清单",
        "退回文件",
        "运行信息",
        "_rollup",
    ]
    assert tuple(book.sheetnames) == SHEETS
    assert book[DATA_SHEET].sheet_state == "hidden"
    assert all(book[n].sheet_state == "visible" for n in SHEETS[:-1])
    assert book.active.title == "统计"
    assert book[DATA_SHEET]["A1"].value == "rollup_id" and book[DATA_SHEET]["B1"].value == ROLLUP_ID
    assert book[DATA_SHEET]["A2"].value == "rollup_version" and book[DATA_SHEET]["B2"].value == ROLLUP_VERSION


def test_summary_rows_in_rank_order_with_their_figures(book: openpyxl.Workbook) -> None:
    ws = book["汇总"]
    assert ws["A1"].value == "安阳县2023年度乡镇整体支出绩效自评汇总表"
    h = header_map(ws)
    assert list(h) == [
        "排名",
        "行政区划代码",
        "单位名称",
        "评价对象",
        "年初预算数",
        "全年预算数",
        "全年执行数",
        "执行率(%)",
        "基本支出执行率(%)",
        "项目支出执行率(%)",
        "预算执行得分",
        "产出指标得分",
        "效益指标得分",
        "满意度指标得分",
        "核定总分",
        "核定等级",
        "自评总分",
        "自评等级",
        "差异(自评−核定)",
        "错误数",
        "警告数",
        "填报日期",
        "来源文件",
        "SHA-256",
    ]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=3, max_row=6)]
    col = {k: v - 1 for k, v in h.items()}
    assert [r[col["单位名称"]] for r in rows] == ["宋营镇人民政府", "白璧镇人民政府", LINK, "北关街道办事处"]
    assert [r[col["排名"]] for r in rows] == [1, 2, 2, 4]  # the tie shares rank 2, then 4
    assert [r[col["核定总分"]] for r in rows] == [90.83, 78.5, 78.5, 55.25]
    assert [r[col["差异(自评−核定)"]] for r in rows] == [pytest.approx(9.17), 0, 1.5, 14.75]
    first = rows[0]
    assert first[col["行政区划代码"]] == "410522100000"
    assert first[col["年初预算数"]] == 8593.66 and first[col["全年执行数"]] == 8724.90
    assert first[col["执行率(%)"]] == 88.28 and first[col["自评等级"]] == "优秀"
    assert first[col["填报日期"]] == "2024-01-20" and first[col["来源文件"]] == "宋营镇人民政府.xlsx"
    assert rows[1][col["来源文件"]] == "白璧镇人民政府.xlsx（经汇总表北部片区汇总.xlsx）"
    assert rows[2][col["年初预算数"]] is None and rows[2][col["执行率(%)"]] is None  # unknown stays blank

    total = [c.value for c in ws[7]]
    assert total[col["排名"]] == "合计"
    assert total[col["年初预算数"]] == pytest.approx(8593.66 + 2 * 1000)  # one township left it blank
    assert total[col["全年预算数"]] == pytest.approx(9883.28 + 2 * 1200)
    assert total[col["全年执行数"]] == pytest.approx(8724.90 + 3 * 1080)
    # budget-weighted: 11964.90 / 12283.28 = 97.408… → 97.41 (from Rollup.totals, not a formula)
    assert total[col["执行率(%)"]] == 97.41
    assert total[col["核定总分"]] == 75.77  # (90.83 + 78.5 + 78.5 + 55.25) / 4 = 75.77
    # these made-up rows' parts do not add up to their totals, so neither would the parts' means (8.96 +
    # 40.00 + …): the row prints no part means beside a mean total they do not add up to
    assert total[col["预算执行得分"]] is None and total[col["产出指标得分"]] is None
    assert total[col["错误数"]] == 1 and total[col["警告数"]] == 5
    assert ws["A8"].value.startswith("注：金额单位为万元")


def test_summary_formats_print_setup_and_filters(book: openpyxl.Workbook) -> None:
    ws = book["汇总"]
    h = header_map(ws)
    fmt = {k: ws.cell(3, v).number_format for k, v in h.items()}
    assert fmt["年初预算数"] == fmt["全年执行数"] == "#,##0.00"
    assert fmt["执行率(%)"] == '0.00"%"'
    assert fmt["核定总分"] == fmt["满意度指标得分"] == "0.00"
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == "A2:X6"  # header to last township; the total row stays out
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert (
        ws.sheet_properties.pageSetUpPr.fitToPage and (ws.page_setup.fitToWidth or 1) == 1
    )  # 1 is the default
    assert ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == "$1:$2"
    assert ws.column_dimensions["C"].width >= 10
    for name in SHEETS[1:5]:
        other = book[name]
        assert other.freeze_panes == "A3", name
        assert other.print_title_rows == "$1:$2", name
        assert other.page_setup.orientation == ("portrait" if name == "评价小组" else "landscape"), name


def test_conditional_formats_on_difference_and_poor_grades(book: openpyxl.Workbook) -> None:
    ws = book["汇总"]
    rules = {
        str(rng.sqref): [(r.operator, r.formula) for r in rng.rules] for rng in ws.conditional_formatting
    }
    assert ("greaterThan", ["0.5"]) in rules["S3:S6"]
    assert ("lessThan", ["-0.5"]) in rules["S3:S6"]
    assert rules["P3:P6"] == [("equal", ['"较差"'])]  # below 一般
    assert rules["R3:R6"] == [("equal", ['"较差"'])]


def test_tables_on_detail_sheets(book: openpyxl.Workbook) -> None:
    ind = book["指标明细"]
    assert set(ind.tables) == {"指标明细表"}
    assert ind.tables["指标明细表"].ref == "A2:P5"
    assert [c.value for c in ind[2]][:3] == ["行政区划代码", "单位名称", "指标序号"]
    assert [c.value for c in ind[3]][:3] == ["410522100000", "宋营镇人民政府", 1]
    assert ind.cell(5, 14).value == 15.5 and ind.cell(5, 13).value is None  # 核定得分, 自评得分 blank
    assert ind.cell(3, 12).number_format == "0.00"
    assert book["评价小组"].tables["评价小组表"].ref == "A2:H5"
    assert [c.value for c in book["评价小组"][4]] == [
        "410522100000",
        "宋营镇人民政府",
        2,
        "质量",
        2,
        "尹华",
        "办公室主任",
        17.5,
    ]
    fnd = book["问题清单"]
    assert [c.value for c in fnd[2]] == [
        "文件",
        "单位代码",
        "单位",
        "级别",
        "问题",
        "工作表",
        "单元格",
        "说明",
        "原值",
        "问题代码",  # for filtering, off paper: a clerk reads the Chinese 问题
    ]
    assert [fnd.cell(r, 4).value for r in (3, 4, 5)] == ["错误", "警告", "提示"]  # rejections first
    assert fnd.print_area == "'问题清单'!$A$1:$I$5"


def test_files_sheet_reply_text(book: openpyxl.Workbook) -> None:
    ws = book["退回文件"]
    h = header_map(ws)
    rows = [{k: ws.cell(r, c).value for k, c in h.items()} for r in range(3, 8)]
    assert [r["状态"] for r in rows] == ["退回", "退回", "已被替代", "重复文件", "已跳过"]
    assert [r["序号"] for r in rows] == [1, 2, 3, 4, 5]
    # a reason that already names the file is kept as is; otherwise the file name leads
    assert rows[0]["回复意见"].startswith("您单位报送的《坏文件.xlsx》未通过审核")
    assert rows[1]["回复意见"] == f"《{LINK}.xlsx》：请重新填写：\n1. 年初预算数为空。"
    assert rows[2]["替代文件"] == "宋营镇人民政府.xlsx"


def test_run_sheet_counts(book: openpyxl.Workbook) -> None:
    ws = book["运行信息"]
    info = {r[0]: r[1] for r in ws.iter_rows(min_row=3, values_only=True)}
    assert info["收到文件数"] == 9
    assert info["通过审核"] == 4 and info["被更新报送替代"] == 1 and info["退回"] == 2 and info["跳过"] == 2
    assert info["核对"] == "收到文件数 = 通过审核 + 被替代 + 退回 + 跳过：9 = 4 + 1 + 2 + 2（相符）"
    assert info["评分规则"] == "default" and info["年度"] == 2023 and info["地区代码"] == "410522"
    assert info["工具版本"] == "selfeval-xlsx 0.1.0"
    assert info["问题数（错误/警告/提示）"] == "1/1/1"
    assert info["并入的汇总表"] == "北部片区汇总.xlsx"


def test_run_sheet_flags_counts_that_do_not_add_up() -> None:
    roll = sample()
    roll.counts = {"seen": 10, "accepted": 4, "superseded": 1, "rejected": 2, "skipped": 2}
    ws = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(roll)))["运行信息"]
    info = {r[0]: r[1] for r in ws.iter_rows(min_row=3, values_only=True)}
    assert info["核对"].endswith("（不相符，请检查运行日志）")


def test_stats_sheet_figures_and_grade_table(book: openpyxl.Workbook) -> None:
    ws = book["统计"]
    values = {r[0]: r[1] for r in ws.iter_rows(min_row=3, max_row=10, values_only=True)}
    assert values["单位数"] == 4
    assert values["年初预算合计（万元）"] == pytest.approx(10593.66)
    assert values["预算加权执行率(%)"] == 97.41
    assert values["平均得分"] == 75.77 and values["最高分"] == 90.83 and values["最低分"] == 55.25
    assert ws["C9"].value == "宋营镇人民政府"
    grades = [r[:2] for r in ws.iter_rows(min_row=14, max_row=17, values_only=True)]
    assert grades == [("优秀", 1), ("良好", 2), ("一般", 0), ("较差", 1)]
    assert ws["B5"].number_format == "#,##0.00" and ws["B7"].number_format == '0.00"%"'


def test_two_native_charts_on_the_stats_sheet(written: tuple[Rollup, bytes]) -> None:
    z = zipfile.ZipFile(io.BytesIO(written[1]))
    names = z.namelist()
    assert "xl/charts/chart1.xml" in names and "xl/charts/chart2.xml" in names
    bar = z.read("xl/charts/chart1.xml").decode()
    col = z.read("xl/charts/chart2.xml").decode()
    assert "<c:barChart>" in bar and '<c:barDir val="bar"/>' in bar and "各单位核定总分（整体）" in bar
    assert "<c:f>汇总!$C$3:$C$6</c:f>" in bar and "<c:f>汇总!$O$3:$O$6</c:f>" in bar  # names, totals
    assert (
        "核定等级分布" in col
        and "<c:f>统计!$A$14:$A$17</c:f>" in col
        and "<c:f>统计!$B$14:$B$17</c:f>" in col
    )
    assert "宋体" in bar  # Chinese titles in a font that has the glyphs
    stats = openpyxl.load_workbook(io.BytesIO(written[1]))["统计"]
    assert len(stats._charts) == 2


# --- user text stays text ------------------------------------------------------------------------------


def test_injection_strings_are_text_cells_everywhere(book: openpyxl.Workbook) -> None:
    seen: dict[str, set[str]] = {}
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and any(cell.value.startswith(s) for s in INJECTIONS):
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    seen.setdefault(cell.value, set()).add(ws.title)
    assert seen[LINK] == {"汇总", "指标明细", "评价小组", "问题清单", "退回文件"}
    assert seen[AT] == {"指标明细", "评价小组", "问题清单"}
    assert seen[PIPE] == {"指标明细", "评价小组"}
    assert seen[ARRAY] == {"指标明细", "问题清单"}
    assert seen[MINUS] == {"指标明细", "评价小组", "问题清单"}
    assert seen[f"{LINK}.xlsx"] == {"汇总", "问题清单", "退回文件"}
    assert book["汇总"]["C5"].quotePrefix  # editing the cell in Excel keeps it text


def test_no_formula_and_no_hyperlink_anywhere(written: tuple[Rollup, bytes]) -> None:
    z = zipfile.ZipFile(io.BytesIO(written[1]))
    for name in z.namelist():
        if name.startswith("xl/worksheets/sheet"):
            xml = z.read(name).decode()
            assert "<f>" not in xml and "<f " not in xml, name
            # no link element (the hidden data sheet holds the injection texts in its cells, escaped JSON)
            assert "<hyperlink" not in xml.lower(), name
        if name.endswith(".rels"):
            assert "hyperlink" not in z.read(name).decode().lower(), name
    assert not any("externalLink" in n for n in z.namelist())


# --- reading back ----------------------------------------------------------------------------------------


def test_round_trip(written: tuple[Rollup, bytes]) -> None:
    roll, data = written
    assert is_rollup_workbook(data)
    back = read_rollup_workbook(data)
    assert back is not None
    assert back.townships == roll.townships
    assert [t.code for t in back.townships] == [
        "410522100000",
        "410522101000",
        "410522200000",
        "410522001000",
    ]
    assert back.indicators == roll.indicators
    assert back.panel == roll.panel
    assert back.findings == roll.findings
    assert back.files == roll.files
    assert back.counts == roll.counts and back.grades == GRADES
    assert (back.county_code, back.county, back.year, back.rules, back.generated) == (
        "410522",
        "安阳县",
        2023,
        "default",
        "2024-03-01T10:00:00+08:00",
    )
    assert back.townships[2].initial is None and back.townships[1].self_total == D("78.50")
    assert str(back.indicators[2].score) == "15.5"  # exact, not 15.50 or 15.499999


def test_round_trip_of_an_empty_rollup() -> None:
    roll = Rollup("410522", "安阳县", None, "default", "0.1.0", "2024-03-01T10:00:00+08:00", grades=GRADES)
    data = xlsx_bytes(roll)
    back = read_rollup_workbook(data)
    assert back == roll
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb["汇总"]["A1"].value == "安阳县（年度未知）乡镇整体支出绩效自评汇总表"
    assert wb["统计"]["B3"].value == 0 and not wb["统计"]._charts


def test_round_trip_of_text_openpyxl_would_mangle() -> None:
    roll = sample()
    odd = [
        "_x005F_x0041_",
        "_x0041_",
        "a\x01b\r\nc",
        "  前后空格  ",
        "𠀀𠀁 CJK-B",
        "\u202e反向",
        "x" * 40_000,
    ]
    roll.townships[0].name = odd[0]
    roll.indicators[0].reason = odd[1]
    roll.indicators[1].reason = odd[2]
    roll.panel[0].member_name = odd[3]
    roll.findings[0].message = odd[4]
    roll.findings[1].value = odd[5]
    roll.files[0].reason = odd[6]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # xlsxwriter warns (and truncates) past 32,767 characters
        data = xlsx_bytes(roll)
    back = read_rollup_workbook(data)
    assert back is not None
    assert back.townships == roll.townships and back.indicators == roll.indicators
    assert back.panel == roll.panel and back.findings == roll.findings and back.files == roll.files
    shown = openpyxl.load_workbook(io.BytesIO(data))["退回文件"]
    reply = next(
        c.value for c in shown["F"] if isinstance(c.value, str) and c.value.startswith("《跳过.txt》")
    )
    assert reply.endswith("…（已截断）") and len(reply) <= 32_767  # the sheet shows what a cell can hold


_texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=_texts,
    level3=_texts,
    score=st.decimals(min_value=0, max_value=100, places=4),
    seq=st.integers(0, 10**6),
)
def test_round_trip_property(name: str, level3: str, score: D, seq: int) -> None:
    roll = sample()
    roll.townships[0].name = name
    roll.townships[0].total = score
    roll.indicators[0].level3 = level3
    roll.indicators[0].seq = seq
    roll.panel[0].score = score
    back = read_rollup_workbook(xlsx_bytes(roll))
    assert back is not None
    assert (
        back.townships == roll.townships and back.indicators == roll.indicators and back.panel == roll.panel
    )


def test_writing_to_a_path(tmp_path: Path) -> None:
    target = tmp_path / "汇总_安阳县_2023.xlsx"
    write_rollup_workbook(target, sample())
    assert read_rollup_workbook(target.read_bytes()) is not None
    write_rollup_workbook(str(tmp_path / "b.xlsx"), sample())
    assert (tmp_path / "b.xlsx").stat().st_size > 0


@pytest.mark.parametrize(
    "data", [b"", b"garbage", b"PK\x03\x04garbage", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600]
)
def test_garbage_is_not_a_rollup(data: bytes) -> None:
    assert not is_rollup_workbook(data)
    assert read_rollup_workbook(data) is None


def test_other_workbooks_are_not_rollups() -> None:
    buf = io.BytesIO()
    write_template(buf, year=2023)
    assert not is_rollup_workbook(buf.getvalue())
    assert read_rollup_workbook(buf.getvalue()) is None


def _edited(data: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    edit(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _set(ref: str, value: object):  # type: ignore[no-untyped-def]
    def edit(wb: openpyxl.Workbook) -> None:
        wb[DATA_SHEET][ref] = value

    return edit


def _foreign_rollup_sheet(wb: openpyxl.Workbook) -> None:
    ws = wb.create_sheet(DATA_SHEET)
    ws["A1"], ws["B1"], ws["A6"], ws["B6"] = "rollup_id", ROLLUP_ID, "data", "{not json"


@pytest.mark.parametrize(
    "edit",
    [
        _set("B1", "someone-else/rollup"),  # another tool's sheet
        _set("B2", "2.0"),  # a future, incompatible format
        _set("B6", '{"rollup_id": "selfeval-xlsx/rollup"}'),  # hand-edited data: hash no longer matches
        _set("B5", "0" * 64),
        _set("B4", "7"),
        lambda wb: wb.remove(wb[DATA_SHEET]),
    ],
)
def test_tampered_rollups_are_refused(written: tuple[Rollup, bytes], edit) -> None:  # type: ignore[no-untyped-def]
    assert read_rollup_workbook(written[1]) is not None
    assert read_rollup_workbook(_edited(written[1], edit)) is None


def test_foreign_workbook_with_a_rollup_sheet_is_refused() -> None:
    wb = openpyxl.Workbook()
    _foreign_rollup_sheet(wb)
    out = io.BytesIO()
    wb.save(out)
    assert is_rollup_workbook(out.getvalue())  # the cheap check only looks at sheet names …
    assert read_rollup_workbook(out.getvalue()) is None  # … the reader decides


def test_resaved_rollup_still_reads() -> None:
    """Opened and saved again (here by openpyxl, as Excel or WPS would), it is still a roll-up."""
    roll = sample()
    data = _edited(xlsx_bytes(roll), lambda wb: None)
    back = read_rollup_workbook(data)
    assert back is not None and back.townships == roll.townships


def test_rank_is_applied_and_input_order_does_not_matter() -> None:
    a, b = sample(), sample()
    b.townships.reverse()
    assert read_rollup_workbook(xlsx_bytes(a)) == read_rollup_workbook(xlsx_bytes(copy.deepcopy(b)))


# --- LibreOffice ---------------------------------------------------------------------------------------


@needs_soffice
@pytest.mark.slow
def test_libreoffice_renders_the_rollup(tmp_path: Path) -> None:
    src = tmp_path / "汇总_安阳县_2023.xlsx"
    write_rollup_workbook(src, sample())
    soffice_convert(src, tmp_path, timeout=120)
    pdf = src.with_suffix(".pdf")
    assert pdf.exists() and pdf.stat().st_size > 0
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils (pdftotext) is not installed")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) == 7  # one page per visible sheet; _rollup is not printed
    assert "安阳县2023年度乡镇整体支出绩效自评汇总表" in pages[1] and "宋营镇人民政府" in pages[1]
    assert LINK in pages[1]  # shown as the text it is, not as a link
    assert "10,593.66" in pages[1] and "97.41%" in pages[1] and "75.77" in pages[1]  # the total line
    assert (
        "各单位核定总分（整体）" in pages[0] and "核定等级分布" in pages[0]
    )  # both chart titles on the 统计 page
    assert "78.50" in pages[0]  # a data label of the bar chart (the tables there do not hold 78.50)
    assert "rollup_id" not in text


# --- the printed pages (issue 16) ----------------------------------------------------------------------


def test_summary_reads_as_one_table_and_says_who_is_missing(book: openpyxl.Workbook) -> None:
    ws = book["汇总"]
    rows = range(3, 3 + 4)  # the four townships
    heights = {ws.row_dimensions[r].height for r in rows}
    assert len(heights) == 1 and heights.pop() >= 20  # one height: no row clipped, none uneven
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(t == "全部4个单位（合计／平均）" for t in texts)  # full-width brackets both sides
    missing = [t for t in texts if t.startswith("共4个单位参加排名")]
    assert missing and "另有2份报送被退回" in missing[0]
    assert ws.print_area.endswith(f"${ws.max_row}")  # the line under the table prints


def test_generation_time_is_local_and_in_chinese(book: openpyxl.Workbook) -> None:
    from datetime import datetime

    from selfeval_xlsx.rollup_write import local_time

    run = book["运行信息"]
    shown = next(
        run.cell(r, 2).value for r in range(1, run.max_row + 1) if run.cell(r, 1).value == "生成时间"
    )
    local = datetime.fromisoformat("2024-03-01T10:00:00+08:00").astimezone()
    assert shown == f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    assert local_time("not a time") == "not a time" and local_time(None) is None
    assert local_time("2026-12-05T15:19:33") == "2026年12月5日 15:19"  # naive: as written


def test_ambiguous_width_characters_count_wide() -> None:
    from selfeval_xlsx.rollup_write import _str_width

    assert _str_width("░▓╝") == 6 and _str_width("abc") == 3 and _str_width("宋营镇") == 6


def test_an_18_character_credit_code_is_not_cut_off_in_any_code_column(tmp_path: Path) -> None:
    """A unit identified by its 统一社会信用代码 (samples: 赵县农业农村局) prints its whole code in every
    roll-up sheet with a 行政区划代码 column, not only on 汇总 (it was cut to 14 characters elsewhere)."""
    from selfeval_xlsx import api

    api.merge(Path(__file__).parent.parent / "samples" / "inbox", tmp_path / "out")
    wb = openpyxl.load_workbook(next((tmp_path / "out").glob("汇总_*.xlsx")))
    checked = 0
    for ws in wb.worksheets:
        header = [c for row in ws.iter_rows(max_row=6) for c in row if c.value == "行政区划代码"]
        if not header:
            continue
        letter = header[0].column_letter
        codes = [c.value for c in ws[letter] if isinstance(c.value, str) and len(c.value) == 18]
        if codes:
            assert ws.column_dimensions[letter].width >= 19, ws.title
            checked += 1
    assert checked >= 3  # 汇总, 指标明细, 评价小组 at least
