"""The township's 自评报告 drafted as a Word document from a validated, scored workbook.

The structure follows the seed report (一、部门基本情况 … 六、评价工作组人员名单); every figure is the
computed one (never the clerk's self-score), amounts in 万元 with 2 decimals, half-up. Paragraphs that do
not come from the workbook are taken from editable defaults (``templates/report_defaults.json``) and are
marked for the clerk to revise: they start with :data:`MARK` and are highlighted yellow.

Typography follows Chinese official documents: A4, margins 3.7/3.5/2.8/2.6 cm, title 宋体 bold 二号,
headings 黑体 / 楷体 三号, body 仿宋 三号 with a 2-character first-line indent and fixed 28pt line spacing.
Every run carries its East Asian font (``w:eastAsia``) so Word and WPS show it.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

from docx import Document as new_document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_COLOR_INDEX
from docx.shared import Cm
from docx.text.paragraph import Paragraph

from .decimals import ZERO, fmt2
from .docx_style import (
    BODY_FONT,
    H1_FONT,
    H2_FONT,
    SIZE_2,
    SIZE_3,
    SIZE_4,
    TITLE_FONT,
    column_widths,
    row_props,
    set_font,
    setup_document,
)
from .findings import Finding
from .layout import FUNDING, LEVELS
from .model import Indicator, Submission
from .pipeline import Scored
from .rules import Rules
from .scoring import IndicatorScore, ScoreResult

#: Prefix of every paragraph taken from the defaults (not from the workbook).
MARK = "【请修改】"
#: Inline note where the workbook lacks a deviation reason the report needs.
MISSING_REASON = "【请补充】偏差原因未填写，请说明未达到目标的原因和改进措施。"
HIGHLIGHT = WD_COLOR_INDEX.YELLOW

DEFAULTS_FILE = "report_defaults.json"
DEFAULT_KEYS = (
    "opening",
    "overview",
    "organization",
    "process",
    "annual_goal",
    "achieved",
    "problems",
    "measures",
)
PLACEHOLDERS = ("unit_name", "short_name", "we", "year", "county")


_NUMBERING = re.compile(
    r"^\s*(?:\d+\s*[.．、)）]|[（(]\s*\d+\s*[)）]|[一二三四五六七八九十]+\s*[、.．]|[（(][一二三四五六七八九十]+[)）])\s*"
)
_INDICATOR = re.compile(r"^/indicators/(\d+)(?:/|$)")
_PANEL = re.compile(r"^/panel_scores/(\d+)(?:/|$)")
_END = "。！？!?…"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML
_EXECUTION_WORDS = ("支付进度", "执行进度", "支出进度", "执行率", "预算执行")


class ReportError(ValueError):
    """A report that cannot be drafted (invalid workbook) or defaults that cannot be used."""


# --- defaults --------------------------------------------------------------------------------------


def load_defaults(path: str | Path | None = None) -> dict[str, str]:
    """The default paragraphs: ``None`` → the package's copy, else that JSON file.

    A value may be a string or a list of strings (one paragraph each; returned joined by newlines).
    Keys starting with ``_`` are notes and are dropped; keys missing from a bureau's file fall back to
    the package's copy. Raises :class:`ReportError` naming the file and the key of the first problem.
    """
    if path is None:
        res = resources.files("selfeval_xlsx").joinpath("templates", DEFAULTS_FILE)
        return _parse_defaults(res.read_text(encoding="utf-8"), str(res))
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ReportError(f"无法读取报告默认段落文件 {p}：{exc.strerror or exc}") from exc
    return {**load_defaults(), **_parse_defaults(text, str(p))}


def _parse_defaults(text: str, file: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"报告默认段落文件 {file} 不是有效的JSON（第{exc.lineno}行第{exc.colno}列）：{exc.msg}"
        ) from exc
    if not isinstance(data, dict):
        raise ReportError(f"报告默认段落文件 {file} 应为一个JSON对象（{{…}}）。")
    out: dict[str, str] = {}
    for key, value in data.items():
        if key.startswith("_"):
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "\n".join(value)
        if not isinstance(value, str):
            raise ReportError(f"报告默认段落文件 {file} 中“{key}”应为文字或文字列表。")
        out[key] = value
    _check_defaults(out, file)
    return out


def _check_defaults(defaults: Mapping[str, str], file: str) -> None:
    unknown = sorted(set(defaults) - set(DEFAULT_KEYS))
    if unknown:
        raise ReportError(
            f"报告默认段落{file and ' ' + file}中有未知的项“{'”“'.join(unknown)}”；"
            f"可用的项：{'、'.join(DEFAULT_KEYS)}。"
        )
    for key, value in defaults.items():
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            raise ReportError(
                f"报告默认段落{file and ' ' + file}中“{key}”的花括号不配对（{exc}）；"
                "占位符写作 {unit_name}，文字中不要单独使用 { 或 }。"
            ) from exc
        bad = [f for f in fields if f not in PLACEHOLDERS]
        if bad:
            raise ReportError(
                f"报告默认段落{file and ' ' + file}中“{key}”使用了未知的占位符“{{{bad[0]}}}”；"
                f"可用的占位符：{'、'.join('{' + p + '}' for p in PLACEHOLDERS)}。"
            )


# --- public entry point ----------------------------------------------------------------------------


def write_report(
    target: str | Path | BinaryIO, scored: Scored, defaults: Mapping[str, str] | None = None
) -> None:
    """Write the 自评报告 (.docx) of a valid, scored workbook to ``target`` (a path or a binary stream).

    ``defaults`` overrides some or all of the shipped default paragraphs (see :func:`load_defaults`).
    Raises :class:`ReportError` when the workbook has errors (no scores to report).
    """
    if scored.submission is None or scored.result is None:
        raise ReportError(f"《{scored.doc.file}》存在错误，无法生成自评报告；请先按检查结果修改自评表。")
    merged = load_defaults()
    if defaults is not None:
        _check_defaults(defaults, "")
        merged.update(defaults)
    doc = _Writer(scored.submission, scored.result, list(scored.report.findings), merged).build()
    doc.save(target if not isinstance(target, Path) else str(target))


# --- wording helpers ------------------------------------------------------------------------------


def we_word(unit_name: str, division_code: str = "") -> str:
    """我镇 / 我乡 / 我街道 from the unit name (or the division code's township part), else 我单位."""
    core = short_name(unit_name)
    for suffix in ("街道", "镇", "乡"):
        if core.endswith(suffix):
            return f"我{suffix}"
    part = division_code[6:9]
    if part.isdigit():
        n = int(part)
        if 1 <= n <= 99:
            return "我街道"
        if 100 <= n <= 199:
            return "我镇"
        if 200 <= n <= 399:
            return "我乡"
    return "我单位"


def short_name(unit_name: str) -> str:
    """宋营镇人民政府 → 宋营镇; 城关街道办事处 → 城关街道."""
    name = unit_name.strip()
    for suffix in ("人民政府", "办事处", "政府"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name.removesuffix(suffix)
    return name


def split_items(text: str, rules: Rules | None = None) -> list[str]:
    """Numbered or line-separated items of a free-text cell, without their numbers, each ending in 。.

    One line holding several ``；``-separated items is split too. A cell that only says 无 gives [].
    """
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if len(lines) == 1 and re.search(r"[；;]", lines[0].rstrip("；;")):
        lines = [p.strip() for p in re.split(r"[；;]", lines[0]) if p.strip()]
    none_words = set(rules.audit.none_words) if rules else {"无", "没有", "暂无"}
    out = []
    for line in lines:
        item = _NUMBERING.sub("", line, count=1).strip()
        if not item or item.strip(" 。.，,；;") in none_words:
            continue
        out.append(_sentence(item))
    return out


def _sentence(text: str) -> str:
    text = text.strip().rstrip("；;，,、 ")
    return text if not text or text[-1] in _END else text + "。"


def _num(value: Decimal) -> str:
    """A value as the township meant it: 38, 96.5, 8593.66 (no exponent, no trailing zeros)."""
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):f}"
    return f"{value.normalize():f}"


