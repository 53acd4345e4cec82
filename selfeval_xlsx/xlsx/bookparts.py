"""Write a workbook's parts from a frame that xlsxwriter draws once per process.

A completed or returned workbook is the same template every time: the same styles, column widths, page
setup, protection, data validations and conditional formats; only the cells, row heights, merged ranges,
links, comments, print areas and titles change. :class:`Book` and :class:`Sheet` take the calls that
``completed.py`` and ``template.write_standard`` make on an xlsxwriter workbook (the same public method
names) and record them. On :meth:`Book.close`, the *frame* calls (everything but the per-file content)
are replayed, once per process and per distinct frame, on a real ``xlsxwriter.Workbook`` through its
public API; its output gives each sheet's XML around ``<sheetData/>``, ``styles.xml`` and the theme, and
the style index of every format (read from the cells of a scratch sheet, one cell per format, in the
written XML). Per file, only the recorded cells, rows, merges, links and comments are written as XML by
this module, with the workbook's own ``workbook.xml``, relationships, content types and properties.

The zip is written here too: a workbook's own parts are deflated as runs (:data:`Runs`), the text that
recurs in every workbook (frame XML, rows taken unchanged from a drawn sheet, the leading shared strings)
deflated once per process and remembered, the rest deflated per workbook; the runs' blocks laid end to
end inflate to the same part.

Nothing here reads the input workbook: like xlsxwriter's own output, every part is made from the
recorded calls and the frame. A call this module does not know raises :class:`Unsupported` before
anything is written, and the caller writes the workbook with xlsxwriter instead.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter
from xlsxwriter.utility import quote_sheetname, xl_col_to_name, xl_rowcol_to_cell

from . import deflate

_STR_MAX = 32_767  # Excel's longest cell text (xlsxwriter truncates to it too)
_DEFAULT_ROW_PX = 20
_DEFAULT_COL_PX = 64
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CT = "application/vnd.openxmlformats-officedocument."


class Unsupported(Exception):
    """A call the part writer does not reproduce: write this workbook with xlsxwriter instead."""


# --- XML text --------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0B-\x1F]")
_ESCAPED = re.compile(r"(_x[0-9a-fA-F]{4}_)")


def _text(s: str) -> str:
    """Element text: &, <, > escaped; control characters as Excel's ``_xHHHH_`` (and a literal
    ``_xHHHH_`` protected by ``_x005F``), as xlsxwriter writes them."""
    if "_x" in s:
        s = _ESCAPED.sub(r"_x005F\1", s)
    if _CONTROL.search(s):
        s = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", s)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc(s: str) -> str:
    """Element text escaped as xlsxwriter escapes formulas, comments and names: &, <, > only."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(s: str) -> str:
    return (
        s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#xA;")
    )


def _t(s: str, escape: Any = _text) -> str:
    """A ``<t>`` element, preserving leading or trailing whitespace."""
    if s[:1].isspace() or s[-1:].isspace():
        return f'<t xml:space="preserve">{escape(s)}</t>'
    return f"<t>{escape(s)}</t>"


# --- recording --------------------------------------------------------------------------------------


class Fmt:
    """A recorded cell format: its properties, as given to ``add_format``."""

    __slots__ = ("key",)

    def __init__(self, key: tuple[tuple[str, Any], ...]) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"Fmt({self.key!r})"


_Call = tuple[str, tuple[Any, ...], tuple[tuple[str, Any], ...]]  # a recorded call: name, args, kwargs

_FRAME_CALLS = frozenset(
    {
        "set_column",
        "set_paper",
        "set_portrait",
        "set_landscape",
        "set_margins",
        "center_horizontally",
        "set_footer",
        "set_header",
        "fit_to_pages",
        "freeze_panes",
        "hide_gridlines",
        "protect",
        "data_validation",
        "conditional_format",
        "activate",
        "hide",
    }
)


_CALLS: dict[_Call, _Call] = {}  # a frame call → the one object of it (see _frame_key)
_FMTS: dict[tuple[tuple[str, Any], ...], Fmt] = {}  # format properties → the one Fmt of them


def _interned(call: _Call) -> _Call:
    """The one object of a recorded frame call (its text is then looked up by identity), or the call
    itself when an argument is not hashable (a dict of options)."""
    try:
        hit = _CALLS.get(call)
    except TypeError:
        return call
    if hit is None:
        if len(_CALLS) >= 4096:
            _CALLS.clear()
        hit = _CALLS[call] = call
    return hit


