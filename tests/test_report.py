"""The 自评报告 (.docx): drafted from real, scored workbooks; read back with python-docx and LibreOffice."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import docx
import pytest
import sampledata
from conftest import needs_soffice, soffice_convert
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.shared import Pt
from openpyxl_fill import filled_bytes

from selfeval_xlsx.pipeline import Scored, score_workbook
from selfeval_xlsx.report import (
    MARK,
    MISSING_REASON,
    ReportError,
    load_defaults,
    split_items,
    we_word,
    write_report,
)

ROOT = Path(__file__).resolve().parent.parent
HEADINGS = [
    "一、部门基本情况",
    "（一）部门概况",
    "（二）部门收支预决算情况",
    "（三）部门整体支出绩效目标、指标",
    "二、自评工作开展情况",
    "（一）自评的组织工作",
    "（二）自评的方法和过程",
    "三、部门整体支出绩效目标实现情况及指标分析",
    "（一）总体绩效目标实现情况",
    "（二）分项绩效目标实现情况及指标分析",
    "四、评价结论和评价等级",
    "五、存在的问题及改进措施",
    "（一）存在的主要问题",
    "（二）改进措施",
    "六、评价工作组人员名单",
]


def scored_of(data: dict[str, Any], name: str = "自评表.xlsx") -> Scored:
    scored = score_workbook(filled_bytes(data, sampledata.YEAR), name=name)
    assert scored.valid, scored.report.to_json()
    return scored


def report_of(scored: Scored, path: Path, **kw: Any) -> Any:
    write_report(path, scored, **kw)
    return docx.Document(str(path))


def texts(document: Any) -> list[str]:
    return [p.text for p in document.paragraphs]


def section(document: Any, start: str, end: str) -> list[str]:
    """Paragraph texts strictly between two headings."""
    lines = texts(document)
    i, j = lines.index(start), lines.index(end)
    return lines[i + 1 : j]


def highlighted(paragraph: Any) -> bool:
    return any(r.font.highlight_color == WD_COLOR_INDEX.YELLOW for r in paragraph.runs)


@pytest.fixture(scope="module")
def seed_scored() -> Scored:
    return scored_of(sampledata.seed(), "宋营镇2023自评表.xlsx")


@pytest.fixture(scope="module")
def seed_docx(seed_scored: Scored, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "宋营镇自评报告.docx"
    write_report(path, seed_scored)
    return path


@pytest.fixture(scope="module")
def seed_doc(seed_docx: Path) -> Any:
    return docx.Document(str(seed_docx))


@pytest.fixture(scope="module")
def town7() -> tuple[Scored, Any]:
    scored = scored_of(sampledata.township(7), "清水乡.xlsx")
    buf = io.BytesIO()
    write_report(buf, scored)  # a stream target, as a web app would use
    buf.seek(0)
    return scored, docx.Document(buf)


# --- the seed township: the figures are the computed ones ---------------------------------------------


def test_seed_budget_sentence_as_in_the_seed_report(seed_doc: Any) -> None:
    assert (
        "2023年，我镇年初共安排预算资金8593.66万元，调整预算数9883.28万元，截至12月底，"
        "共完成支付8724.90万元，预算执行率88.28%。"
    ) in texts(seed_doc)


def test_seed_title_and_structure(seed_doc: Any) -> None:
    lines = texts(seed_doc)
    assert lines[0] == "宋营镇人民政府\n2023年度整体支出绩效自评报告"
    assert seed_doc.paragraphs[0].style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    found = [t for t in lines if t in HEADINGS]
    assert found == HEADINGS
    styles = {p.text: p.style.name for p in seed_doc.paragraphs if p.text in HEADINGS}
    assert styles["一、部门基本情况"] == "Heading 1"
    assert styles["（一）部门概况"] == "Heading 2"


def test_seed_total_is_the_computed_one_not_the_clerks_100(seed_scored: Scored, seed_doc: Any) -> None:
    result = seed_scored.result
    assert result is not None
    total = f"{result.total.shown:f}"
    assert total == "98.68"
    text = "\n".join(texts(seed_doc))
    assert f"综合各项指标得分，评价总得分{total}分，评价等级为{result.grade}。" in text
    assert not re.search(r"总得分\s*100", text)
    assert "评价总得分100" not in text
    # the clerk's 100 is mentioned only as the self-reported figure the report does not use
    noted = [t for t in texts(seed_doc) if "100.00分" in t]
    assert noted and all("自评" in t for t in noted)
    assert any("本报告采用核定得分98.68分" in t for t in noted)
    assert any("预算执行最高只能得8.83分" in t for t in noted)


def test_seed_scores_section(seed_scored: Scored, seed_doc: Any) -> None:
    result = seed_scored.result
    assert result is not None
    part = section(seed_doc, "四、评价结论和评价等级", "五、存在的问题及改进措施")
    joined = "\n".join(part)
    assert result.rules.grade_text() in joined
    assert result.budget.explanation in joined
    assert "8724.90 / 9883.28 = 88.28% → 8.83 / 10" in joined
    for cat, fig in result.subtotals.items():
        assert f"{cat}得分{fig.shown:f}分" in joined
    assert "产出指标得分49.85分（分值50分）" in joined


def test_seed_indicators_by_category(seed_doc: Any) -> None:
    part = section(seed_doc, "（二）分项绩效目标实现情况及指标分析", "四、评价结论和评价等级")
    assert [t.split("。")[0] for t in part] == [
        "1.数量指标",
        "2.质量指标",
        "3.时效指标",
        "4.成本指标",
        "5.社会效益指标",
        "6.服务对象满意度指标",
    ]
    assert "预算项目个数：年度指标值≥38个，实际完成值38个；分值15分，核定得分15.00分。" in part[0]
    assert "年度指标值“高质量完成”" in part[1] and "完成等级为达成" in part[1]
    # 成本控制 lost points and has no reason: a marked request to add one
    assert "年度指标值≤8593.66万元，实际完成值8724.90万元" in part[3]
    assert "核定得分9.85分，扣0.15分" in part[3]
    assert MISSING_REASON in part[3]
    cost = next(p for p in seed_doc.paragraphs if p.text.startswith("4.成本指标"))
    marked = [r.text for r in cost.runs if r.font.highlight_color == WD_COLOR_INDEX.YELLOW]
    assert marked == [MISSING_REASON]


def test_seed_problems_include_audit_findings(seed_scored: Scored, seed_doc: Any) -> None:
    sub = seed_scored.submission
    assert sub is not None
    problems = section(seed_doc, "（一）存在的主要问题", "（二）改进措施")
    assert problems[0] == "1.预算执行率为88.28%，部分项目资金支付进度滞后。"
    assert sum("支付进度滞后" in p for p in problems) == 1  # the clerk's own item, enriched, not repeated
    assert "2.绩效评价指标体系还不够完善、合理。" in problems
    vague = [
        sub.indicators[int(f.field.split("/")[2])].level3
        for f in seed_scored.report.findings
        if f.code == "vague-target" and f.field
    ]
    assert {"工作完成质量", "社会稳定", "群众满意度"} <= set(vague)
    unquantified = [p for p in problems if "未量化" in p]
    assert len(unquantified) == 1
    assert all(name in unquantified[0] for name in vague)
    assert "72.22%" in unquantified[0]  # qualitative-heavy
    assert any("自评分数偏高" in p and "100.00分" in p and "98.68分" in p for p in problems)
    assert any(p.endswith("部分扣分指标未说明偏差原因（成本控制）。") for p in problems)
    assert [p.split(".")[0] for p in problems] == [str(i) for i in range(1, len(problems) + 1)]
    measures = section(seed_doc, "（二）改进措施", "六、评价工作组人员名单")
    assert measures == [
        "1.科学合理编制预算，严格执行预算。",
        "2.进一步加强项目资金管理。",
        "3.进一步完善内部管理制度，提升管理效能。",
    ]


def test_seed_panel_table(seed_doc: Any) -> None:
    assert len(seed_doc.tables) == 1
    rows = [[c.text for c in row.cells] for row in seed_doc.tables[0].rows]
    assert rows[0] == ["序号", "姓名", "工作单位", "职务", "职称", "签字"]
    assert [r[1] for r in rows[1:]] == ["卢迪", "尹华", "尚建人"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]
    assert rows[1][3] == "党委副书记、镇长" and rows[3][3] == "财政所所长"
    assert all(r[5] == "" for r in rows[1:])
    assert "绩效评价工作组人员名单" in texts(seed_doc)
    assert "我镇成立了由3人组成的绩效评价工作组" in "\n".join(texts(seed_doc))


def test_seed_mentions_panel_composite(seed_doc: Any) -> None:
    part = "\n".join(
        section(seed_doc, "（二）自评的方法和过程", "三、部门整体支出绩效目标实现情况及指标分析")
    )
    assert "评价工作组3名成员分别对各项绩效指标打分" in part
    assert "综合得分" in part


# --- default paragraphs are marked; workbook text is not -----------------------------------------------


def test_default_paragraphs_are_marked(seed_doc: Any) -> None:
    defaults = load_defaults()
    opening = defaults["opening"].format(unit_name="宋营镇人民政府", year=2023)
    first = next(p for p in seed_doc.paragraphs if opening in p.text)
    assert first.text == MARK + opening
    assert all(r.font.highlight_color == WD_COLOR_INDEX.YELLOW for r in first.runs if r.text)
    # the seed filled 部门概况 and 自评工作开展情况: those come from the workbook, unmarked
    overview = section(seed_doc, "（一）部门概况", "（二）部门收支预决算情况")
    assert overview == [sampledata.SEED_OVERVIEW]
    process = section(seed_doc, "（二）自评的方法和过程", "三、部门整体支出绩效目标实现情况及指标分析")
    assert process[0] == sampledata.SEED_PROCESS
    # every highlighted piece is a bracketed note; nothing from the workbook is highlighted
    marked_runs = [
        r.text for p in seed_doc.paragraphs for r in p.runs if r.font.highlight_color == WD_COLOR_INDEX.YELLOW
    ]
    assert marked_runs == [MARK + opening, MISSING_REASON]
    budget = next(p for p in seed_doc.paragraphs if "8593.66万元" in p.text)
    assert not highlighted(budget)


def test_blank_narrative_uses_marked_defaults(tmp_path: Path) -> None:
    data = sampledata.variant(sampledata.seed(), narrative={})
    document = report_of(scored_of(data), tmp_path / "r.docx")
    defaults = load_defaults()
    overview = section(document, "（一）部门概况", "（二）部门收支预决算情况")
    expected = defaults["overview"].format(
        unit_name="宋营镇人民政府", short_name="宋营镇", we="我镇", year=2023, county="赵县"
    )
    assert overview == [MARK + line for line in expected.splitlines()]
    organization = section(document, "（一）自评的组织工作", "（二）自评的方法和过程")
    assert organization[0].startswith("我镇成立了由3人组成的绩效评价工作组")  # from the workbook
    assert organization[1].startswith(MARK)  # the default 组织工作 paragraph
    process = section(document, "（二）自评的方法和过程", "三、部门整体支出绩效目标实现情况及指标分析")
    assert process[0].startswith(MARK + "一是前期准备")
    assert not process[-1].startswith(MARK)  # the computed method sentence
    for p in document.paragraphs:
        if p.text.startswith(MARK):
            assert all(r.font.highlight_color == WD_COLOR_INDEX.YELLOW for r in p.runs if r.text)


def test_custom_defaults_mapping(tmp_path: Path, seed_scored: Scored) -> None:
    opening = "根据《赵县财政局关于开展{year}年度部门整体支出绩效自评工作的通知》，{we}开展了绩效自评。"
    document = report_of(seed_scored, tmp_path / "r.docx", defaults={"opening": opening})
    assert (
        MARK + "根据《赵县财政局关于开展2023年度部门整体支出绩效自评工作的通知》，我镇开展了绩效自评。"
        in (texts(document))
    )
    with pytest.raises(ReportError, match="openning"):
        write_report(tmp_path / "x.docx", seed_scored, defaults={"openning": "x"})


# --- typography ---------------------------------------------------------------------------------------


def test_east_asian_font_on_every_run(seed_doc: Any) -> None:
    runs = [r for p in seed_doc.paragraphs for r in p.runs]
    runs += [
        r for t in seed_doc.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs
    ]
    assert len(runs) > 40
    for run in runs:
        fonts = run._element.rPr.rFonts
        assert fonts.get(qn("w:eastAsia")), run.text
        assert fonts.get(qn("w:eastAsia")) == run.font.name
    body = next(p for p in seed_doc.paragraphs if "8593.66" in p.text)
    assert {r._element.rPr.rFonts.get(qn("w:eastAsia")) for r in body.runs} == {"仿宋"}
    assert {r.font.size for r in body.runs} == {Pt(16)}
    heading = next(p for p in seed_doc.paragraphs if p.text == "一、部门基本情况")
    assert heading.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    sub = next(p for p in seed_doc.paragraphs if p.text == "（一）部门概况")
    assert sub.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "楷体"
    title = seed_doc.paragraphs[0]
    assert all(r.font.size == Pt(22) and r.font.bold for r in title.runs)
    normal = seed_doc.styles["Normal"]
    assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋"
    assert normal.font.size == Pt(16)


def test_page_and_paragraph_layout(seed_doc: Any) -> None:
    s = seed_doc.sections[0]
    cm = [
        x.cm
        for x in (s.page_width, s.page_height, s.top_margin, s.bottom_margin, s.left_margin, s.right_margin)
    ]
    assert cm == pytest.approx([21, 29.7, 3.7, 3.5, 2.8, 2.6], abs=0.01)  # A4, official-document margins
    pf = seed_doc.styles["Normal"].paragraph_format
    assert pf.line_spacing == Pt(28)
    assert pf.first_line_indent == Pt(32)
    ind = seed_doc.styles["Normal"].element.pPr.find(qn("w:ind"))
    assert ind.get(qn("w:firstLineChars")) == "200"
    footer = s.footer.paragraphs[0]._p.xml
    assert "PAGE" in footer and 'w:fldCharType="begin"' in footer


# --- a second township: 清水乡 (funding sources, missing deviation reasons, ；-separated problems) --------


def test_township_with_missing_reasons(town7: tuple[Scored, Any]) -> None:
    scored, document = town7
    sub, result = scored.submission, scored.result
    assert sub is not None and result is not None
    lines = texts(document)
    text = "\n".join(lines)
    assert lines[0] == "清水乡人民政府\n2023年度整体支出绩效自评报告"
    row = sub.budget["total"]
    assert (
        f"2023年，我乡年初共安排预算资金{row.initial:.2f}万元，调整预算数{row.adjusted:.2f}万元，"
        f"截至12月底，共完成支付{row.executed:.2f}万元，预算执行率{result.execution_rate_shown:f}%。"
    ) in lines
    assert any(t.startswith("从资金来源看，当年财政拨款") and "上年结转" in t for t in lines)
    assert f"评价总得分{result.total.shown:f}分，评价等级为{result.grade}。" in text
    missing = sorted(
        {int(f.field.split("/")[2]) for f in scored.report.findings if f.code == "missing-deviation-reason"}
    )
    assert len(missing) >= 2
    names = [sub.indicators[i].level3 for i in missing]
    problems = section(document, "（一）存在的主要问题", "（二）改进措施")
    reason = [p for p in problems if "未说明偏差原因" in p]
    assert len(reason) == 1 and all(n in reason[0] for n in names)
    # the clerk's one-line, ；-separated problems become numbered items
    assert "1.预算执行率为93.00%，部分项目资金支付进度滞后。" in problems
    assert "2.绩效指标设置的量化程度有待提高。" in problems
    assert any("自评分数偏高" in p for p in problems)
    # each indicator that lost points without a reason carries the marked request
    requests = [
        p for p in document.paragraphs for r in p.runs if r.text == MISSING_REASON and r.font.highlight_color
    ]
    assert len(requests) == len(missing)
    rows = [[c.text for c in row.cells] for row in document.tables[0].rows]
    assert [r[1] for r in rows[1:]] == [m.name for m in sub.members]


def test_execution_over_100_is_a_problem_not_a_delay(tmp_path: Path) -> None:
    document = report_of(scored_of(sampledata.township(2)), tmp_path / "r.docx")  # 柏林镇: 106% execution
    problems = section(document, "（一）存在的主要问题", "（二）改进措施")
    assert any("超过全年预算数（调整后）" in p and "106.00%" in p for p in problems)
    assert not any(p.split(".", 1)[1] == "支付进度滞后。" for p in problems)


def test_amounts_half_up(tmp_path: Path) -> None:
    data = sampledata.variant(sampledata.seed(), **{"budget.total.initial": "8593.665"})
    document = report_of(scored_of(data), tmp_path / "r.docx")
    assert any("年初共安排预算资金8593.67万元" in t for t in texts(document))


def test_invalid_workbook_has_no_report(tmp_path: Path) -> None:
    scored = score_workbook(
        filled_bytes(sampledata.variant(sampledata.seed(), **{"identity.unit_name": None}), sampledata.YEAR)
    )
    assert not scored.valid
    with pytest.raises(ReportError, match="存在错误"):
        write_report(tmp_path / "r.docx", scored)
    assert not (tmp_path / "r.docx").exists()


# --- defaults files ---------------------------------------------------------------------------------------


def test_shipped_defaults_copies_are_identical() -> None:
    repo = ROOT / "templates" / "report_defaults.json"
    package = ROOT / "selfeval_xlsx" / "templates" / "report_defaults.json"
    assert repo.read_bytes() == package.read_bytes()
    assert load_defaults(repo) == load_defaults()


def test_load_defaults_from_a_bureau_file(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(
        json.dumps({"_说明": "本县", "measures": ["一条。", "两条。"]}, ensure_ascii=False),
        encoding="utf-8-sig",
    )
    loaded = load_defaults(path)
    assert loaded["measures"] == "一条。\n两条。"
    assert loaded["opening"] == load_defaults()["opening"]  # missing keys fall back to the shipped copy
    assert "_说明" not in loaded


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"opening": "x", "closing": "y"}', "closing"),
        ('{"opening": "{unit}年"}', "unit"),
        ('{"opening": "{year年"}', "花括号"),
        ('{"opening": 3}', "opening"),
        ('["opening"]', "JSON对象"),
        ('{"opening": ', "不是有效的JSON"),
    ],
)
def test_bad_defaults_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "d.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReportError, match=message):
        load_defaults(path)


def test_missing_defaults_file(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="无法读取"):
        load_defaults(tmp_path / "none.json")


# --- wording helpers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "we"),
    [
        ("宋营镇人民政府", "130133101000", "我镇"),
        ("清水乡人民政府", "130133202000", "我乡"),
        ("城关街道办事处", "130133001000", "我街道"),
        ("某某管委会", "130133202000", "我乡"),
        ("某某管委会", "130133401000", "我单位"),
    ],
)
def test_we_word(name: str, code: str, we: str) -> None:
    assert we_word(name, code) == we


@pytest.mark.parametrize(
    ("text", "items"),
    [
        (
            "1.部分项目资金支付进度滞后。\n2.绩效评价指标体系还不够完善",
            ["部分项目资金支付进度滞后。", "绩效评价指标体系还不够完善。"],
        ),
        ("问题一；问题二。", ["问题一。", "问题二。"]),
        ("（1）甲\n(2) 乙；\n三、丙", ["甲。", "乙。", "丙。"]),
        ("无", []),
        ("  ", []),
    ],
)
def test_split_items(text: str, items: list[str]) -> None:
    assert split_items(text) == items


# --- LibreOffice: the document opens and prints with the figures -------------------------------------------


@needs_soffice
@pytest.mark.slow
def test_libreoffice_renders_the_report(seed_docx: Path, tmp_path: Path) -> None:
    source = tmp_path / "report.docx"
    shutil.copy(seed_docx, source)
    soffice_convert(source, tmp_path)
    pdf = tmp_path / "report.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils (pdftotext) is not installed")
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, timeout=60)
    text = re.sub(r"\s+", "", out.stdout.decode("utf-8"))
    for expected in ("8593.66", "9883.28", "8724.90", "88.28%", "98.68", "优秀", "卢迪", "尹华", "尚建人"):
        assert expected in text, expected
    assert "宋营镇人民政府2023年度整体支出绩效自评报告" in text
    assert "评价总得分98.68分" in text
    pages = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, timeout=60).stdout
    assert 3 <= int(re.search(rb"Pages:\s+(\d+)", pages)[1]) <= 10


def test_control_characters_from_a_cell_do_not_break_the_document(
    seed_scored: Scored, tmp_path: Path
) -> None:
    assert seed_scored.submission is not None
    sub = dataclasses.replace(seed_scored.submission, achieved="整体达到\x07年初目标\x1f。")
    scored = Scored(seed_scored.doc, seed_scored.report, sub, seed_scored.result)
    document = report_of(scored, tmp_path / "r.docx")
    assert section(document, "（一）总体绩效目标实现情况", "（二）分项绩效目标实现情况及指标分析") == [
        "整体达到年初目标。"
    ]
