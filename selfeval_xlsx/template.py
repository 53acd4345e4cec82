"""The standard workbook, written with xlsxwriter from the declarative layout (:mod:`.layout`).

Every position comes from the layout. Sheets are first drawn on a small in-memory canvas (value, style,
merges, validations per cell), then a township's values, the tool's outputs and the reviewer's marks are
laid over it, and only then is everything written out; so a marked cell keeps its number format and a
value written into a merged cell keeps the merge.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import cache, cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from . import layout
from .document import Document
from .version import TEMPLATE_ID, TEMPLATE_VERSION, __version__
from .xlsx import bookparts
from .xlsx.canvas import (
    LINE_HEIGHT,
    Canvas,
    Style,
    changed_cells,
    fit_rows,
    fit_rows_over,
    flush,
    flush_over,
    noted_cells,
    wrapped_lines,
)
from .xlsx.cells import a1

TEMPLATE_FILENAME = f"乡镇整体支出绩效自评表_v{TEMPLATE_VERSION}.xlsx"
DEFAULT_GRADES: tuple[str, ...] = ("优秀", "良好", "一般", "较差")
FONT_NAME = "宋体"
FONT_SIZE = 11


# --- styles (xlsxwriter format properties) --------------------------------------------------------

GREY = "#E7E6E6"
LIGHT = "#F2F2F2"
TOOL_FILL = "#DDEBF7"  # filled by the county's tool
MARK_FILL = "#F8CBAD"  # a reviewer's mark
BORDER = "#A6A6A6"

BASE: Style = {"font_name": FONT_NAME, "font_size": FONT_SIZE, "valign": "vcenter"}
TITLE: Style = {"bold": True, "font_size": 16, "align": "center"}
SECTION: Style = {"bold": True, "font_size": 12}
NOTE: Style = {"text_wrap": True, "font_color": "#595959"}
BOX: Style = {"border": 1, "border_color": BORDER}
LABEL: Style = {**BOX, "bold": True, "bg_color": GREY, "text_wrap": True}
HEADER: Style = {**LABEL, "align": "center"}
SEQ: Style = {**BOX, "bg_color": LIGHT, "align": "center"}
INPUT: Style = {**BOX, "bg_color": "#FFFFFF", "locked": False}
TOOL: Style = {**BOX, "bg_color": TOOL_FILL}
UNUSED: Style = {**BOX, "bg_color": LIGHT}
MARK: Style = {"bg_color": MARK_FILL}

NUM_FORMATS: dict[layout.FieldType, str] = {
    layout.FieldType.MONEY: "#,##0.00",
    layout.FieldType.SCORE: "0.00",
    layout.FieldType.INT: "0",
    layout.FieldType.YEAR: "0",
    layout.FieldType.DATE: "yyyy-mm-dd",
    layout.FieldType.TEXT: "@",
    layout.FieldType.LONGTEXT: "@",
    layout.FieldType.CODE: "@",
    layout.FieldType.PHONE: "@",
    layout.FieldType.CHOICE: "@",
}
PERCENT = "0.00%"
DATE_FORMAT = NUM_FORMATS[layout.FieldType.DATE]

#: Who the comments the template writes are by.
_COMMENT_AUTHOR = "县财政局"

_LONG_ROW = 60  # points: a paragraph answer
_HEADER_ROW = 32
_ROW = 19  # a one-line input row (table rows keep the default height so they grow with wrapped text)


def _merge(
    styles: tuple[tuple[tuple[str, Any], ...], ...],
) -> tuple[tuple[tuple[str, Any], ...], dict[str, Any]]:
    """(the sorted properties, as a key; the properties) of styles merged on top of :data:`BASE`."""
    merged = {**BASE}
    for items in styles:
        merged.update(items)
    return tuple(sorted(merged.items())), merged


_merged = lru_cache(maxsize=4096)(_merge)


class Formats:
    """The cell formats of one xlsxwriter Workbook, made once per distinct style and shared by all sheets."""

    def __init__(self, wb: Workbook) -> None:
        self.wb = wb
        self._cache: dict[tuple[tuple[str, Any], ...], Format] = {}
        self._styles: dict[int, tuple[Style, Format]] = {}  # see of

    def of(self, style: Style) -> Format:
        """:meth:`get` of one style dict, looked up once per dict (canvases share their style dicts,
        which are replaced, never changed in place; the dict is kept, so its id stays its own)."""
        hit = self._styles.get(id(style))
        if hit is None or hit[0] is not style:
            hit = self._styles[id(style)] = (style, self.get(style))
        return hit[1]

    def get(self, *styles: Style, **props: Any) -> Format:
        """The format of the merged styles (later ones win) on top of the base font."""
        try:  # the merged properties of the same styles, worked out once per process
            key, merged = _merged((*(tuple(s.items()) for s in styles), tuple(props.items())))
        except TypeError:  # a property value that is not hashable
            key, merged = _merge((*(tuple(s.items()) for s in styles), tuple(props.items())))
        if (hit := self._cache.get(key)) is None:
            hit = self._cache[key] = self.wb.add_format(dict(merged))
        return hit

    # named formats for callers that add their own sheets
    @cached_property
    def title(self) -> Format:
        return self.get(TITLE)

    @cached_property
    def section(self) -> Format:
        return self.get(SECTION)

    @cached_property
    def note(self) -> Format:
        return self.get(NOTE)

    @cached_property
    def header(self) -> Format:
        return self.get(HEADER)

    @cached_property
    def label(self) -> Format:
        return self.get(LABEL)

    @cached_property
    def text(self) -> Format:
        return self.get(BOX, text_wrap=True)

    @cached_property
    def money(self) -> Format:
        return self.get(BOX, num_format=NUM_FORMATS[layout.FieldType.MONEY])

    @cached_property
    def score(self) -> Format:
        return self.get(BOX, num_format=NUM_FORMATS[layout.FieldType.SCORE])

    @cached_property
    def percent(self) -> Format:
        return self.get(BOX, num_format=PERCENT)

    @cached_property
    def date(self) -> Format:
        return self.get(BOX, num_format=DATE_FORMAT)

    @cached_property
    def tool(self) -> Format:
        return self.get(TOOL)

    @cached_property
    def mark(self) -> Format:
        return self.get(BOX, MARK)


@dataclass
class StandardSheets:
    """What :func:`write_standard` wrote: worksheets by layout sheet key, the ``_meta`` sheet, formats."""

    worksheets: dict[str, Worksheet]
    meta: Worksheet
    formats: Formats

    def __getitem__(self, key: str) -> Worksheet:
        return self.worksheets[key]


# --- what the rules profile says in the workbook's text ---------------------------------------------


@dataclass(frozen=True)
class ProfileText:
    """The rules profile's figures as the workbook prints them (hashable: blank sheets are cached on it).

    Layout texts name them as ``{weights}``, ``{indicators}``, ``{categories}``, ``{budget}``.
    """

    weights: str  # 预算执行10分，绩效指标90分（产出指标50分、…），合计100分
    indicators: str  # 90
    categories: str  # 产出指标50分、效益指标30分、满意度指标10分
    budget: str  # 10
    panel_mode: str  # auto / members / agreed / none
    trim: str  # （人数多于5人时去掉一个最高分和一个最低分）, or ''

    @classmethod
    def of(cls, rules: Any) -> ProfileText:
        """From a loaded :class:`~selfeval_xlsx.rules.Rules` (``None``: the default profile)."""
        if rules is None:
            from .rules import load_rules

            rules = load_rules()

        def w(v: Decimal) -> str:
            return f"{v.normalize():f}" if v != v.to_integral_value() else f"{v.to_integral_value():f}"

        return cls(
            weights=rules.weights_text(),
            indicators=w(rules.indicator_total),
            categories="、".join(f"{k}{w(v)}分" for k, v in rules.category_weights.items()),
            budget=w(rules.budget_weight),
            panel_mode=rules.panel_mode,
            trim=_trim_text(rules.trim_when_more_than, rules.trim_each_side),
        )

    def fill(self, text: str) -> str:
        """``text`` with the profile's figures put in for its placeholders."""
        for key in ("weights", "indicators", "categories", "budget"):
            text = text.replace("{" + key + "}", getattr(self, key))
        return text