class Sheet:
    """Records what is written on one worksheet (the xlsxwriter ``Worksheet`` methods the package uses)."""

    def __init__(self, book: Book, name: str, index: int) -> None:
        self.book, self.name, self.index = book, name, index
        self.frame: list[_Call] = []
        self.cells: dict[tuple[int, int], tuple[str, Any, Fmt | None]] = {}
        self.heights: dict[int, int] = {}  # row → height in pixels
        self.widths: dict[int, int] = {}  # column → width in pixels
        self.merges: list[tuple[int, int, int, int]] = []
        self.links: list[tuple[int, int, str, str]] = []
        self.comments: dict[tuple[int, int], tuple[str, dict[str, Any]]] = {}
        self.area: tuple[int, int, int, int] | None = None
        self.titles: tuple[int, int] | None = None
        self.hidden = False
        self.source: Sheet | None = None  # the sheet taken by copy_from: its unchanged rows are reused
        self.dirty: set[int] = set()  # rows written since
        self.added: dict[int, list[int]] = {}  # row → columns of the cells the source did not have

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and hasattr probes: plain attribute semantics
            raise AttributeError(name)
        if name in _FRAME_CALLS:

            def call(*args: Any, **kwargs: Any) -> int:
                self.frame.append(_interned((name, args, tuple(sorted(kwargs.items())))))
                if name == "activate":
                    self.book.active, self.hidden = self.index, False
                elif name == "hide":
                    self.hidden = True
                return 0

            return call
        raise Unsupported(f"Worksheet.{name}")

    def copy_from(self, other: Sheet) -> None:
        """Take everything ``other`` recorded (a sheet drawn once and reused: cells are then written
        over it). Its formats join this sheet's book."""
        self.frame = list(other.frame)
        self.cells = dict(other.cells)
        self.heights = dict(other.heights)
        self.widths = dict(other.widths)
        self.merges = list(other.merges)
        self.links = list(other.links)
        self.comments = dict(other.comments)
        self.area, self.titles, self.hidden = other.area, other.titles, other.hidden
        self.source, self.dirty, self.added = other, set(), {}
        for key, fmt in other.book.formats.items():
            self.book.formats.setdefault(key, fmt)

    # frame calls with something to remember
    def set_column(
        self, first: int, last: int, width: float | None = None, fmt: Any = None, options: Any = None
    ) -> int:
        if fmt is not None or options:
            raise Unsupported("set_column with a format or options")
        self.frame.append(_interned(("set_column", (first, last, width), ())))
        px = _col_px(width)
        for c in range(first, last + 1):
            self.widths[c] = px
        return 0

    def set_first_sheet(self) -> None:
        self.book.first, self.hidden = self.index, False

    # cells
    def _put(self, row: int, col: int, kind: str, value: Any, fmt: Any) -> int:
        if fmt is not None and not isinstance(fmt, Fmt):
            raise Unsupported("a format not made by this book")
        if self.source is not None:  # what the source already holds leaves the row as it was drawn
            was = self.cells.get((row, col))
            if was is None:
                self.added.setdefault(row, []).append(col)
            elif was[0] == kind and was[2] is fmt and repr(was[1]) == repr(value):
                return 0
        self.cells[row, col] = (kind, value, fmt)
        self.dirty.add(row)
        return 0

    def write_string(self, row: int, col: int, string: str, fmt: Any = None) -> int:
        string = str(string)
        if len(string) > _STR_MAX:
            string = string[:_STR_MAX]
        return self._put(row, col, "s", string, fmt)

    _write_string = write_string

    def write_number(self, row: int, col: int, number: Any, fmt: Any = None) -> int:
        return self._put(row, col, "n", float(number), fmt)

    _write_number = write_number

    def write_blank(self, row: int, col: int, blank: Any = None, fmt: Any = None) -> int:
        if fmt is None:  # xlsxwriter ignores a blank without a format
            return 0
        return self._put(row, col, "b", None, fmt)

    _write_blank = write_blank

    def write_boolean(self, row: int, col: int, value: Any, fmt: Any = None) -> int:
        return self._put(row, col, "bool", bool(value), fmt)

    def write_datetime(self, row: int, col: int, value: datetime | date, fmt: Any = None) -> int:
        if isinstance(value, datetime) and value.tzinfo is not None:
            raise Unsupported("a date with a time zone")
        dt = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        delta = dt - datetime(1899, 12, 31)
        serial = delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6
        if serial > 59:  # Excel's 1900 leap year
            serial += 1
        return self._put(row, col, "n", float(serial), fmt)

    def write_formula(self, row: int, col: int, formula: str, fmt: Any = None, value: Any = 0) -> int:
        formula = formula[1:] if formula.startswith("=") else formula
        if not _plain_formula(formula):
            raise Unsupported("a formula that needs xlsxwriter's preparation")
        return self._put(row, col, "f", (formula, value), fmt)

    def write(self, row: int, col: int, data: Any, fmt: Any = None) -> int:
        if data is None or data == "":
            return self.write_blank(row, col, None, fmt)
        if isinstance(data, bool):
            return self.write_boolean(row, col, data, fmt)
        if isinstance(data, int | float | Decimal):
            return self.write_number(row, col, data, fmt)
        if isinstance(data, str):
            return self.write_string(row, col, data, fmt)
        raise Unsupported(f"write of {type(data).__name__}")

    def merge_range(self, r0: int, c0: int, r1: int, c1: int, data: Any, fmt: Any = None) -> int:
        if r0 == r1 and c0 == c1:
            raise Unsupported("a merged range of one cell")
        r0, r1, c0, c1 = min(r0, r1), max(r0, r1), min(c0, c1), max(c0, c1)
        self.merges.append((r0, c0, r1, c1))
        self.write(r0, c0, data, fmt)
        if fmt is not None:  # the other cells: blanks in the range's format (write_blank's)
            put = self._put
            for r in range(r0, r1 + 1):
                for c in range(c0 + (r == r0), c1 + 1):
                    put(r, c, "b", None, fmt)
        return 0

    def write_url(
        self, row: int, col: int, url: str, fmt: Any = None, string: str | None = None, tip: Any = None
    ) -> int:
        if not url.startswith("internal:") or tip:
            raise Unsupported("an external link or a tip")
        link = url[len("internal:") :]
        text = link if string is None else string
        self.links.append((row, col, link, text))
        return self.write_string(row, col, text, fmt)

    def set_row(self, row: int, height: float | None = None, fmt: Any = None, options: Any = None) -> int:
        if fmt is not None or options:
            raise Unsupported("set_row with a format or options")
        if height is None:
            self.heights.pop(row, None)
        else:
            self.heights[row] = row_px(height)
        self.dirty.add(row)
        return 0

    def write_comment(self, row: int, col: int, text: str, options: dict[str, Any] | None = None) -> int:
        opts = dict(options or {})
        if set(opts) - {"author", "x_scale", "y_scale"}:
            raise Unsupported("comment options")
        self.comments[row, col] = (str(text), opts)
        return 0

    def print_area(self, r0: int, c0: int, r1: int, c1: int) -> int:
        self.area = (r0, c0, r1, c1)
        return 0

    def repeat_rows(self, first: int, last: int | None = None) -> None:
        self.titles = (first, first if last is None else last)


_PLAIN_FORMULA = re.compile(r"[A-Za-z0-9_$!:.,()\"'=<>&+\-*/ \u4e00-\u9fff]*")


@lru_cache(maxsize=4096)
def _plain_formula(formula: str) -> bool:
    """Whether xlsxwriter would write the formula as given (no array, no future function, only
    plain characters): the template's formulas come back with every workbook."""
    return not (formula.startswith("{") or "_xlfn." in formula) and bool(_PLAIN_FORMULA.fullmatch(formula))


def row_px(points: float) -> int:
    """A row height in points as xlsxwriter keeps it (``set_row``): whole pixels."""
    return int(points * 4.0 / 3.0 + 0.5)


