"""A sheet laid out in memory (:class:`Canvas`) before xlsxwriter writes it (:func:`flush`).

Rows and columns are 1-based, as Excel shows them. Canvases can be copied and changed (a completed
workbook is the template's canvas with values set), and cells share style dicts: a style is replaced,
never changed in place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

#: A cell style: xlsxwriter format properties.
Style = dict[str, Any]

#: Height in points of one line of text at the template's font size.
LINE_HEIGHT = 15


class FormatSource(Protocol):
    """Where :func:`flush` gets the xlsxwriter format of a style (``template.Formats``)."""

    def get(self, *styles: Style, **props: Any) -> Format:
        """The format of the merged styles (later ones win)."""
        ...

    def of(self, style: Style) -> Format:
        """``get(style)``, looked up once per style dict (styles are replaced, never changed)."""
        ...


_STYLES: dict[tuple[tuple[str, Any], ...], Style] = {}  # one dict per distinct style (see _shared)


def shared_style(style: Style | None) -> Style:
    """The one dict of this style that cells share: canvases hold some 2,000 cells but ~150 styles, and
    :func:`flush` looks each style's format up once. Shared styles are replaced, never changed."""
    key = tuple((style or {}).items())
    try:
        hit = _STYLES.get(key)
    except TypeError:  # an unhashable value: not shared
        return dict(style or {})
    if hit is None:
        hit = dict(key)
        if len(_STYLES) < 10_000:
            _STYLES[key] = hit
    return hit


@dataclass
class Cell:
    """One cell of a :class:`Canvas`: its value or formula, style, and comment."""

    value: Any = None
    style: Style = field(default_factory=dict)
    formula: str | None = None
    source: tuple[str, int, int] | None = None  # the cell a formula shows: its cached value
    comment: str | None = None


@dataclass
class Canvas:
    """One sheet before it is written: 1-based cells, merges, validations, row heights."""

    name: str
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    merges: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    validations: list[tuple[int, int, int, int, dict[str, Any]]] = field(default_factory=list)
    conditionals: list[tuple[int, int, int, int, str]] = field(default_factory=list)  # formula → red
    heights: dict[int, float] = field(default_factory=dict)
    widths: dict[int, float] = field(default_factory=dict)

    edited: dict[tuple[int, int], None] | None = None  # on a copy: the cells written since (see edit)
    #: every merged cell → its range's top-left cell (see anchor); shared by copies, dropped by merge
    anchors: dict[tuple[int, int], tuple[int, int]] | None = field(default=None, repr=False, compare=False)

    def copy(self) -> Canvas:
        """A copy whose cells, heights and widths can be changed independently. The copy shares the
        original's cells until :meth:`edit` (or :meth:`put`) replaces one, and remembers which it
        replaced (:attr:`edited`), so a copy of a canvas of some 2,000 cells costs one dict copy. Cells
        share their style dicts with the original: a style is replaced (``cell.style = {**cell.style,
        …}``), never changed in place."""
        return Canvas(
            self.name,
            dict(self.cells),
            dict(self.merges),
            list(self.validations),
            list(self.conditionals),
            dict(self.heights),
            dict(self.widths),
            {},
            self._anchor_map(),
        )

    def put(self, row: int, col: int, value: Any = None, style: Style | None = None, **kw: Any) -> Cell:
        """Set the cell at (row, col) (1-based), its style shared (see :func:`shared_style`)."""
        cell = Cell(value, shared_style(style), **kw)
        self.cells[row, col] = cell
        if self.edited is not None:
            self.edited[row, col] = None
        return cell

    def set(self, row: int, col: int, cell: Cell) -> None:
        """Put ``cell`` at (row, col) as it is: its style must be shared (:func:`shared_style`) or its
        own, and is never changed in place."""
        self.cells[row, col] = cell
        if self.edited is not None:
            self.edited[row, col] = None

    def edit(self, row: int, col: int) -> Cell:
        """The cell at (row, col) (it must exist), to change in place: on a copy, the original's cell
        is copied first, once, and the position recorded in :attr:`edited`."""
        cell = self.cells[row, col]
        if self.edited is not None and (row, col) not in self.edited:
            cell = self.cells[row, col] = Cell(
                cell.value, cell.style, cell.formula, cell.source, cell.comment
            )
            self.edited[row, col] = None
        return cell

    def merge(self, row: int, col: int, last_col: int, value: Any, style: Style) -> None:
        """A one-row merged range (a single cell when it spans one column)."""
        self.put(row, col, value, style)
        if last_col > col:
            self.merges[row, col] = (row, last_col)
            self.anchors = None

    def anchor(self, row: int, col: int) -> tuple[int, int]:
        """The top-left cell of the merged range holding (row, col), or the cell itself. The merged
        cells are mapped once (merges are added through :meth:`merge` only) and the map is shared with
        copies, which keep the merges."""
        anchors = self._anchor_map()
        if anchors is not None:
            return anchors.get((row, col), (row, col))
        for (r, c), (lr, lc) in self.merges.items():
            if r <= row <= lr and c <= col <= lc:
                return r, c
        return row, col

    def _anchor_map(self) -> dict[tuple[int, int], tuple[int, int]] | None:
        """:attr:`anchors`, mapped on first need; ``None`` when a merge is too large to map."""
        if self.anchors is None:
            anchors: dict[tuple[int, int], tuple[int, int]] = {}
            for (r, c), (lr, lc) in self.merges.items():
                if (lr - r + 1) * (lc - c + 1) > 10_000:
                    return None
                for rr in range(r, lr + 1):
                    for cc in range(c, lc + 1):
                        anchors.setdefault((rr, cc), (r, c))
            self.anchors = anchors
        return self.anchors

    def validate(self, row: int, col: int, last_row: int, opts: dict[str, Any] | None) -> None:
        """Add a data validation (xlsxwriter's options) over one column, rows ``row`` to ``last_row``."""
        if opts:
            self.validations.append((row, col, last_row, col, opts))


