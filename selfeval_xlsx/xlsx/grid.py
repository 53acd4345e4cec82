"""A minimal, fast, bounded reader of an .xlsx's cells and of the structure the reader inspects.

:func:`load_grid` parses the package's XML directly with :mod:`xml.parsers.expat` (no object per
style, row dimension or empty cell): a template-sized workbook takes about a tenth of what
``openpyxl.load_workbook`` costs. :func:`grid_from_openpyxl` builds the same structure from an openpyxl
``Workbook`` (the reference in tests, and a fallback).

What a :class:`Grid` holds mirrors what openpyxl gives with ``data_only=False, rich_text=False``:

* cells with a value (``None`` is never stored; ``''`` is), 1-based ``(row, col)``;
* ``data_type`` ``'n'`` (int when the stored number has no ``.``/``e``/``E``, else float), ``'s'``,
  ``'b'``, ``'e'`` (the error text, e.g. ``'#DIV/0!'``), ``'f'`` (the formula text with its leading
  ``=``; the cached result is ignored; array formulas give their text; followers of a shared formula
  give the master's formula moved to their position, like openpyxl), ``'d'`` (a number styled with a
  date format: ``datetime.datetime``, or ``datetime.time`` for serials in [0, 1) and
  ``datetime.timedelta`` for ``[h]:mm:ss`` formats, exactly as openpyxl converts them; and ISO
  ``t="d"`` cells); ``percent`` marks a number or formula cell whose number format shows a percentage
  (built-in formats 9 and 10, or a custom code with ``%`` outside quotes and escapes);
* values of cells covered by a merged range (other than its top-left cell) are dropped, as openpyxl
  (and Excel) do; merged ranges are listed once each, in document order;
* ``max_row`` is the largest row of any ``<c>`` element (styled empty ones included) or of a merged
  range, 1 for an empty sheet (openpyxl's ``ws.max_row``, except that openpyxl also counts cells it
  creates for hyperlinks and comments).

Deliberate differences from openpyxl: the locale date formats 27–36 and 50–58 (Chinese/Japanese/Korean
Excel and WPS: ``yyyy"年"m"月"d"日"`` …) are dates here (openpyxl leaves them numbers); a sheet whose part
is missing, a sheet without a relationship, and anything malformed raise :class:`GridError` where
openpyxl sometimes skips silently; a shared formula that cannot be moved gives ``'=#REF!'`` (or
``#REF!`` for the reference that falls off the sheet) instead of failing the whole workbook; a sheet is
read only up to the first element the schema places after ``<mergeCells>`` (data validations,
conditional formats, page setup…), so a misordered file (which Excel would refuse) loses its merges.

Safety: the zip directory is bounded by :func:`selfeval_xlsx.xlsx.zipread.open_zip`; each part is inflated in
chunks with its declared size checked against ``limits.max_sheet_xml_bytes`` (zipfile never produces
more than the declared size, and checks the CRC) and the total against
``limits.max_total_uncompressed``; XML with a DOCTYPE, an entity declaration or an external entity is
refused by the parser itself.

Speed: a sheet or shared strings part of at most 1 MB, written the way office programs write them, is
read by the scanned path (:func:`_scan_sheet`, :func:`_scan_shared_strings`): its frame goes through expat
with no Python handler, its cells (or strings) are matched whole by regular expressions and their
characters checked, and what a row's bytes read as is remembered (a template's label rows recur in every
workbook); any other part is declined and read by expat as before. Otherwise a part is parsed whole,
with its names as written when that provably reads the same as namespace processing
(:func:`_plain_prefixes`), and with its styled empty cells cut out by a regular expression first
(:func:`_strip_empty`; ``max_row`` still counts them); a shared strings part likewise, with the
properties of its rich-text runs cut out (:func:`_strip_run_props`); the date and percent styles of a
styles part are remembered by its bytes. Each of these is checked against the plain streaming path in
the tests. Cells beyond row ``limits.max_rows + ROW_MARGIN`` are counted in
``max_row`` but not kept; more than :data:`MAX_CELLS` kept cells, :data:`MAX_SHARED_STRINGS` shared
strings, :data:`MAX_MERGED` merged ranges or :data:`MAX_MERGE_WORK` positions cleared under merges raise
:class:`GridLimitError`.
"""

from __future__ import annotations

import datetime as _dt
import posixpath
import re
import zipfile
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from xml.parsers import expat

from .cells import MAX_COLUMN, column_index, column_letter, parse_a1  # MAX_COLUMN: openpyxl's limit (ZZZ)
from .limits import DEFAULT_LIMITS, Limits
from .zipread import ZipRefused, open_zip

#: Most cells kept over all sheets of one workbook (a real one has a few thousand).
MAX_CELLS = 200_000
#: Most shared strings accepted (a real workbook has a few hundred).
MAX_SHARED_STRINGS = 1_000_000
#: Most merged ranges accepted over all sheets.
MAX_MERGED = 20_000
#: Most cell positions looked at while clearing cells covered by merged ranges (bounds hostile merges).
MAX_MERGE_WORK = 5_000_000
#: Rows kept beyond ``limits.max_rows`` (the reader looks a little past its limit).
ROW_MARGIN = 1000
#: Excel's largest column (XFD) and row.
MAX_COL = 16_384
MAX_ROW = 1_048_576

_CHUNK = 1 << 20  # inflated bytes fed to the XML parser at a time

_MAIN_NS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_MAIN_NS_BYTES = frozenset(ns.encode() for ns in _MAIN_NS)
_REL_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_DOCUMENT = "/officeDocument"


class GridError(ValueError):
    """The workbook cannot be read as a grid (malformed, unsupported or beyond a bound)."""


class GridLimitError(GridError):
    """The workbook is beyond one of this module's bounds (too many cells, merged ranges, shared
    strings; a part or the package too large): well-formed perhaps, but not worth handing to openpyxl."""


@dataclass(slots=True)
class Cell:
    """One non-empty cell: its value and openpyxl-style data type (``n s b e f d``); ``percent`` when a
    number or formula cell is shown as a percentage (its number format has a ``%`` outside quotes and
    escapes: typing 96% in Excel stores 0.96 with such a format)."""

    value: Any
    data_type: str
    percent: bool = False


@dataclass(slots=True)
class Range:
    """A merged range, 1-based and inclusive; ``coord`` as openpyxl writes it (``'B14:D14'``)."""

    min_row: int
    min_col: int
    max_row: int
    max_col: int
    coord: str


class Sheet:
    """One worksheet's non-empty cells and the structure the reader inspects."""

    __slots__ = ("cells", "hidden_rows", "max_row", "merged", "name", "state")

    def __init__(self, name: str, state: str = "visible") -> None:
        self.name = name
        self.state = state
        self.cells: dict[tuple[int, int], Cell] = {}
        self.hidden_rows: set[int] = set()
        self.merged: list[Range] = []
        self.max_row = 1

    def get(self, row: int, col: int) -> Cell | None:
        """The cell at 1-based ``(row, col)``, or None if it is empty."""
        return self.cells.get((row, col))

    def value(self, row: int, col: int) -> Any:
        """The value at 1-based ``(row, col)``, or None if the cell is empty."""
        cell = self.cells.get((row, col))
        return None if cell is None else cell.value

    def __repr__(self) -> str:
        return f"<Sheet {self.name!r} {len(self.cells)} cells, max_row={self.max_row}, {self.state}>"


class Grid:
    """The sheets of a workbook, by name, in workbook order."""

    __slots__ = ("_sheets", "sheetnames")

    def __init__(self, sheets: list[Sheet]) -> None:
        self.sheetnames: list[str] = [s.name for s in sheets]
        self._sheets: dict[str, Sheet] = {s.name: s for s in sheets}

    def __getitem__(self, name: str) -> Sheet:
        return self._sheets[name]

    def __contains__(self, name: object) -> bool:
        return name in self._sheets

    def __repr__(self) -> str:
        return f"<Grid {self.sheetnames}>"


# ------------------------------------------------------------------------------------------------
# cell references
# ------------------------------------------------------------------------------------------------


def _parse_ref(ref: str) -> tuple[int, int]:
    """(row, col) of an A1 reference such as ``'B14'`` (``$`` and lower case accepted) inside Excel's
    grid; a :class:`GridError` otherwise."""
    try:
        row, col = parse_a1(ref)
    except ValueError:
        raise GridError(f"bad cell reference {ref[:40]!r}") from None
    if not (1 <= row <= MAX_ROW and col <= MAX_COL):
        raise GridError(f"bad cell reference {ref[:40]!r}")
    return row, col


def _parse_range(ref: str) -> Range:
    first, sep, last = ref.strip().partition(":")
    r1, c1 = _parse_ref(first)
    r2, c2 = _parse_ref(last) if sep else (r1, c1)
    if r2 < r1 or c2 < c1:
        raise GridError(f"bad range {ref[:40]!r}")
    coord = f"{column_letter(c1)}{r1}"
    if (r1, c1) != (r2, c2):
        coord += f":{column_letter(c2)}{r2}"
    return Range(r1, c1, r2, c2, coord)