def row_height_attrs(px: int | None) -> str:
    """A ``<row>`` element's height attributes for a height of ``px`` pixels, as xlsxwriter writes
    them: none for the default height (or none set)."""
    return "" if px is None or px == _DEFAULT_ROW_PX else f' ht="{px * 0.75:.16g}" customHeight="1"'


def _col_px(width: float | None) -> int:
    """A column width in characters as xlsxwriter's pixels (``set_column``)."""
    if width is None:
        return _DEFAULT_COL_PX
    if width < 1:
        return int(width * 12 + 0.5)
    return int(width * 7 + 0.5) + 5


class Book:
    """Records an xlsxwriter workbook's calls (``add_worksheet``, ``add_format``, ``define_name``,
    ``set_properties``) and writes the package on :meth:`close`."""

    def __init__(self, target: str | Path | BinaryIO, options: dict[str, Any] | None = None) -> None:
        self.target = target
        self.options = dict(options or {})
        self.default = tuple(sorted((self.options.get("default_format_properties") or {}).items()))
        self.sheets: list[Sheet] = []
        self.names: list[tuple[str, str]] = []
        self.properties: dict[str, Any] = {}
        self.formats: dict[tuple[tuple[str, Any], ...], Fmt] = {}
        self.active = 0
        self.first = 0

    def add_format(self, properties: dict[str, Any] | None = None) -> Fmt:
        key = tuple(sorted((properties or {}).items()))
        try:
            hit = self.formats.get(key)
        except TypeError as exc:
            raise Unsupported("a format property that is not hashable") from exc
        if hit is None:  # the process's one Fmt of these properties (bases are keyed by them)
            hit = _FMTS.get(key)
            if hit is None:
                if len(_FMTS) >= 10_000:
                    _FMTS.clear()
                    _BASES.clear()
                hit = _FMTS[key] = Fmt(key)
            self.formats[key] = hit
        return hit

    def add_worksheet(self, name: str | None = None, worksheet_class: Any = None) -> Sheet:
        if not name or any(s.name == name for s in self.sheets):
            raise Unsupported("a sheet without a name or with a repeated name")
        sheet = Sheet(self, name, len(self.sheets))
        self.sheets.append(sheet)
        return sheet

    def define_name(self, name: str, formula: str) -> int:
        if "!" in name:
            raise Unsupported("a sheet-local defined name")
        self.names.append((name, formula[1:] if formula.startswith("=") else formula))
        return 0

    def set_properties(self, properties: dict[str, Any]) -> None:
        if set(properties) - {"title", "comments"}:
            raise Unsupported("document properties other than title and comments")
        self.properties.update(properties)

    def close(self) -> None:
        data = write_package(self)
        if isinstance(self.target, str | Path):
            Path(self.target).write_bytes(data)
        else:
            self.target.write(data)


# --- the frame, once per process -----------------------------------------------------------------


class _Base:
    """What xlsxwriter wrote for one set of frames and formats: styles, theme, each frame's XML cut
    around ``<sheetData/>`` and each format's style index."""

    def __init__(
        self, options: dict[str, Any], frames: list[Any], formats: list[tuple[tuple[str, Any], ...]]
    ) -> None:
        buf = io.BytesIO()
        opts = dict(options)
        opts["default_format_properties"] = dict(opts.get("default_format_properties") or {})
        opts["in_memory"] = True
        wb = xlsxwriter.Workbook(buf, opts)
        scratch = wb.add_worksheet("formats")
        real: dict[tuple[tuple[str, Any], ...], Any] = {}
        for i, key in enumerate(formats):
            real[key] = wb.add_format(dict(key))
            scratch.write_blank(i, 0, None, real[key])
        for j, calls in enumerate(frames):
            ws = wb.add_worksheet(f"frame{j}")
            for name, args, kwargs in calls:
                getattr(ws, name)(*(_real(a, real) for a in args), **{k: _real(v, real) for k, v in kwargs})
        scratch.activate()
        wb.close()
        with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
            xml = [z.read(f"xl/worksheets/sheet{k + 1}.xml").decode("utf-8") for k in range(len(frames) + 1)]
            self.parts = {  # kept as text: their deflated bytes are remembered (see _deflate)
                "xl/styles.xml": z.read("xl/styles.xml").decode("utf-8"),
                "xl/theme/theme1.xml": z.read("xl/theme/theme1.xml").decode("utf-8"),
                "_rels/.rels": z.read("_rels/.rels").decode("utf-8"),
            }
        found = {int(r) - 1: int(s or 0) for r, s in re.findall(r'<c r="A(\d+)"(?: s="(\d+)")?/>', xml[0])}
        self.xf = {key: found[i] for i, key in enumerate(formats)}
        self.frames = [_split(x) for x in xml[1:]]


_BASES: dict[tuple[Any, ...], _Base] = {}
MAX_BASES = 64  # distinct (frames, formats) sets remembered per process


def _base(book: Book) -> tuple[_Base, list[int]]:
    """The base for ``book`` (drawn on first need) and the position of each of its sheets' frames.

    The base depends only on the set of frames and of formats the workbook uses, never on what was written
    before in the process: a workbook's parts are the same whichever workbooks came first."""
    frames: dict[tuple[str, ...], int] = {}
    calls: list[list[_Call]] = []
    where: list[int] = []
    for sheet in book.sheets:
        frame = _frame_key(sheet)
        if frame not in frames:
            frames[frame] = len(calls)
            calls.append(sheet.frame)
        where.append(frames[frame])
    # formats by identity: one Fmt per set of properties in a process (Book.add_format)
    key = (repr(sorted(book.options.items(), key=repr)), tuple(frames), frozenset(book.formats.values()))
    base = _BASES.get(key)
    if base is None:
        if len(_BASES) >= MAX_BASES:
            _BASES.pop(next(iter(_BASES)))
        base = _BASES[key] = _Base(book.options, calls, sorted(book.formats, key=_repr))
    return base, where


def _real(value: Any, real: dict[tuple[tuple[str, Any], ...], Any]) -> Any:
    """A recorded argument for the real workbook: formats made real, in dicts too."""
    if isinstance(value, Fmt):
        return real[value.key]
    if isinstance(value, dict):
        return {k: _real(v, real) for k, v in value.items()}
    return value


_CALL_REPRS: dict[int, tuple[_Call, str]] = {}  # id of a recorded call → (the call, its repr)


