"""The completed workbook (township's values + computed scores + 评分结果) and the returned copy.

Both are new files built with xlsxwriter on the standard layout: the input workbook is never touched
and nothing of it (macros, external links, foreign sheets) is copied. Every figure is written as a
value, not a formula, so Protected View, WPS and LibreOffice all show the computed number at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter

from . import panel
from .decimals import HUNDRED
from .document import Document
from .findings import SEVERITY_LABELS, Finding, Report
from .layout import SPENDING
from .pipeline import Scored
from .template import BOX as _BOX
from .template import FONT_NAME, FONT_SIZE, LABEL, MARK, NOTE, Formats, write_standard
from .version import __version__
from .xlsx import bookparts
from .xlsx.canvas import LINE_HEIGHT as _LINE
from .xlsx.canvas import wrapped_lines as _lines

RESULT_SHEET = "评分结果"
RETURN_SHEET = "退回说明"
DETAIL_SHEET = "评分明细"


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
    """(sheet, cell or range such as ``J5:J11``) → messages, for the highlighted cells of a written
    workbook: every cell of a range is coloured, the comment sits on its first cell."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for f in findings:
        if f.sheet and f.cell and f.severity in ("error", "warning"):
            out[(f.sheet, f.cell.replace("$", "").upper())].append(
                f"【{SEVERITY_LABELS[f.severity]}】{f.message}"
            )
    return dict(out)


#: Write through :mod:`bookparts` (frame drawn once per process by xlsxwriter, cells written per file);
#: ``False``: every workbook through xlsxwriter. Both write the same workbook (tests/test_bookparts.py).
PART_WRITER = True


def _open(target: str | Path | BinaryIO) -> xlsxwriter.Workbook:
    return xlsxwriter.Workbook(str(target) if isinstance(target, str | Path) else target, workbook_options())


def _written(target: str | Path | BinaryIO, draw: Callable[[Any], None]) -> None:
    """Run ``draw(workbook)`` and write the workbook: recorded by :class:`bookparts.Book` and written
    from its parts, or, when the part writer does not reproduce a call (or is off), by xlsxwriter."""
    if PART_WRITER:
        wb = bookparts.Book(target, workbook_options())
        try:
            draw(wb)
        except bookparts.Unsupported:
            pass
        else:
            wb.close()
            return
    wb = _open(target)
    draw(wb)
    wb.close()


def write_completed(target: str | Path | BinaryIO, scored: Scored) -> None:
    """The completed workbook of a valid submission: 评分结果 (a one-page form to sign, first in print
    order), the standard sheets with values, computed 得分 and highlighted findings, then 评分明细."""
    if scored.submission is None or scored.result is None:
        raise ValueError("only a valid, scored submission has a completed workbook")
    _written(target, lambda wb: _completed(wb, scored))


def _completed(wb: Any, scored: Scored) -> None:
    sub, res, doc = scored.submission, scored.result, scored.doc
    assert sub is not None and res is not None
    outputs: dict[str, object] = {
        "/budget/total/weight": res.rules.budget_weight,
        "/budget/total/rate": None
        if res.execution_rate_shown is None
        else res.execution_rate_shown / HUNDRED,
        "/budget/total/score": res.budget.shown,
    }
    for key, _label in SPENDING:  # the split's own 执行率, where it is filled
        if (rate := _rate(sub, key, res)) is not None:
            outputs[f"/budget/{key}/rate"] = rate / HUNDRED
    for s in res.indicators:
        outputs[f"/indicators/{s.indicator.index}/score"] = s.figure.shown
    wb.set_properties(
        {"title": f"{sub.unit_name}{sub.year}年度{_what(sub)}绩效自评（已评分）", "comments": __version__}
    )
    ws = wb.add_worksheet(RESULT_SHEET)  # added first: printed first
    sheets = write_standard(
        wb,
        year=sub.year,
        grades=res.rules.grades,
        doc=doc,
        outputs=outputs,
        marks=marks_of(scored.report),
        rules=res.rules,
    )
    _result_sheet(ws, sheets.formats, scored)
    detail = wb.add_worksheet(DETAIL_SHEET)
    _detail_sheet(detail, sheets.formats, scored)
    ws.activate()
    ws.set_first_sheet()