# ------------------------------------------------------------------------------------------------
# dates (mirrors openpyxl.styles.numbers and openpyxl.utils.datetime)
# ------------------------------------------------------------------------------------------------

WINDOWS_EPOCH = _dt.datetime(1899, 12, 30)
MAC_EPOCH = _dt.datetime(1904, 1, 1)

#: Built-in number formats that are dates or times (openpyxl's, with their codes' time-delta flag).
_BUILTIN_DATES = {i: False for i in (14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 47)} | {46: True}
#: Built-in ids that are dates or times only in CJK locales (no code in the file; openpyxl: numbers).
_CJK_DATES = frozenset((*range(27, 37), *range(50, 59)))

_STRIP_FMT = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_CHAR = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_TIMEDELTA = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)
_ISO = re.compile(
    r"(?P<date>(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2}))?T?"
    r"(?P<time>(?P<hour>\d{2}):(?P<minute>\d{2})(:(?P<second>\d{2})(?P<microsecond>\.\d{1,3})?)?)?Z?"
)
_ISO_DURATION = re.compile(r"PT((?P<hours>\d+)H)?((?P<minutes>\d+)M)?((?P<seconds>\d+(\.\d{1,3})?)S)?")


def is_date_format(code: str | None) -> bool:
    """Whether a number-format code shows a date or time (openpyxl's rule: the first section, without
    quoted text and ``[…]`` parts other than ``[h]``/``[m]``/``[s]``, has a d/m/y/h/s not escaped)."""
    if code is None:
        return False
    return _DATE_CHAR.search(_STRIP_FMT.sub("", code.split(";")[0])) is not None


_PERCENT_SIGN = re.compile(r"(?<![\\_*])%")
#: Built-in number formats that show a percentage (``0%`` and ``0.00%``).
_BUILTIN_PERCENTS = frozenset({9, 10})


def is_percent_format(code: str | None) -> bool:
    """Whether a number-format code shows a number as a percentage (×100): its first section, without
    quoted text and ``[…]`` parts, has a ``%`` that is not escaped (``\\%``), a space width (``_%``) or a
    fill (``*%``). Dates are never percentages."""
    if not code or "%" not in code:
        return False
    first = _STRIP_FMT.sub("", code.split(";")[0])
    return _PERCENT_SIGN.search(first) is not None and not is_date_format(code)


def is_timedelta_format(code: str | None) -> bool:
    """Whether a number-format code shows elapsed time (``[h]:mm:ss`` …), as openpyxl decides."""
    return code is not None and _TIMEDELTA.search(code.split(";")[0]) is not None