def _frame_key(sheet: Sheet) -> tuple[str, ...]:
    """A sheet's frame calls, as text. A drawn sheet's calls are taken by every sheet copied from it
    (:meth:`Sheet.copy_from`): their text is remembered by identity."""
    out = []
    for call in sheet.frame:
        hit = _CALL_REPRS.get(id(call))
        if hit is None or hit[0] is not call:
            if len(_CALL_REPRS) >= 4096:
                _CALL_REPRS.clear()
            hit = _CALL_REPRS[id(call)] = (call, repr(call))
        out.append(hit[1])
    return tuple(out)


@lru_cache(maxsize=4096)
def _repr(key: tuple[tuple[str, Any], ...]) -> str:
    """A format's properties as text (the order of a base's formats)."""
    return repr(key)


def _split(xml: str) -> tuple[str, str, str]:
    """A frame sheet's XML cut around its dimension and its empty ``<sheetData/>``."""
    head, _, tail = xml.partition("<sheetData/>")
    if not tail:
        raise RuntimeError("xlsxwriter wrote a frame sheet without an empty <sheetData/>")
    before, _dim, after = re.split(r'(<dimension ref="[^"]*"/>)', head, maxsplit=1)
    return before, after, tail


# --- per file ----------------------------------------------------------------------------------------


def _num(x: float) -> str:
    return f"{x:.16G}"


_SI: dict[str, str] = {}  # a string → its <si> element (the template's texts recur in every workbook)
_SI_MAX = 20_000


def _si(s: str) -> str:
    hit = _SI.get(s)
    if hit is None:
        hit = f"<si>{_t(s)}</si>"
        if len(_SI) >= _SI_MAX:
            _SI.clear()
        _SI[s] = hit
    return hit


class _Strings:
    """The shared string table: each string's number, in the order first written."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.count = 0
        self.leading: tuple[int, str] = (0, "")  # strings taken whole (see _sheet_data): how many, their XML

    def __call__(self, s: str) -> int:
        self.count += 1
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.index)
        return i

    def xml(self) -> Runs:
        """sharedStrings.xml as runs: the leading strings taken whole with a sheet recur."""
        n, leading = self.leading
        head = f'{_XML}<sst xmlns="{_NS}" count="{self.count}" uniqueCount="{len(self.index)}">'
        rest = "".join(map(_si, islice(self.index, n, None)))
        return _joined([(head, False), (leading, True), (rest + "</sst>", False)])


_COLS = tuple(xl_col_to_name(c) for c in range(64))


def _a1(row: int, col: int) -> str:
    """A cell's A1 reference (0-based row and column), as ``xl_rowcol_to_cell`` writes it."""
    return f"{_COLS[col] if col < 64 else xl_col_to_name(col)}{row + 1}"


#: A row's XML kept for reuse: its literal pieces, and the strings whose numbers go between them (the
#: numbers depend on the strings written before, so they are looked up again each time).
_Row = tuple[tuple[str, ...], tuple[str, ...]]
_ROWS: dict[tuple[Sheet, Any], dict[int, _Row]] = {}  # (source sheet, base) → its rows, as XML pieces
_ROWS_MAX = 256


#: A part's text as runs, each marked ``True`` when it recurs in many workbooks (a frame's XML, rows
#: taken unchanged from a drawn sheet: deflated once and remembered, see :func:`_runs_deflated`) or
#: ``False`` when it is this workbook's own (deflated every time).
Runs = list[tuple[str, bool]]

#: A clean sheet (every row its source's) written while the string table was still empty: its XML
#: is the same every time, and so is the table it leaves (its strings in order, and their count).
_WHOLE: dict[tuple[Sheet, Any], tuple[str, Runs, dict[str, int], int, str]] = {}


def _sheet_data(
    sheet: Sheet, xf: dict[tuple[tuple[str, Any], ...], int], sst: _Strings, base: Any = None
) -> tuple[str, Runs]:
    """:func:`_rows_xml`, taken whole from the last time for a clean sheet written first (its string
    numbers start at 0: the first template sheet of every completed or returned workbook)."""
    if sheet.source is None or base is None or sheet.dirty or sst.index:
        return _rows_xml(sheet, xf, sst, base)
    key = (sheet.source, base)
    hit = _WHOLE.get(key)
    if hit is None:
        dim, data = _rows_xml(sheet, xf, sst, base)
        if len(_WHOLE) >= _ROWS_MAX:
            _WHOLE.clear()
        hit = _WHOLE[key] = (dim, data, dict(sst.index), sst.count, "".join(map(_si, sst.index)))
    else:
        sst.index.update(hit[2])
        sst.count += hit[3]
    sst.leading = (len(hit[2]), hit[4])
    return hit[0], hit[1]