def _a4(ws: Any, *, landscape: bool = False) -> None:
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")


def _tall(ws: Any, row: int, text: str, width: float, least: float = _LINE + 3) -> None:
    """Give a row the height its wrapped text needs in a span of ``width`` characters."""
    ws.set_row(row, max(least, _LINE * _lines(text, width) + 5))


#: 评分结果: column widths (portrait A4, about 90 characters across)
_FORM_WIDTHS = (16, 13, 13, 13, 17, 10, 11)


def _result_sheet(ws: Any, fm: Formats, scored: Scored) -> None:
    """One portrait A4 page a leader signs: who, the budget part, each category and the total with the
    grade, the self-reported total and the difference, the findings in brief, signature lines."""
    sub, res = scored.submission, scored.result
    assert sub is not None and res is not None
    for i, w in enumerate(_FORM_WIDTHS):
        ws.set_column(i, i, w)
    _a4(ws)
    ws.hide_gridlines(2)
    last = len(_FORM_WIDTHS) - 1
    wide = sum(_FORM_WIDTHS)
    label, value = fm.get(LABEL), fm.get(_BOX, text_wrap=True, align="left")
    center = fm.get(_BOX, text_wrap=True, align="center")
    row = 0
    title = f"{sub.unit_name}{sub.year}年度{_what(sub)}绩效自评评分结果"
    ws.merge_range(row, 0, row, last, title, fm.title)
    _tall(ws, row, title, wide * 0.68, 30)
    row += 2

    code_label = "行政区划代码" if sub.division_code else "统一社会信用代码"
    for pair in (
        (("单位名称", sub.unit_name), ("评价年度", f"{sub.year}年度")),
        (("评价类型", _what(sub)), (code_label, sub.unit_code)),
    ):
        (l1, v1), (l2, v2) = pair
        ws.write_string(row, 0, l1, label)
        ws.merge_range(row, 1, row, 3, v1, value)
        ws.write_string(row, 4, l2, label)
        ws.merge_range(row, 5, row, last, v2, value)
        ws.set_row(row, 22)
        row += 1
    row += 1

    ws.merge_range(row, 0, row, last, "一、预算执行（单位：万元）", fm.section)
    row += 1
    for c, h in enumerate(("项目", "年初预算数", "全年预算数", "全年执行数", "执行率", "分值", "得分")):
        ws.write_string(row, c, h, fm.header)
    ws.set_row(row, 20)
    row += 1
    total = sub.budget.get("total")
    ws.write_string(row, 0, "合计", label)
    for c, v in enumerate((total.initial, total.adjusted, total.executed) if total else (None,) * 3, 1):
        _num(ws, row, c, v, fm.money)
    if res.execution_rate is not None:
        ws.write_number(row, 4, float(res.rules.quantize(res.execution_rate * HUNDRED) / HUNDRED), fm.percent)
    else:
        ws.write_blank(row, 4, None, fm.percent)
    ws.write_number(row, 5, float(res.rules.budget_weight), fm.score)
    ws.write_number(row, 6, float(res.budget.shown), fm.score)
    row += 1
    for key, name in SPENDING:  # 基本支出 / 项目支出, when filled: amounts and their own rate
        part = sub.budget.get(key)
        if part is None or not part.filled:
            continue
        ws.write_string(row, 0, name, label)
        for c, v in enumerate((part.initial, part.adjusted, part.executed), 1):
            _num(ws, row, c, v, fm.money)
        rate = _rate(sub, key, res)
        _num(ws, row, 4, None if rate is None else rate / HUNDRED, fm.percent)
        ws.merge_range(row, 5, row, last, "（不单独计分）", center)
        ws.set_row(row, 20)
        row += 1
    note = f"计算：{res.budget.explanation}"
    ws.merge_range(row, 0, row, last, note, fm.note)
    _tall(ws, row, note, wide)
    row += 2

    ws.merge_range(row, 0, row, last, "二、评分结果", fm.section)
    row += 1
    for c0, c1, h in ((0, 1, "类别"), (2, 2, "分值"), (3, 3, "核定得分"), (4, 4, "扣分"), (5, last, "说明")):
        _span(ws, row, c0, c1, h, fm.header)
    ws.set_row(row, 20)
    row += 1
    counts = {cat: sum(1 for s in res.indicators if s.indicator.level1 == cat) for cat in res.subtotals}
    lines: list[tuple[str, Any, Any, str]] = [("预算执行", res.rules.budget_weight, res.budget.shown, "")]
    if res.execution_rate_shown is not None:
        lines[0] = (*lines[0][:3], f"执行率{res.execution_rate_shown}%")
    for cat, fig in res.subtotals.items():
        lines.append((cat, fig.weight, fig.shown, f"指标{counts.get(cat, 0)}个"))
    for name, weight, shown, remark in lines:
        _span(ws, row, 0, 1, name, label)
        ws.write_number(row, 2, float(weight), fm.score)
        ws.write_number(row, 3, float(shown), fm.score)
        ws.write_number(row, 4, float(weight - shown), fm.score)
        _span(ws, row, 5, last, remark, value)
        ws.set_row(row, 20)
        row += 1
    bold = fm.get(_BOX, bold=True, num_format="0.00")
    _span(ws, row, 0, 1, "总分", fm.get(LABEL))
    ws.write_number(row, 2, float(res.total.weight), bold)
    ws.write_number(row, 3, float(res.total.shown), bold)
    ws.write_number(row, 4, float(res.total.weight - res.total.shown), bold)
    _span(ws, row, 5, last, f"等级：{res.grade}", fm.get(_BOX, bold=True))
    ws.set_row(row, 22)
    row += 1
    diff = None if sub.self_total is None else sub.self_total - res.total.shown
    _span(ws, row, 0, 1, "自评总分", label)
    _num(ws, row, 2, sub.self_total, fm.score)
    ws.write_string(row, 3, "自评等级", label)
    ws.write_string(row, 4, sub.self_grade or "", center)
    _span(ws, row, 5, last, f"差异（自评−核定）：{'' if diff is None else f'{diff:+.2f}'}", value)
    ws.set_row(row, 22)
    row += 1
    ws.merge_range(row, 0, row, last, res.total.explanation, fm.note)
    _tall(ws, row, res.total.explanation, wide)
    row += 2

    findings = [f for f in scored.report.findings if f.severity in ("error", "warning", "info")]
    ws.merge_range(row, 0, row, last, "三、审核发现", fm.section)
    row += 1
    by = {k: sum(1 for f in findings if f.severity == k) for k in SEVERITY_LABELS}
    summary = f"错误{by['error']}项，警告{by['warning']}项，提示{by['info']}项。" + (
        "各项说明见「评分明细」表，问题单元格已在各表中标色并加批注。" if findings else "未发现问题。"
    )
    ws.merge_range(row, 0, row, last, summary, fm.note)
    _tall(ws, row, summary, wide)
    row += 1
    shown = findings[:_BRIEF]
    if shown:
        for c0, c1, h in ((0, 0, "序号"), (1, 1, "级别"), (2, 4, "问题"), (5, last, "位置")):
            _span(ws, row, c0, c1, h, fm.header)
        row += 1
        for i, f in enumerate(shown, 1):
            ws.write_number(row, 0, i, center)
            ws.write_string(
                row,
                1,
                SEVERITY_LABELS.get(f.severity, f.severity),
                fm.mark if f.severity == "error" else center,
            )
            _span(ws, row, 2, 4, f.title, value)
            _location(ws, row, 5, last, f, value)
            ws.set_row(row, 20)
            row += 1
        if len(findings) > len(shown):
            more = f"另有{len(findings) - len(shown)}项，见「评分明细」表。"
            ws.merge_range(row, 0, row, last, more, fm.note)
            row += 1
    row += 1

    ws.merge_range(row, 0, row, last, "四、审核意见及签字", fm.section)
    row += 1
    ws.merge_range(row, 0, row, last, "", value)
    ws.set_row(row, 48)
    row += 2
    sign = fm.get({"bottom": 1})
    ws.merge_range(row, 0, row, 1, "评价组组长（签字）：", fm.get({"align": "right"}))
    ws.merge_range(row, 2, row, 3, "", sign)
    ws.merge_range(row, 4, row, 5, "单位负责人（签字）：", fm.get({"align": "right"}))
    ws.write_blank(row, last, None, sign)
    ws.set_row(row, 30)
    row += 1
    ws.merge_range(row, 4, row, 5, "日期：", fm.get({"align": "right"}))
    ws.write_string(row, last, "　　年　　月　　日", fm.get({"bottom": 1, "align": "right"}))
    ws.set_row(row, 30)
    row += 2
    stamp = (
        f"评分规则：{res.rules.title}（{res.rules.name}）；{res.rules.weights_text()}；{res.rules.grade_text()}。"
        f"定性指标评分方式：{panel.DESCRIPTIONS.get(res.panel_mode, res.panel_mode)}。"
        f"生成：selfeval-xlsx {__version__}，{_when(datetime.now().astimezone())}。"
    )
    ws.merge_range(row, 0, row, last, stamp, fm.note)
    _tall(ws, row, stamp, wide)
    ws.print_area(0, 0, row, last)
    ws.fit_to_pages(1, 1)