_NARROW = re.compile("[\x00-\u2e7f]+")  # characters one column wide; the rest (CJK) are two


def text_width(text: str) -> int:
    """Columns a line of text takes: two per CJK (or later) character, one per other character."""
    return len(text) if text.isascii() else 2 * len(text) - len("".join(_NARROW.findall(text)))


@lru_cache(maxsize=4096)
def wrapped_lines(text: str, width: float) -> int:
    """Rough number of lines a text wraps to in a column span of ``width`` characters."""
    per_line = max(width - 2, 4)
    n = 0
    for part in text.split("\n"):
        n += max(1, math.ceil(text_width(part) / per_line))
    return n


def fit_rows(cv: Canvas) -> None:
    """Make rows tall enough for the wrapped text they hold (Excel does not grow rows on opening)."""
    for (row, col), cell in cv.cells.items():
        if not (isinstance(cell.value, str) and cell.style.get("text_wrap")):
            continue
        last_col = cv.merges.get((row, col), (row, col))[1]
        width = sum(cv.widths.get(c, 8.43) for c in range(col, last_col + 1))
        needed = LINE_HEIGHT * wrapped_lines(cell.value, width) + 4
        if needed > cv.heights.get(row, LINE_HEIGHT + 2):
            cv.heights[row] = min(needed, 409)


def changed_cells(
    cv: Canvas,
    blank: Canvas,
    always: Iterable[tuple[int, int]] | None = None,
    canvases: Mapping[str, Canvas] | None = None,
) -> list[tuple[int, int]]:
    """The cells of ``cv``, a changed copy of ``blank``, that are not the blank's: a value or style
    replaced, a cell added, and every formula (its cached value follows its source) and comment.

    ``always``: the blank's cells with a formula or a comment (:func:`noted_cells`), if known; with it
    and a copy that recorded its edits (:meth:`Canvas.copy`), only the edited cells are looked at.
    ``canvases``: the copies a formula's cached value is taken from (the blank's copies, edits
    recorded), if known: a formula the copy took unchanged whose source cell was not edited shows the
    blank's value and is left out."""
    old = blank.cells
    if always is None or cv.edited is None:
        keys: Iterable[tuple[int, int]] = cv.cells
    else:
        keys = [*(k for k in always if k not in cv.edited), *cv.edited]
    out = []
    for key in keys:
        cell = cv.cells[key]
        was = old.get(key)
        if cell is was and canvases is not None and _shows_the_blank(cell, canvases):
            continue
        if (
            was is None
            or cell.formula is not None
            or cell.comment is not None
            or cell.value is not was.value
            or cell.style is not was.style
        ):
            out.append(key)
    return out


def _shows_the_blank(cell: Cell, canvases: Mapping[str, Canvas]) -> bool:
    """Whether a blank's cell, taken unchanged by a copy, is written as the blank wrote it: no comment,
    and a formula whose source cell (if any) its copy in ``canvases`` did not edit."""
    if cell.comment is not None or cell.formula is None:
        return False
    if cell.source is None:
        return True
    src = canvases.get(cell.source[0])
    return src is not None and src.edited is not None and cell.source[1:] not in src.edited


def noted_cells(cv: Canvas) -> list[tuple[int, int]]:
    """The cells of a canvas that hold a formula or a comment (always written again over it)."""
    return [k for k, c in cv.cells.items() if c.formula is not None or c.comment is not None]