def _rows_xml(
    sheet: Sheet, xf: dict[tuple[tuple[str, Any], ...], int], sst: _Strings, base: Any = None
) -> tuple[str, Runs]:
    """(the dimension element, ``<sheetData>`` as runs) of a recorded sheet. A row the sheet took
    unchanged from its ``source`` (:meth:`Sheet.copy_from`) is written as it was the first time for the
    same source and ``base`` (the style numbers), its strings numbered again (a clean row holds its
    source's cells, a formula's cached value included: :meth:`Sheet._put` leaves a row clean only when a
    cell is rewritten with what the source holds); such rows make the runs that recur (their string
    numbers are mostly the same from one workbook to the next), the rows written here the own runs."""
    rows, all_rows, c0, c1 = _grid(sheet)
    if not all_rows:
        return '<dimension ref="A1"/>', [("<sheetData/>", sheet.source is not None)]
    first, last = xl_rowcol_to_cell(all_rows[0], c0), xl_rowcol_to_cell(all_rows[-1], c1)
    dim = f'<dimension ref="{first}"/>' if first == last else f'<dimension ref="{first}:{last}"/>'
    out: list[str] = ["<sheetData>"]
    w = out.append
    cells, heights = sheet.cells, sheet.heights
    style_of: dict[Fmt, str] = {}  # a format → its s="…" attribute
    reuse: dict[int, _Row] | None = None
    if sheet.source is not None and base is not None:
        reuse = _ROWS.get((sheet.source, base))
        if reuse is None:
            if len(_ROWS) >= _ROWS_MAX:
                _ROWS.clear()
            reuse = _ROWS[sheet.source, base] = {}
    dirty = sheet.dirty
    starts: list[tuple[int, bool]] = [(0, reuse is not None)]  # where each run starts in out, its kind
    for r in all_rows:
        texts: list[tuple[int, str]] | None = None  # a row to keep: where its string numbers are
        kept = reuse is not None and r not in dirty
        if kept != starts[-1][1]:
            starts.append((len(out), kept))
        if kept:
            assert reuse is not None
            hit = reuse.get(r)
            if hit is not None:
                pieces, strings = hit
                w(pieces[0])
                for text, piece in zip(strings, pieces[1:], strict=True):
                    w(str(sst(text)))
                    w(piece)
                continue
            start, texts = len(out), []
        num = str(r + 1)
        ht = row_height_attrs(heights.get(r))
        cs = rows.get(r)
        if not cs:
            w(f'<row r="{num}"{ht}/>')
        else:
            w(f'<row r="{num}"{ht}>')
            for c in cs:
                kind, value, fmt = cells[r, c]
                s = ""
                if fmt is not None:
                    known = style_of.get(fmt)
                    if known is None:
                        i = xf[fmt.key]
                        known = style_of[fmt] = f' s="{i}"' if i else ""
                    s = known
                ref = (_COLS[c] if c < 64 else xl_col_to_name(c)) + num
                if kind == "s":
                    if texts is None:
                        w(f'<c r="{ref}"{s} t="s"><v>{sst(value)}</v></c>')
                    else:
                        w(f'<c r="{ref}"{s} t="s"><v>')
                        texts.append((len(out), value))
                        w(str(sst(value)))
                        w("</v></c>")
                elif kind == "n":
                    w(f'<c r="{ref}"{s}><v>{_num(value)}</v></c>')
                elif kind == "b":
                    w(f'<c r="{ref}"{s}/>')
                elif kind == "bool":
                    w(f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>')
                else:  # formula and its cached value (a clean row's cells are its source's: kept)
                    formula, cached = value
                    if isinstance(cached, bool):
                        w(f'<c r="{ref}"{s} t="b"><f>{_esc(formula)}</f><v>{int(cached)}</v></c>')
                    elif isinstance(cached, int | float) and not isinstance(cached, bool):
                        w(f'<c r="{ref}"{s}><f>{_esc(formula)}</f><v>{_num(float(cached))}</v></c>')
                    else:
                        text = "" if cached is None else str(cached)
                        w(f'<c r="{ref}"{s} t="str"><f>{_esc(formula)}</f><v>{_esc(text)}</v></c>')
            w("</row>")
        if texts is not None and reuse is not None:
            reuse[r] = _pieces(out, start, texts)
    out.append("</sheetData>")
    ends = [at for at, _ in starts[1:]] + [len(out)]
    return dim, [
        ("".join(out[at:end]), kind) for (at, kind), end in zip(starts, ends, strict=True) if end > at
    ]


#: A row → its columns in order, the rows written in order, the first and last column.
_Grid = tuple[dict[int, list[int]], list[int], int, int]
_GRIDS: dict[Sheet, _Grid] = {}  # a drawn sheet's grid (drawn sheets are not written again)


def _grid(sheet: Sheet) -> _Grid:
    """Which rows and cells a sheet writes. A sheet taken from a drawn one (:meth:`Sheet.copy_from`)
    has the drawn sheet's cells and rows, changed only in its dirty rows: those alone are looked at."""
    source = sheet.source
    if source is None:
        return _grid_of(sheet)
    grid = _GRIDS.get(source)
    if grid is None:
        if len(_GRIDS) >= _ROWS_MAX:
            _GRIDS.clear()
        grid = _GRIDS[source] = _grid_of(source)
    if not sheet.dirty:
        return grid
    rows, all_rows, c0, c1 = grid
    rows = dict(rows)
    listed = set(all_rows)
    known = bool(rows)  # c0 and c1 are columns of cells
    for r, cs in sheet.added.items():
        rows[r] = sorted({*rows.get(r, ()), *cs})
        c0, c1 = (min(c0, *cs), max(c1, *cs)) if known else (min(cs), max(cs))
        known = True
    for r in sheet.dirty:
        if r in rows or r in sheet.heights:
            listed.add(r)
        else:
            listed.discard(r)
    return rows, sorted(listed), c0, c1


def _grid_of(sheet: Sheet) -> _Grid:
    rows: dict[int, list[int]] = {}
    for r, c in sheet.cells:
        rows.setdefault(r, []).append(c)
    for cs in rows.values():
        cs.sort()
    cols = [c for cs in rows.values() for c in cs]
    c0 = min(cols) if cols else 0
    c1 = max(cols) if cols else 0
    return rows, sorted(rows.keys() | sheet.heights.keys()), c0, c1


def _pieces(out: list[str], start: int, texts: list[tuple[int, str]]) -> _Row:
    """A row written at ``out[start:]`` as kept for reuse: the XML around its string numbers (at the
    positions in ``texts``) and those strings."""
    pieces, at = [], start
    for i, _ in texts:
        pieces.append("".join(out[at:i]))
        at = i + 1
    pieces.append("".join(out[at:]))
    return tuple(pieces), tuple(text for _, text in texts)


_MERGES: dict[Sheet, str] = {}  # a drawn sheet → its mergeCell elements


def _merges_xml(sheet: Sheet) -> str:
    """The ``<mergeCell>`` elements of a sheet; a drawn sheet's, taken unchanged, written once."""
    source = sheet.source
    if source is not None and sheet.merges == source.merges:
        hit = _MERGES.get(source)
        if hit is None:
            if len(_MERGES) >= _ROWS_MAX:
                _MERGES.clear()
            hit = _MERGES[source] = _merges_xml(source)
        return hit
    return "".join(f'<mergeCell ref="{_a1(a, b)}:{_a1(c, d)}"/>' for a, b, c, d in sheet.merges)


def _joined(runs: Runs) -> Runs:
    """Runs with the empty ones left out and neighbours of the same kind joined."""
    out: Runs = []
    for text, recurs in runs:
        if not text:
            continue
        if out and out[-1][1] == recurs:
            out[-1] = (out[-1][0] + text, recurs)
        else:
            out.append((text, recurs))
    return out


@lru_cache(maxsize=1024)
def _first_of(tail: str, tags: tuple[str, ...], start: int) -> int:
    """Where in a frame's tail, from ``start``, the first of ``tags`` begins (else ``</worksheet>``):
    the frames' tails are the same few texts in every workbook."""
    at = len(tail) - len("</worksheet>")
    for tag in tags:
        i = tail.find(tag, start)
        if i != -1:
            at = min(at, i)
    return max(at, start)


def _insert(tail: str, parts: Iterable[tuple[str, tuple[str, ...]]], recurs: bool) -> Runs:
    """A frame's tail (a run that recurs) with XML elements inserted, each before the first of the
    elements that follow it, in order (runs marked ``recurs``)."""
    out: Runs = []
    done = 0  # tail[:done] is in out
    for xml, before in parts:
        if not xml:
            continue
        at = _first_of(tail, before, done)
        out += [(tail[done:at], True), (xml, recurs)]
        done = at
    out.append((tail[done:], True))
    return out


_AFTER_MERGES = (
    "<phoneticPr",
    "<conditionalFormatting",
    "<dataValidations",
    "<hyperlinks",
    "<printOptions",
    "<pageMargins",
    "<pageSetup",
    "<headerFooter",
    "<legacyDrawing",
    "<extLst",
)
_AFTER_LINKS = ("<printOptions", "<pageMargins", "<pageSetup", "<headerFooter", "<legacyDrawing", "<extLst")
_AFTER_DRAWING = (
    "<legacyDrawingHF",
    "<picture",
    "<oleObjects",
    "<controls",
    "<webPublishItems",
    "<tableParts",
    "<extLst",
)


def _comment_geometry(
    sheet: Sheet, row: int, col: int, opts: dict[str, Any]
) -> tuple[list[int], float, float, float, float]:
    """xlsxwriter's placement of a comment box: the VML anchor and its position and size in points."""
    width, height = 128.0, 74.0
    if opts.get("x_scale"):
        width *= opts["x_scale"]
    if opts.get("y_scale"):
        height *= opts["y_scale"]
    width, height = int(0.5 + width), int(0.5 + height)
    if row == 0:
        y1, r = 2, 0
    else:
        y1, r = 10, row - 1
    x1, c = 15, col + 1

    def wcol(i: int) -> int:
        return sheet.widths.get(i, _DEFAULT_COL_PX)

    def hrow(i: int) -> int:
        return sheet.heights.get(i, _DEFAULT_ROW_PX)

    x_abs = sum(wcol(i) for i in range(c)) + x1
    y_abs = sum(hrow(i) for i in range(r)) + y1
    while x1 >= wcol(c):
        x1 -= wcol(c)
        c += 1
    while y1 >= hrow(r):
        y1 -= hrow(r)
        r += 1
    c_end, r_end = c, r
    w, h = width + x1, height + y1
    while w >= wcol(c_end):
        w -= wcol(c_end)
        c_end += 1
    while h >= hrow(r_end):
        h -= hrow(r_end)
        r_end += 1
    return [c, x1, r, y1, c_end, w, r_end, h], x_abs * 0.75, y_abs * 0.75, width * 0.75, height * 0.75


def _vml(sheet: Sheet, data_id: int) -> str:
    shapes = []
    for i, ((row, col), (_, opts)) in enumerate(sorted(sheet.comments.items()), 1):
        anchor, left, top, width, height = _comment_geometry(sheet, row, col, opts)
        style = (
            f"position:absolute;margin-left:{left:.15g}pt;margin-top:{top:.15g}pt;"
            f"width:{width:.15g}pt;height:{height:.15g}pt;z-index:{i};visibility:hidden"
        )
        shapes.append(
            f'<v:shape id="_x0000_s{1024 * data_id + i}" type="#_x0000_t202" style="{style}" '
            'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
            '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
            '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox>'
            '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:Anchor>{', '.join(str(v) for v in anchor)}</x:Anchor><x:AutoFill>False</x:AutoFill>"
            f"<x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData></v:shape>"
        )
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit">'
        f'<o:idmap v:ext="edit" data="{data_id}"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
        '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
        + "".join(shapes)
        + "</xml>"
    )