_BRIEF = 12  # findings listed on the one-page form; the rest are counted and shown on 评分明细


def _when(moment: datetime) -> str:
    """2026年12月5日 15:19 (the local time, as a clerk writes it)."""
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def _span(ws: Any, row: int, c0: int, c1: int, text: str, fmt: Any) -> None:
    if c1 > c0:
        ws.merge_range(row, c0, row, c1, text, fmt)
    else:
        ws.write_string(row, c0, text, fmt)


def _location(ws: Any, row: int, c0: int, c1: int, f: Finding, fmt: Any) -> None:
    """Where a finding is: a link to the sheet and cell (in full), or the sheet, or 整个文件."""
    if c1 > c0:
        ws.merge_range(row, c0, row, c1, "", fmt)
    if f.sheet and f.cell:
        ws.write_url(
            row, c0, f"internal:'{f.sheet}'!{f.cell.split(':')[0]}", fmt, string=f"{f.sheet}!{f.cell}"
        )
    else:
        ws.write_string(row, c0, f.sheet or "整个文件", fmt)


def _detail_sheet(ws: Any, fm: Formats, scored: Scored) -> None:
    """评分明细 (landscape): each indicator's figures and how its score was reached, every finding."""
    sub, res = scored.submission, scored.result
    assert sub is not None and res is not None
    widths = (5, 9, 11, 18, 6, 12, 12, 7, 8, 8, 7, 9, 52)
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    _a4(ws, landscape=True)
    last = len(widths) - 1
    ws.merge_range(0, 0, 0, last, f"{sub.unit_name}{sub.year}年度{_what(sub)}绩效自评评分明细", fm.title)
    ws.set_row(0, 28)
    row = 2
    ws.merge_range(row, 0, row, last, "一、绩效指标", fm.section)
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
    ws.set_row(row, 30)
    ws.repeat_rows(row, row)
    row += 1
    text = fm.text
    marked = fm.get(_BOX, MARK, num_format="0.00")
    for s in res.indicators:
        ind = s.indicator
        cells = (
            ind.level1,
            ind.level2,
            ind.level3,
            ind.nature,
            _plain(ind.target, ind.unit),
            _plain(ind.actual, ind.unit),
        )
        ws.write_number(row, 0, ind.seq, fm.get(_BOX, align="center"))
        for c, t in enumerate(cells, start=1):
            ws.write_string(row, c, t, text)
        ws.write_number(row, 7, float(ind.weight), fm.score)
        _num(ws, row, 8, ind.self_score, fm.score)
        ws.write_number(row, 9, float(s.figure.shown), marked if not s.figure.full else fm.score)
        _num(ws, row, 10, None if ind.self_score is None else ind.self_score - s.figure.shown, fm.score)
        ws.write_string(row, 11, s.method_label, text)
        ws.write_string(row, 12, s.figure.explanation, text)
        texts = zip((1, 2, 3, 4, 5, 6, 11, 12), (*cells, s.method_label, s.figure.explanation), strict=True)
        need = max(_lines(t, widths[c]) for c, t in texts)
        ws.set_row(row, _LINE * need + 5)
        row += 1
    row += 1
    row = _findings_block(
        ws, fm, row, "二、审核发现（点击位置可跳转到对应单元格）", scored.report.findings, widths
    )
    ws.print_area(0, 0, row, last)
    ws.fit_to_pages(1, 0)


