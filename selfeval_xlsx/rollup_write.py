"""Writing the county roll-up workbook (``汇总_<county>_<year>.xlsx``) with xlsxwriter; it is read back
by :mod:`selfeval_xlsx.rollup_read`.

Visible sheets are for people (汇总, 指标明细, 评价小组, 问题清单, 退回文件, 统计, 运行信息); numbers
there are floats for display only. The hidden ``_rollup`` sheet holds the exact
:class:`~selfeval_xlsx.rollup.Rollup` (JSON, Decimals as strings) so a roll-up can itself be merged into
a city or provincial roll-up.

Every text that came from a township (names, indicator text, file names, messages) is written with
``write_string`` (and the workbook refuses to turn strings into formulas or links), so a name such as
``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import gc
import hashlib
import html
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from itertools import islice, repeat
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name, xl_range, xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from .decimals import ZERO, q2
from .findings import SEVERITY_LABELS
from .jsoncodec import ascii_text
from .rollup import FileRow, Rollup, TownshipRow
from .rollup_read import DATA_SHEET, ROLLUP_ID, ROLLUP_VERSION
from .template import FONT_NAME, FONT_SIZE
from .xlsx.bookparts import row_height_attrs, row_px

SUMMARY, INDICATORS, PANEL, FINDINGS, FILES, STATS, RUN, STATUS = (
    "汇总",
    "指标明细",
    "评价小组",
    "问题清单",
    "退回文件",
    "统计",
    "运行信息",
    "报送情况",
)
#: The order a bureau head reads them: the one-page 统计 (figures and charts), then the ranking, then the
#: details; the hidden data last. With a roster (merge --roster), 报送情况 follows 汇总.
SHEETS = (STATS, SUMMARY, INDICATORS, PANEL, FINDINGS, FILES, RUN, DATA_SHEET)

STATUS_LABELS = {"rejected": "退回", "superseded": "已被替代", "duplicate": "重复文件", "skipped": "已跳过"}
COUNT_LABELS = {
    "seen": "收到文件数",
    "accepted": "通过审核",
    "superseded": "被更新报送替代",
    "rejected": "退回",
    "skipped": "跳过",
}
#: A difference (self-reported − computed total) larger than this is highlighted.
DIFF_THRESHOLD = Decimal("0.5")

_CHUNK = 32_000  # characters of JSON per cell of _rollup (Excel's limit is 32,767)
_MAX_CELL = 32_767
_MAX_ROWS = 1_048_576  # rows of a sheet (Excel's limit)
LINE_HEIGHT = 16  # points per line of wrapped 11-pt text (CJK fallback fonts are taller than 宋体)
_RISKY_START = ("=", "+", "-", "@", "{", "\t", "\r", "\n")
_SURROGATE = re.compile("[\ud800-\udfff]")

# --- styles -----------------------------------------------------------------------------------------

_BOX = {"border": 1, "border_color": "#A6A6A6", "valign": "vcenter"}
_STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"},
    "header": {**_BOX, "bold": True, "bg_color": "#E7E6E6", "align": "center", "text_wrap": True},
    "text": {**_BOX},
    "wrap": {**_BOX, "text_wrap": True},
    "center": {**_BOX, "align": "center"},
    "int": {**_BOX, "num_format": "0", "align": "center"},
    "count": {**_BOX, "num_format": "0"},
    "left": {**_BOX, "num_format": "0", "align": "left"},
    "money": {**_BOX, "num_format": "#,##0.00"},
    "score": {**_BOX, "num_format": "0.00"},
    "rate": {**_BOX, "num_format": '0.00"%"'},
    "diff": {**_BOX, "num_format": "+0.00;-0.00;0.00"},
    "share": {**_BOX, "num_format": "0.0%"},
    "note": {"text_wrap": True, "font_color": "#595959", "valign": "top"},
    "section": {"bold": True, "font_size": 12},
}
_TOTAL = {"bold": True, "bg_color": "#FFF2CC", "top": 2}
#: A cell of a record: ``s`` (text), ``n`` (number), ``b`` (blank) or ``x`` (a number xlsxwriter refuses),
#: its value and format (None: the default).
_Cell = tuple[str, Any, Format | None]
#: A record row kept for :func:`_splice`: its row (0-based), cells and height in points (None: default).
_Row = tuple[int, list[_Cell], int | None]

_BAD = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}
_LOW = {"bg_color": "#FFEB9C", "font_color": "#9C5700"}


@dataclass(frozen=True)
class _Col:
    """One column of a visible table: header, style kind, how to get the value, width bounds."""

    header: str
    kind: str
    get: Callable[[Any], Any]
    width: tuple[int, int] = (6, 30)


# --- public API -------------------------------------------------------------------------------------


def write_rollup_workbook(
    target: str | Path | BinaryIO, rollup: Rollup, data: dict[str, Any] | None = None
) -> None:
    """Write the roll-up workbook to a path or a binary file object (ranks the townships first).

    ``data`` is ``rollup.to_dict()`` of the ranked roll-up, when the caller needs it too."""
    with paused_gc():
        _write(target, rollup, data)


def _write(target: str | Path | BinaryIO, rollup: Rollup, data: dict[str, Any] | None) -> None:
    rollup.rank()
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "default_format_properties": {"font_name": FONT_NAME, "font_size": FONT_SIZE},
        },
    )
    wb.set_properties(
        {
            "title": _title(rollup, "乡镇整体支出绩效自评汇总表"),
            "subject": ROLLUP_ID,
            "comments": f"roll-up v{ROLLUP_VERSION}, selfeval-xlsx {rollup.tool_version}",
        }
    )
    writer = _Writer(wb, rollup, data)
    writer.write()
    wb.close()
    packed = _splice(buf.getvalue(), writer.later, writer.tables)
    if isinstance(target, str | Path):
        Path(target).write_bytes(packed)
    else:
        target.write(packed)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection in the block. Writing a roll-up makes some 10⁵ tuples and dicts,
    which keep triggering the collector: ~15% of the time, for nothing the collection after the block
    would not free anyway (the cells, held in a cycle of workbook and sheets)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- the writer -------------------------------------------------------------------------------------


class _Writer:
    def __init__(self, wb: Workbook, rollup: Rollup, data: dict[str, Any] | None = None) -> None:
        self.wb, self.r, self.data = wb, rollup, data
        self.totals = rollup.totals()
        self._formats: dict[tuple[str, bool, bool], Format] = {}
        self.summary_rows: tuple[int, int] = (2, 1)  # first, last data row of 汇总 (0-based)
        self.later: dict[int, _SheetRows] = {}  # sheet index → its rows for _splice
        self.tables: dict[str, tuple[str, str]] = {}  # table name → (range given, range) for _splice

    def write(self) -> None:
        stats = self.sheet(STATS)  # first in the workbook; filled once 汇总's rows are known
        self._summary()
        if self.r.status:
            self._status()
        self._indicators()
        self._panel()
        self._findings()
        self._files()
        self._stats(stats)
        self._run()
        self._data()
        stats.activate()

    # --- cells --------------------------------------------------------------------------------------

    def sheet(self, name: str) -> Worksheet:
        return self.wb.add_worksheet(name)

    def fmt(self, kind: str, total: bool = False, quote: bool = False) -> Format:
        key = (kind, total, quote)
        if key not in self._formats:
            props = {
                **_STYLES[kind],
                **(_TOTAL if total else {}),
                **({"quote_prefix": True} if quote else {}),
            }
            self._formats[key] = self.wb.add_format(props)
        return self._formats[key]

    def put(self, ws: Worksheet, row: int, col: int, value: Any, kind: str, total: bool = False) -> None:
        """Write one cell: text always as a string, Decimals and ints as numbers, None as a blank."""
        if value is None or value == "" or (isinstance(value, Decimal) and not value.is_finite()):
            ws.write_blank(row, col, None, self.fmt(kind, total))
        elif isinstance(value, str):
            text = _display(value)
            ws.write_string(row, col, text, self.fmt(kind, total, text.startswith(_RISKY_START)))
        elif isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            ws.write_number(row, col, float(value), self.fmt(kind, total))
        else:
            ws.write_string(row, col, _display(str(value)), self.fmt(kind, total))

    def title(self, ws: Worksheet, text: str, ncols: int) -> None:
        ws.set_row(0, 30)
        if ncols > 1:
            ws.merge_range(0, 0, 0, ncols - 1, "", self.fmt("title"))
        ws.write_string(0, 0, _display(text), self.fmt("title"))

    def grid(
        self,
        ws: Worksheet,
        title: str,
        cols: Sequence[_Col],
        rows: Sequence[Any],
        table: str | None = None,
        landscape: bool = True,
    ) -> int:
        """Title (row 0), header (row 1), one row per record from row 2; returns the last data row."""
        self.title(ws, title, len(cols))
        widths = _widths(ws, cols, rows)
        last = 1 + len(rows)
        # 汇总 (no table) is not spliced: its rows get one height afterwards, and the 统计 charts' cached
        # values are what xlsxwriter holds of its cells
        self._records(ws, cols, rows, widths, splice=table is not None)
        if table:
            last = max(last, 2)  # a table needs one data row, even an empty one
            self._table(ws, table, cols, last)
        else:
            for c, col in enumerate(cols):
                ws.write_string(1, c, col.header, self.fmt("header"))
            ws.autofilter(1, 0, max(last, 1), len(cols) - 1)
        ws.set_row(1, 33)
        _page(ws, header_rows=(0, 1), freeze=(2, 0), landscape=landscape)
        return last

    def _table(self, ws: Worksheet, name: str, cols: Sequence[_Col], last: int) -> None:
        """The Excel table ``name`` over the header (row 1) and the records down to row ``last``.

        xlsxwriter's ``add_table`` visits every cell of its range (to refuse overlaps), ~10⁵ on the big
        sheets, where nothing else is written; so it is given the header and the first record, and
        :func:`_splice` writes the whole range into the table's part (its ``ref`` and its filter's)."""
        ncols = len(cols)
        short = min(last, 2) if last < _MAX_ROWS else last  # beyond Excel's rows: xlsxwriter refuses
        ws.add_table(
            1,
            0,
            short,
            ncols - 1,
            {
                "name": name,
                "style": "Table Style Light 1",
                "columns": [{"header": c.header, "header_format": self.fmt("header")} for c in cols],
            },
        )
        if short != last:
            self.tables[name] = (xl_range(1, 0, short, ncols - 1), xl_range(1, 0, last, ncols - 1))

    def _records(
        self,
        ws: Worksheet,
        cols: Sequence[_Col],
        rows: Sequence[Any],
        widths: list[int],
        splice: bool = False,
    ) -> None:
        """The records from row 2, each cell as :meth:`put` writes it, and each row's height.

        With ``splice`` (a table's records: nothing else is written on their rows), see
        :meth:`_spliced_records`; without it (汇总), every row is written by xlsxwriter."""
        if splice:
            self._spliced_records(ws, cols, rows, widths)
            return
        gets = [col.get for col in cols]
        kinds = [col.kind for col in cols]
        wraps = [widths[c] if col.kind == "wrap" else 0 for c, col in enumerate(cols)]
        seen: list[dict[Any, _Cell]] = [{} for _ in cols]  # per column: value → its cell
        for i, row in enumerate(rows, start=2):
            values = [get(row) for get in gets]
            cells = []
            for value, kind, known in zip(values, kinds, seen, strict=True):
                if not _reusable(value):
                    cells.append(self.cell(value, kind))
                    continue
                cell = known.get(value)
                if cell is None:
                    cell = known[value] = self.cell(value, kind)
                cells.append(cell)
            lines = (_lines(v, w) for v, w in zip(values, wraps, strict=True) if w and isinstance(v, str))
            write_row(ws, i, cells, _height(max(lines, default=1)))

    def _spliced_records(
        self, ws: Worksheet, cols: Sequence[_Col], rows: Sequence[Any], widths: list[int]
    ) -> None:
        """A table's records (the roll-up's big sheets: ~10⁵ cells), read once and rendered straight
        into row XML for :func:`_splice` (:class:`_SheetRows`), cells as :meth:`put` writes them.

        xlsxwriter gives each format its style number in the order of first use, when it writes the
        package; so a row that uses a format no row written by xlsxwriter above it has used (the first
        row, a first quote-prefixed text) is written by xlsxwriter itself, and styles.xml is as
        xlsxwriter alone would write it. Texts repeat (names, indicators): each column renders a text's
        cell once and keeps it."""
        ncols = len(cols)
        sheet = self._sheet_rows(ws, ncols, styled=True)
        kinds = [col.kind for col in cols]
        wraps = [widths[c] if col.kind == "wrap" else 0 for c, col in enumerate(cols)]
        # per column: its index, how to get its value, its cells' start, and the values seen in it:
        # value → (the cell's XML after its reference, lines it takes when wrapped, its format, whether
        # that is not the column's plain format)
        known: list[dict[Any, tuple[str, int, Format, bool]]] = [{} for _ in cols]
        spec = [(c, col.get, f'<c r="{_CELL_REFS[c]}', known[c]) for c, col in enumerate(cols)]
        plain: list[Format | None] = [None] * ncols  # made on first use, so styles.xml keeps its order
        styled: set[int] = set()  # ids of the formats used by a row written by xlsxwriter
        ready = False  # every column's plain format is among them: only a row's other cells need a look
        for i, row in enumerate(rows, start=2):
            r = str(i + 1)
            lines = 1
            parts: list[str] = []
            odd: list[Format | None] = []  # formats to look up: all of them until ready, then the rare
            fresh = False  # a number xlsxwriter refuses (NaN): the row is left to it
            for c, get, start, seen in spec:
                value = get(row)
                cls = value.__class__
                # as _reusable, inlined: ~10⁵ cells
                if (
                    cls is str
                    or value is None
                    or ((cls is int or (cls is Decimal and value.is_finite())) and value)
                ):
                    hit = seen.get(value)
                    if hit is None:
                        hit = seen[value] = self._known_cell(sheet, plain, c, kinds[c], value, wraps[c])
                    tail, n, fmt, rare = hit
                    if n > lines:
                        lines = n
                    if rare or not ready:
                        odd.append(fmt)
                else:
                    kind, shown, fmt = self.cell(value, kinds[c])
                    fresh = fresh or kind == "x"
                    odd.append(fmt)
                    if wraps[c] and isinstance(value, str):
                        lines = max(lines, _lines(value, wraps[c]))
                    tail = sheet.tail(kind, shown, fmt)
                parts.append(f'{start}{r}"{tail}')
            height = _height(lines)
            if odd and (fresh or not all(fmt is not None and id(fmt) in styled for fmt in odd)):
                cells = [self.cell(col.get(row), kind) for col, kind in zip(cols, kinds, strict=True)]
                write_row(ws, i, cells, height)
                styled.update(id(fmt) for _, _, fmt in cells)
                ready = all(fmt is not None and id(fmt) in styled for fmt in plain)
                continue
            sheet.add(i, parts, height)

    def _known_cell(
        self,
        sheet: _SheetRows,
        plain: list[Format | None],
        c: int,
        kind: str,
        value: str | int | Decimal | None,
        wrap: int,
    ) -> tuple[str, int, Format, bool]:
        """A text's, a finite number's or a blank's cell in column ``c``: (its XML after the reference,
        lines it takes when wrapped, its format, whether that is not the column's plain one: a quote
        prefix)."""
        if value is None or value == "":
            fmt = plain[c] or self._plain(plain, c, kind)
            return sheet.tail("b", None, fmt), 1, fmt, False
        if not isinstance(value, str):
            fmt = plain[c] or self._plain(plain, c, kind)
            return sheet.tail("n", float(value), fmt), 1, fmt, False
        text = _display(value)
        if text.startswith(_RISKY_START):
            fmt, rare = self.fmt(kind, quote=True), True
        else:
            fmt, rare = plain[c] or self._plain(plain, c, kind), False
        return sheet.tail("s", text, fmt), _lines(value, wrap) if wrap else 1, fmt, rare

    def _sheet_rows(self, ws: Worksheet, ncols: int, styled: bool) -> _SheetRows:
        """The rows of ``ws`` that :func:`_splice` writes (one set per sheet)."""
        index = self.wb.worksheets().index(ws)
        if index in self.later:
            raise RuntimeError(f"the rows of sheet {ws.name} are spliced twice")
        sheet = self.later[index] = _SheetRows(ncols, styled)
        return sheet

    def defer(self, ws: Worksheet, ncols: int, rows: list[_Row]) -> None:
        """Keep ``rows`` (of ``ncols`` cells each, nothing else written on them) for :func:`_splice`."""
        styled = any(fmt is not None for _, cells, _ in rows for _, _, fmt in cells)
        sheet = self._sheet_rows(ws, ncols, styled)
        for i, cells, height in rows:
            r = str(i + 1)
            parts = [f'<c r="{_CELL_REFS[c]}{r}"{sheet.tail(*cell)}' for c, cell in enumerate(cells)]
            sheet.add(i, parts, height)

    def cell(self, value: Any, kind: str) -> _Cell:
        """What :meth:`put` writes for ``value`` in a record: (``s``/``n``/``b``, value, format)."""
        if value is None or value == "" or (isinstance(value, Decimal) and not value.is_finite()):
            return ("b", None, self.fmt(kind))
        if isinstance(value, str):
            text = _display(value)
            return ("s", text, self.fmt(kind, quote=text.startswith(_RISKY_START)))
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            number = float(value)  # NaN and infinities: left to xlsxwriter, which refuses them
            return ("n" if math.isfinite(number) else "x", number, self.fmt(kind))
        return ("s", _display(str(value)), self.fmt(kind))

    def _plain(self, plain: list[Format | None], c: int, kind: str) -> Format:
        plain[c] = fmt = self.fmt(kind)
        return fmt

    # --- sheets -------------------------------------------------------------------------------------

    def _summary(self) -> Worksheet:
        ws = self.sheet(SUMMARY)
        rows = self.r.townships
        cols = summary_columns(self.r)
        last = self.grid(ws, _title(self.r, "乡镇整体支出绩效自评汇总表"), cols, rows)
        self.summary_rows = (2, 1 + len(rows))
        by = {c.header: i for i, c in enumerate(cols)}
        total_row = 2 + len(rows)
        for c, col in enumerate(cols):
            self.put(ws, total_row, c, self._total_value(col.header), col.kind, total=True)
        ws.set_row(total_row, 33)
        note = (
            "注：金额单位为万元；合计行的金额为合计，执行率为按全年预算数加权的执行率，得分为各乡镇平均"
            "（各项平均分之和与平均总分因四舍五入不一致时不列各项平均分）；"
            f"差异=自评总分−核定总分，超过{DIFF_THRESHOLD}分标红、低于−{DIFF_THRESHOLD}分标黄；"
            "核定等级或自评等级为“"
            + "、".join(_poor(self.r.grades) or ("（无）",))
            + "”的标红。精确数值见隐藏工作表_rollup及rollup.json。"
        )
        ws.merge_range(total_row + 1, 0, total_row + 1, len(cols) - 2, "", self.fmt("note"))
        ws.write_string(total_row + 1, 0, note, self.fmt("note"))
        ws.set_row(total_row + 1, 36)
        if rows:
            first = 2
            diff = by["差异(自评−核定)"]
            bad, low = self.wb.add_format(_BAD), self.wb.add_format(_LOW)
            limit = float(DIFF_THRESHOLD)
            ws.conditional_format(
                first, diff, last, diff, {"type": "cell", "criteria": ">", "value": limit, "format": bad}
            )
            ws.conditional_format(
                first, diff, last, diff, {"type": "cell", "criteria": "<", "value": -limit, "format": low}
            )
            for grade in _poor(self.r.grades):
                for index in (by["核定等级"], by["自评等级"]):
                    quoted = '"' + grade.replace('"', '""') + '"'
                    ws.conditional_format(
                        first,
                        index,
                        last,
                        index,
                        {"type": "cell", "criteria": "==", "value": quoted, "format": bad},
                    )
        widths = _widths(ws, cols, rows)  # as grid() set them
        need = max(
            (
                _lines(str(col.get(t) or ""), widths[c])
                for t in rows
                for c, col in enumerate(cols)
                if col.kind == "wrap"
            ),
            default=1,
        )
        for i in range(2, 2 + len(rows)):  # one height for every row: the ranking reads as one table
            ws.set_row(i, min(409, LINE_HEIGHT * need + 5))
        missing = self._missing()
        ws.merge_range(total_row + 2, 0, total_row + 2, len(cols) - 2, "", self.fmt("note"))
        ws.write_string(total_row + 2, 0, missing, self.fmt("note"))
        ws.set_row(total_row + 2, 20)
        ws.print_area(0, 0, total_row + 2, by["来源文件"])  # the SHA-256 column stays off paper
        return ws

    def _missing(self) -> str:
        """The line under the ranking: how many units it leaves out, and why."""
        rejected = {f.file for f in self.r.files if f.status == "rejected"}
        n = len(self.r.ranked)
        projects = len(self.r.townships) - n
        also = f"项目支出评价{projects}项列于表末，不参加排名和合计。" if projects else ""
        if self.r.status:
            return also + _coverage_text(self.r)
        if not rejected:
            return f"共{n}个单位参加排名；{also}没有退回的报送。未报送的单位不在本表中，请对照应报名单核对。"
        return (
            f"共{n}个单位参加排名；{also}另有{len(rejected)}份报送被退回，未参加排名（见“退回文件”表），"
            "修改后重新报送的再次汇总即可计入。未报送的单位不在本表中，请对照应报名单核对。"
        )

    def _status(self) -> None:
        """报送情况: every roster unit's status (roster order), then the units not on the roster."""
        ws = self.sheet(STATUS)
        rows = list(enumerate(self.r.status, 1))
        cols = [
            _Col("序号", "int", lambda p: p[0], (5, 5)),
            _Col("状态", "center", lambda p: p[1].status, (8, 8)),
            _Col("单位名称", "wrap", lambda p: p[1].name, (12, 22)),
            _Col("单位代码", "text", lambda p: p[1].code, (14, 19)),
            _Col("名单行号", "int", lambda p: p[1].roster_row or "名单外", (6, 8)),
            _Col("联系人", "text", lambda p: p[1].contact, (8, 10)),
            _Col("联系电话", "text", lambda p: p[1].phone, (12, 14)),
            _Col("电子邮箱", "wrap", lambda p: p[1].email, (10, 22)),
            _Col("首次收到", "center", lambda p: p[1].first_received, (16, 16)),
            _Col("最近收到", "center", lambda p: p[1].last_received, (16, 16)),
            _Col("退回次数", "int", lambda p: p[1].returned, (6, 6)),
            _Col("退回原因（最近一次）", "wrap", lambda p: p[1].reason, (20, 40)),
            _Col("收到的文件", "wrap", lambda p: p[1].files, (14, 30)),
        ]
        last = self.grid(ws, _title(self.r, "乡镇整体支出绩效自评报送情况"), cols, rows, table="报送情况表")
        if rows:
            for label, style in (("未报送", _BAD), ("已退回", _LOW)):
                ws.conditional_format(
                    2,
                    1,
                    last,
                    1,
                    {
                        "type": "cell",
                        "criteria": "==",
                        "value": f'"{label}"',
                        "format": self.wb.add_format(style),
                    },
                )
        note = (
            _coverage_text(self.r)
            + "状态按本次汇总收到的文件判断；“名单外”为报送了但不在报送单位名单中的单位。"
        )
        ws.merge_range(last + 1, 0, last + 1, len(cols) - 1, "", self.fmt("note"))
        ws.write_string(last + 1, 0, note, self.fmt("note"))
        ws.set_row(last + 1, LINE_HEIGHT * _lines(note, 150) + 6)
        ws.print_area(0, 0, last + 1, len(cols) - 1)

    def _total_value(self, header: str) -> Any:
        return summary_total(self.r, self.totals, header)

    def _indicators(self) -> None:
        ws = self.sheet(INDICATORS)
        cols = indicator_columns()
        self.grid(ws, _title(self.r, "乡镇整体支出绩效指标明细"), cols, self.r.indicators, table="指标明细表")

    def _panel(self) -> None:
        ws = self.sheet(PANEL)
        cols = [
            _Col("行政区划代码", "text", lambda p: p.code, (14, 19)),  # 19: an 18-character credit code
            _Col("单位名称", "wrap", lambda p: p.name, (10, 24)),
            _Col("指标序号", "int", lambda p: p.indicator, (6, 6)),
            _Col("三级指标", "wrap", lambda p: p.level3, (10, 30)),
            _Col("成员序号", "int", lambda p: p.member, (6, 6)),
            _Col("成员姓名", "text", lambda p: p.member_name, (8, 12)),
            _Col("职务", "wrap", lambda p: p.post, (10, 24)),
            _Col("评分", "score", lambda p: p.score, (8, 8)),
        ]
        title = _title(self.r, "乡镇整体支出绩效评价小组评分")
        self.grid(ws, title, cols, self.r.panel, table="评价小组表", landscape=False)  # a narrow table

    def _findings(self) -> None:
        ws = self.sheet(FINDINGS)
        cols = [
            _Col("文件", "wrap", lambda f: f.file, (12, 30)),
            _Col("单位代码", "text", lambda f: f.code, (14, 19)),
            _Col("单位", "wrap", lambda f: f.name, (10, 20)),
            _Col("级别", "center", lambda f: SEVERITY_LABELS.get(f.severity, f.severity), (6, 6)),
            _Col("问题", "wrap", lambda f: f.title or _code_title(f.finding), (10, 20)),
            _Col("工作表", "text", lambda f: f.sheet, (8, 14)),
            _Col("单元格", "center", lambda f: f.cell, (6, 8)),
            _Col("说明", "wrap", lambda f: f.message, (20, 60)),
            _Col("原值", "wrap", lambda f: f.value, (8, 24)),
            _Col("问题代码", "text", lambda f: f.finding, (10, 22)),  # for filtering; not printed
        ]
        rank = {s: i for i, s in enumerate(SEVERITY_LABELS)}  # errors (the rejections) first
        findings = sorted(self.r.findings, key=lambda f: rank.get(f.severity, len(rank)))
        last = self.grid(
            ws, _title(self.r, "乡镇整体支出绩效自评问题清单"), cols, findings, table="问题清单表"
        )
        ws.print_area(0, 0, max(last, 2), len(cols) - 2)
        if self.r.findings:
            for label, style in (("错误", _BAD), ("警告", _LOW)):
                ws.conditional_format(
                    2,
                    3,
                    last,
                    3,
                    {
                        "type": "cell",
                        "criteria": "==",
                        "value": f'"{label}"',
                        "format": self.wb.add_format(style),
                    },
                )

    def _files(self) -> None:
        ws = self.sheet(FILES)
        order = {s: i for i, s in enumerate(STATUS_LABELS)}
        files = list(enumerate(sorted(self.r.files, key=lambda f: order.get(f.status, len(order))), 1))
        cols = [
            _Col("序号", "int", lambda p: p[0], (5, 5)),
            _Col("状态", "center", lambda p: STATUS_LABELS.get(p[1].status, p[1].status), (8, 8)),
            _Col("文件", "wrap", lambda p: p[1].file, (14, 30)),
            _Col("行政区划代码", "text", lambda p: p[1].code, (14, 19)),  # 19: an 18-character credit code
            _Col("单位名称", "wrap", lambda p: p[1].name, (10, 20)),
            _Col("回复意见", "wrap", lambda p: _reply(p[1]), (40, 80)),
            _Col("替代文件", "wrap", lambda p: p[1].replaced_by, (10, 30)),
            _Col("SHA-256", "text", lambda p: p[1].sha256, (16, 16)),
        ]
        last = self.grid(ws, _title(self.r, "退回及未采用文件清单"), cols, files, table="退回文件表")
        if files:
            ws.conditional_format(
                2,
                1,
                last,
                1,
                {"type": "cell", "criteria": "==", "value": '"退回"', "format": self.wb.add_format(_BAD)},
            )
        ws.print_area(0, 0, last, 6)

    def _stats(self, ws: Worksheet) -> None:
        t, rows = self.totals, self.r.ranked  # the figures are of the overall (整体) evaluations
        self.title(ws, _title(self.r, "乡镇整体支出绩效自评统计"), 3)
        ws.write_string(1, 0, "项目", self.fmt("header"))
        ws.write_string(1, 1, "数值", self.fmt("header"))
        ws.write_string(1, 2, "说明", self.fmt("header"))
        top = [r.name for r in rows if t["max_total"] is not None and r.total == t["max_total"]]
        low = [r.name for r in rows if t["min_total"] is not None and r.total == t["min_total"]]
        items: list[tuple[str, Any, str, str]] = [
            ("单位数", t["townships"], "count", "通过审核、纳入汇总的整体支出自评（乡镇、街道、部门）"),
            ("年初预算合计（万元）", t["initial"], "money", ""),
            ("全年预算合计（万元）", t["adjusted"], "money", "即调整预算数"),
            ("全年执行合计（万元）", t["executed"], "money", ""),
            ("预算加权执行率(%)", t["rate"], "rate", "全年执行合计÷全年预算合计"),
            ("平均得分", t["mean_total"], "score", "核定总分的算术平均"),
            ("最高分", t["max_total"], "score", "、".join(top)),
            ("最低分", t["min_total"], "score", "、".join(low)),
        ]
        if t.get("projects"):
            items.insert(
                1,
                ("项目评价数", t["projects"], "count", "项目支出自评另列于“汇总”表末，不参加排名和本表统计"),
            )
        if any(r.ledger_rate is not None for r in rows):  # merge --ledger
            differ = sorted({f.name for f in self.r.findings if f.finding == "ledger-mismatch"})
            items.append(
                (
                    "与台账不符的单位数",
                    len(differ),
                    "count",
                    "、".join(differ) or "报送数与财政预算执行台账一致",
                )
            )
        last = [r for r in rows if r.last_total is not None]
        if last:  # merge --previous
            mean_last = q2(sum((r.last_total or ZERO for r in last), ZERO) / len(last))
            mean_now = q2(sum((r.total for r in last), ZERO) / len(last))
            items.append(
                (
                    "上年平均得分",
                    mean_last,
                    "score",
                    f"有上年数据的{len(last)}个单位；其本年平均{mean_now:.2f}",
                )
            )
        if "expected" in t:  # merge --roster: the figures cover the units 已通过 only
            missing = len([u for u in self.r.status if u.on_roster and u.status != "已通过"])
            items.insert(
                1,
                (
                    "应报单位数",
                    t["expected"],
                    "count",
                    f"报送单位名单中的单位；已通过{t['covered']}个，尚有{missing}个未通过或未报送",
                ),
            )
        for i, (label, value, kind, note) in enumerate(items, start=2):
            self.put(ws, i, 0, label, "text")
            self.put(ws, i, 1, value, kind)
            self.put(ws, i, 2, note, "wrap")
            if note and (lines := _lines(note, 28)) > 1:  # the names of the top or bottom townships
                ws.set_row(i, LINE_HEIGHT * lines + 3)
        g0 = 2 + len(items) + 1
        ws.write_string(g0, 0, "核定等级分布", self.fmt("section"))
        for c, head in enumerate(("等级", "单位数", "占比")):
            ws.write_string(g0 + 1, c, head, self.fmt("header"))
        grades = list(t["grades"].items())
        for i, (grade, count) in enumerate(grades, start=g0 + 2):
            self.put(ws, i, 0, grade, "center")
            self.put(ws, i, 1, count, "count")
            self.put(ws, i, 2, count / len(rows) if rows else None, "share")
        bottom = g0 + 1 + len(grades)
        ws.set_column(0, 0, 24)
        ws.set_column(1, 1, 16)
        ws.set_column(2, 2, 28)
        ws.set_column(3, 3, 2)
        ws.set_column(4, 13, 9)

        chart_rows = 0
        first = self.summary_rows[0]
        final = first + len(rows) - 1  # the chart shows the ranking, not the project evaluations after it
        if rows:
            by = {c.header: i for i, c in enumerate(summary_columns(self.r))}
            height = max(300, 90 + 18 * len(rows))
            bar = self.wb.add_chart({"type": "bar"})
            bar.add_series(
                {
                    "name": "核定总分",
                    "categories": [SUMMARY, first, by["单位名称"], final, by["单位名称"]],
                    "values": [SUMMARY, first, by["核定总分"], final, by["核定总分"]],
                    "fill": {"color": "#4472C4"},
                    "data_labels": {"value": True, "num_format": "0.00", "font": _font(9)},
                    "gap": 60,
                }
            )
            bar.set_title({"name": "各单位核定总分（整体）", "name_font": _font(12, bold=True)})
            axis = {"min": 0, "num_format": "0", "num_font": _font(9), "major_gridlines": {"visible": True}}
            if t["max_total"] <= 100:  # totals are out of 100 (budget 10 + indicators 90)
                axis["max"] = 100
            bar.set_x_axis(axis)
            bar.set_y_axis({"reverse": True, "num_font": _font(9)})  # rank 1 at the top
            bar.set_legend({"none": True})
            bar.set_size({"width": 640, "height": height})
            ws.insert_chart(1, 4, bar, {"x_offset": 4, "y_offset": 4})
            chart_rows = 1 + height // 20 + 2
        if grades and rows:
            col = self.wb.add_chart({"type": "column"})
            col.add_series(
                {
                    "name": "单位数",
                    "categories": [STATS, g0 + 2, 0, bottom, 0],
                    "values": [STATS, g0 + 2, 1, bottom, 1],
                    "fill": {"color": "#70AD47"},
                    "data_labels": {"value": True, "font": _font(10)},
                    "gap": 80,
                }
            )
            col.set_title({"name": "核定等级分布（单位数）", "name_font": _font(12, bold=True)})
            col.set_x_axis({"num_font": _font(10)})
            step = max(1, -(-max(t["grades"].values()) // 8))  # whole townships, at most ~8 gridlines
            col.set_y_axis({"min": 0, "major_unit": step, "num_format": "0", "num_font": _font(9)})
            col.set_legend({"none": True})
            col.set_size({"width": 400, "height": 260})
            ws.insert_chart(bottom + 2, 0, col, {"x_offset": 4, "y_offset": 4})
            bottom += 2 + 260 // 20 + 1
        _page(ws, header_rows=None, freeze=None)
        ws.fit_to_pages(1, 1)  # the tables and both charts on one page
        ws.print_area(0, 0, max(bottom, chart_rows), 13 if rows else 2)

    def _run(self) -> None:
        ws = self.sheet(RUN)
        r, counts = self.r, self.r.counts
        self.title(ws, _title(r, "乡镇整体支出绩效自评汇总运行信息"), 2)
        ws.write_string(1, 0, "项目", self.fmt("header"))
        ws.write_string(1, 1, "内容", self.fmt("header"))
        seen, parts = (
            counts.get("seen", 0),
            [counts.get(k, 0) for k in ("accepted", "superseded", "rejected", "skipped")],
        )
        ok = seen == sum(parts)
        sources = sorted({t.source_rollup for t in r.townships if t.source_rollup})
        severities = [sum(1 for f in r.findings if f.severity == s) for s in SEVERITY_LABELS]
        items: list[tuple[str, Any, str]] = [
            ("工具版本", f"selfeval-xlsx {r.tool_version}", "text"),
            ("汇总表格式", f"{ROLLUP_ID} v{ROLLUP_VERSION}", "text"),
            ("评分规则", r.rules, "text"),
            ("生成时间", local_time(r.generated), "text"),
            ("地区", r.county, "text"),
            ("地区代码", r.county_code, "text"),
            ("年度", r.year, "int"),
            *((COUNT_LABELS[k], counts.get(k, 0), "int") for k in COUNT_LABELS),
            (
                "核对",
                f"收到文件数 = 通过审核 + 被替代 + 退回 + 跳过：{seen} = {' + '.join(map(str, parts))}"
                + ("（相符）" if ok else "（不相符，请检查运行日志）"),
                "wrap",
            ),
            ("纳入汇总的乡镇数", len(r.townships), "int"),
            ("问题数（错误/警告/提示）", "/".join(map(str, severities)), "text"),
            ("并入的汇总表", "、".join(sources) or "无", "wrap"),
            ("签名", _signature_text((self.data or {}).get("signature")), "wrap"),
            ("说明", "本表数值仅供阅读；精确数值（未经浮点转换）见隐藏工作表_rollup及rollup.json。", "wrap"),
        ]
        for i, (label, value, kind) in enumerate(items, start=2):
            self.put(ws, i, 0, label, "text")
            self.put(ws, i, 1, "未知" if value is None else value, "left" if kind == "int" else kind)
        ws.set_column(0, 0, 26)
        ws.set_column(1, 1, 80)
        _page(ws, header_rows=None, freeze=None, landscape=False)

    def _data(self) -> None:
        ws = self.sheet(DATA_SHEET)
        payload = _payload(self.r, self.data)
        chunks = [payload[i : i + _CHUNK] for i in range(0, len(payload), _CHUNK)] or [""]
        head = [
            ("rollup_id", ROLLUP_ID),
            ("rollup_version", ROLLUP_VERSION),
            ("encoding", "json"),
            ("chunks", str(len(chunks))),
            ("sha256", hashlib.sha256(payload.encode("ascii")).hexdigest()),
        ]
        pairs = [*head, *(("data", chunk) for chunk in chunks)]  # the JSON: megabytes, written once
        self.defer(
            ws, 2, [(i, [("s", key, None), ("s", value, None)], None) for i, (key, value) in enumerate(pairs)]
        )
        ws.hide()


def local_time(stamp: str | None) -> str | None:
    """An ISO timestamp as a clerk writes it, in this computer's time zone: 2026年12月5日 15:19."""
    if not stamp:
        return stamp
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def _code_title(code: str) -> str:
    from .findings import CODES

    entry = CODES.get(code)
    return entry[1] if entry else code


def summary_total(r: Rollup, t: dict[str, Any], header: str) -> Any:
    """The value of the 汇总 total row under ``header`` (``t`` is ``r.totals()``); ``None`` for a blank."""
    rows = r.ranked  # the means are of the overall evaluations; the counts are of every row
    mean = {
        "预算执行得分": "budget_score",
        "产出指标得分": "output_score",
        "效益指标得分": "benefit_score",
        "满意度指标得分": "satisfaction_score",
    }
    values: dict[str, Any] = {
        "排名": "合计",
        "单位名称": f"全部{t['townships']}个单位（合计／平均）",
        "年初预算数": t["initial"],
        "全年预算数": t["adjusted"],
        "全年执行数": t["executed"],
        "执行率(%)": t["rate"],
        "核定总分": t["mean_total"],
        "错误数": sum(row.errors for row in r.townships),
        "警告数": sum(row.warnings for row in r.townships),
    }
    if header in mean and rows:
        # the row's 核定总分 is the mean of the totals; the parts' means, each rounded, need not add up
        # to it (DOMAIN.md "Rounding": a printed total equals the sum of its printed parts), so only
        # when they do are they printed
        parts = [q2(sum((getattr(row, key) for row in rows), ZERO) / len(rows)) for key in mean.values()]
        if sum(parts, ZERO) != t["mean_total"]:
            return None
        return parts[list(mean).index(header)]
    return values.get(header)


def indicator_columns() -> list[_Col]:
    """The 指标明细 sheet's columns, in order (rollup_check names cells by their headers)."""
    return [
        _Col("行政区划代码", "text", lambda i: i.code, (14, 19)),  # 19: an 18-character credit code
        _Col("单位名称", "wrap", lambda i: i.name, (10, 24)),
        _Col("指标序号", "int", lambda i: i.seq, (6, 6)),
        _Col("一级指标", "text", lambda i: i.level1, (8, 12)),
        _Col("二级指标", "text", lambda i: i.level2, (8, 16)),
        _Col("三级指标", "wrap", lambda i: i.level3, (10, 30)),
        _Col("指标性质", "center", lambda i: i.nature, (6, 8)),
        _Col("年度指标值", "wrap", lambda i: i.target, (8, 20)),
        _Col("计量单位", "center", lambda i: i.unit, (6, 8)),
        _Col("实际完成值", "wrap", lambda i: i.actual, (8, 20)),
        _Col("完成程度", "center", lambda i: i.completion, (6, 10)),
        _Col("分值", "score", lambda i: i.weight, (8, 8)),
        _Col("自评得分", "score", lambda i: i.self_score, (8, 8)),
        _Col("核定得分", "score", lambda i: i.score, (8, 8)),
        _Col("计分方法", "wrap", lambda i: i.method, (8, 24)),
        _Col("偏差原因分析及改进措施", "wrap", lambda i: i.reason, (12, 40)),
    ]


def _signature_text(block: Any) -> str:
    """The 运行信息 line about the roll-up's signature (:mod:`selfeval_xlsx.signing`)."""
    if not isinstance(block, dict):
        return "未签名（上级无法验证本表的来源）"
    from .signing import show_fingerprint

    return (
        f"已由{block.get('signer_name') or block.get('area')}的密钥签名（Ed25519，密钥指纹 "
        f"{show_fingerprint(str(block.get('signer', '')))}，{block.get('signed_at', '')}）；"
        "表中数据改动后签名即失效"
    )


def _coverage_text(r: Rollup, see: bool = True) -> str:
    """How many of the roster's units the roll-up covers, and who is missing."""
    expected = [u for u in r.status if u.on_roster]
    passed = [u for u in expected if u.status == "已通过"]
    returned = [u.name for u in expected if u.status == "已退回"]
    missing = [u.name for u in expected if u.status == "未报送"]
    text = f"名单应报{len(expected)}个单位，本表汇总了已通过的{len(passed)}个"
    if returned:
        text += f"；已退回{len(returned)}个：{'、'.join(returned)}"
    if missing:
        text += f"；未报送{len(missing)}个：{'、'.join(missing)}"
    return text + ("（详见“报送情况”表）。" if see else "。")


def _round_cols(r: Rollup | None) -> list[_Col]:
    """The round's columns of 汇总, when the merge had a ledger / last year's roll-up."""
    if r is None:
        return []
    cols = []
    if any(t.ledger_rate is not None for t in r.townships):
        cols.append(_Col("台账执行率(%)", "rate", lambda t: t.ledger_rate, (9, 9)))
    if any(t.last_total is not None for t in r.townships):
        cols += [
            _Col("上年总分", "score", lambda t: t.last_total, (8, 8)),
            _Col("上年等级", "center", lambda t: t.last_grade, (6, 8)),
            _Col("总分变化", "diff", lambda t: t.total_change, (8, 8)),
            _Col("上年执行率(%)", "rate", lambda t: t.last_rate, (9, 9)),
            _Col("执行率变化", "diff", lambda t: t.rate_change, (8, 8)),
        ]
    return cols


def summary_columns(r: Rollup | None = None) -> list[_Col]:
    """The columns of 汇总, in order (rollup_check names cells by their headers); with ``r``, the round's (ledger, last year) before 来源文件 (the columns a
    roll-up check reads keep their places)."""
    base = _base_summary_columns()
    at = next(i for i, c in enumerate(base) if c.header == "来源文件")
    return [*base[:at], *_round_cols(r), *base[at:]]


def _base_summary_columns() -> list[_Col]:
    return [
        _Col("排名", "int", lambda t: t.rank or "—", (5, 5)),
        _Col("行政区划代码", "text", lambda t: t.code, (14, 19)),  # 19: an 18-character credit code
        _Col("单位名称", "wrap", lambda t: t.name, (10, 22)),
        _Col("评价对象", "wrap", lambda t: t.evaluation, (6, 16)),
        _Col("年初预算数", "money", lambda t: t.initial, (11, 12)),
        _Col("全年预算数", "money", lambda t: t.adjusted, (11, 12)),
        _Col("全年执行数", "money", lambda t: t.executed, (11, 12)),
        _Col("执行率(%)", "rate", lambda t: t.rate, (9, 9)),
        _Col("基本支出执行率(%)", "rate", lambda t: t.basic_rate, (9, 9)),
        _Col("项目支出执行率(%)", "rate", lambda t: t.project_rate, (9, 9)),
        _Col("预算执行得分", "score", lambda t: t.budget_score, (8, 8)),
        _Col("产出指标得分", "score", lambda t: t.output_score, (8, 8)),
        _Col("效益指标得分", "score", lambda t: t.benefit_score, (8, 8)),
        _Col("满意度指标得分", "score", lambda t: t.satisfaction_score, (8, 8)),
        _Col("核定总分", "score", lambda t: t.total, (8, 8)),
        _Col("核定等级", "center", lambda t: t.grade, (6, 8)),
        _Col("自评总分", "score", lambda t: t.self_total, (8, 8)),
        _Col("自评等级", "center", lambda t: t.self_grade, (6, 8)),
        _Col("差异(自评−核定)", "diff", lambda t: t.difference, (9, 9)),
        _Col("错误数", "int", lambda t: t.errors, (6, 6)),
        _Col("警告数", "int", lambda t: t.warnings, (6, 6)),
        _Col("填报日期", "center", lambda t: t.filled_on, (10, 11)),
        _Col("来源文件", "wrap", _source, (12, 26)),
        _Col("SHA-256", "text", lambda t: t.sha256, (16, 16)),
    ]


def _source(t: TownshipRow) -> str:
    return f"{t.file}（经汇总表{t.source_rollup}）" if t.source_rollup else t.file


def _reply(f: FileRow) -> str:
    """What to paste into the reply e-mail: the reason, led by the file name unless it already names it."""
    return f.reason if f.file and f"《{f.file}》" in f.reason else f"《{f.file}》：{f.reason}"


def _title(r: Rollup, what: str) -> str:
    year = f"{r.year}年度" if r.year is not None else "（年度未知）"
    return f"{r.county}{year}{what}"


def _poor(grades: Sequence[str]) -> tuple[str, ...]:
    """Grades below 一般 (seed profile) / 中 (MoF profile); else the lowest grade."""
    for i, g in enumerate(grades):
        if g in ("一般", "中"):
            return tuple(grades[i + 1 :])
    return tuple(grades[-1:]) if len(grades) > 1 else ()


def _font(size: int, bold: bool = False) -> dict[str, Any]:
    return {"name": FONT_NAME, "size": size, "bold": bold}


@lru_cache(maxsize=1 << 16)  # names, indicator and member texts repeat across many rows
def _display(text: str) -> str:
    """Text as a cell can hold it: no lone surrogates, at most 32,767 UTF-16 units (Excel's limit)."""
    text = _SURROGATE.sub("\ufffd", text)
    if len(text) > _MAX_CELL // 2 and len(text.encode("utf-16-le")) // 2 > _MAX_CELL:
        cut = text[: _MAX_CELL - 16]
        while len(cut.encode("utf-16-le")) // 2 > _MAX_CELL - 16:
            cut = cut[:-1000]
        return cut + "…（已截断）"
    return text


def _text_width(value: Any, kind: str) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return _str_width(value)
    return len(f"{float(value):,.2f}") if kind in _NUMERIC else len(str(value))


_NUMERIC = ("money", "score", "rate", "diff")  # kinds whose width is that of the number shown


@lru_cache(maxsize=1 << 16)
def _str_width(value: str) -> int:
    """Display width of the longest line: CJK characters count two, and so do the characters a Chinese
    font draws full width though Unicode leaves them ambiguous (box drawing, ░, ›, №): counted as one,
    they made names wrap onto lines a row had no room for."""
    line = max(value.split("\n"), key=len) if value else ""
    return sum(2 if ord(ch) > 0x2E7F or (ord(ch) > 0x7F and _wide(ch)) else 1 for ch in line[:2000])


@cache
def _wide(ch: str) -> bool:
    return 0x2500 <= ord(ch) <= 0x25FF or unicodedata.east_asian_width(ch) in ("W", "F", "A")


def _widths(ws: Worksheet, cols: Sequence[_Col], rows: Iterable[Any]) -> list[int]:
    """Set each column's width from its content (within the column's bounds); return the widths.
    The first 2,000 records are measured, column by column (fixed-width columns are not)."""
    head = list(islice(rows, 2000))
    out = []
    for i, c in enumerate(cols):
        lo, hi = c.width
        widest = _text_width(c.header, "text") // 2 + 2
        if lo < hi and head:  # else fixed
            values = map(c.get, head)
            if c.kind in _NUMERIC:
                widest = max(widest, max(map(_text_width, values, repeat(c.kind))) + 2)
            else:
                widest = max(widest, max(map(_plain_width, values)) + 2)
        out.append(min(max(widest, lo), hi))
        ws.set_column(i, i, out[-1])
    return out


def _plain_width(value: Any) -> int:
    """:func:`_text_width` of a value in a column that is not of amounts, scores or rates."""
    if isinstance(value, str):
        return _str_width(value)
    return 0 if value is None else len(str(value))


@lru_cache(maxsize=1 << 16)
def _lines(text: str, width: int) -> int:
    """Lines a wrapped text takes in a column ``width`` characters wide."""
    room = max(width - 1, 1)
    if len(text) * 2 <= room and "\n" not in text:  # fits on one line whatever its characters
        return 1
    return sum(max(1, -(-_text_width(line, "text") // room)) for line in text[:5000].split("\n"))


def _page(
    ws: Worksheet, header_rows: tuple[int, int] | None, freeze: tuple[int, int] | None, landscape: bool = True
) -> None:
    ws.set_paper(9)  # A4
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.7)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")
    if header_rows:
        ws.repeat_rows(*header_rows)
    if freeze:
        ws.freeze_panes(*freeze)


# --- the records' rows, written into xlsxwriter's package ------------------------------------------

_CELL_REFS = tuple(xl_col_to_name(c) for c in range(64))
_TABLE_NAME = re.compile(r'<table [^>]*? name="([^"]*)"')
_ROW_START = re.compile(r'<row r="(\d+)"')
_DIMENSION = re.compile(r'<dimension ref="([A-Z0-9:]+)"/>')
_CONTROL = re.compile(r"[\x00-\x08\x0B-\x1F]")
_ESCAPED = re.compile(r"(_x[0-9a-fA-F]{4}_)")


def _reusable(value: Any) -> bool:
    """Whether a record's cell for ``value`` may be made once per column and reused for every equal
    value: texts, blanks, non-zero ints and finite Decimals (not bool: True == 1; not zero: 0 == -0,
    which shows "-0")."""
    cls = value.__class__
    return (
        cls is str or value is None or bool((cls is int or (cls is Decimal and value.is_finite())) and value)
    )


def _height(lines: int) -> int | None:
    """A record row's height in points for text wrapped onto ``lines`` lines (None: the default):
    LibreOffice and WPS do not grow a row for wrapped text on their own."""
    return min(409, LINE_HEIGHT * lines + 3) if lines > 1 else None


class _SheetRows:
    """A sheet's rows that :func:`_splice` writes into xlsxwriter's package, as XML, cells as
    xlsxwriter writes them but their text held in the cell (``inlineStr``).

    xlsxwriter numbers a format (``Format.xf_index``, its public attribute) only as it writes the
    package, after the rows are rendered; so in a ``styled`` sheet a cell's style is left as a
    :meth:`str.format` field (``{0}``, ``{1}``, …: one per format) and the XML's literal braces are
    doubled, and :meth:`xml` fills the fields in once, for the whole sheet. A sheet whose rows use no
    format (the hidden data sheet: megabytes of JSON, braces and all) is rendered as it is."""

    def __init__(self, ncols: int, styled: bool) -> None:
        self.ncols = ncols
        self.styled = styled
        self.rows: list[tuple[int, str]] = []  # (1-based row number, XML)
        self._formats: list[Format] = []
        self._fields: dict[int, str] = {}  # id of a format → its field
        self._spans = f' spans="1:{ncols}"'  # every record, the title and the header span all columns
        self._heights: dict[float | None, str] = {}  # a row's height → its row element after r="…"

    def field(self, fmt: Format | None) -> str:
        """What stands for ``fmt``'s ``s`` attribute in a cell."""
        if fmt is None:
            return ""
        field = self._fields.get(id(fmt))
        if field is None:
            if not self.styled:
                raise RuntimeError("a styled cell among rows rendered without styles")
            field = self._fields[id(fmt)] = f"{{{len(self._formats)}}}"
            self._formats.append(fmt)
        return field

    def tail(self, kind: str, value: Any, fmt: Format | None) -> str:
        """A cell's XML after its reference: kind ``s`` (text), ``n`` (number), else a blank."""
        if kind == "s":
            text = _inline_text(value)
            if self.styled:
                text = text.replace("{", "{{").replace("}", "}}")
            return f'{self.field(fmt)} t="inlineStr"><is>{text}</is></c>'
        if kind == "n":
            return f"{self.field(fmt)}><v>{value:.16G}</v></c>"
        return f"{self.field(fmt)}/>"

    def add(self, i: int, cells: list[str], height: float | None) -> None:
        """Row ``i`` (0-based) of ``cells`` (each ``<c …>…</c>``) and its height in points (None: the
        default)."""
        head = self._heights.get(height)
        if head is None:
            px = None if height is None else row_px(height)
            head = self._heights[height] = f"{self._spans}{row_height_attrs(px)}>"
        r = i + 1
        self.rows.append((r, f'<row r="{r}"{head}{"".join(cells)}</row>'))

    def xml(self, theirs: list[tuple[int, str]]) -> str:
        """The ``<sheetData>`` content: these rows and ``theirs`` (xlsxwriter's), in row order, each
        style field filled with its format's number."""
        if not self.styled:
            return "".join(el for _, el in sorted(theirs + self.rows))
        theirs = [(r, el.replace("{", "{{").replace("}", "}}")) for r, el in theirs]
        numbers = []
        for fmt in self._formats:
            if fmt.xf_index is None:  # no row written by xlsxwriter uses it: _records' rule broken
                raise RuntimeError("a spliced cell's format has no style number")
            numbers.append(f' s="{fmt.xf_index}"')
        return "".join(el for _, el in sorted(theirs + self.rows)).format(*numbers)


def _splice(packed: bytes, later: dict[int, _SheetRows], tables: dict[str, tuple[str, str]]) -> bytes:
    """xlsxwriter's package with the rows it was not given (:class:`_SheetRows`) written into their
    sheets, in row order; every other part as xlsxwriter wrote it. Writing ~10⁵ cells this way takes a
    fraction of the time xlsxwriter takes (its per-cell calls and XML writer), and the cells are the
    same: value, style, row height; their text is held in the cell (``inlineStr``) rather than in the
    shared strings, which xlsxwriter has already written."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(packed)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        parts = {f"xl/worksheets/sheet{index + 1}.xml": rows for index, rows in later.items()}
        for info in src.infolist():
            data = src.read(info)
            rows = parts.get(info.filename)
            if rows is not None:
                data = _with_rows(data.decode("utf-8"), rows).encode("utf-8")
            elif info.filename.startswith("xl/tables/"):
                data = _with_range(data.decode("utf-8"), tables).encode("utf-8")
            # level 1: a third of level 6's time (xlsxwriter's), for a somewhat larger file
            dst.writestr(info, data, compresslevel=1)
    return out.getvalue()


def _with_range(xml: str, tables: dict[str, tuple[str, str]]) -> str:
    """A table part with the range :meth:`_Writer._table` did not give xlsxwriter (the table's and its
    filter's ``ref``)."""
    name = _TABLE_NAME.search(xml)
    if name is None:
        raise RuntimeError("xlsxwriter wrote a table without its name")
    ranges = tables.get(html.unescape(name[1]))
    if ranges is None:
        return xml
    given, full = ranges
    if xml.count(f' ref="{given}"') != 2:
        raise RuntimeError("xlsxwriter wrote a table without its range and its filter's")
    return xml.replace(f' ref="{given}"', f' ref="{full}"')


def _with_rows(xml: str, rows: _SheetRows) -> str:
    """A sheet's XML with ``rows`` merged into its ``<sheetData>`` and its dimension grown to them."""
    if "<sheetData/>" in xml:  # nothing but these rows
        head, _, tail = xml.partition("<sheetData/>")
        body = ""
    else:
        head, _, rest = xml.partition("<sheetData>")
        body, _, tail = rest.partition("</sheetData>")
    if not tail:
        raise RuntimeError("xlsxwriter wrote a records sheet without its <sheetData>")
    theirs = [
        (int(m.group(1)), el + "</row>") for el in body.split("</row>") if el and (m := _ROW_START.match(el))
    ]
    # an empty row element (<row .../>) would not end in </row>: records always hold cells
    if len(theirs) != body.count("<row "):
        raise RuntimeError("xlsxwriter wrote a records row without cells")
    last = max((r for r, _ in theirs + rows.rows[-1:]), default=0)
    ncols = rows.ncols

    def grown(m: re.Match[str]) -> str:
        first, _, end = m[1].partition(":")
        row, col = xl_cell_to_rowcol(end or first)
        return f'<dimension ref="{first}:{xl_rowcol_to_cell(max(row + 1, last) - 1, max(col, ncols - 1))}"/>'

    head = _DIMENSION.sub(grown, head, count=1)
    return head + "<sheetData>" + rows.xml(theirs) + "</sheetData>" + tail


def _inline_text(text: str) -> str:
    """A ``<t>`` element of ``text`` escaped as xlsxwriter escapes shared strings: a literal ``_xHHHH_``
    protected by ``_x005F``, control characters as ``_xHHHH_``, then &, <, >; outer spaces preserved.
    Short texts (names, indicators: they repeat) are remembered, long ones (the data sheet's) are not."""
    return _short_text(text) if len(text) < 512 else _escaped_text(text)


@lru_cache(maxsize=1 << 16)
def _short_text(text: str) -> str:
    return _escaped_text(text)


def _escaped_text(text: str) -> str:
    if "_" in text and "_x" in text:  # "_" first: a one-character search is ~20× faster
        text = _ESCAPED.sub(r"_x005F\1", text)
    if not text.isprintable() and _CONTROL.search(text):  # isprintable: a fast first look
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if text[:1].isspace() or text[-1:].isspace():  # xlsxwriter's test, ^\s|\s$, without scanning
        return f'<t xml:space="preserve">{text}</t>'
    return f"<t>{text}</t>"


# --- the hidden data sheet ----------------------------------------------------------------------------


def _payload(r: Rollup, rollup: dict[str, Any] | None = None) -> str:
    """The roll-up as pure-ASCII JSON; '_' escaped too, as openpyxl mangles text like '_x005F_x0041_'."""
    data = {
        "rollup_id": ROLLUP_ID,
        "rollup_version": ROLLUP_VERSION,
        "rollup": r.to_dict() if rollup is None else rollup,
    }
    return ascii_text(data).replace("_", "\\u005f")


def write_row(ws: Worksheet, i: int, cells: Sequence[tuple[str, Any, Any]], height: float | None) -> None:
    """Write one record row's ``(kind, value, format)`` cells through xlsxwriter (kind ``s`` text,
    ``b`` blank, else a number), and its height when it has one."""
    for c, (kind, value, fmt) in enumerate(cells):
        if kind == "s":
            ws.write_string(i, c, value, fmt)
        elif kind == "b":
            ws.write_blank(i, c, None, fmt)
        else:
            ws.write_number(i, c, value, fmt)
    if height is not None:
        ws.set_row(i, height)