def _comments_xml(sheet: Sheet) -> str:
    authors: dict[str, int] = {}
    items = []
    for (row, col), (text, opts) in sorted(sheet.comments.items()):
        author = str(opts.get("author") or "")
        aid = authors.setdefault(author, len(authors))
        items.append(
            f'<comment ref="{xl_rowcol_to_cell(row, col)}" authorId="{aid}"><text><r><rPr><sz val="8"/>'
            f'<color indexed="81"/><rFont val="Tahoma"/><family val="2"/></rPr>{_t(text, _esc)}</r></text></comment>'
        )
    names = "".join(f"<author>{_esc(a)}</author>" for a in authors)
    return f'{_XML}<comments xmlns="{_NS}"><authors>{names}</authors><commentList>{"".join(items)}</commentList></comments>'


def _area(sheet: Sheet, r0: int, c0: int, r1: int, c1: int) -> str:
    return f"{quote_sheetname(sheet.name)}!${xl_col_to_name(c0)}${r0 + 1}:${xl_col_to_name(c1)}${r1 + 1}"


def write_package(book: Book) -> bytes:
    """The .xlsx bytes of a recorded workbook."""
    if not book.sheets:
        raise Unsupported("a workbook without sheets")
    base, where = _base(book)
    sst = _Strings()
    files: list[tuple[str, str | bytes | Runs]] = []
    own: set[str] = {"xl/sharedStrings.xml", "docProps/core.xml"}  # parts this workbook alone has
    overrides: list[tuple[str, str]] = []
    data_id = 0
    # the first sheet (the per-file form: 评分结果, 退回说明) takes its string numbers last, so that the
    # template's own sheets get the same numbers, hence the same XML and deflated bytes, in every workbook
    rendered = {s.index: _sheet_data(s, base.xf, sst, base) for s in (*book.sheets[1:], book.sheets[0])}
    for sheet in book.sheets:
        before, after, tail = base.frames[where[sheet.index]]
        dim, data = rendered[sheet.index]
        drawn = sheet.source is not None  # a template sheet: its dimension and merges are the drawn one's
        merges = _merges_xml(sheet)
        links = "".join(
            f'<hyperlink ref="{xl_rowcol_to_cell(r, c)}" location="{_attr(loc)}" display="{_attr(text)}"/>'
            for r, c, loc, text in sheet.links
        )
        drawing = ""
        n = sheet.index + 1
        if sheet.comments:
            data_id += 1
            drawing = '<legacyDrawing r:id="rId1"/>'
            files.append(
                (
                    f"xl/worksheets/_rels/sheet{n}.xml.rels",
                    (
                        f'{_XML}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL}/vmlDrawing" '
                        f'Target="../drawings/vmlDrawing{data_id}.vml"/><Relationship Id="rId2" Type="{_REL}/comments" '
                        f'Target="../comments{data_id}.xml"/></Relationships>'
                    ),
                )
            )
            files.append((f"xl/drawings/vmlDrawing{data_id}.vml", _vml(sheet, data_id)))
            files.append((f"xl/comments{data_id}.xml", _comments_xml(sheet)))
            own.update((f"xl/drawings/vmlDrawing{data_id}.vml", f"xl/comments{data_id}.xml"))
            overrides.append((f"/xl/comments{data_id}.xml", _CT + "spreadsheetml.comments+xml"))
        tail_runs = _insert(
            tail,
            (
                (
                    f'<mergeCells count="{len(sheet.merges)}">{merges}</mergeCells>' if merges else "",
                    _AFTER_MERGES,
                ),
                (f"<hyperlinks>{links}</hyperlinks>" if links else "", _AFTER_LINKS),
                (drawing, _AFTER_DRAWING),
            ),
            drawn,
        )
        runs = _joined([(before, True), (dim, drawn), (after, True), *data, *tail_runs])
        if sheet.source is None or sheet.dirty:  # written for this workbook, not the template's as drawn
            files.append((f"xl/worksheets/sheet{n}.xml", runs))
            own.add(f"xl/worksheets/sheet{n}.xml")
        else:
            files.append((f"xl/worksheets/sheet{n}.xml", "".join(text for text, _ in runs)))
    # defined names: print areas and titles per sheet, then the book's own
    names: list[tuple[str, int | None, str, str]] = []
    for sheet in book.sheets:
        if sheet.area is not None:
            names.append(
                ("_xlnm.Print_Area", sheet.index, _area(sheet, *sheet.area), f"{sheet.name}!Print_Area")
            )
    for sheet in book.sheets:
        if sheet.titles is not None:
            a, b = sheet.titles
            names.append(
                (
                    "_xlnm.Print_Titles",
                    sheet.index,
                    f"{quote_sheetname(sheet.name)}!${a + 1}:${b + 1}",
                    f"{sheet.name}!Print_Titles",
                )
            )
    for name, formula in sorted(book.names, key=lambda nf: nf[0].lower()):
        names.append((name, None, formula, name))
    defined = "".join(
        f'<definedName name="{_attr(name)}"'
        + ("" if local is None else f' localSheetId="{local}"')
        + f">{_esc(formula)}</definedName>"
        for name, local, formula, _ in names
    )
    view = ""
    if book.first:
        view += f' firstSheet="{book.first}"'
    if book.active:
        view += f' activeTab="{book.active}"'
    sheets_xml = "".join(
        f'<sheet name="{_attr(s.name)}" sheetId="{s.index + 1}"'
        + (' state="hidden"' if s.hidden else "")
        + f' r:id="rId{s.index + 1}"/>'
        for s in book.sheets
    )
    files.append(
        (
            "xl/workbook.xml",
            (
                f'{_XML}<workbook xmlns="{_NS}" xmlns:r="{_REL}"><fileVersion appName="xl" lastEdited="4" lowestEdited="4" '
                'rupBuild="4505"/><workbookPr defaultThemeVersion="124226"/><bookViews><workbookView xWindow="240" '
                f'yWindow="15" windowWidth="16095" windowHeight="9660"{view}/></bookViews><sheets>{sheets_xml}</sheets>'
                + (f"<definedNames>{defined}</definedNames>" if defined else "")
                + '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
            ),
        )
    )
    k = len(book.sheets)
    rels = "".join(
        f'<Relationship Id="rId{i + 1}" Type="{_REL}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
        for i in range(k)
    )
    rels += f'<Relationship Id="rId{k + 1}" Type="{_REL}/theme" Target="theme/theme1.xml"/>'
    rels += f'<Relationship Id="rId{k + 2}" Type="{_REL}/styles" Target="styles.xml"/>'
    if sst.index:
        rels += f'<Relationship Id="rId{k + 3}" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        files.append(("xl/sharedStrings.xml", sst.xml()))
    files.append(
        ("xl/_rels/workbook.xml.rels", f'{_XML}<Relationships xmlns="{_PKG_REL}">{rels}</Relationships>')
    )
    titles = [s.name for s in book.sheets] + [label for *_, label in names]
    files.append(
        (
            "docProps/app.xml",
            (
                f'{_XML}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
                'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Application>Microsoft Excel'
                '</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop><HeadingPairs><vt:vector size="'
                + ("4" if names else "2")
                + f'" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant><vt:variant><vt:i4>{k}</vt:i4></vt:variant>'
                + (
                    f"<vt:variant><vt:lpstr>Named Ranges</vt:lpstr></vt:variant><vt:variant><vt:i4>{len(names)}</vt:i4></vt:variant>"
                    if names
                    else ""
                )
                + f'</vt:vector></HeadingPairs><TitlesOfParts><vt:vector size="{len(titles)}" baseType="lpstr">'
                + "".join(f"<vt:lpstr>{_esc(t)}</vt:lpstr>" for t in titles)
                + "</vt:vector></TitlesOfParts><Company></Company><LinksUpToDate>false</LinksUpToDate><SharedDoc>false"
                "</SharedDoc><HyperlinksChanged>false</HyperlinksChanged><AppVersion>12.0000</AppVersion></Properties>"
            ),
        )
    )
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    title = book.properties.get("title")
    comments = book.properties.get("comments")
    files.append(
        (
            "docProps/core.xml",
            (
                f'{_XML}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
                'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
                + (f"<dc:title>{_esc(str(title))}</dc:title>" if title else "")
                + "<dc:creator></dc:creator>"
                + (f"<dc:description>{_esc(str(comments))}</dc:description>" if comments else "")
                + f'<cp:lastModifiedBy></cp:lastModifiedBy><dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
                f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified></cp:coreProperties>'
            ),
        )
    )
    types = [
        ("/docProps/app.xml", _CT + "extended-properties+xml"),
        ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
        ("/xl/styles.xml", _CT + "spreadsheetml.styles+xml"),
        ("/xl/theme/theme1.xml", _CT + "theme+xml"),
        ("/xl/workbook.xml", _CT + "spreadsheetml.sheet.main+xml"),
        *((f"/xl/worksheets/sheet{i + 1}.xml", _CT + "spreadsheetml.worksheet+xml") for i in range(k)),
        *overrides,
    ]
    if sst.index:
        types.append(("/xl/sharedStrings.xml", _CT + "spreadsheetml.sharedStrings+xml"))
    defaults = (
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + (
            '<Default Extension="vml" ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/>'
            if data_id
            else ""
        )
    )
    files.append(
        (
            "[Content_Types].xml",
            (
                f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">{defaults}'
                + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in types)
                + "</Types>"
            ),
        )
    )
    return _zip([*base.parts.items(), *files], own)