def _findings_block(
    ws: Any,
    fm: Formats,
    row: int,
    title: str,
    findings: Sequence[Finding],
    widths: Sequence[float],
) -> int:
    """A findings table across the columns of ``widths``: 序号, 级别, 问题, 位置 (in full) and 说明
    (wrapped, rows as tall as their text). Returns the row after it; the header row is ``row + 1``."""
    last = len(widths) - 1
    cols = _finding_cols(last)
    span = [sum(widths[c0 : c1 + 1]) for c0, c1 in cols]
    ws.merge_range(row, 0, row, last, title, fm.section)
    row += 1
    for (c0, c1), h in zip(cols, ("序号", "级别", "问题", "位置", "说明"), strict=True):
        _span(ws, row, c0, c1, h, fm.header)
    ws.set_row(row, 20)
    row += 1
    if not findings:
        ws.merge_range(row, 0, row, last, "未发现问题。", fm.note)
        return row + 1
    center = fm.get(_BOX, align="center", text_wrap=True)
    top = fm.get(_BOX, text_wrap=True)
    for i, f in enumerate(findings, 1):
        _span(ws, row, *cols[0], str(i), center)
        level = SEVERITY_LABELS.get(f.severity, f.severity)
        _span(
            ws, row, *cols[1], level, fm.get(_BOX, MARK, align="center") if f.severity == "error" else center
        )
        _span(ws, row, *cols[2], f.title, top)
        _location(ws, row, *cols[3], f, top)
        _span(ws, row, *cols[4], f.message, top)
        place = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "整个文件")
        need = max(_lines(f.message, span[4]), _lines(place, span[3]), _lines(f.title, span[2]))
        ws.set_row(row, _LINE * need + 5)
        row += 1
    return row