def fit_rows_over(
    cv: Canvas, blank: Canvas, fitted: Mapping[int, float], changed: list[tuple[int, int]]
) -> None:
    """:func:`fit_rows` of ``cv``, a copy of ``blank`` whose rows and columns are the blank's and whose
    changed cells are ``changed``, given ``fitted``, the blank's heights once fitted: only the changed
    cells are measured (all of them again when one replaced wrapped text, which could shrink a row)."""
    for key in changed:
        was = blank.cells.get(key)
        if was is not None and isinstance(was.value, str) and was.style.get("text_wrap"):
            fit_rows(cv)
            return
    cv.heights.update(fitted)
    for row, col in changed:
        cell = cv.cells[row, col]
        if not (isinstance(cell.value, str) and cell.style.get("text_wrap")):
            continue
        last_col = cv.merges.get((row, col), (row, col))[1]
        width = sum(cv.widths.get(c, 8.43) for c in range(col, last_col + 1))
        needed = LINE_HEIGHT * wrapped_lines(cell.value, width) + 4
        if needed > cv.heights.get(row, LINE_HEIGHT + 2):
            cv.heights[row] = min(needed, 409)


def write_value(ws: Worksheet, row: int, col: int, value: Any, fmt: Format) -> None:
    """Write one value (0-based position) with the writer its type needs (xlsxwriter's public ones)."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, int | float | Decimal) and math.isfinite(value):
        ws.write_number(row, col, float(value), fmt)
    elif isinstance(value, datetime | date):
        dt = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        ws.write_datetime(row, col, dt, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def flush(
    cv: Canvas, ws: Worksheet, formats: FormatSource, canvases: Mapping[str, Canvas], comment_author: str
) -> None:
    """Write a canvas into an xlsxwriter worksheet: widths, heights, merges, cells (a formula with the
    value of its ``source`` cell in ``canvases`` cached), comments by ``comment_author``, validations and
    conditional formats (formula true → red)."""
    for col, w in sorted(cv.widths.items()):
        ws.set_column(col - 1, col - 1, w)
    for row, h in sorted(cv.heights.items()):
        ws.set_row(row - 1, h)
    for (row, col), (last_row, last_col) in cv.merges.items():
        ws.merge_range(
            row - 1, col - 1, last_row - 1, last_col - 1, "", formats.get(cv.cells[row, col].style)
        )
    for (row, col), cell in cv.cells.items():
        _write_cell(ws, row, col, cell, formats.of(cell.style), canvases, comment_author)
    for r0, c0, r1, c1, opts in cv.validations:
        ws.data_validation(r0 - 1, c0 - 1, r1 - 1, c1 - 1, opts)
    red = formats.get({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
    for r0, c0, r1, c1, formula in cv.conditionals:
        ws.conditional_format(
            r0 - 1, c0 - 1, r1 - 1, c1 - 1, {"type": "formula", "criteria": formula, "format": red}
        )


def _write_cell(
    ws: Worksheet,
    row: int,
    col: int,
    cell: Cell,
    fmt: Format,
    canvases: Mapping[str, Canvas],
    comment_author: str,
) -> None:
    """One cell of :func:`flush` (1-based position): its value or formula, and its comment."""
    if cell.formula:
        cached: Any = ""
        if cell.source:
            src = canvases.get(cell.source[0])
            hit = src.cells.get(cell.source[1:]) if src else None
            cached = hit.value if hit and hit.value is not None else ""
        if isinstance(cached, Decimal | date):
            cached = str(cached)
        ws.write_formula(row - 1, col - 1, cell.formula, fmt, cached)
    else:
        write_value(ws, row - 1, col - 1, cell.value, fmt)
    if cell.comment:
        lines = wrapped_lines(cell.comment, 40)
        ws.write_comment(
            row - 1,
            col - 1,
            cell.comment,
            {"author": comment_author, "x_scale": 2.2, "y_scale": 0.6 + 0.4 * lines},
        )


def flush_over(
    cv: Canvas,
    blank: Canvas,
    drawn: Any,
    ws: Any,
    formats: FormatSource,
    canvases: Mapping[str, Canvas],
    comment_author: str,
    changed: list[tuple[int, int]] | None = None,
    drawn_heights: Mapping[int, float] | None = None,
) -> None:
    """What :func:`flush` writes for ``cv``, a changed copy of ``blank``, on a recording sheet
    (:class:`~.bookparts.Sheet`): it takes ``drawn``, the sheet ``blank`` was flushed on once, and then
    writes only what differs from the blank: cells whose value or style changed, every formula (its
    cached value follows its source) and comment, and row heights. Widths, merges, validations and
    conditional formats are the blank's (a copy keeps them). ``changed``: :func:`changed_cells`, if
    known; ``drawn_heights``: the row heights ``drawn`` was flushed with, if not the blank's (rows
    fitted to their text once, see :func:`fit_rows_over`)."""
    ws.copy_from(drawn)
    was = blank.heights if drawn_heights is None else drawn_heights
    for row, h in sorted(cv.heights.items()):
        if was.get(row) != h:
            ws.set_row(row - 1, h)
    cells = cv.cells
    for row, col in changed_cells(cv, blank) if changed is None else changed:
        cell = cells[row, col]
        _write_cell(ws, row, col, cell, formats.of(cell.style), canvases, comment_author)