# --- the zip container ------------------------------------------------------------------------------

_DEFLATED: dict[str, tuple[int, int, bytes]] = {}  # part text → (crc, size, deflated bytes)
_DEFLATED_MAX = 64  # parts remembered (the template's own sheets, styles, theme: the same every time)
_DOS_1980 = (0, 33)  # 1980-01-01 00:00:00, as xlsxwriter dates every part
#: Deflate levels: parts shared by many workbooks are deflated once and remembered, so they get zlib's
#: default; a workbook's own parts (its cells, strings, comments) are deflated every time at the fastest
#: level of :mod:`.deflate` (ISA-L when installed: ~5x faster than zlib's level 1, as many bytes).
SHARED_LEVEL = 6
OWN_LEVEL = deflate.FAST


def _deflate(part: str | bytes, shared: bool = True) -> tuple[int, int, bytes]:
    """(CRC-32, size, raw deflated bytes) of a part; a ``shared`` part (one many workbooks hold, such as
    styles.xml or a template sheet nothing was written on) is remembered by its text."""
    if shared and isinstance(part, str):
        hit = _DEFLATED.pop(part, None)
        if hit is not None:
            _DEFLATED[part] = hit  # most recently used last: the template's own parts are never evicted
            return hit
    data = part.encode("utf-8") if isinstance(part, str) else part
    z = zlib.compressobj(SHARED_LEVEL, zlib.DEFLATED, -15) if shared else deflate.compressor(OWN_LEVEL)
    out = (deflate.crc32(data), len(data), z.compress(data) + z.flush())
    if shared and isinstance(part, str):
        if len(_DEFLATED) >= _DEFLATED_MAX:
            _DEFLATED.pop(next(iter(_DEFLATED)))
        _DEFLATED[part] = out
    return out