def _finding_cols(last: int) -> tuple[tuple[int, int], ...]:
    """Column spans of 序号, 级别, 问题, 位置, 说明 in a table of columns 0..last."""
    if last >= 12:  # 评分明细's indicator columns: 问题 C:D, 位置 E:G, 说明 H:M
        return ((0, 0), (1, 1), (2, 3), (4, 6), (7, last))
    return ((0, 0), (1, 1), (2, 2), (3, 3), (4, last))


#: 退回说明: column widths (portrait A4)
_RETURN_WIDTHS = (6, 7, 18, 18, 46)


def write_returned(
    target: str | Path | BinaryIO, doc: Document, report: Report, year: int | None = None, rules: Any = None
) -> None:
    """A copy of a rejected submission on a fresh template: 退回说明 first (portrait A4: what to do,
    then every problem), then the standard sheets with the problems highlighted and commented. ``rules``: the profile the
    submission was checked against (its grades, weights and panel mode); ``None``: the default profile."""
    _written(target, lambda wb: _returned(wb, doc, report, year, rules))


def _returned(wb: Any, doc: Document, report: Report, year: int | None, rules: Any) -> None:
    year = year or (doc.get("/identity/year") if isinstance(doc.get("/identity/year"), int) else None)
    ws = wb.add_worksheet(RETURN_SHEET)  # added first: printed first
    findings = [_as_returned(f) for f in report.findings]
    sheets = write_standard(
        wb,
        year=year,
        grades=rules.grades if rules is not None else _grades(),
        doc=doc,
        marks=marks_of(findings),
        rules=rules,
    )
    for i, w in enumerate(_RETURN_WIDTHS):
        ws.set_column(i, i, w)
    _a4(ws)
    last = len(_RETURN_WIDTHS) - 1
    wide = sum(_RETURN_WIDTHS)
    fm = sheets.formats
    title = "本表未通过审核，请按下列问题修改后重新报送"
    ws.merge_range(0, 0, 0, last, title, fm.title)
    ws.set_row(0, 30)
    row = 1
    for text in _return_lines(doc, report):
        ws.merge_range(row, 0, row, last, text, fm.get(NOTE, font_color="#000000"))
        _tall(ws, row, text, wide)
        row += 1
    header = row + 2
    row = _findings_block(ws, fm, row + 1, "问题清单", findings, _RETURN_WIDTHS)
    ws.repeat_rows(header, header)
    ws.print_area(0, 0, row - 1, last)
    ws.fit_to_pages(1, 0)
    ws.activate()
    ws.set_first_sheet()