def _trim_text(more_than: int, each_side: int) -> str:
    if not each_side:
        return ""
    drop = "一个最高分和一个最低分" if each_side == 1 else f"最高和最低各{each_side}个分数"
    return f"（人数多于{more_than}人时去掉{drop}）"


# --- field → style and validation ----------------------------------------------------------------


def number_format(f: layout.Field) -> str | None:
    """The number format of a field's cells (``None``: General)."""
    if f.unit == "%":
        return PERCENT
    return NUM_FORMATS.get(f.type)


def field_style(f: layout.Field | None) -> Style:
    """Style of a field's value cell: white and unlocked for input, blue and locked for tool output."""
    if f is None:
        return dict(INPUT)
    style: Style = dict(TOOL if f.output else INPUT)
    nf = number_format(f)
    if nf:
        style["num_format"] = nf
    if f.type in (layout.FieldType.LONGTEXT, layout.FieldType.TEXT, layout.FieldType.NUMTEXT):
        style["text_wrap"] = True
    if f.type is layout.FieldType.LONGTEXT:
        style["valign"] = "top"
    if f.type in (
        layout.FieldType.CHOICE,
        layout.FieldType.DATE,
        layout.FieldType.YEAR,
        layout.FieldType.INT,
    ):
        style["align"] = "center"
    return style


def header_text(f: layout.Field) -> str:
    """Column header of a field: label, unit in full-width brackets, ``*`` when required."""
    unit = f"（{f.unit}）" if f.unit else ""
    return f"{f.label}{unit}{'*' if f.required else ''}"