def _money(value: Decimal | None) -> str:
    return f"{fmt2(value)}万元"


def _date(text: str) -> str:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", (text or "").strip())
    return f"{m[1]}年{int(m[2])}月{int(m[3])}日" if m else ""


# --- the document ---------------------------------------------------------------------------------


@dataclass
class _Part:
    """A piece of a paragraph; ``marked`` pieces are highlighted for the clerk to revise."""

    text: str
    marked: bool = False


class _Writer:
    def __init__(
        self, sub: Submission, res: ScoreResult, findings: list[Finding], defaults: Mapping[str, str]
    ) -> None:
        self.sub, self.res, self.rules = sub, res, res.rules
        self.findings = findings
        self.defaults = defaults
        self.we = we_word(sub.unit_name, sub.division_code)
        self.values = {
            "unit_name": sub.unit_name,
            "short_name": short_name(sub.unit_name),
            "we": self.we,
            "year": str(sub.year),
            "county": sub.county,
        }
        self.doc: DocxDocument = new_document()

    def f(self, value: Decimal | None) -> str:
        """A score as shown (profile places, half-up)."""
        return self.rules.fmt(value)

    # --- building blocks -------------------------------------------------------------------------

    def default(self, key: str) -> list[str]:
        """A default block, placeholders filled, one string per paragraph."""
        text = self.defaults.get(key, "").format_map(self.values)
        return [ln.strip() for ln in text.splitlines() if ln.strip()]

    def para(self, *parts: _Part | str, style: str | None = None) -> Paragraph:
        p = self.doc.add_paragraph(style=style)
        for part in parts:
            piece = part if isinstance(part, _Part) else _Part(part)
            text = _CONTROL.sub("", piece.text)
            if text:
                run = p.add_run(text)
                set_font(run, BODY_FONT, SIZE_3)
                if piece.marked:
                    run.font.highlight_color = HIGHLIGHT
        return p

    def body(self, text: str) -> None:
        for line in (ln.strip() for ln in text.splitlines()):
            if line:
                self.para(line)

    def text_or_default(self, text: str, key: str) -> None:
        """The workbook's text, or the marked default paragraphs when the cell is blank."""
        if text.strip():
            self.body(text)
        else:
            self.marked(key)

    def marked(self, key: str) -> None:
        for line in self.default(key):
            self.para(_Part(MARK + line, marked=True))

    def heading(self, text: str, level: int) -> None:
        p = self.doc.add_paragraph(style=f"Heading {level}")
        run = p.add_run(text)
        set_font(run, H1_FONT if level == 1 else H2_FONT, SIZE_3)

    def numbered(self, items: Sequence[str]) -> None:
        for i, item in enumerate(items, 1):
            self.para(f"{i}.{item}")

    # --- the report --------------------------------------------------------------------------------

    def build(self) -> DocxDocument:
        setup_document(self.doc)
        sub = self.sub
        self.doc.core_properties.title = f"{sub.unit_name}{sub.year}年度整体支出绩效自评报告"
        self.doc.core_properties.author = sub.unit_name
        self.doc.core_properties.comments = "由 selfeval-xlsx 根据自评表生成；黄色底纹为需修改的默认文字。"
        self.title()
        self.basics()
        self.work()
        self.achievement()
        self.conclusion()
        self.problems()
        self.panel()
        return self.doc

    def title(self) -> None:
        p = self.doc.add_paragraph(style="Report Title")
        run = p.add_run(self.sub.unit_name)
        set_font(run, TITLE_FONT, SIZE_2, bold=True)
        run.add_break()
        run = p.add_run(f"{self.sub.year}年度整体支出绩效自评报告")
        set_font(run, TITLE_FONT, SIZE_2, bold=True)
        self.para("")  # a blank line under the title, as in official documents
        self.marked("opening")

    def basics(self) -> None:
        sub = self.sub
        self.heading("一、部门基本情况", 1)
        self.heading("（一）部门概况", 2)
        self.text_or_default(sub.overview, "overview")
        self.heading("（二）部门收支预决算情况", 2)
        self.para(self.budget_sentence())
        sources = self.sources_sentence()
        if sources:
            self.para(sources)
        self.heading("（三）部门整体支出绩效目标、指标", 2)
        if sub.annual_goal.strip():
            lines = [ln.strip() for ln in sub.annual_goal.splitlines() if ln.strip()]
            self.para(f"{self.we}{sub.year}年年初既定工作绩效目标为：{lines[0]}")
            for line in lines[1:]:
                self.para(line)
        else:
            self.marked("annual_goal")
        self.para(self.indicator_summary())

    def budget_sentence(self) -> str:
        sub, res = self.sub, self.res
        row = sub.budget.get("total")
        parts = []
        if row and row.initial is not None:
            parts.append(f"年初共安排预算资金{_money(row.initial)}")
        if row and row.adjusted is not None:
            parts.append(f"调整预算数{_money(row.adjusted)}")
        if row and row.executed is not None:
            parts.append(f"截至12月底，共完成支付{_money(row.executed)}")
        rate = res.execution_rate_shown
        parts.append(f"预算执行率{rate:f}%" if rate is not None else "预算执行率无法计算")
        return f"{sub.year}年，{self.we}{'，'.join(parts)}。"

    def sources_sentence(self) -> str:
        pieces = []
        for key, label in FUNDING:
            row = self.sub.budget.get(key)
            if key == "total" or row is None:
                continue
            figures = [
                f"{name}{_money(v)}"
                for name, v in (("年初预算", row.initial), ("调整预算", row.adjusted), ("支付", row.executed))
                if v is not None
            ]
            if figures:
                pieces.append(f"{label}{'、'.join(figures)}")
        return f"从资金来源看，{'；'.join(pieces)}。" if pieces else ""

    def indicator_summary(self) -> str:
        inds = self.sub.indicators
        counts = [f"{cat}{n}项" for cat in LEVELS if (n := sum(1 for i in inds if i.level1 == cat))]
        weight = sum((i.weight for i in inds), ZERO)
        text = f"围绕上述目标，{self.we}共设置绩效指标{len(inds)}项"
        if counts:
            text += f"，其中{'、'.join(counts)}"
        if not self.rules.budget_weight:
            return f"{text}，指标分值合计{_num(weight)}分；预算执行情况不单独计分。"
        return f"{text}，指标分值合计{_num(weight)}分；另设预算执行情况{_num(self.rules.budget_weight)}分。"

    def work(self) -> None:
        sub = self.sub
        members = sub.members
        self.heading("二、自评工作开展情况", 1)
        self.heading("（一）自评的组织工作", 2)
        listed = "、".join(f"{m.name}（{m.post}）" if m.post else m.name for m in members)
        if members:
            self.para(
                f"{self.we}成立了由{len(members)}人组成的绩效评价工作组"
                + (f"，成员为{listed}" if listed else "")
                + "，负责本次自评工作的组织实施。"
            )
        else:  # a table without a panel (panel mode none): no members to name
            self.para(f"{self.we}组织开展了本次整体支出绩效自评，未成立评价工作组逐项打分。")
        if not sub.process.strip():
            self.marked("organization")
        self.heading("（二）自评的方法和过程", 2)
        self.text_or_default(sub.process, "process")
        self.para(self.method_sentence())

    def method_sentence(self) -> str:
        r = self.rules
        trim = ""
        if r.trim_each_side:
            k = r.trim_each_side
            drop = "一个最高分和一个最低分" if k == 1 else f"最高和最低各{k}个分数"
            trim = f"（成员超过{r.trim_when_more_than}人时去掉{drop}后取平均）"
        rest = "定量指标按实际完成值与年度指标值计算得分；预算执行按全年执行数与全年预算数（调整后）之比计算得分。"
        mode = self.res.panel_mode
        if mode == "agreed":
            return f"评价工作组对各项定性指标合议评分，以合议的分数作为评价工作组综合得分；{rest}本报告所列得分按自评表数据核定。"
        if mode == "none":
            return f"本次自评未由评价工作组逐项打分，定性指标按单位自评得分计，由县财政局复核；{rest}本报告所列得分按自评表数据核定。"
        return (
            f"评价工作组{len(self.sub.members)}名成员分别对各项绩效指标打分，定性指标以各成员打分的平均值{trim}"
            f"作为评价工作组综合得分；{rest}本报告所列得分均为评价工作组的综合得分，并按自评表数据核定。"
        )

    def achievement(self) -> None:
        sub = self.sub
        self.heading("三、部门整体支出绩效目标实现情况及指标分析", 1)
        self.heading("（一）总体绩效目标实现情况", 2)
        self.text_or_default(sub.achieved, "achieved")
        self.heading("（二）分项绩效目标实现情况及指标分析", 2)
        groups: dict[str, list[IndicatorScore]] = {}
        for s in self.res.indicators:
            groups.setdefault(s.indicator.level2, []).append(s)
        order = [x for xs in LEVELS.values() for x in xs]
        names = sorted(groups, key=lambda k: order.index(k) if k in order else len(order))
        for n, level2 in enumerate(names, 1):
            scores = groups[level2]
            parts: list[_Part | str] = [f"{n}.{level2}。"]
            for k, s in enumerate(scores, 1):
                if len(scores) > 1:
                    parts.append(f"（{k}）")
                parts.extend(self.indicator_parts(s))
            self.para(*parts)

    def indicator_parts(self, s: IndicatorScore) -> list[_Part | str]:
        ind, fig = s.indicator, s.figure
        unit = ind.unit.strip()
        sign = ind.nature if ind.nature in ("≥", "≤") else ""
        target, actual = self.value(ind.target, unit, sign), self.value(ind.actual, unit)
        text = f"{ind.level3}：年度指标值{target}，实际完成值{actual}"
        if ind.completion:
            text += f"，完成等级为{ind.completion}"
        text += f"；分值{_num(ind.weight)}分，核定得分{self.f(fig.value)}分"
        if s.qualitative and s.panel_composite is not None:
            text += "（评价工作组综合得分）"
        if fig.full:
            return [text + "。"]
        text += f"，扣{self.f(ind.weight - fig.shown)}分。"
        reason = ind.reason.strip()
        if reason and reason.strip(" 。.，,；;") not in self.rules.audit.none_words:
            return [text + f"偏差原因及改进措施：{_sentence(reason)}"]
        return [text, _Part(MISSING_REASON, marked=True)]

    def value(self, value: Decimal | str, unit: str, sign: str = "") -> str:
        if isinstance(value, Decimal):
            shown = fmt2(value) if unit == "万元" else _num(value)
            return f"{sign}{shown}{unit}"
        return f"“{value}”"

    def conclusion(self) -> None:
        sub, res, r = self.sub, self.res, self.rules
        self.heading("四、评价结论和评价等级", 1)
        self.heading("（一）评价等级标准", 2)
        self.para(f"部门整体支出绩效评价分为{len(r.grade_bands)}个等级：{r.grade_text()}。")
        self.heading("（二）评价得分", 2)
        self.para(
            f"评价得分由预算执行得分和绩效指标得分组成，满分{_num(res.total.weight)}分，"
            "每项得分计算时四舍五入保留两位小数，小计和总分为各项得分之和。"
        )
        self.para(
            f"1.预算执行得分{self.f(res.budget.value)}分（分值{_num(res.budget.weight)}分）："
            f"{res.budget.explanation}。"
        )
        n = 2
        for cat, fig in res.subtotals.items():
            if fig.weight > 0:
                self.para(f"{n}.{cat}得分{self.f(fig.value)}分（分值{_num(fig.weight)}分）。")
            else:
                self.para(f"{n}.未设置{cat}，得0分。")
            n += 1
        self.heading("（三）评价结果", 2)
        self.para(f"综合各项指标得分，评价总得分{self.f(res.total.value)}分，评价等级为{res.grade}。")
        own = sub.self_total
        if own is not None and r.quantize(own) != res.total.shown:
            ceiling = ""
            best = r.quantize(res.max_total)
            if own > best and not res.budget.full and res.execution_rate_shown is not None:
                ceiling = (
                    f"（预算执行率{res.execution_rate_shown:f}%，预算执行最高只能得{self.f(res.budget.value)}分，"
                    f"总分最高为{self.f(best)}分）"
                )
            self.para(
                f"单位自评表填报的自评总分为{self.f(own)}分，与按自评表数据核定的得分不一致{ceiling}；"
                f"本报告采用核定得分{self.f(res.total.value)}分。"
            )
        grade = (sub.self_grade or "").strip()
        if grade and grade != res.grade:
            self.para(f"自评表填报的自评等级为“{grade}”，按核定得分应为“{res.grade}”，本报告采用核定等级。")

    def problems(self) -> None:
        self.heading("五、存在的问题及改进措施", 1)
        self.heading("（一）存在的主要问题", 2)
        items = split_items(self.sub.problems, self.rules)
        generated = _Problems(self.sub, self.res, self.findings).sentences()
        execution = generated.pop("execution", None)
        if execution:
            hit = next((i for i, t in enumerate(items) if any(w in t for w in _EXECUTION_WORDS)), None)
            if hit is None:
                items.insert(0, execution[1])
            elif "%" not in items[hit] and execution[0]:
                items[hit] = f"{execution[0]}，{items[hit]}"
        items.extend(generated.values())
        if items:
            self.numbered(items)
        else:
            self.marked("problems")
        self.heading("（二）改进措施", 2)
        measures = split_items(self.sub.measures, self.rules)
        if measures:
            self.numbered(measures)
        else:
            self.marked("measures")

    def panel(self) -> None:
        sub = self.sub
        self.heading("六、评价工作组人员名单", 1)
        p = self.para("绩效评价工作组人员名单", style="Table Caption")
        for run in p.runs:
            set_font(run, H1_FONT, SIZE_3)
        header = ("序号", "姓名", "工作单位", "职务", "职称", "签字")
        widths = (Cm(1.5), Cm(1.9), Cm(4.0), Cm(4.5), Cm(1.7), Cm(2.0))  # 15.6 cm: the text width
        table = self.doc.add_table(rows=1 + len(sub.members), cols=len(header))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        column_widths(table, widths)
        rows = [header] + [(str(i), m.name, m.org, m.post, m.title, "") for i, m in enumerate(sub.members, 1)]
        for r_i, (row, values) in enumerate(zip(table.rows, rows, strict=True)):
            row.height = Cm(1.2)
            row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
            row_props(row, header=r_i == 0)
            for cell, value, width in zip(row.cells, values, widths, strict=True):
                cell.width = width
                cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
                cp = cell.paragraphs[0]
                cp.style = self.doc.styles["Table Text"]
                if value:
                    run = cp.add_run(value)
                    set_font(run, H1_FONT if r_i == 0 else BODY_FONT, SIZE_4)
        date = _date(sub.filled_on)
        self.para("")
        for line in (sub.unit_name, date):
            if line:
                self.para(line, style="Signature Line")