def _return_lines(doc: Document, report: Report) -> list[str]:
    """What the township is to do with the file it now holds."""
    lines = [
        f"原文件：{doc.file}",
        "已将您填报的内容录入最新模板（即本工作簿），有问题的单元格已标为橙色并加批注（鼠标指向单元格即可"
        "查看）。请直接在本工作簿中修改，改完后将本工作簿重新发送（本页可删除，也可保留）。",
    ]
    rebuilt = sorted({f.sheet for f in report.findings if f.code == "missing-sheet" and f.sheet})
    if rebuilt:
        names = "、".join(f"「{n}」" for n in rebuilt)
        lines.append(f"原文件缺少{names}工作表，本工作簿已按模板补上空白的{names}表，请在其中填写。")
    if any(f.code == "template-version" and f.severity == "error" for f in report.findings):
        lines.append(
            "原文件使用的是旧版模板：本工作簿中的内容是按现行模板的位置读取的，与新版位置一致的内容已录入；"
            "请逐项与原文件核对，没有录入或录错位置的内容（特别是「预算执行」表的基本信息和预算数）请重新填写。"
        )
    return lines


def _as_returned(f: Finding) -> Finding:
    """A finding as the returned copy shows it: about the file the township now holds, not the one it
    sent (a missing sheet has been rebuilt empty: fill it in, rather than "do not delete it")."""
    if f.code == "missing-sheet" and f.sheet:
        return replace(
            f,
            message=f"原文件缺少工作表“{f.sheet}”。本工作簿已按模板补上空白的“{f.sheet}”表，请在其中填写；"
            "今后请勿删除或重命名模板中的工作表。",
        )
    return f


def _what(sub: Any) -> str:
    """整体支出, or 《project》项目支出."""
    return f"“{sub.project}”项目支出" if sub.kind == "项目" and sub.project else "整体支出"


def _rate(sub: Any, key: str, res: Any) -> Any:
    """A budget row's execution rate in percent as shown (rounded half-up), or None."""
    part = sub.budget.get(key)
    rate = part.rate if part is not None else None
    return None if rate is None else res.rules.quantize(rate * HUNDRED)


def _grades() -> tuple[str, ...]:
    from .rules import load_rules

    return load_rules().grades


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