def _num(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


_DIGITS = re.compile(r"^\^\[0-9\]\{(\d+)\}\$$")


def validation(f: layout.Field, first_cell: str, source: str | None = None) -> dict[str, Any] | None:
    """xlsxwriter data-validation options for a field's input cells (``first_cell``: top-left A1)."""
    opts: dict[str, Any]
    if f.type is layout.FieldType.CHOICE and source:
        opts = {"validate": "list", "source": source, "error_message": "请从下拉列表中选择。"}
    elif f.type in layout.NUMERIC_TYPES:
        whole = f.type in (layout.FieldType.YEAR, layout.FieldType.INT)
        kind = "整数" if whole else "数字"
        lo, hi = f.minimum, f.maximum
        opts = {"validate": "integer" if whole else "decimal"}
        if lo is not None and hi is not None:
            opts |= {"criteria": "between", "minimum": _num(lo), "maximum": _num(hi)}
            msg = f"请输入{lo}至{hi}之间的{kind}"
        elif lo is not None:
            opts |= {"criteria": ">=", "value": _num(lo)}
            msg = f"请输入不小于{lo}的{kind}"
        elif hi is not None:
            opts |= {"criteria": "<=", "value": _num(hi)}
            msg = f"请输入不大于{hi}的{kind}"
        else:
            opts |= {"criteria": "between", "minimum": -1e15, "maximum": 1e15}
            msg = f"请输入{kind}"
        if f.type is layout.FieldType.MONEY:
            msg += "（单位：万元，保留两位小数，不要带文字）"
        opts["error_message"] = msg + "。"
    elif f.type is layout.FieldType.DATE:
        opts = {
            "validate": "date",
            "criteria": "between",
            "minimum": datetime(2000, 1, 1),
            "maximum": datetime(2100, 12, 31),
            "error_message": "请输入日期，如2024-01-15。",
        }
    elif f.pattern and (m := _DIGITS.match(f.pattern)):
        n, c = int(m.group(1)), first_cell
        # n characters, a number once prefixed with "1" (so no sign), with no decimal point or exponent
        digits = f'ISNUMBER(-("1"&{c})),ISERROR(FIND(".",{c})),ISERROR(SEARCH("e",{c}))'
        opts = {
            "validate": "custom",
            "value": f"=AND(LEN({c})={n},{digits})",
            "error_message": f"请输入{n}位数字。",
        }
    elif f.max_length:
        opts = {
            "validate": "length",
            "criteria": "<=",
            "value": f.max_length,
            "error_message": f"内容不能超过{f.max_length}个字。",
        }
    elif f.help:
        opts = {"validate": "any"}
    else:
        return None
    if "error_message" in opts:
        opts["error_title"] = f"“{f.label}”填写有误"[:32]
        opts["error_message"] = (opts["error_message"] + (f"\n{f.help}" if f.help else ""))[:255]
    if f.help:
        opts["input_title"] = f.label[:32]
        opts["input_message"] = f.help[:255]
    return opts


# --- the canvas ----------------------------------------------------------------------------------


# --- layout → canvas -----------------------------------------------------------------------------


def locate(key: str) -> tuple[layout.Sheet, layout.Placement]:
    """The data sheet and placement of the block ``key``; KeyError if no sheet has it."""
    for sheet in layout.WORKBOOK.data_sheets:
        try:
            return sheet, sheet.find(key)
        except KeyError:
            continue
    raise KeyError(key)


def _title(sheet: layout.Sheet, year: int | None) -> str:
    return sheet.title.format(year=year if year is not None else "____")


def _choices(block: layout.Block, f: layout.Field, grades: Sequence[str]) -> tuple[str, ...]:
    if block is layout.SELF and f.key == "grade":
        return tuple(grades)
    return f.choices


def _absolute(sheet: str, row: int, col: int, last_row: int | None = None) -> str:
    """``'_meta'!$D$2`` or ``'_meta'!$D$2:$D$4`` (1-based row and column)."""
    ref = f"{quote_sheetname(sheet)}!{xl_rowcol_to_cell(row - 1, col - 1, True, True)}"
    if last_row is not None:
        ref += f":{xl_rowcol_to_cell(last_row - 1, col - 1, True, True)}"
    return ref


class _Builder:
    """Draws the standard sheets on canvases."""

    def __init__(
        self, wb: Workbook, year: int | None, grades: Sequence[str], words: ProfileText | None = None
    ) -> None:
        self.wb = wb
        self.year = year
        self.grades = tuple(grades)
        self.words = words or ProfileText.of(None)
        self.sources: dict[tuple[str, str], str] = {}  # (block key, field key) → list source

    # _meta: identity and the dropdown lists
    def meta(self) -> Canvas:
        cv = Canvas(layout.META_SHEET_NAME)
        values = {
            "template_id": TEMPLATE_ID,
            "template_version": TEMPLATE_VERSION,
            "year": self.year,
            "generator": __version__,
        }
        for key, name in layout.META_KEYS:
            row, col = layout.meta_cell(key)
            cv.put(row, col - 1, key)
            cv.put(row, col, values[key])
            self.wb.define_name(name, "=" + _absolute(cv.name, row, col))
        col = layout.META_LISTS_COL
        for _sheet, p, f in layout.iter_fields():
            if f.type is not layout.FieldType.CHOICE or f.output:
                continue
            assert not isinstance(p.block, layout.Section | layout.Note)  # iter_fields: blocks with fields
            if f.depends_on:
                for parent, items in layout.LEVELS.items():
                    self._meta_list(cv, col, parent, items)
                    self.wb.define_name(parent, "=" + _absolute(cv.name, 2, col, 1 + len(items)))
                    col += 1
                self.sources[p.block.key, f.key] = self._dependent_source(p, f)
            elif items := _choices(p.block, f, self.grades):
                self._meta_list(cv, col, f.label, items)
                self.sources[p.block.key, f.key] = "=" + _absolute(cv.name, 2, col, 1 + len(items))
                col += 1
        cv.widths = {c: 14 for c in range(1, col)}
        cv.widths[2] = 44
        return cv

    @staticmethod
    def _meta_list(cv: Canvas, col: int, title: str, items: Sequence[str]) -> None:
        cv.put(1, col, title)
        for i, item in enumerate(items):
            cv.put(2 + i, col, item)

    @staticmethod
    def _dependent_source(p: layout.Placement, f: layout.Field) -> str:
        assert f.depends_on
        if isinstance(p.block, layout.Table):
            row, col = layout.table_row(p, 0), layout.table_col(p, f.depends_on)
        elif isinstance(p.block, layout.Form):
            row, col = layout.form_cell(p, f.depends_on)
        else:
            raise NotImplementedError(f"dependent list in {type(p.block).__name__}")
        return f"=INDIRECT({xl_rowcol_to_cell(row - 1, col - 1, False, True)})"

    # data sheets
    def sheet(self, sheet: layout.Sheet) -> Canvas:
        cv = Canvas(sheet.name)
        last = sheet.last_col
        cv.merge(1, 1, last, _title(sheet, self.year), TITLE)
        cv.heights[1] = 30
        for i, w in enumerate(sheet.widths, start=1):
            cv.widths[i] = w
        total_width = sum(cv.widths.get(c, 8.43) for c in range(1, last + 1))
        for p in sheet.placements:
            b = p.block
            if isinstance(b, layout.Section):
                cv.put(p.row, 1, b.title, SECTION)
                cv.heights[p.row] = 20
            elif isinstance(b, layout.Note):
                text = self.words.fill(b.text)
                cv.merge(p.row, 1, last, text, NOTE)
                cv.heights[p.row] = LINE_HEIGHT * wrapped_lines(text, total_width) + 4
            elif isinstance(b, layout.Form):
                self._form(cv, sheet, p, b)
            elif isinstance(b, layout.Grid):
                self._grid(cv, p, b)
            elif isinstance(b, layout.Table):
                self._table(cv, p, b)
            elif isinstance(b, layout.Matrix):
                self._matrix(cv, p, b)
        return cv

    def _form(self, cv: Canvas, sheet: layout.Sheet, p: layout.Placement, b: layout.Form) -> None:
        for f in b.fields:
            row, col = layout.form_cell(p, f.key)
            cv.put(row, col - 1, f.label + ("*" if f.required else ""), LABEL)  # 填表说明: "*" 必填
            value = self.year if f.type is layout.FieldType.YEAR and not f.output else f.default
            cv.merge(row, col, sheet.last_col, value, {**field_style(f), "align": "left"})
            cv.heights[row] = _LONG_ROW if f.type is layout.FieldType.LONGTEXT else _ROW
            if not f.output:
                cv.validate(row, col, row, self._validation(b, f, a1(row, col)))

    def _grid(self, cv: Canvas, p: layout.Placement, b: layout.Grid) -> None:
        first_key = b.rows[0][0]
        cv.put(p.row, 1, b.row_header, HEADER)
        cv.heights[p.row] = _HEADER_ROW
        for f in (*b.columns, *b.outputs):
            _, col = layout.grid_cell(p, first_key, f.key)
            cv.put(p.row, col, header_text(f), HEADER)
        for key, label in b.rows:
            bold = {"bold": True} if key == b.total_row else {}
            row, _ = layout.grid_cell(p, key, b.columns[0].key)
            cv.heights[row] = _ROW
            cv.put(row, 1, label + ("*" if key in b.required_rows else ""), {**LABEL, **bold})
            for f in b.columns:
                cv.put(row, layout.grid_cell(p, key, f.key)[1], None, {**field_style(f), **bold})
            shown = b.outputs_of(key)
            for f in b.outputs:
                style = {**field_style(f), **bold} if f.key in shown else UNUSED
                cv.put(row, layout.grid_cell(p, key, f.key)[1], None, style)
        last_row = layout.grid_cell(p, b.rows[-1][0], b.columns[0].key)[0]
        for f in b.columns:
            row, col = layout.grid_cell(p, first_key, f.key)
            cv.validate(row, col, last_row, self._validation(b, f, a1(row, col)))

    def _table(self, cv: Canvas, p: layout.Placement, b: layout.Table) -> None:
        cv.heights[p.row] = _HEADER_ROW
        first, last = layout.table_row(p, 0), layout.table_row(p, b.rows - 1)
        for f in b.columns:
            col = layout.table_col(p, f.key)
            cv.put(p.row, col, header_text(f), HEADER)
            cv.widths.setdefault(col, f.width)
            for i in range(b.rows):
                row = layout.table_row(p, i)
                if f.key == "seq":
                    cv.put(row, col, i + 1, SEQ)
                else:
                    cv.put(row, col, None, field_style(f))
            if f in b.inputs:
                cv.validate(first, col, last, self._validation(b, f, a1(first, col)))

    def _matrix(self, cv: Canvas, p: layout.Placement, b: layout.Matrix) -> None:
        ref_sheet, ref_p = locate(b.row_table)
        assert isinstance(ref_p.block, layout.Table)
        ref_field = next(c for c in ref_p.block.columns if c.label == b.row_ref_header)
        ref_col = layout.table_col(ref_p, ref_field.key)
        weight_col = layout.table_col(ref_p, "weight")
        cv.put(p.row, 1, b.row_header, HEADER)
        cv.put(p.row, 2, b.row_ref_header, HEADER)
        cv.heights[p.row] = _HEADER_ROW
        for j in range(b.columns):
            cv.put(p.row, layout.matrix_cell(p, 0, j)[1], b.column_label.format(n=j + 1), HEADER)
        for i in range(b.rows):
            row = layout.matrix_cell(p, i, 0)[0]
            cv.heights[row] = _ROW
            src_row = layout.table_row(ref_p, i)
            ref = f"{quote_sheetname(ref_sheet.name)}!{a1(src_row, ref_col)}"
            cv.put(row, 1, i + 1, SEQ)
            cv.put(row, 2, None, {**SEQ, "align": "left"}, formula=f'=IF({ref}="","",{ref})')
            cv.cells[row, 2].source = (ref_sheet.name, src_row, ref_col)
            for j in range(b.columns):
                cv.put(row, layout.matrix_cell(p, i, j)[1], None, field_style(b.value))
        (r0, c0), (r1, c1) = layout.matrix_cell(p, 0, 0), layout.matrix_cell(p, b.rows - 1, b.columns - 1)
        opts = self._validation(b, b.value, a1(r0, c0))
        if opts:
            cv.validations.append((r0, c0, r1, c1, opts))
        if b.agreed:
            c1 = layout.agreed_cell(p, 0)[1]
            cv.put(p.row, c1, header_text(b.agreed), HEADER)
            for i in range(b.rows):
                cv.put(layout.agreed_cell(p, i)[0], c1, None, field_style(b.agreed))
            opts = self._validation(b, b.agreed, a1(r0, c1))
            if opts:
                cv.validations.append((r0, c1, r1, c1, opts))
        # a score above the indicator's weight turns red while typing
        weight = quote_sheetname(ref_sheet.name) + "!"
        weight += xl_rowcol_to_cell(layout.table_row(ref_p, 0) - 1, weight_col - 1, False, True)
        first = a1(r0, c0)
        cv.conditionals.append(
            (r0, c0, r1, c1, f"=AND(ISNUMBER({first}),ISNUMBER({weight}),{first}>{weight})")
        )

    def _validation(self, b: layout.Block, f: layout.Field, first_cell: str) -> dict[str, Any] | None:
        if "{" in f.help:
            f = replace(f, help=self.words.fill(f.help))
        if self.year is not None and f.help:
            f = replace(f, help=for_year(f.help, self.year))
        return validation(f, first_cell, self.sources.get((getattr(b, "key", ""), f.key)))


#: the example year the layout's help texts are written with, and the texts that hold it
_EXAMPLE_YEAR = re.compile(r"(如“?(?:宋营镇)?)2023")


def for_year(text: str, year: int | None) -> str:
    """A help text whose examples ("如2023", "如“宋营镇2023年度…”") name the template's year."""
    return text if year is None else _EXAMPLE_YEAR.sub(lambda m: f"{m.group(1)}{year}", text)


# --- 填表说明 ---------------------------------------------------------------------------------------


@cache
def guide_data() -> dict[str, Any]:
    """The text of the 填表说明 sheet (``selfeval_xlsx/data/guide.json``), placeholders unfilled."""
    data: dict[str, Any] = json.loads(
        resources.files("selfeval_xlsx").joinpath("data", "guide.json").read_text(encoding="utf-8")
    )
    return data


def _guide_columns() -> tuple[tuple[str, float], ...]:
    return tuple((c["title"], c["width"]) for c in guide_data()["columns"])


def guide_text(grades: Sequence[str], words: ProfileText | None = None) -> list[tuple[str, str]]:
    """(kind, text) rows of the instructions: kind is 'section' or 'para'; the data file's placeholders
    filled from the layout and the profile's ``words``."""
    words = words or ProfileText.of(None)
    data = guide_data()
    budget_rule = data["budget_scored"] if words.budget != "0" else data["budget_unscored"]
    panel_rules = data["panel_rules"]
    values = {
        "budget_sheet": layout.BUDGET_SHEET.name,
        "indicator_sheet": layout.INDICATOR_SHEET.name,
        "panel_sheet": layout.PANEL_SHEET.name,
        "levels": "；".join(f"{k}：{'、'.join(v)}" for k, v in layout.LEVELS.items()),
        "budget_rule": budget_rule.format(budget=words.budget),
        "grades": "、".join(grades),
        "weights": words.weights,
        "trim": words.trim,
        "panel_rule": panel_rules.get(words.panel_mode, panel_rules["auto"]),
        "template_version": TEMPLATE_VERSION,
        "version": __version__,
    }
    return [(p["kind"], p["text"].format_map(values)) for p in data["paragraphs"]]


def guide_rows(words: ProfileText | None = None) -> list[tuple[str, str, str, str]]:
    """(sheet, item, required, help) of every field, straight from the layout."""
    words = words or ProfileText.of(None)
    say = guide_data()["rows"]
    rows: list[tuple[str, str, str, str]] = []
    for sheet, p, f in layout.iter_fields():
        b = p.block
        if isinstance(b, layout.Table) and f.key == "seq":
            continue
        item = header_text(f).rstrip("*")
        if isinstance(b, layout.Matrix):
            item = say["member_score"].format(label=f.label) if f is b.value else f.label
        if f.output:
            need, text = say["output_need"], say["output_help"]
        else:
            required = f.required or (isinstance(b, layout.Grid) and bool(b.required_rows))
            conditional = f.required_when is not None or f.key in layout.UNIT_CODES
            need = say["required"] if required else say["conditional"] if conditional else say["optional"]
            if isinstance(b, layout.Matrix) or b is layout.MEMBERS:
                need = say["by_panel_mode"]
            text = words.fill(f.help)
            if isinstance(b, layout.Grid) and b.required_rows:
                rows_ = "、".join(lbl for k, lbl in b.rows if k in b.required_rows)
                text += say["required_rows"].format(rows=rows_)
        rows.append((sheet.name, item, need, text))
    return rows


def _instructions(
    sheet: layout.Sheet, year: int | None, grades: Sequence[str], words: ProfileText | None = None
) -> Canvas:
    cv = Canvas(sheet.name)
    columns = _guide_columns()
    last = len(columns)
    cv.widths = {c: w for c, (_, w) in enumerate(columns, start=1)}
    width = sum(w for _, w in columns)
    cv.merge(1, 1, last, _title(sheet, year), TITLE)
    cv.heights[1] = 30
    row = 3
    for kind, text in guide_text(grades, words):
        text = for_year(text, year)
        if kind == "section":
            if row > 3:
                row += 1
            cv.put(row, 1, text, SECTION)
            cv.heights[row] = 20
        else:
            cv.merge(row, 1, last, text, {"text_wrap": True, "valign": "top"})
            cv.heights[row] = LINE_HEIGHT * wrapped_lines(text, width) + 3
        row += 1
    for col, (title, _) in enumerate(columns, start=1):
        cv.put(row, col, title, HEADER)
    for values in guide_rows(words):
        values = (*values[:3], for_year(values[3], year))
        row += 1
        for col, v in enumerate(values, start=1):
            cv.put(row, col, v, {**BOX, "text_wrap": True, **({"align": "center"} if col == 3 else {})})
        cv.heights[row] = (
            LINE_HEIGHT * max(wrapped_lines(v, w) for v, (_, w) in zip(values, columns, strict=True)) + 3
        )
    return cv


#: Rows of a table or score matrix the blank template prints (the form stays printable by hand).
BLANK_PRINT_ROWS = 15


def _filled_rows(cv: Canvas, p: layout.Placement, was: Canvas | None = None) -> int:
    """How many rows of a table or matrix hold something typed (the last filled row's index + 1).

    ``was``: the canvas ``cv`` is a copy of, when ``cv`` recorded its edits (:meth:`Canvas.copy`): only
    the rows filled in ``was`` and the rows edited since are looked at."""
    b = p.block
    if isinstance(b, layout.Table):
        cols = [layout.table_col(p, f.key) for f in b.columns if f.key != "seq"]
    elif isinstance(b, layout.Matrix):
        cols = [layout.matrix_cell(p, 0, j)[1] for j in range(b.columns)]
    else:
        return 0
    first = layout.table_row(p, 0)
    indexes: Iterable[int] = range(b.rows)
    if was is not None and cv.edited is not None:
        wanted = set(cols)
        edited = {r - first for r, c in cv.edited if c in wanted and 0 <= r - first < b.rows}
        indexes = sorted(edited.union(range(_filled_in(was, p))))
    n = 0
    for i in indexes:
        row = first + i
        if any((c := cv.cells.get((row, col))) and c.value not in (None, "") for col in cols):
            n = i + 1
    return n


_FILLED: dict[tuple[int, int], tuple[Canvas, int]] = {}  # (canvas id, placement id) → (canvas, rows)


def _filled_in(cv: Canvas, p: layout.Placement) -> int:
    """:func:`_filled_rows` of a canvas that is not changed any more (a blank sheet), remembered."""
    key = (id(cv), id(p))
    hit = _FILLED.get(key)
    if hit is None or hit[0] is not cv:
        if len(_FILLED) >= 64:
            _FILLED.clear()
        hit = _FILLED[key] = (cv, _filled_rows(cv, p))
    return hit[1]


def _print_end(
    sheet: layout.Sheet,
    canvases: Mapping[str, Canvas],
    *,
    blank: bool,
    blanks: Mapping[str, Canvas] | None = None,
) -> int:
    """The last row to print (1-based): a sheet ending in a table or score matrix stops at its last filled
    row (a matrix: at least as many rows as indicators filled), the blank template after
    :data:`BLANK_PRINT_ROWS` rows; empty rows never print pages of their own. ``blanks``: the canvases
    ``canvases`` are copies of (see :func:`_filled_rows`)."""
    last = sheet.placements[-1]
    b = last.block
    if not isinstance(b, layout.Table | layout.Matrix):
        cv = canvases[sheet.name]
        return max(r for r, _ in cv.cells)
    if blank:
        return layout.table_row(last, min(b.rows, BLANK_PRINT_ROWS) - 1)
    blanks = blanks or {}
    n = _filled_rows(canvases[sheet.name], last, blanks.get(sheet.name))
    if isinstance(b, layout.Matrix):
        ref_sheet, ref_p = locate(b.row_table)
        n = max(n, _filled_rows(canvases[ref_sheet.name], ref_p, blanks.get(ref_sheet.name)))
    return layout.table_row(last, max(n, 1) - 1)


def _page_setup(ws: Worksheet, sheet: layout.Sheet | None) -> None:
    ws.set_paper(9)
    if sheet is not None and sheet.landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")


def _sheet_frame(ws: Worksheet, sheet: layout.Sheet | None, protect: bool) -> None:
    """What a standard sheet has besides its cells and print area: page setup, frozen panes and
    repeated header, gridlines, protection; ``sheet`` ``None``: the hidden ``_meta`` sheet."""
    if sheet is None:
        ws.hide()
    else:
        _page_setup(ws, sheet)
        if sheet.freeze_header_of:
            ws.freeze_panes(sheet.find(sheet.freeze_header_of).row, 0)
            header = sheet.find(sheet.freeze_header_of).row - 1
            ws.repeat_rows(header, header)
        elif sheet.blocks:
            ws.freeze_panes(1, 0)
        else:
            ws.hide_gridlines(2)
    if protect:
        _protect(ws)


def _protect(ws: Worksheet) -> None:
    ws.protect(
        "",
        {
            "format_columns": True,
            "format_rows": True,
            "select_locked_cells": True,
            "select_unlocked_cells": True,
        },
    )


# --- public API -------------------------------------------------------------------------------------


class _Names:
    """Records the defined names a :class:`_Builder` makes, to replay them on each workbook."""

    def __init__(self) -> None:
        self.names: list[tuple[str, str]] = []

    def define_name(self, name: str, formula: str) -> None:
        self.names.append((name, formula))


@lru_cache(maxsize=8)
def _blank(
    year: int | None, grades: tuple[str, ...], words: ProfileText
) -> tuple[Canvas, dict[str, Canvas], tuple[tuple[str, str], ...]]:
    """The blank standard sheets drawn once per process (year, grades, profile); callers work on copies."""
    recorder = _Names()
    builder = _Builder(recorder, year, grades, words)
    meta = builder.meta()
    canvases: dict[str, Canvas] = {}
    for sheet in layout.WORKBOOK.sheets:
        canvases[sheet.name] = (
            builder.sheet(sheet) if sheet.blocks else _instructions(sheet, year, grades, words)
        )
    return meta, canvases, tuple(recorder.names)


@lru_cache(maxsize=8)
def _fitted_all(year: int | None, grades: tuple[str, ...], words: ProfileText) -> dict[str, dict[int, float]]:
    """The row heights of each blank standard sheet once fitted to its wrapped text (see :func:`fit_rows`)."""
    _, canvases, _ = _blank(year, grades, words)
    out = {}
    for name, cv in canvases.items():
        copy = cv.copy()
        fit_rows(copy)
        out[name] = copy.heights
    return out


@lru_cache(maxsize=8)
def _noted(year: int | None, grades: tuple[str, ...], words: ProfileText) -> dict[str, list[tuple[int, int]]]:
    """The cells of each blank standard sheet with a formula or a comment (see :func:`noted_cells`)."""
    return {name: noted_cells(cv) for name, cv in _blank(year, grades, words)[1].items()}


def _fitted(year: int | None, grades: tuple[str, ...], words: ProfileText, name: str) -> dict[int, float]:
    return _fitted_all(year, grades, words)[name]


_DRAWN: dict[tuple[Any, ...], dict[str, bookparts.Sheet]] = {}


def _drawn(
    year: int | None, grades: tuple[str, ...], words: ProfileText, options: dict[str, Any], protect: bool
) -> dict[str, bookparts.Sheet]:
    """The blank standard sheets of :func:`_blank`, their rows fitted (:func:`_fitted`), flushed once on
    recording sheets (per blank and workbook options): a recorded workbook takes them and writes only
    what a township's values, the tool's figures and the marks change (:func:`~.xlsx.canvas.flush_over`).
    Each sheet's page setup, panes and protection (:func:`_sheet_frame`) are drawn with it."""
    key = (year, grades, words, repr(sorted(options.items())), protect)
    hit = _DRAWN.get(key)
    if hit is None:
        meta, canvases, _ = _blank(year, grades, words)
        book = bookparts.Book(io.BytesIO(), options)
        formats = Formats(book)
        sheets = {sheet.name: sheet for sheet in layout.WORKBOOK.sheets}
        hit = {}
        for name, cv in (*canvases.items(), (layout.META_SHEET_NAME, meta)):
            ws = book.add_worksheet(name)
            if name in canvases:
                cv = cv.copy()
                cv.heights = dict(_fitted(year, grades, words, name))
            flush(cv, ws, formats, canvases, _COMMENT_AUTHOR)
            _sheet_frame(ws, sheets.get(name), protect)
            hit[name] = ws
        if len(_DRAWN) >= 8:
            _DRAWN.clear()
        _DRAWN[key] = hit
    return hit


def write_standard(
    wb: Workbook,
    *,
    year: int | None,
    grades: Sequence[str],
    doc: Document | None = None,
    outputs: Mapping[str, object] | None = None,
    marks: Mapping[tuple[str, str], Sequence[str]] | None = None,
    protect: bool = True,
    rules: Any = None,
) -> StandardSheets:
    """Write the standard sheets (and the hidden ``_meta``) into an open xlsxwriter Workbook.

    ``doc``: the township's values are written at the cells they were read from; ``outputs``: tool
    figures by JSON pointer; ``marks``: ``(sheet name, A1)`` → messages, shown as a fill and a comment.
    User text is always written as a string, never as a formula. ``rules``: the profile whose weights and
    panel mode the notes, 填表说明 and input messages state (``None``: the default profile).
    """
    formats = Formats(wb)
    words = ProfileText.of(rules)
    blank_meta, blank, names = _blank(year, tuple(grades), words)
    drawn = (
        _drawn(year, tuple(grades), words, wb.options, protect) if isinstance(wb, bookparts.Book) else None
    )
    for name, formula in names:
        wb.define_name(name, formula)
    meta = blank_meta.copy()
    canvases = {name: cv.copy() for name, cv in blank.items()}
    if doc is not None or outputs or marks:
        from .writeback import overlay, relocate  # local: only completed and returned workbooks need it

        if doc is not None and doc.template_version != TEMPLATE_VERSION:
            doc, marks = relocate(doc, marks)
        overlay(canvases, doc, outputs, marks)
    changed: dict[str, list[tuple[int, int]]] = {}
    if drawn is not None:  # only what changed is measured and written
        noted = _noted(year, tuple(grades), words)
        for name, cv in canvases.items():
            changed[name] = changed_cells(cv, blank[name], noted[name], canvases)
            fit_rows_over(cv, blank[name], _fitted(year, tuple(grades), words, name), changed[name])
    else:
        for cv in canvases.values():
            fit_rows(cv)

    worksheets: dict[str, Worksheet] = {}
    for sheet in layout.WORKBOOK.sheets:
        ws = wb.add_worksheet(sheet.name)
        worksheets[sheet.key] = ws
        if drawn is not None:
            cv = canvases[sheet.name]
            flush_over(
                cv,
                blank[sheet.name],
                drawn[sheet.name],
                ws,
                formats,
                canvases,
                _COMMENT_AUTHOR,
                changed[sheet.name],
                _fitted(year, tuple(grades), words, sheet.name),
            )
        else:
            flush(canvases[sheet.name], ws, formats, canvases, _COMMENT_AUTHOR)
            _sheet_frame(ws, sheet, protect)
        if sheet.blocks:
            end = _print_end(sheet, canvases, blank=doc is None, blanks=blank)
            ws.print_area(0, 0, end - 1, sheet.last_col - 1)
    meta_ws = wb.add_worksheet(layout.META_SHEET_NAME)
    if drawn is not None:
        flush_over(
            meta, blank_meta, drawn[layout.META_SHEET_NAME], meta_ws, formats, canvases, _COMMENT_AUTHOR
        )
    else:
        flush(meta, meta_ws, formats, canvases, _COMMENT_AUTHOR)
        _sheet_frame(meta_ws, None, protect)
    worksheets[layout.WORKBOOK.sheets[0].key].activate()
    return StandardSheets(worksheets, meta_ws, formats)


def write_template(
    target: str | Path | BinaryIO,
    year: int | None = None,
    grades: Sequence[str] = DEFAULT_GRADES,
    rules: Any = None,
) -> None:
    """Blank standard workbook; ``rules``: the profile it states (its grades, weights and panel mode)."""
    if rules is not None:
        grades = rules.grades
    wb = xlsxwriter.Workbook(
        str(target) if isinstance(target, str | Path) else target,
        {"in_memory": True, "default_format_properties": {"font_name": FONT_NAME, "font_size": FONT_SIZE}},
    )
    title = _title(layout.BUDGET_SHEET, year).split(" · ")[0]
    wb.set_properties({"title": title, "subject": TEMPLATE_ID, "comments": f"template v{TEMPLATE_VERSION}"})
    write_standard(wb, year=year, grades=grades, rules=rules)
    wb.close()
