"""The completed workbook (township's values + computed scores + 评分结果) and the returned copy.

Both are new files built with xlsxwriter on the standard layout: the input workbook is never touched
and nothing of it (macros, external links, foreign sheets) is copied. Every figure is written as a
value, not a formula, so Protected View, WPS and LibreOffice all show the computed number at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter

from .decimals import HUNDRED
from .document import Document
from .findings import Finding, Report
from .pipeline import Scored
from .template import FONT_NAME, FONT_SIZE, Formats, write_standard
from .version import __version__
from .xlsxfast import FastWorksheet

RESULT_SHEET = "评分结果"
RETURN_SHEET = "退回说明"
SEVERITY = {"error": "错误", "warning": "警告", "info": "提示"}


def workbook_options() -> dict[str, Any]:
    """xlsxwriter's options for a completed or returned workbook: new dicts every time, because
    xlsxwriter adds to the ``default_format_properties`` it is given (a shared dict made every workbook
    after a process's first one differ from it in styles.xml)."""
    return {
        "in_memory": True,  # no temporary file per part: a third faster for workbooks this size
        "default_format_properties": {"font_name": FONT_NAME, "font_size": FONT_SIZE},
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    }


def marks_of(findings: Iterable[Finding]) -> dict[tuple[str, str], list[str]]:
    """(sheet, first cell) → messages, for the highlighted cells of a written workbook."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for f in findings:
        if f.sheet and f.cell and f.severity in ("error", "warning"):
            out[(f.sheet, f.cell.split(":")[0])].append(f"【{SEVERITY[f.severity]}】{f.message}")
    return dict(out)


def _open(target: str | Path | BinaryIO) -> xlsxwriter.Workbook:
    return xlsxwriter.Workbook(str(target) if isinstance(target, str | Path) else target, workbook_options())


def write_completed(target: str | Path | BinaryIO, scored: Scored) -> None:
    """The completed workbook of a valid submission: values, computed 得分, 评分结果, highlighted findings."""
    sub, res, doc = scored.submission, scored.result, scored.doc
    if sub is None or res is None:
        raise ValueError("only a valid, scored submission has a completed workbook")
    outputs: dict[str, object] = {
        "/budget/total/weight": res.rules.budget_weight,
        "/budget/total/rate": None
        if res.execution_rate_shown is None
        else res.execution_rate_shown / HUNDRED,
        "/budget/total/score": res.budget.shown,
    }
    for s in res.indicators:
        outputs[f"/indicators/{s.indicator.index}/score"] = s.figure.shown
    wb = _open(target)
    wb.set_properties(
        {"title": f"{sub.unit_name}{sub.year}年度整体支出绩效自评（已评分）", "comments": __version__}
    )
    sheets = write_standard(
        wb, year=sub.year, grades=res.rules.grades, doc=doc, outputs=outputs, marks=marks_of(scored.report)
    )
    ws = wb.add_worksheet(RESULT_SHEET, worksheet_class=FastWorksheet)
    _result_sheet(ws, sheets.formats, scored)
    ws.activate()
    wb.close()


def _result_sheet(ws: Any, fm: Formats, scored: Scored) -> None:
    sub, res = scored.submission, scored.result
    assert sub is not None and res is not None
    widths = (8, 12, 16, 22, 8, 14, 14, 8, 9, 9, 9, 12, 48)
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    last = len(widths) - 1
    row = 0
    ws.merge_range(row, 0, row, last, f"{sub.unit_name}{sub.year}年度整体支出绩效自评评分结果", fm.title)
    ws.set_row(row, 28)
    row += 1
    _note(
        ws,
        fm,
        row,
        last,
        f"评分规则：{res.rules.title}（{res.rules.name}）；{res.rules.grade_text()}。"
        f"生成：selfeval-xlsx {__version__}，{datetime.now().astimezone():%Y-%m-%d %H:%M}。",
    )
    row += 2

    ws.write_string(row, 0, "一、总体结果", fm.section)
    row += 1
    headers = ("核定总分", "核定等级", "自评总分", "自评等级", "差异（自评−核定）")
    for c, h in enumerate(headers):
        ws.write_string(row, c * 2, h, fm.header)
    row += 1
    diff = None if sub.self_total is None else sub.self_total - res.total.shown
    ws.write_number(row, 0, float(res.total.shown), fm.score)
    ws.write_string(row, 2, res.grade, fm.text)
    _num(ws, row, 4, sub.self_total, fm.score)
    ws.write_string(row, 6, sub.self_grade or "", fm.text)
    _num(ws, row, 8, diff, fm.score)
    row += 1
    _note(ws, fm, row, last, res.total.explanation)
    row += 2

    ws.write_string(row, 0, "二、预算执行（万元）", fm.section)
    row += 1
    for c, h in enumerate(("年初预算数", "全年预算数", "全年执行数", "执行率", "分值", "得分")):
        ws.write_string(row, c * 2, h, fm.header)
    row += 1
    total = sub.budget.get("total")
    for c, v in enumerate((total.initial, total.adjusted, total.executed) if total else (None,) * 3):
        _num(ws, row, c * 2, v, fm.money)
    if res.execution_rate is not None:
        ws.write_number(row, 6, float(res.rules.quantize(res.execution_rate * HUNDRED) / HUNDRED), fm.percent)
    ws.write_number(row, 8, float(res.rules.budget_weight), fm.score)
    ws.write_number(row, 10, float(res.budget.shown), fm.score)
    row += 1
    _note(ws, fm, row, last, f"计算：{res.budget.explanation}")
    row += 2

    ws.write_string(row, 0, "三、绩效指标", fm.section)
    row += 1
    heads = (
        "序号",
        "一级指标",
        "二级指标",
        "三级指标",
        "性质",
        "年度指标值",
        "实际完成值",
        "分值",
        "自评得分",
        "核定得分",
        "差异",
        "计分方法",
        "计算说明",
    )
    for c, h in enumerate(heads):
        ws.write_string(row, c, h, fm.header)
    ws.freeze_panes(row + 1, 0)
    row += 1
    for s in res.indicators:
        ind = s.indicator
        ws.write_number(row, 0, ind.seq, fm.text)
        for c, text in enumerate((ind.level1, ind.level2, ind.level3, ind.nature), start=1):
            ws.write_string(row, c, text, fm.text)
        ws.write_string(row, 5, _plain(ind.target, ind.unit), fm.text)
        ws.write_string(row, 6, _plain(ind.actual, ind.unit), fm.text)
        ws.write_number(row, 7, float(ind.weight), fm.score)
        _num(ws, row, 8, ind.self_score, fm.score)
        ws.write_number(row, 9, float(s.figure.shown), fm.mark if not s.figure.full else fm.score)
        _num(ws, row, 10, None if ind.self_score is None else ind.self_score - s.figure.shown, fm.score)
        ws.write_string(row, 11, s.method, fm.text)
        ws.write_string(row, 12, s.figure.explanation, fm.text)
        longest = max(len(s.figure.explanation) / 24, len(_plain(ind.actual, ind.unit)) / 7, 1)
        ws.set_row(row, 15 * min(8, int(longest) + 1))
        row += 1
    row += 1
    ws.write_string(row, 0, "四、分类小计", fm.section)
    row += 1
    for c, h in enumerate(("类别", "", "分值", "", "得分")):
        if h:
            ws.write_string(row, c, h, fm.header)
    row += 1
    for cat, fig in res.subtotals.items():
        ws.write_string(row, 0, cat, fm.text)
        ws.write_number(row, 2, float(fig.weight), fm.score)
        ws.write_number(row, 4, float(fig.shown), fm.score)
        row += 1
    row += 1
    _findings_block(ws, fm, row, "五、审核发现（点击位置可跳转到对应单元格）", scored.report.findings, last)


def _findings_block(
    ws: Any, fm: Formats, row: int, title: str, findings: Sequence[Finding], last: int
) -> int:
    ws.write_string(row, 0, title, fm.section)
    row += 1
    heads = ("序号", "级别", "问题", "位置", "说明")
    cols = (0, 1, 2, 4, 5)
    for c, h in zip(cols, heads, strict=True):
        ws.write_string(row, c, h, fm.header)
    if last > 5:
        ws.merge_range(row, 5, row, last, "说明", fm.header)
    row += 1
    if not findings:
        ws.write_string(row, 0, "未发现问题。", fm.note)
        return row + 1
    for i, f in enumerate(findings, 1):
        ws.write_number(row, 0, i, fm.text)
        ws.write_string(
            row, 1, SEVERITY.get(f.severity, f.severity), fm.mark if f.severity == "error" else fm.text
        )
        ws.write_string(row, 2, f.title, fm.text)
        if f.sheet and f.cell:
            ws.write_url(row, 4, f"internal:'{f.sheet}'!{f.cell}", fm.text, string=f"{f.sheet}!{f.cell}")
        else:
            ws.write_string(row, 4, f.sheet or "整个文件", fm.text)
        if last > 5:
            ws.merge_range(row, 5, row, last, "", fm.text)
        ws.write_string(row, 5, f.message, fm.text)
        ws.set_row(row, 15 * max(1, min(6, len(f.message) // 60 + 1)))
        row += 1
    return row


def write_returned(
    target: str | Path | BinaryIO,
    doc: Document,
    report: Report,
    year: int | None = None,
    grades: Sequence[str] | None = None,
) -> None:
    """A copy of a rejected submission on a fresh template: the problems highlighted with comments.
    ``grades`` are the rules profile's (its 自评等级 dropdown); the default profile's when not given."""
    wb = _open(target)
    year = year or (doc.get("/identity/year") if isinstance(doc.get("/identity/year"), int) else None)
    grades = tuple(grades) if grades else _grades()
    sheets = write_standard(wb, year=year, grades=grades, doc=doc, marks=marks_of(report))
    ws = wb.add_worksheet(RETURN_SHEET, worksheet_class=FastWorksheet)
    for i, w in enumerate((8, 10, 16, 8, 16, 60)):
        ws.set_column(i, i, w)
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    fm = sheets.formats
    ws.merge_range(0, 0, 0, 5, "本表未通过审核，请按下列问题修改后重新报送", fm.title)
    ws.set_row(0, 28)
    ws.write_string(
        1,
        0,
        f"原文件：{doc.file}。已将您填报的内容录入最新模板，有问题的单元格已标色并加批注；"
        "修改后请将本工作簿（可删除本页）重新发送。",
        fm.note,
    )
    _findings_block(ws, fm, 3, "问题清单", report.findings, 5)
    ws.activate()
    wb.close()


def _grades() -> tuple[str, ...]:
    from .rules import load_rules

    return load_rules().grades


def _note(ws: Any, fm: Formats, row: int, last: int, text: str) -> None:
    """A wrapped line of text across the sheet, tall enough for its length."""
    ws.merge_range(row, 0, row, last, "", fm.note)
    ws.write_string(row, 0, text, fm.note)
    ws.set_row(row, 15 * max(1, min(6, len(text) // 110 + 1)))


def _num(ws: Any, row: int, col: int, value: Any, fmt: Any) -> None:
    if value is None:
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_number(row, col, float(value), fmt)


def _plain(value: Any, unit: str) -> str:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return f"{value.normalize():f}{unit or ''}"
    return str(value)