# --- findings phrased as the township's problems -----------------------------------------------------


class _Problems:
    """Audit findings grouped by code and phrased as 存在的主要问题."""

    def __init__(self, sub: Submission, res: ScoreResult, findings: Iterable[Finding]) -> None:
        self.sub, self.res, self.rules = sub, res, res.rules
        self.by_code: dict[str, list[Finding]] = {}
        for f in findings:
            self.by_code.setdefault(f.code, []).append(f)

    def f(self, value: Decimal | None) -> str:
        return self.rules.fmt(value)

    def indicators(self, *codes: str) -> list[Indicator]:
        """Indicators the findings of these codes point to, in table order, once each."""
        seen: dict[int, Indicator] = {}
        by_seq = {i.seq: i for i in self.sub.indicators}
        for code in codes:
            for f in self.by_code.get(code, []):
                ind = self.indicator_of(f.field or "", by_seq)
                if ind is not None:
                    seen.setdefault(ind.index, ind)
        return [seen[k] for k in sorted(seen)]

    def indicator_of(self, pointer: str, by_seq: Mapping[int, Indicator]) -> Indicator | None:
        m = _INDICATOR.match(pointer)
        if m and int(m[1]) < len(self.sub.indicators):
            return self.sub.indicators[int(m[1])]
        m = _PANEL.match(pointer)
        if m and int(m[1]) < len(self.sub.scores):
            return by_seq.get(self.sub.scores[int(m[1])].indicator)
        return None

    @staticmethod
    def names(inds: Sequence[Indicator]) -> str:
        return "、".join(i.level3 for i in inds)

    def sentences(self) -> dict[str, Any]:
        """Problems keyed by kind, in a fixed order. ``execution`` is (lead clause, full sentence)."""
        res, sub, has = self.res, self.sub, self.by_code.__contains__
        out: dict[str, Any] = {}
        row = sub.budget.get("total")
        rate = res.execution_rate_shown
        if rate is None:
            out["execution"] = ("", "全年预算数或全年执行数填报不完整，无法计算预算执行率。")
        elif not res.budget.full and not has("budget-lowered"):
            lead = f"预算执行率为{rate:f}%"
            out["execution"] = (lead, f"{lead}，部分项目资金支付进度滞后。")
        if has("execution-over-100") and row and row.executed is not None and row.adjusted is not None:
            out["over"] = (
                f"全年执行数{_money(row.executed)}超过全年预算数（调整后）{_money(row.adjusted)}，"
                f"预算执行率为{rate:f}%，存在超预算支出的情况，预算调整不够及时。"
            )
        if has("budget-lowered") and row and row.initial and row.executed is not None:
            out["lowered"] = (
                f"年中将全年预算数由年初的{_money(row.initial)}调减至{_money(row.adjusted)}，与支付数基本持平，"
                f"按年初预算计算的执行率仅为{self.f(row.executed / row.initial * 100)}%，"
                "预算编制的准确性有待提高。"
            )
        vague = self.indicators("vague-target", "vague-indicator")
        if has("qualitative-heavy"):
            qual = [s.indicator for s in res.indicators if s.qualitative]
            vague = sorted({i.index: i for i in (*vague, *qual)}.values(), key=lambda i: i.index)
        if vague:
            text = f"部分绩效指标未量化（{self.names(vague)}）"
            if has("qualitative-heavy"):
                weight = sum((s.indicator.weight for s in res.indicators if s.qualitative), ZERO)
                share = weight / self.rules.indicator_total * 100
                text += f"，定性指标分值合计{self.f(weight)}分，占指标总分的{self.f(share)}%"
            out["vague"] = text + "，绩效目标不够明确、可衡量。"
        empty = [str(f.value) for f in self.by_code.get("category-empty", [])]
        if empty:
            out["empty"] = f"绩效指标体系不完整，未设置{'、'.join(empty)}。"
        copied = self.indicators("actual-copied-target")
        if copied:
            out["copied"] = (
                f"部分指标的实际完成值照抄年度指标值（{self.names(copied)}），未如实反映完成情况。"
            )
        out.update(self.self_scores())
        missing = self.indicators("missing-deviation-reason")
        if missing:
            out["reason"] = f"部分扣分指标未说明偏差原因（{self.names(missing)}）。"
        nodeduct = self.indicators("deduction-without-shortfall")
        if nodeduct:
            out["nodeduct"] = f"部分指标已完成目标仍被扣分（{self.names(nodeduct)}），自评打分依据不够充分。"
        band = self.indicators("band-mismatch")
        if band:
            out["band"] = f"部分定性指标的评分与完成等级不一致（{self.names(band)}）。"
        if has("panel-too-small"):
            out["small"] = f"评价工作组仅{len(sub.members)}人，人员组成不够全面。"
        outliers = self.indicators("panel-outlier")
        if outliers:
            out["outlier"] = f"评价工作组成员对部分指标的评分分歧较大（{self.names(outliers)}）。"
        return out

    def self_scores(self) -> dict[str, str]:
        res, sub = self.res, self.sub
        parts = []
        own = sub.self_total
        if self.by_code.get("self-score-differs") and own is not None:
            word = "偏高" if own > res.total.value else "偏低"
            parts.append(
                f"自评分数{word}，自评表填报的自评总分为{self.f(own)}分，按自评表数据核定为{self.f(res.total.value)}分"
            )
        if self.by_code.get("self-grade-differs"):
            parts.append(f"自评等级填报为“{sub.self_grade.strip()}”，按核定得分应为“{res.grade}”")
        diff = self.indicators("indicator-self-score-differs")
        if diff:
            parts.append(f"部分指标的自评得分与实际完成情况不符（{self.names(diff)}）")
        return {"self": "；".join(parts) + "。"} if parts else {}


__all__ = ["MARK", "ReportError", "load_defaults", "short_name", "split_items", "we_word", "write_report"]