_RUNS: dict[str, tuple[bytes, bytes]] = {}  # a run's text → (its UTF-8 bytes, deflated, byte-aligned)
_RUNS_MAX_BYTES = 8 << 20  # text remembered at most (then forgotten all at once)
_runs_bytes = 0
_END = b"\x03\x00"  # an empty final deflate block: the end of a part deflated as runs
#: characters a recurring run needs to be deflated apart: a shorter one is deflated with the own text
#: around it (each run deflated apart ends its blocks and the own text loses its history there)
RECURRING_MIN = 1024


def _recurring(text: str) -> tuple[bytes, bytes]:
    """(UTF-8 bytes, raw deflate blocks ending on a byte boundary, not final) of a run of text that
    recurs in many workbooks: deflated once at :data:`SHARED_LEVEL` and remembered."""
    global _runs_bytes
    hit = _RUNS.get(text)
    if hit is None:
        data = text.encode("utf-8")
        z = zlib.compressobj(SHARED_LEVEL, zlib.DEFLATED, -15)
        hit = (data, z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH))
        if _runs_bytes + len(data) > _RUNS_MAX_BYTES:
            _RUNS.clear()
            _runs_bytes = 0
        _RUNS[text] = hit
        _runs_bytes += len(data)
    return hit


def _runs_deflated(runs: Runs, z: Any) -> tuple[int, int, bytes]:
    """(CRC-32, size, raw deflated bytes) of a part given as runs: the recurring runs' blocks as
    remembered (:func:`_recurring`), the own runs' deflated by ``z`` (a workbook's compressor at
    :data:`OWN_LEVEL`), each followed by a full flush so that no later block refers back across a run
    deflated elsewhere; the blocks laid end to end and closed by an empty final block (the deflate
    format allows any sequence of blocks: a reader inflates the part as one stream)."""
    crc, size, out = 0, 0, []
    for text, recurs in _joined([(text, recurs and len(text) >= RECURRING_MIN) for text, recurs in runs]):
        if recurs:
            data, packed = _recurring(text)
        else:
            data = text.encode("utf-8")
            packed = z.compress(data) + z.flush(deflate.Z_FULL_FLUSH)
        crc = deflate.crc32(data, crc)
        size += len(data)
        out.append(packed)
    out.append(_END)
    return crc, size, b"".join(out)


def _zip(parts: list[tuple[str, str | bytes | Runs]], own: Collection[str] = ()) -> bytes:
    """A zip of deflated parts (no extras, no zip64: parts are small), as ``zipfile`` reads it; the
    parts named in ``own`` are this workbook's alone (see :data:`OWN_LEVEL`); a part given as
    :data:`Runs` is deflated run by run (:func:`_runs_deflated`)."""
    out = bytearray()
    central = bytearray()
    time, day = _DOS_1980
    z = deflate.compressor(OWN_LEVEL)
    for name, part in parts:
        if isinstance(part, str) and name in own:  # deflated by the workbook's compressor
            part = [(part, False)]
        if isinstance(part, list):
            crc, size, packed = _runs_deflated(part, z)
        else:
            crc, size, packed = _deflate(part, name not in own)
        raw = name.encode("ascii")
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, time, day, crc, len(packed), size, len(raw), 0
        )
        out += raw
        out += packed
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            8,
            time,
            day,
            crc,
            len(packed),
            size,
            len(raw),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += raw
    start = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(central), start, 0)
    return bytes(out)