def from_excel(value: float, epoch: _dt.datetime = WINDOWS_EPOCH, timedelta: bool = False) -> Any:
    """An Excel serial as openpyxl converts it: datetime, time (for [0, 1)) or timedelta."""
    if timedelta:
        td = _dt.timedelta(days=value)
        if td.microseconds:
            td = _dt.timedelta(seconds=td.total_seconds() // 1, microseconds=round(td.microseconds, -3))
        return td
    day, fraction = divmod(value, 1)
    diff = _dt.timedelta(milliseconds=round(fraction * 86400 * 1000))
    if 0 <= value < 1 and diff.days == 0:
        minutes, seconds = divmod(diff.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return _dt.time(hours, minutes, seconds, diff.microseconds)
    if 0 < value < 60 and epoch == WINDOWS_EPOCH:
        day += 1
    return epoch + _dt.timedelta(days=day) + diff


def from_iso8601(text: str) -> Any:
    """A ``t="d"`` cell's ISO 8601 text as openpyxl converts it (datetime, date, time or timedelta)."""
    m = _ISO.match(text)
    if m and any(m.groups()):
        parts: dict[str, Any] = m.groupdict(0)
        for key in ("year", "month", "day", "hour", "minute", "second"):
            if parts[key]:
                parts[key] = int(parts[key])
        if parts["microsecond"]:
            parts["microsecond"] = int(float(parts["microsecond"]) * 1_000_000)
        if not parts["date"]:
            return _dt.time(parts["hour"], parts["minute"], parts["second"], parts["microsecond"])
        if not parts["time"]:
            return _dt.date(parts["year"], parts["month"], parts["day"])
        del parts["time"], parts["date"]
        return _dt.datetime(**parts)
    m = _ISO_DURATION.match(text)
    if m and any(m.groups()):
        return _dt.timedelta(**{k: float(v) for k, v in m.groupdict(0).items() if v})
    raise GridError(f"bad date {text[:40]!r}")


# ------------------------------------------------------------------------------------------------
# shared formulas (mirrors openpyxl.formula.Tokenizer + Translator)
# ------------------------------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"^[1-9](\.[0-9]+)?[Ee]$")
_QUOTED = {'"': re.compile(r'"(?:[^"]*"")*[^"]*"(?!")'), "'": re.compile(r"'(?:[^']*'')*[^']*'(?!')")}
_ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA")
_TOKEN_ENDERS = frozenset(",;}) +-*/^&=><%")
_OPERATORS = frozenset("+-*/^&=><%")
_ROW_RANGE = re.compile(r"(\$?[1-9][0-9]{0,6}):(\$?[1-9][0-9]{0,6})$")
_COL_RANGE = re.compile(r"(\$?[A-Za-z]{1,3}):(\$?[A-Za-z]{1,3})$")
_CELL_REF = re.compile(r"(\$?[A-Za-z]{1,3})(\$?[1-9][0-9]{0,6})$")


class _Untranslatable(Exception):
    pass


def _move_row(text: str, drow: int) -> str:
    if text.startswith("$"):
        return text
    row = int(text) + drow
    if row <= 0:
        raise _Untranslatable
    return str(row)


def _move_col(text: str, dcol: int) -> str:
    if text.startswith("$"):
        return text
    col = column_index(text.upper()) + dcol
    if not 1 <= col <= MAX_COLUMN:
        raise _Untranslatable
    return column_letter(col)


def _move_range(text: str, drow: int, dcol: int) -> str:
    sheet = ""
    if "!" in text:
        sheet, text = text.rsplit("!", 1)
        sheet += "!"
    m = _ROW_RANGE.match(text)
    if m:
        return f"{sheet}{_move_row(m.group(1), drow)}:{_move_row(m.group(2), drow)}"
    m = _COL_RANGE.match(text)
    if m:
        return f"{sheet}{_move_col(m.group(1), dcol)}:{_move_col(m.group(2), dcol)}"
    if ":" in text:
        return sheet + ":".join(_move_range(piece, drow, dcol) for piece in text.split(":"))
    m = _CELL_REF.match(text)
    if m is None:
        return text  # a defined name
    return f"{sheet}{_move_col(m.group(1), dcol)}{_move_row(m.group(2), drow)}"


def _move_operand(text: str, drow: int, dcol: int) -> str:
    if text.startswith(('"', "#")) or text in ("TRUE", "FALSE"):
        return text
    try:
        float(text)
    except ValueError:
        pass
    else:
        return text
    try:
        return _move_range(text, drow, dcol)
    except _Untranslatable:
        return "#REF!"


def translate_formula(formula: str, drow: int, dcol: int) -> str:
    """``formula`` (with its ``=``) moved by ``drow`` rows and ``dcol`` columns, as openpyxl's
    Translator moves a shared formula to a follower cell; ``'=#REF!'`` if it cannot be tokenised."""
    if not formula.startswith("="):
        return formula
    out = ["="]
    token: list[str] = []
    stack: list[str] = []
    i, n = 1, len(formula)

    def flush() -> None:
        if token:
            out.append(_move_operand("".join(token), drow, dcol))
            token.clear()

    try:
        while i < n:
            ch = formula[i]
            if ch in "+-" and token and _SCIENTIFIC.match("".join(token)):
                token.append(ch)
                i += 1
                continue
            if ch in _TOKEN_ENDERS:
                flush()
            if ch in "\"'":
                if token and token[-1] != ":":
                    raise _Untranslatable
                m = _QUOTED[ch].match(formula, i)
                if m is None:
                    raise _Untranslatable
                (out if ch == '"' else token).append(m.group(0))
                i = m.end()
            elif ch == "[":
                depth, j = 0, i
                while j < n:
                    depth += {"[": 1, "]": -1}.get(formula[j], 0)
                    j += 1
                    if depth == 0:
                        break
                if depth:
                    raise _Untranslatable
                token.append(formula[i:j])
                i = j
            elif ch == "#":
                if token and token[-1] != "!":
                    raise _Untranslatable
                err = next((e for e in _ERROR_CODES if formula.startswith(e, i)), None)
                if err is None:
                    raise _Untranslatable
                out.append(_move_operand("".join(token) + err, drow, dcol))
                token.clear()
                i += len(err)
            elif ch in " \n":
                out.append(ch)
                while i < n and formula[i] in " \n":
                    i += 1
            elif ch in _OPERATORS:
                two = formula[i : i + 2]
                step = 2 if two in (">=", "<=", "<>") else 1
                out.append(formula[i : i + step])
                i += step
            elif ch in "({":
                if ch == "{" and token:
                    raise _Untranslatable
                out.append("".join(token) + ch)
                token.clear()
                stack.append(")" if ch == "(" else "}")
                i += 1
            elif ch in ")}":
                if not stack or stack.pop() != ch:
                    raise _Untranslatable
                out.append(ch)
                i += 1
            elif ch in ";,":
                out.append(ch)
                i += 1
            else:
                token.append(ch)
                i += 1
        flush()
    except _Untranslatable:
        return "=#REF!"
    return "".join(out)


# ------------------------------------------------------------------------------------------------
# the package
# ------------------------------------------------------------------------------------------------


class _Package:
    """Bounded access to the parts of a zip package."""

    def __init__(self, data: bytes, limits: Limits, parts: Mapping[str, bytes] | None = None) -> None:
        try:
            self.zf = open_zip(data, limits)
        except ZipRefused as exc:
            kind = GridLimitError if exc.reason in ("members", "bomb", "inflated") else GridError
            raise kind(str(exc)) from exc
        self.limits = limits
        self.left = limits.max_total_uncompressed
        self.infos = {i.filename: i for i in self.zf.infolist()}
        self._lower: dict[str, str] | None = None
        self.parts = parts or {}  # parts inflated (and checked) already, by name

    def find(self, name: str) -> zipfile.ZipInfo | None:
        """A member by name (exact, then case-insensitive: OPC part names ignore case)."""
        info = self.infos.get(name)
        if info is None:
            if self._lower is None:
                self._lower = {n.lower(): n for n in self.infos}
            real = self._lower.get(name.lower())
            info = self.infos.get(real) if real else None
        return info

    def chunks(self, name: str) -> Iterator[bytes]:
        """The inflated bytes of a part, a chunk at a time, within the limits."""
        info = self.find(name)
        if info is None:
            raise GridError(f"part {name!r} is missing")
        if info.flag_bits & 0x1:
            raise GridError("encrypted part")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise GridError("unsupported compression")
        if info.file_size > self.limits.max_sheet_xml_bytes or info.file_size > self.left:
            raise GridLimitError(f"part {name!r} is too large")
        self.left -= info.file_size
        done = self.parts.get(info.filename)
        if done is not None and len(done) == info.file_size:
            yield done
            return
        with self.zf.open(info) as fh:  # never yields more than the declared size; checks the CRC
            while chunk := fh.read(_CHUNK):
                yield chunk

    def small(self, name: str) -> bytes | None:
        """The whole inflated part when it is at most :data:`_PLAIN_MAX` bytes (else ``None``: stream it
        with :meth:`chunks`); checked against the limits as :meth:`chunks` does."""
        info = self.find(name)
        if info is None or info.file_size > _PLAIN_MAX:
            return None
        return b"".join(self.chunks(name))


def _refuse(*_args: Any) -> NoReturn:
    raise GridError("DOCTYPE or entity declaration in XML")


def _parse(
    pkg: _Package,
    name: str,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] | None = None,
    chars: Callable[[str], Any] | None = None,
    data: bytes | None = None,
    plain: bool = False,
) -> None:
    """Stream a part (or ``data``, the whole part got already) through expat; refuses DTDs.

    Names are ``'<uri> <local>'`` (namespace-aware); or, with ``plain``, the names as written: the
    caller has checked with :func:`_plain_prefixes` that they read the same.
    """
    p = expat.ParserCreate() if plain else expat.ParserCreate(namespace_separator=" ")
    p.StartDoctypeDeclHandler = _refuse
    p.EntityDeclHandler = _refuse
    p.UnparsedEntityDeclHandler = _refuse
    p.ExternalEntityRefHandler = _refuse
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text = True
    p.StartElementHandler = start
    if end is not None:
        p.EndElementHandler = end
    if chars is not None:
        p.CharacterDataHandler = chars
    try:
        if data is not None:
            p.Parse(data, True)
        else:
            for chunk in pkg.chunks(name):
                p.Parse(chunk, False)
            p.Parse(b"", True)
    except _Stop:
        pass
    except expat.ExpatError as exc:
        raise GridError(f"{name}: {exc}") from exc


class _Stop(Exception):
    """Raised by a handler once it has read all it needs."""


# A namespace declaration: prefix (empty for the default namespace) and the quoted URI.
_NS_DECL = re.compile(rb"""xmlns(?::([^\s=/>]*))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_XML_DECL_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_PLAIN_MAX = _CHUNK  # larger parts are streamed with namespace processing


def _plain_prefixes(data: bytes) -> frozenset[str] | None:
    """The namespace prefixes declared in ``data`` when its element names can be read as written
    (without expat's namespace processing, about a fifth faster on a sheet); else ``None``.

    They can when the part is in UTF-8 (a byte scan sees every declaration), every default namespace
    declared is SpreadsheetML's (or none) and no prefix is bound to it: then an unprefixed name is a
    SpreadsheetML name and the tag tables (which hold both forms) match the same elements either way.
    The caller refuses an element whose prefix is not declared (namespace processing would). A text
    that merely looks like a declaration only makes the answer ``None`` (the slower, exact path).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.startswith(b"<"):
        return None
    declared = _XML_DECL_ENCODING.match(data, 0, 200)
    if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii"):
        return None
    prefixes = set()
    for prefix, double, single in _NS_DECL.findall(data):
        uri = double or single
        if b"&" in uri:  # a character reference could spell the SpreadsheetML URI
            return None
        if prefix:
            if uri in _MAIN_NS_BYTES or not uri:
                return None
            prefixes.add(prefix.decode("utf-8", "replace"))
        elif uri and uri not in _MAIN_NS_BYTES:
            return None
    return frozenset(prefixes)


def _names(*local: str) -> dict[str, str]:
    """Expat names of main-namespace elements (both namespaces, or none) → local name."""
    out = {}
    for tag in local:
        out[tag] = tag
        for ns in _MAIN_NS:
            out[f"{ns} {tag}"] = tag
    return out


def _rel_id(attrs: dict[str, str]) -> str | None:
    for ns in _REL_NS:
        rid = attrs.get(f"{ns} id")
        if rid is not None:
            return rid
    return None


def _bool(text: str | None) -> bool:
    """An XML boolean the way openpyxl reads one ('false', 'f', '0' and '' are false)."""
    return bool(text) and text not in ("false", "f", "0")


def _rels(pkg: _Package, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, target part name) of ``part``; external targets are left out."""
    folder, base = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", base + ".rels")
    out: dict[str, tuple[str, str]] = {}
    tag = f"{_PKG_REL_NS} Relationship"

    def start(name: str, attrs: dict[str, str]) -> None:
        if name != tag and name != "Relationship":
            return
        if attrs.get("TargetMode") == "External":
            return
        rid, target = attrs.get("Id"), attrs.get("Target")
        if rid is None or target is None:
            raise GridError("bad relationship")
        path = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[rid] = (attrs.get("Type", ""), path)

    _parse(pkg, rels_name, start)
    return out


def _workbook_part(pkg: _Package) -> str:
    if pkg.find("xl/workbook.xml") is not None:
        return "xl/workbook.xml"
    if pkg.find("_rels/.rels") is None:
        raise GridError("no workbook part")
    for kind, target in _rels(pkg, "").values():
        if kind.endswith(_OFFICE_DOCUMENT):
            return target
    raise GridError("no workbook part")


_WB_TAGS = _names("sheet", "workbookPr")


def _workbook(pkg: _Package, part: str) -> tuple[list[tuple[str, str, str | None]], bool]:
    """(name, state, relationship id) of each sheet in order, and whether dates use the 1904 system."""
    sheets: list[tuple[str, str, str | None]] = []
    date1904 = [False]

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = _WB_TAGS.get(name)
        if tag == "sheet":
            title = attrs.get("name")
            if title is None:
                raise GridError("sheet without a name")
            sheets.append((title, attrs.get("state", "visible"), _rel_id(attrs)))
        elif tag == "workbookPr":
            date1904[0] = _bool(attrs.get("date1904"))

    _parse(pkg, part, start)
    return sheets, date1904[0]


_SST_TAGS = _names("si", "t", "rPh")


def _shared_strings(pkg: _Package, part: str) -> list[str]:
    """The shared strings: the text of each ``<si>`` (plain and rich-text runs, not phonetic runs).

    A part small enough to hold whole is read, like a sheet, with its names as written when that reads
    the same (:func:`_plain_prefixes`) and without the properties of its rich-text runs
    (:func:`_strip_run_props`): office programs write several elements of font properties for each run
    of text, and none holds text.
    """
    data = pkg.small(part)
    prefixes = None if data is None else _plain_prefixes(data)
    if data is not None and prefixes is not None:
        scanned = _scan_shared_strings(data)
        if scanned is not None:
            return scanned
        data = _strip_run_props(data)
    else:
        prefixes = None
    strings: list[str] = []
    texts: list[str] = []
    buf: list[str] = []
    state = [0, False]  # depth inside rPh, inside si

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = _SST_TAGS.get(name)
        if tag is None:
            if prefixes is not None and ":" in name and name.partition(":")[0] not in prefixes:
                raise GridError(f"unbound namespace prefix in {name[:40]!r}")
        elif tag == "t":
            buf.clear()
        elif tag == "si":
            texts.clear()
            state[1] = True
        elif tag == "rPh":
            state[0] += 1

    def end(name: str) -> None:
        tag = _SST_TAGS.get(name)
        if tag == "t":
            if state[1] and not state[0]:
                texts.append("".join(buf))
            buf.clear()
        elif tag == "si":
            if len(strings) >= MAX_SHARED_STRINGS:
                raise GridLimitError("too many shared strings")
            strings.append("".join(texts).replace("x005F_", ""))  # as openpyxl does
            state[1] = False
        elif tag == "rPh":
            state[0] -= 1

    _parse(pkg, part, start, end, buf.append, data, plain=prefixes is not None)
    return strings


# The properties of a rich-text run as office programs write them: empty elements with at most one
# value attribute (and a tint), values without references, control characters or non-characters.
# (Possessive quantifiers: nothing matched is ever given back, which matches the same here and saves
# the regular expression engine a third of its time.)
_RUN_PROPS = re.compile(
    rb"<rPr>(?:<[A-Za-z]{1,20}+"
    rb'(?: (?:val|rgb|theme|indexed|auto)="[^\x00-\x1f"<&]{0,64}+")?+(?: tint="[-+.0-9Ee]{1,30}+")?+'
    rb"/>){0,32}+</rPr>"
)


def _strip_run_props(data: bytes) -> bytes:
    """``data`` (a shared strings part) without the properties of its rich-text runs (``<rPr>``), when
    that cannot change what the parser reads or whether it accepts the part: no comment, CDATA section
    or processing instruction could hold the same bytes as text (:func:`_markup_only`), and the part is
    well-formed UTF-8 without non-characters (so the bytes cut out hold no encoding error); else
    ``data`` itself."""
    if b"<rPr>" not in data or not _markup_only(data) or not _utf8_clean(data):
        return data
    return _RUN_PROPS.sub(b"", data)


_STYLE_TAGS = _names("numFmt", "cellXfs", "xf")


_Styles = tuple[frozenset[int], frozenset[int], frozenset[int]]  # dates, elapsed times, percentages
_STYLES_SEEN: dict[bytes, _Styles] = {}  # styles part → _number_styles
_STYLES_SEEN_MAX = 64  # parts remembered (workbooks from one template share their styles part)
_STYLES_SEEN_BYTES = 256 * 1024  # larger parts are not remembered


def _number_styles(pkg: _Package, part: str) -> _Styles:
    """Indices of ``cellXfs`` styles that show dates, those that show elapsed time and those that show
    percentages (remembered by the part's bytes: parsing a template's styles costs as much as reading
    one of its sheets)."""
    data = pkg.small(part)
    if data is None or len(data) > _STYLES_SEEN_BYTES:
        return _parse_number_styles(pkg, part, data)
    found = _STYLES_SEEN.get(data)
    if found is None:
        found = _parse_number_styles(pkg, part, data)
        if len(_STYLES_SEEN) >= _STYLES_SEEN_MAX:
            _STYLES_SEEN.clear()
        _STYLES_SEEN[data] = found
    return found


def _parse_number_styles(pkg: _Package, part: str, data: bytes | None = None) -> _Styles:
    custom: dict[int, str] = {}
    xf_formats: list[int] = []
    in_xfs = [False]

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = _STYLE_TAGS.get(name)
        if tag == "xf":
            if in_xfs[0]:
                xf_formats.append(int(attrs.get("numFmtId") or 0))
        elif tag == "numFmt":
            custom[int(attrs["numFmtId"])] = attrs.get("formatCode", "")
        elif tag == "cellXfs":
            in_xfs[0] = True

    def end(name: str) -> None:
        if _STYLE_TAGS.get(name) == "cellXfs":
            raise _Stop

    _parse(pkg, part, start, end, data=data)
    dates, deltas, percents = set(), set(), set()
    for index, fmt_id in enumerate(xf_formats):
        if fmt_id in custom:
            code = custom[fmt_id]
            if is_date_format(code):
                dates.add(index)
            elif is_percent_format(code):
                percents.add(index)
            if is_timedelta_format(code):
                deltas.add(index)
        elif fmt_id in _BUILTIN_DATES:
            dates.add(index)
            if _BUILTIN_DATES[fmt_id]:
                deltas.add(index)
        elif fmt_id in _CJK_DATES:
            dates.add(index)
        elif fmt_id in _BUILTIN_PERCENTS:
            percents.add(index)
    return frozenset(dates), frozenset(deltas), frozenset(percents)


# ------------------------------------------------------------------------------------------------
# worksheets
# ------------------------------------------------------------------------------------------------

_SHEET_TAGS = _names("c", "v", "f", "is", "t", "rPh", "row", "mergeCell", "sheetData", "mergeCells")
#: Worksheet children that the schema places after ``mergeCells``: nothing is read past them.
_AFTER_MERGES = frozenset(
    _names(
        *("phoneticPr", "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions"),
        *("pageMargins", "pageSetup", "headerFooter", "rowBreaks", "colBreaks", "customProperties"),
        *("cellWatches", "ignoredErrors", "smartTags", "drawing", "legacyDrawing", "legacyDrawingHF"),
        *("drawingHF", "picture", "oleObjects", "controls", "webPublishItems", "tableParts", "extLst"),
    )
)
_REF_CACHE: dict[str, tuple[int, int]] = {}  # the same template's references recur in every workbook
_REF_CACHE_MAX = 50_000


def _cell_position(ref: str) -> tuple[int, int]:
    pos = _REF_CACHE.get(ref)
    if pos is None:
        pos = _parse_ref(ref)
        if len(_REF_CACHE) < _REF_CACHE_MAX:
            _REF_CACHE[ref] = pos
    return pos


class _Context:
    """What every sheet of one workbook shares, and the running totals bounded over the workbook."""

    __slots__ = (
        "count",
        "date_styles",
        "delta_styles",
        "epoch",
        "merged",
        "percent_styles",
        "row_cap",
        "shared_strings",
        "work",
    )

    def __init__(self, limits: Limits) -> None:
        self.row_cap = limits.max_rows + ROW_MARGIN
        self.shared_strings: list[str] = []
        self.date_styles: frozenset[int] = frozenset()
        self.delta_styles: frozenset[int] = frozenset()
        self.percent_styles: frozenset[int] = frozenset()
        self.epoch = WINDOWS_EPOCH
        self.count = 0  # cells kept
        self.merged = 0  # merged ranges
        self.work = 0  # positions looked at while clearing merged cells


def _read_sheet(pkg: _Package, part: str, sheet: Sheet, ctx: _Context) -> None:
    """Fill ``sheet`` from its part.

    A part small enough to hold whole is read without namespace processing when that reads the same
    (:func:`_plain_prefixes`), and its styled empty cells are cut out first (:func:`_strip_empty`):
    most of a template's cells are empty, and each costs two expat callbacks for nothing but
    ``max_row``, which the cut gives instead. A cell without ``r=""`` after a cut one would be placed
    by counting: such a sheet is read again uncut.
    """
    data = pkg.small(part)
    prefixes = None if data is None else _plain_prefixes(data)
    if data is None or prefixes is None:
        _read_sheet_xml(pkg, part, sheet, ctx, data)
        return
    if _scan_sheet(data, sheet, ctx):
        return
    cut = _strip_empty(data)
    if cut is not None:
        count = ctx.count
        try:
            _read_sheet_xml(pkg, part, sheet, ctx, cut[0], prefixes, cut[1])
            return
        except _Uncut:
            sheet.cells.clear()
            sheet.hidden_rows.clear()
            ctx.count = count
    _read_sheet_xml(pkg, part, sheet, ctx, data, prefixes)


class _Uncut(Exception):
    """Raised while reading a sheet whose empty cells were cut out, when the cut changes its meaning."""


# A styled empty cell as Excel, WPS, openpyxl and xlsxwriter write it, with a row within 1–9,999,999
# and a column within A–XFD (anything else is left to the parser, which judges it). Possessive
# quantifiers where giving back could never lead to a match: a quarter faster.
_EMPTY_CELL = re.compile(
    rb'<c r="(?:[A-Z]{1,2}|[A-W][A-Z]{2}|X[A-E][A-Z]|XF[A-D])([1-9][0-9]{0,6}+)"'
    rb'(?: s="[0-9]{1,5}+")?+(?: t="n")?+(?:/>|></c>)'
)


def _markup_only(data: bytes) -> bool:
    """Whether ``data`` holds no comment, CDATA section, DOCTYPE or processing instruction (other than
    one at its start, the XML declaration): then a regular expression that matches whole elements
    cannot mistake text for markup."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if data.startswith(b"<?", start):
        start = data.find(b"?>", start) + 2
        if start < 2:
            return False
    return not _after_lt(data, b"!", start) and not _after_lt(data, b"?", start)


def _after_lt(data: bytes, mark: bytes, start: int) -> bool:
    """Whether ``mark`` (a rare byte such as ``!``) follows a ``<`` somewhere in ``data[start:]``. The
    rare byte is looked for first, a fast scan (``<`` is everywhere in XML, which makes looking for
    the pair slow); the pair only from where the byte first occurs."""
    at = data.find(mark, start)
    return at >= 0 and data.find(b"<" + mark, max(start, at - 1)) >= 0


def _strip_empty(data: bytes) -> tuple[bytes, int] | None:
    """``data`` without its styled empty cells, and the largest row among them (0 for none); ``None``
    when a cut could change what the parser reads: a comment, CDATA section, DOCTYPE or processing
    instruction (other than the XML declaration) could hold the same bytes as text."""
    if not _markup_only(data):
        return None
    pieces = _EMPTY_CELL.split(data)
    if len(pieces) == 1:
        return data, 0
    rows = max(map(int, set(pieces[1::2])))
    if rows > MAX_ROW:
        return None
    return b"".join(pieces[::2]), rows


class _CellMaker:
    """A cell's parts as written (type, style, ``<v>`` text, ``<f>`` text and attributes, inline text)
    made into a :class:`Cell` of one sheet, as openpyxl's ``WorkSheetParser.parse_cell`` does: the one
    interpretation of a cell, shared by the expat handlers and the scanned path (:func:`_scan_sheet`)."""

    __slots__ = ("cells", "ctx", "masters")

    def __init__(self, sheet: Sheet, ctx: _Context) -> None:
        self.cells = sheet.cells
        self.ctx = ctx
        self.masters: dict[str, tuple[str, int, int]] = {}  # shared formula id → (formula, row, col)

    def put(
        self,
        row: int,
        col: int,
        t: str,
        s: str | None,
        v: str | None,
        f: str | None,
        f_attrs: Mapping[str, str],
        inline: list[str] | None,
    ) -> None:
        """Store the cell at ``(row, col)`` unless it holds no value; :class:`GridError` for an unknown
        type, :class:`GridLimitError` past :data:`MAX_CELLS`."""
        if f is None:
            if t == "s":
                self.shared((row, col), v)
                return
            if t == "inlineStr":
                self.inline((row, col), inline)
                return
        ctx = self.ctx
        value: Any = None if t == "inlineStr" else (v or None)
        data_type = t
        percent = False
        if f is not None:
            data_type = "f"
            value = self._formula(row, col, f, f_attrs)
            if ctx.percent_styles:
                percent = (int(s) if s else 0) in ctx.percent_styles
        elif value is not None:
            if t == "n":
                value = float(value) if ("." in value or "e" in value or "E" in value) else int(value)
                style = int(s) if s else 0
                if style in ctx.date_styles:
                    data_type = "d"
                    try:
                        value = from_excel(value, ctx.epoch, style in ctx.delta_styles)
                    except (OverflowError, ValueError):
                        data_type, value = "e", "#VALUE!"  # as openpyxl does
                elif style in ctx.percent_styles:
                    percent = True
            elif t == "s":
                value = ctx.shared_strings[int(value)]  # (a formula cell of type s)
            elif t == "b":
                value = bool(int(value))
            elif t == "str":
                data_type = "s"
            elif t == "d":
                value = from_iso8601(value)
            elif t != "e":
                raise GridError(f"unknown cell type {t[:20]!r}")
        elif t == "inlineStr" and inline is not None:
            value = "".join(inline)
            data_type = "s"
        if value is None:
            return
        ctx.count += 1
        if ctx.count > MAX_CELLS:
            raise GridLimitError(f"more than {MAX_CELLS} cells")
        self.cells[row, col] = Cell(value, data_type, percent) if percent else Cell(value, data_type)

    def shared(self, position: tuple[int, int], v: str | None) -> None:
        """:meth:`put` for a cell of type ``s`` without a formula: the shared string ``v`` numbers."""
        if v:
            self._keep(position, Cell(self.ctx.shared_strings[int(v)], "s"))

    def inline(self, position: tuple[int, int], inline: list[str] | None) -> None:
        """:meth:`put` for a cell of type ``inlineStr`` without a formula: the texts of its ``<is>``."""
        if inline is not None:
            self._keep(position, Cell("".join(inline), "s"))

    def _keep(self, position: tuple[int, int], cell: Cell) -> None:
        ctx = self.ctx
        ctx.count += 1
        if ctx.count > MAX_CELLS:
            raise GridLimitError(f"more than {MAX_CELLS} cells")
        self.cells[position] = cell

    def _formula(self, row: int, col: int, f: str, f_attrs: Mapping[str, str]) -> str:
        """The formula's text; a follower of a shared formula gets its master's, moved."""
        text = "=" + f
        if f_attrs.get("t") == "shared":
            si = f_attrs.get("si")
            master = self.masters.get(si) if si is not None else None
            if master is not None:
                formula, master_row, master_col = master
                return translate_formula(formula, row - master_row, col - master_col)
            if text != "=" and si is not None:
                self.masters[si] = (text, row, col)
        return text


def _read_sheet_xml(
    pkg: _Package,
    part: str,
    sheet: Sheet,
    ctx: _Context,
    data: bytes | None = None,
    prefixes: frozenset[str] | None = None,
    cut_max_row: int | None = None,
) -> None:
    """Fill ``sheet`` from its part (streamed) or from ``data`` (the whole part, got already), with
    namespaces, or with names as written when ``prefixes`` is given (see :func:`_read_sheet`;
    ``cut_max_row`` is given when empty cells were cut out). The handlers mirror
    openpyxl's ``WorkSheetParser`` (``parse_row``, ``parse_cell``, ``parse_formula``); closures over
    local state, because this is the hot loop."""
    hidden = sheet.hidden_rows
    merges: list[str] = []
    put = _CellMaker(sheet, ctx).put
    buf: list[str] = []
    tag_of = _SHEET_TAGS.get
    position = _REF_CACHE.get
    row_cap = ctx.row_cap
    # the cell being read
    c_attrs: dict[str, str] = {}
    f_attrs: dict[str, str] = {}
    v: str | None = None
    f: str | None = None
    inline: list[str] | None = None
    in_cell = False
    rph = 0
    # openpyxl's row_counter / col_counter (for cells and rows without r="")
    row_counter = col_counter = 0
    max_row = cut_max_row or 0
    cut = cut_max_row is not None
    data_done = False  # </sheetData> seen

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal c_attrs, f_attrs, v, f, inline, in_cell, rph, row_counter, col_counter
        tag = tag_of(name)
        if tag is None:
            if data_done and name in _AFTER_MERGES:
                raise _Stop  # the rest (validations, formatting, page setup…) is not needed
            if prefixes is not None and ":" in name and name.partition(":")[0] not in prefixes:
                raise GridError(f"unbound namespace prefix in {name[:40]!r}")
            return
        if tag == "c":
            c_attrs = attrs
            v = f = inline = None
            in_cell = True
        elif tag == "v":
            buf.clear()
        elif tag == "row":
            buf.clear()
            r = attrs.get("r")
            if r is not None:
                try:
                    row_counter = int(r)
                except ValueError:
                    number = float(r)
                    if not number.is_integer():
                        raise GridError(f"bad row number {r[:40]!r}") from None
                    row_counter = int(number)
                if not 1 <= row_counter <= MAX_ROW:
                    raise GridError(f"bad row number {r[:40]!r}")
            else:
                row_counter += 1
            col_counter = 0
            flag = attrs.get("hidden")
            if flag is not None and _bool(flag) and row_counter <= row_cap:
                hidden.add(row_counter)
        elif tag == "f":
            buf.clear()
            f_attrs = attrs
        elif tag == "is":
            if in_cell:
                inline = []
        elif tag == "t":
            buf.clear()
        elif tag == "rPh":
            rph += 1
        elif tag == "mergeCells":
            merges.clear()  # (only one is valid; like openpyxl, the last one counts)
        elif tag == "mergeCell":
            ref = attrs.get("ref")
            if ref is None:
                raise GridError("merged range without ref")
            if len(merges) + ctx.merged >= MAX_MERGED:
                raise GridLimitError("too many merged ranges")
            merges.append(ref)

    def end(name: str) -> None:
        nonlocal v, f, in_cell, rph, col_counter, max_row, data_done
        if not in_cell:
            tag = tag_of(name)
            if tag == "sheetData":
                data_done = True
            return
        tag = tag_of(name)
        if tag == "c":
            in_cell = False
            ref = c_attrs.get("r")
            if ref:
                row, col = position(ref) or _cell_position(ref)
                col_counter = col
            else:
                if cut:
                    raise _Uncut  # its column counts the cells before it, some of them cut out
                col_counter += 1
                row, col = row_counter, col_counter
                if row < 1 or col > MAX_COL:
                    raise GridError("cell outside the sheet")
            if row > max_row:
                max_row = row
            if (v is None and f is None and inline is None) or row > row_cap:
                return
            put(row, col, c_attrs.get("t", "n"), c_attrs.get("s"), v, f, f_attrs, inline)
        elif tag == "v":
            v = "".join(buf)
        elif tag == "f":
            f = "".join(buf)
        elif tag == "t":
            if inline is not None and not rph:
                inline.append("".join(buf))
        elif tag == "rPh":
            rph -= 1

    _parse(pkg, part, start, end, buf.append, data, plain=prefixes is not None)
    sheet.max_row = max(1, max_row, _apply_merges(sheet, merges, ctx))


def _apply_merges(sheet: Sheet, merges: list[str], ctx: _Context) -> int:
    """Keep the merged ranges, drop the values of the cells they cover (all but the top-left, as
    openpyxl does), and return the last row they reach (openpyxl counts covered cells in max_row)."""
    cells = sheet.cells
    seen: set[str] = set()
    last = 0
    for ref in merges:
        rng = _parse_range(ref)
        if rng.coord in seen:
            continue
        seen.add(rng.coord)
        sheet.merged.append(rng)
        anchor = (rng.min_row, rng.min_col)
        if anchor == (rng.max_row, rng.max_col):
            continue
        last = max(last, rng.max_row)
        top = min(rng.max_row, ctx.row_cap)
        area = (top - rng.min_row + 1) * (rng.max_col - rng.min_col + 1)
        if area <= 0 or not cells:
            continue
        ctx.work += min(area, len(cells))
        if ctx.work > MAX_MERGE_WORK:
            raise GridLimitError("merged ranges too large")
        if area <= len(cells):
            for r in range(rng.min_row, top + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    if (r, c) != anchor:
                        cells.pop((r, c), None)
        else:
            for r, c in list(cells):
                inside = rng.min_row <= r <= rng.max_row and rng.min_col <= c <= rng.max_col
                if inside and (r, c) != anchor:
                    del cells[r, c]
    ctx.merged += len(sheet.merged)
    return last


def load_grid(
    data: bytes,
    limits: Limits = DEFAULT_LIMITS,
    *,
    sheets: Collection[str] | None = None,
    parts: Mapping[str, bytes] | None = None,
) -> Grid:
    """Read an .xlsx's sheets (cells, merged ranges, hidden rows, states) from its bytes.

    ``sheets``, if given, names the sheets whose part is parsed; the others are listed (name and state)
    but left empty, which saves their parsing time (the reader never looks inside 填表说明).
    ``parts``, if given, holds parts already inflated and checked (by name, e.g. from
    ``check_workbook(parts=…)``): they are used instead of inflating them again.
    Raises :class:`GridError` (a ``ValueError``) on anything malformed, unsupported or beyond a bound.
    Run :func:`selfeval_xlsx.safety.check_workbook` first for findings a clerk can act on.
    """
    try:
        return _load(data, limits, sheets, parts)
    except GridError:
        raise
    except Exception as exc:  # a hostile file can break anything: a refusal, never a crash
        raise GridError(f"{type(exc).__name__}: {exc}") from exc


def _load(
    data: bytes, limits: Limits, wanted: Collection[str] | None, parts: Mapping[str, bytes] | None
) -> Grid:
    pkg = _Package(data, limits, parts)
    part = _workbook_part(pkg)
    sheets, date1904 = _workbook(pkg, part)
    rels = _rels(pkg, part)
    ctx = _Context(limits)
    ctx.epoch = MAC_EPOCH if date1904 else WINDOWS_EPOCH
    for kind, target in rels.values():
        if kind.endswith("/sharedStrings"):
            ctx.shared_strings = _shared_strings(pkg, target)
        elif kind.endswith("/styles"):
            ctx.date_styles, ctx.delta_styles, ctx.percent_styles = _number_styles(pkg, target)
    out: list[Sheet] = []
    names: set[str] = set()
    for title, state, rid in sheets:
        if title in names:
            raise GridError(f"duplicate sheet name {title[:40]!r}")
        names.add(title)
        if state not in ("visible", "hidden", "veryHidden"):
            raise GridError(f"bad sheet state {state[:20]!r}")
        if rid is None or rid not in rels:
            raise GridError(f"sheet {title[:40]!r} has no part")
        kind, target = rels[rid]
        sheet = Sheet(title, state)
        if kind.endswith("/chartsheet") or (wanted is not None and title not in wanted):
            if pkg.find(target) is None:
                raise GridError(f"part {target!r} is missing")
        else:
            _read_sheet(pkg, target, sheet, ctx)
        out.append(sheet)
    return Grid(out)


# ------------------------------------------------------------------------------------------------
# openpyxl adapter
# ------------------------------------------------------------------------------------------------


def grid_from_openpyxl(wb: Any) -> Grid:
    """The same :class:`Grid` built from an openpyxl ``Workbook`` loaded with ``data_only=False``.

    Formulas become their text (``ArrayFormula`` → its text, a data-table formula → ``'='``), rich
    text its plain text; chart sheets are empty sheets.
    """
    sheets: list[Sheet] = []
    for name in wb.sheetnames:
        ws = wb[name]
        sheet = Sheet(name, getattr(ws, "sheet_state", "visible"))
        sheets.append(sheet)
        raw_cells = getattr(ws, "_cells", None)
        if raw_cells is None:  # a chart sheet
            continue
        for (row, col), cell in raw_cells.items():
            value = cell.value
            if value is None:
                continue
            data_type = cell.data_type
            if data_type == "f" and not isinstance(value, str):
                value = getattr(value, "text", None) or "="
            elif not isinstance(value, str | int | float | bool | _dt.date | _dt.time | _dt.timedelta):
                value = str(value)  # CellRichText
            percent = data_type in ("n", "f") and is_percent_format(cell.number_format)
            sheet.cells[row, col] = Cell(value, data_type, percent)
        sheet.hidden_rows = {int(r) for r, dim in ws.row_dimensions.items() if dim.hidden}
        sheet.merged = [
            Range(r.min_row, r.min_col, r.max_row, r.max_col, r.coord) for r in ws.merged_cells.ranges
        ]
        sheet.max_row = ws.max_row
    return Grid(sheets)


# ------------------------------------------------------------------------------------------------
# the scanned path: well-formedness checked without Python callbacks, values found by regular expressions
# ------------------------------------------------------------------------------------------------
#
# Most of a sheet's expat callbacks are spent on markup that holds nothing (styled empty cells, row
# tags, ``<is>``/``<t>`` wrappers). A part written the way office programs and libraries write it is
# read here instead by compiled regular expressions: one that must match the whole of ``<sheetData>``
# (or of ``<sst>``) as a sequence of known elements, and others that pick out the values. The rest of
# the part (its "frame": everything but that region) goes through expat with no handlers, and the
# region's characters through the byte checks that make it well-formed (legal characters, valid UTF-8,
# only the predefined entities and legal character references, no ``]]>``); texts with references are
# decoded by expat itself. A sheet's region is split at each ``</row>``; what a piece reads as depends
# on its bytes only (no style, shared string or shared formula is looked at), so it is remembered by
# them: the template's label rows recur in every workbook, and are matched once per process. Every
# value then goes through the same :class:`_CellMaker` as on the expat path, with the workbook's
# strings and styles. Anything else (another attribute order or quoting, white space between elements,
# rich inline text, cells whose row is not their row's, a comment...) is declined, and the part is
# read by expat as before: the scan is an optimisation whose result is the expat path's, never a
# second reading (checked part by part in the tests, against every other path).


class _Decline(Exception):
    """Raised inside the scanned path: the part is not one it reads exactly; expat reads it."""


_S_COL = rb"(?:[A-Z]{1,2}|[A-W][A-Z]{2}|X[A-E][A-Z]|XF[A-D])"  # A–XFD, as written (no $, upper case)
_S_TEXT = rb"[^<]*+"
# Attributes as office programs write them: one space before each, double quotes, and values without
# references or the white space that expat would normalise.
_S_ATTRS = rb'(?: [A-Za-z_][A-Za-z0-9_.:-]*+="[^"<&\t\n\r]*+")*+'
_S_EMPTIES = (
    rb'(?:<c r="' + _S_COL + rb'(?P=row)"(?: s="[0-9]{1,5}+")?+(?: t="[a-zA-Z]{1,9}+")?+(?:/>|></c>))*+'
)
_S_CONTENT = (
    rb"(?!</c>)(?:<f" + _S_ATTRS + rb"(?:/>|>" + _S_TEXT + rb"</f>))?+(?:<v>" + _S_TEXT + rb"</v>|<v/>)?+"
    rb'(?:<is><t(?: xml:space="preserve")?+>' + _S_TEXT + rb"</t></is>)?+</c>"
)
#: The whole of a ``<sheetData>``'s content: rows, each holding cells of its own row only.
_S_SHEET_DATA = re.compile(
    rb'(?:<row r="(?P<row>[1-9][0-9]{0,6}+)"'
    + _S_ATTRS
    + rb"(?:/>|>"
    + _S_EMPTIES
    + rb'(?:<c r="'
    + _S_COL
    + rb'(?P=row)"(?: s="[0-9]{1,5}+")?+(?: t="[a-zA-Z]{1,9}+")?+>'
    + _S_CONTENT
    + _S_EMPTIES
    + rb")*+</row>))*+"
)
#: A row's tag: its number, its other attributes, and whether a cell follows it.
#: A row's tag: its number, its other attributes, "/" when it closes itself, "<c " when a cell follows.
_S_ROW = re.compile(rb'<row r="([1-9][0-9]{0,6}+)"(' + _S_ATTRS + rb")(?:(/)>|>(<c )?+)")
#: A cell holding something: its reference, style, type, the whole ``<f>`` with its attributes and
#: text, the ``<v>`` text, the whole ``<is>`` and its text.
_S_VALUE_CELL = re.compile(
    rb'<c r="(' + _S_COL + rb'[1-9][0-9]{0,6}+)"(?: s="([0-9]{1,5}+)")?+(?: t="([a-zA-Z]{1,9}+)")?+>(?!</c>)'
    rb"(<f(" + _S_ATTRS + rb")(?:/>|>(" + _S_TEXT + rb")</f>))?+(?:<v>(" + _S_TEXT + rb")</v>|<v/>)?+"
    rb'(<is><t(?: xml:space="preserve")?+>(' + _S_TEXT + rb")</t></is>)?+</c>"
)
_S_ATTR = re.compile(rb'([^ =]++)="([^"]*+)"')
#: Elements the expat path reads (before ``<sheetData>``, none may occur; after it, only merges).
_S_SHEET_TAG = re.compile(rb"<(?:c|v|f|is|t|rPh|row|mergeCells?|sheetData)[\s/>]")
_S_DATA_TAG = re.compile(rb"<(?:c|v|f|is|t|rPh|row|sheetData)[\s/>]")
_S_MERGE_TAG = re.compile(rb"<mergeCell[\s/>]")
_S_STOP = re.compile(rb"<(?:" + b"|".join(n.encode() for n in _AFTER_MERGES if " " not in n) + rb")[\s/>]")
_S_STOP_TAG = re.compile(rb'<[A-Za-z]++(?: [A-Za-z_][A-Za-z0-9_.:-]*+="[^"<]*+")*+/?>')
_S_PREFIXED = re.compile(rb"<[^\s/>!?:]++:")
_S_MERGE_CELL = re.compile(rb'<mergeCell ref="([^"<&\t\n\r]*+)"/>')
#: The bytes of C0 controls, which no XML 1.0 part holds (but tab, LF and CR).
_S_CONTROLS = bytes(b for b in range(32) if b not in (9, 10, 13))
_S_TEXTS: dict[bytes, str] = {}  # texts with references (a template's labels recur in every workbook)
_S_TEXTS_MAX = 20_000
_S_ROW_ATTRS: dict[bytes, bool] = {}  # a row tag's other attributes → hidden
_S_ROW_ATTRS_MAX = 5_000
_S_POSITIONS: dict[bytes, tuple[int, int]] = {}  # references, as _REF_CACHE


def _s_region_ok(region: bytes) -> bool:
    """Whether the characters of ``region`` (whose markup a regular expression matched whole) are
    well-formed: UTF-8, legal characters, no ``]]>`` (references are checked where the texts are read,
    by :func:`_s_texts`)."""
    if len(region.translate(None, _S_CONTROLS)) != len(region):
        return False
    if b"]" in region and b"]]>" in region:  # ("]" is rare: a fast scan first)
        return False
    return region.isascii() or _utf8_clean(region)


def _utf8_clean(data: bytes) -> bool:
    """Whether ``data`` is UTF-8 without the non-characters U+FFFE and U+FFFF (which XML refuses)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return "\ufffe" not in text and "\uffff" not in text


def _s_frame_ok(frame: bytes, final: bool) -> bool:
    """Whether expat, with no handlers (no Python runs per element), accepts ``frame``: the part
    without its scanned region (a whole element, or an element's whole content, which leaves a part
    well-formed exactly when it was) or, when not ``final``, the part up to where reading stops."""
    p = expat.ParserCreate()
    p.StartDoctypeDeclHandler = _refuse
    p.EntityDeclHandler = _refuse
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        p.Parse(frame, final)
    except (expat.ExpatError, GridError):
        return False
    return True


def _s_utf8(data: bytes) -> bool:
    """Whether ``data`` is read as UTF-8 (no declaration, or one naming UTF-8)."""
    declared = _XML_DECL_ENCODING.match(data.removeprefix(b"\xef\xbb\xbf"), 0, 200)
    return declared is None or declared.group(1).lower() in (b"utf-8", b"utf8")


def _s_attrs(raw: bytes, *taken: bytes) -> dict[str, str]:
    """Attributes matched by ``_S_ATTRS`` as a dict; :class:`_Decline` for a repeated name (expat
    refuses it), ``taken`` being names the element already has."""
    pairs = _S_ATTR.findall(raw)
    names = {name for name, _ in pairs}
    if len(names) != len(pairs) or names.intersection(taken):
        raise _Decline
    return {name.decode("utf-8"): value.decode("utf-8") for name, value in pairs}


def _s_row_hidden(attrs: bytes) -> bool:
    hidden = _S_ROW_ATTRS.get(attrs)
    if hidden is None:
        flag = _s_attrs(attrs, b"r").get("hidden")
        hidden = flag is not None and _bool(flag)
        if len(_S_ROW_ATTRS) < _S_ROW_ATTRS_MAX:
            _S_ROW_ATTRS[attrs] = hidden
    return hidden


def _s_position(ref: bytes) -> tuple[int, int]:
    """(row, col) of a reference matched by the scan (A–XFD, rows 1–9,999,999); :class:`GridError` past
    Excel's last row (the expat path refuses it too)."""
    position = _parse_ref(ref.decode("ascii"))  # GridError past the last row
    if len(_S_POSITIONS) < _REF_CACHE_MAX:
        _S_POSITIONS[ref] = position
    return position


def _scan_sheet(data: bytes, sheet: Sheet, ctx: _Context) -> bool:
    """Fill ``sheet`` from ``data`` (a whole sheet part whose names read as written, see
    :func:`_plain_prefixes`) as :func:`_read_sheet_xml` would, without a Python call per element;
    ``False`` (``sheet`` and ``ctx`` untouched) when the part is not one this reads exactly."""
    count, merged, work = ctx.count, ctx.merged, ctx.work
    try:
        _scan_sheet_xml(data, sheet, ctx)
        return True
    except Exception:  # _Decline, or anything the expat path would judge: it reads the part again
        sheet.cells.clear()
        sheet.hidden_rows.clear()
        sheet.merged.clear()
        sheet.max_row = 1
        ctx.count, ctx.merged, ctx.work = count, merged, work
        return False


def _scan_sheet_xml(data: bytes, sheet: Sheet, ctx: _Context) -> None:
    if not _markup_only(data) or not _s_utf8(data):
        raise _Decline  # a comment, CDATA or processing instruction could hide markup from a scan
    # <sheetData> and what lies around it
    start = data.find(b"<sheetData")
    if start < 0 or _S_SHEET_TAG.search(data, 0, start):
        raise _Decline
    if data.startswith(b"<sheetData/>", start):
        region, end = b"", start + len(b"<sheetData/>")
    elif data.startswith(b"<sheetData>", start):
        close = data.find(b"</sheetData>", start)
        if close < 0:
            raise _Decline
        region, end = data[start + len(b"<sheetData>") : close], close + len(b"</sheetData>")
    else:
        raise _Decline
    stop = _S_STOP.search(data, end)
    stop_end = len(data)
    if stop is not None:
        tag = _S_STOP_TAG.match(data, stop.start())
        if tag is not None:
            stop_end = tag.end()
    middle = data[end : stop.start() if stop is not None else len(data)]
    if _S_PREFIXED.search(data, 0, start) or _S_PREFIXED.search(middle):
        raise _Decline  # an element with a prefix (the expat path checks it is declared)
    merges = _S_MERGE_CELL.findall(middle)
    if middle.count(b"<mergeCells") > 1 or len(_S_MERGE_TAG.findall(middle)) != len(merges):
        raise _Decline
    if _S_DATA_TAG.search(middle) or len(merges) + ctx.merged >= MAX_MERGED:
        raise _Decline
    # well-formed: the frame by expat (C only); the region row by row, by its grammar and characters
    if not _s_frame_ok(data[:start] + data[end:stop_end], stop_end == len(data)):
        raise _Decline
    pieces = region.split(b"</row>")  # each "<row …>…" (the grammar's rows end there), then b""
    if pieces[-1]:
        raise _Decline  # self-closing rows at the end: rare, left to expat
    row_cap = ctx.row_cap
    hidden = sheet.hidden_rows
    max_row = 0
    maker = _CellMaker(sheet, ctx)
    put, inline, shared = maker.put, maker.inline, maker.shared
    del pieces[-1]
    seen = _S_ROWS_SEEN
    new = _s_rows([piece for piece in pieces if piece not in seen])
    for piece in pieces:
        rows, cells = seen.get(piece) or new[piece]
        for number, has_cell, is_hidden in rows:
            if has_cell and number > max_row:
                max_row = number
            if is_hidden and number <= row_cap:
                hidden.add(number)
        for position, t, style, v, f, f_attrs, texts in cells:
            if position[0] > row_cap:
                continue
            if f is None:
                if t == "inlineStr":
                    inline(position, texts)
                    continue
                if t == "s":
                    shared(position, v)
                    continue
            put(position[0], position[1], t, style, v, f, f_attrs, texts)
    refs = [ref.decode("utf-8") for ref in merges]
    sheet.max_row = max(1, max_row, _apply_merges(sheet, refs, ctx))


# A row as read by the scan: (number, whether a cell follows its tag, hidden) of each row tag, and each
# cell holding something: position, type, style, <v> text, <f> text, <f> attributes, <is> texts.
_ScannedCell = tuple[
    tuple[int, int], str, str | None, str | None, str | None, dict[str, str], list[str] | None
]
_ScannedRows = tuple[tuple[tuple[int, bool, bool], ...], tuple[_ScannedCell, ...]]
_S_ROWS_SEEN: dict[bytes, _ScannedRows] = {}  # a row's bytes → what it reads as (labels recur)
_S_ROWS_SEEN_MAX = 20_000
_S_ROWS_SEEN_PIECE = 16 * 1024  # longer rows are not remembered


def _s_rows(pieces: list[bytes]) -> dict[bytes, _ScannedRows]:
    """What each of ``pieces`` (a region's bytes up to a ``</row>``, without it) reads as, independent
    of the workbook (no style, shared string or shared formula is looked at); :class:`_Decline` (or
    :class:`GridError`) when one is not read exactly by the scan. Each is remembered by its bytes."""
    if not pieces:
        return {}
    joined = b"</row>".join(pieces) + b"</row>"  # (a sequence of rows exactly when each piece is one)
    if _S_SHEET_DATA.fullmatch(joined) is None or not _s_region_ok(joined):
        raise _Decline
    # the row tags of each piece: rows closing themselves, then the one open row (holding the cells)
    tags: list[list[tuple[int, bool, bool]]] = []
    open_rows: list[int] = []
    current: list[tuple[int, bool, bool]] = []
    for number, attrs, closed, has_cell in _S_ROW.findall(joined):
        row = int(number)
        if row > MAX_ROW:
            raise _Decline  # (the expat path refuses it)
        current.append((row, bool(has_cell), bool(attrs) and _s_row_hidden(attrs)))
        if not closed:
            tags.append(current)
            open_rows.append(row)
            current = []
    if len(tags) != len(pieces) or len(set(open_rows)) != len(open_rows):
        raise _Decline  # (a row number twice: its cells could not be told apart here)
    # the cells, by row (each cell is in its own row): every text is read, even one its cell's type
    # ignores, since each must be well-formed
    found = _S_VALUE_CELL.findall(joined)
    texts = _s_texts([raw for cell in found for raw in (cell[5], cell[6], cell[8]) if raw])
    decoded = texts.get
    by_row: dict[int, list[_ScannedCell]] = {}
    for ref, s, t, f_el, f_attrs, f, v, is_el, inline in found:
        position = _S_POSITIONS.get(ref) or _s_position(ref)
        cell = (
            position,
            t.decode("ascii") if t else "n",
            s.decode("ascii") if s else None,
            decoded(v) if v else None,
            decoded(f, "") if f_el else None,
            _s_attrs(f_attrs) if f_attrs else {},
            [decoded(inline, "")] if is_el else None,
        )
        cells = by_row.get(position[0])
        if cells is None:
            by_row[position[0]] = [cell]
        else:
            cells.append(cell)
    out: dict[bytes, _ScannedRows] = {}
    for piece, row_tags, row in zip(pieces, tags, open_rows, strict=True):
        scanned = out[piece] = (tuple(row_tags), tuple(by_row.get(row, ())))
        if len(_S_ROWS_SEEN) < _S_ROWS_SEEN_MAX and len(piece) <= _S_ROWS_SEEN_PIECE:
            _S_ROWS_SEEN[piece] = scanned
    return out


def _s_texts(raws: list[bytes]) -> dict[bytes, str]:
    """The text expat gives for each of ``raws`` (character data of a region that passed
    :func:`_s_region_ok`). Those with references or carriage returns that were not seen before are
    read by expat itself, all in one run (one Python call per text, none per reference)."""
    out: dict[bytes, str] = {}
    pending: list[bytes] = []
    for raw in raws:
        if raw in out:
            continue
        if b"&" not in raw and b"\r" not in raw:
            out[raw] = raw.decode("utf-8")
            continue
        known = _S_TEXTS.get(raw)
        if known is None:
            pending.append(raw)
            known = ""  # (for now)
        out[raw] = known
    if pending:
        for raw, text in zip(pending, _s_expat_texts(pending), strict=True):
            out[raw] = text
            if len(_S_TEXTS) < _S_TEXTS_MAX and len(raw) <= 1024:
                _S_TEXTS[raw] = text
    return out


def _s_expat_texts(raws: list[bytes]) -> list[str]:
    """``raws`` (texts without ``<``) read by expat as the contents of elements: line ends normalised,
    references replaced, an undefined entity or an illegal character refused (:class:`GridError`)."""
    texts: list[str] = []
    buf: list[str] = []

    def end(_name: str) -> None:
        texts.append("".join(buf))
        buf.clear()

    p = expat.ParserCreate()
    p.StartDoctypeDeclHandler = _refuse
    p.EntityDeclHandler = _refuse
    p.buffer_text = True
    p.CharacterDataHandler = buf.append
    p.EndElementHandler = end
    try:
        p.Parse(b"<a><t>" + b"</t><t>".join(raws) + b"</t></a>", True)
    except expat.ExpatError as exc:
        raise GridError(str(exc)) from exc
    if len(texts) != len(raws) + 1:  # (each text's element, then the root)
        raise _Decline
    return texts[:-1]


#: A shared strings part's root tag (after the XML declaration).
_S_SST_TAG = re.compile(
    rb"(?:<\?xml[^?>]*+\?>)?+"
    rb'[ \t\r\n]*+<sst(?:[ \t\r\n]++[A-Za-z_][A-Za-z0-9_.:-]*+="[^"<]*+")*+[ \t\r\n]*+>'
)
# A run of text, with the properties :func:`_strip_run_props` would cut (their elements are empty and
# hold no text: the expat path reads the same with or without them).
_S_RUN = rb"<r>(?:" + _RUN_PROPS.pattern + rb')?+<t(?: xml:space="preserve")?+>' + _S_TEXT + rb"</t></r>"
#: The whole content of ``<sst>``: string items, each plain text or runs of text.
_S_STRINGS = re.compile(
    rb'(?:<si>(?:<t(?: xml:space="preserve")?+>' + _S_TEXT + rb"</t>|(?:" + _S_RUN + rb")++)</si>)*+"
)
_S_STRING_TEXT = re.compile(rb'<t(?: xml:space="preserve")?+>(' + _S_TEXT + rb")</t>")
_S_STRINGS_SEEN: dict[bytes, str] = {}  # a string item → its text (a template's labels recur)
_S_STRINGS_SEEN_MAX = 20_000


def _scan_shared_strings(data: bytes) -> list[str] | None:
    """The shared strings of ``data`` (a whole part whose names read as written) as
    :func:`_shared_strings` reads them, without a Python call per element; ``None`` when the part is
    not one this reads exactly."""
    try:
        if not _markup_only(data) or not _s_utf8(data):
            return None
        body = data.removeprefix(b"\xef\xbb\xbf")
        head = _S_SST_TAG.match(body)
        close = body.rfind(b"</sst>")
        if head is None or close < head.end():
            return None
        region = body[head.end() : close]
        if _S_STRINGS.fullmatch(region) is None or not _s_region_ok(region):
            return None
        if not _s_frame_ok(data[: len(data) - len(body) + head.end()] + body[close:], True):
            return None
        items = region.split(b"</si>")  # (each item but the last, empty, is "<si>…")
        if len(items) - 1 > MAX_SHARED_STRINGS:
            return None
        seen = _S_STRINGS_SEEN
        found = {item: _S_STRING_TEXT.findall(item) for item in items[:-1] if item not in seen}
        texts = _s_texts([raw for raws in found.values() for raw in raws])  # one expat run for all
        made = {
            item: "".join([texts[raw] for raw in raws]).replace("x005F_", "")  # as openpyxl does
            for item, raws in found.items()
        }
        for item, value in made.items():
            if len(seen) < _S_STRINGS_SEEN_MAX and len(item) <= 4096:
                seen[item] = value
        return [made[item] if item in made else seen[item] for item in items[:-1]]
    except Exception:  # _Decline, or anything the expat path would judge
        return None


__all__ = [
    "MAX_CELLS",
    "Cell",
    "Grid",
    "GridError",
    "GridLimitError",
    "Range",
    "Sheet",
    "grid_from_openpyxl",
    "load_grid",
]
