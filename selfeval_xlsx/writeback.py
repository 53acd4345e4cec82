"""Writing a document back onto the template's canvases: a township's values at the cells they were
read from, the tool's outputs and the reviewer's marks (completed and returned workbooks)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from . import layout
from .document import CellRef, Document
from .template import BOX, DATE_FORMAT, MARK, field_style, locate
from .version import TEMPLATE_VERSION
from .xlsx.canvas import Canvas, Cell, Style, shared_style
from .xlsx.cells import a1, parse_a1

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def typed_value(value: Any, f: layout.Field | None) -> Any:
    """The value as it should be written: ISO dates of date fields become dates; the rest unchanged."""
    if isinstance(value, str) and (f is None or f.type is layout.FieldType.DATE) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def cell_position(cv: Canvas, ref: str) -> tuple[int, int] | None:
    """The cell to write for an A1 reference or range: its first cell, or the merge holding it."""
    at = _first_cell(ref)
    return None if at is None else cv.anchor(*at)


@lru_cache(maxsize=8192)
def _first_cell(ref: str) -> tuple[int, int] | None:
    """(row, column) of an A1 reference's or range's first cell, if it parses and is on a sheet (the
    same references come back with every workbook)."""
    try:
        row, col = parse_a1(ref.split(":")[0].strip())
    except ValueError:
        return None
    if not (1 <= row <= 1_048_576 and 1 <= col <= 16_384):
        return None
    return row, col


def set_value(cv: Canvas, ref: str, value: Any, f: layout.Field | None) -> None:
    """Write ``value`` (typed for field ``f``) at ``ref``, replacing any formula there; a number in a
    text-formatted cell loses the text format."""
    if (at := cell_position(cv, ref)) is None:
        return
    was = cv.cells.get(at)
    style = _field_style(f) if was is None else was.style
    value = typed_value(value, f)
    if isinstance(value, date):
        style = {**style, "num_format": DATE_FORMAT}
    elif (
        isinstance(value, int | float | Decimal)
        and not isinstance(value, bool)
        and style.get("num_format") == "@"
    ):
        style = {k: v for k, v in style.items() if k != "num_format"}
    cv.set(*at, Cell(value, style, comment=None if was is None else was.comment))


@lru_cache(maxsize=256)
def _field_style(f: layout.Field | None) -> Style:
    """The shared style of a new cell for field ``f`` (see :func:`~.xlsx.canvas.shared_style`)."""
    return shared_style(field_style(f))


def output_ref(pointer: str, doc: Document | None) -> tuple[str, str] | None:
    """Where a tool output goes: the document's own cell, else a row sibling's, else the layout's."""
    if doc is not None and pointer in doc.cells:
        ref = doc.cells[pointer]
        return ref.sheet, ref.cell
    parts = pointer.strip("/").split("/")
    try:
        sheet, p = locate(parts[0])
    except KeyError:
        return None
    if isinstance(p.block, layout.Table) and len(parts) == 3 and parts[1].isdigit():
        if parts[2] not in {c.key for c in p.block.columns}:
            return None
        col = layout.table_col(p, parts[2])
        prefix = f"/{parts[0]}/{parts[1]}/"
        for ptr, ref in (doc.cells if doc else {}).items():
            if ptr.startswith(prefix):
                return ref.sheet, a1(int(re.sub(r"\D", "", ref.cell.split(":")[0]) or 0), col)
        return sheet.name, a1(layout.table_row(p, int(parts[1])), col)
    try:
        return layout.cell_of(pointer)
    except (KeyError, ValueError):  # a row or column the layout does not have
        return None


def relocate(
    doc: Document, marks: Mapping[tuple[str, str], Sequence[str]] | None
) -> tuple[Document, Mapping[tuple[str, str], Sequence[str]] | None]:
    """A document read from an earlier template, and its marks, moved to this template's cells.

    Forms and grids move (their rows shifted when fields and rows were added); tables and matrices did
    not move. Marks at cells no value was read from stay where they were.
    """
    fixed = {
        p.block.key
        for sheet in layout.WORKBOOK.data_sheets
        for p in sheet.placements
        if isinstance(p.block, layout.Form | layout.Grid)
    }
    cells, moves = {}, {}
    for pointer, ref in doc.cells.items():
        new = layout.cell_of(pointer) if pointer.strip("/").split("/")[0] in fixed else None
        if new is None:
            cells[pointer] = ref
            continue
        cells[pointer] = CellRef(*new)
        moves[ref.sheet, ref.cell] = new
    moved: dict[tuple[str, str], list[str]] = {}
    for (sheet, address), messages in (marks or {}).items():
        moved.setdefault(moves.get((sheet, address), (sheet, address)), []).extend(messages)
    return replace(doc, cells=cells, template_version=TEMPLATE_VERSION), moved


def overlay(
    canvases: dict[str, Canvas],
    doc: Document | None,
    outputs: Mapping[str, object] | None,
    marks: Mapping[tuple[str, str], Sequence[str]] | None,
) -> None:
    """Write a township's values (at the cells they were read from), the tool's ``outputs`` (by JSON
    pointer) and reviewer ``marks`` (fill and comment) onto the blank template's canvases."""
    if doc is not None:
        get, field_at = doc.get, layout.field_at
        for pointer, ref in doc.cells.items():
            cv = canvases.get(ref.sheet)
            if cv is None:
                continue
            value = get(pointer)
            if isinstance(value, dict):
                value = value.get("value")
            if value is None or value == "" or isinstance(value, dict | list):
                continue
            set_value(cv, ref.cell, value, field_at(pointer))
    for pointer, value in (outputs or {}).items():
        where = output_ref(pointer, doc)
        if value is None or where is None or where[0] not in canvases:
            continue
        set_value(canvases[where[0]], where[1], value, layout.field_at(pointer))
    for (sheet, address), messages in (marks or {}).items():
        if sheet not in canvases or not messages:
            continue
        cv = canvases[sheet]
        if (at := cell_position(cv, address)) is None:
            continue
        for spot in span_of(cv, address):  # a range (J5:J11) is coloured whole
            other = cv.edit(*spot) if spot in cv.cells else cv.put(*spot, None, BOX)
            other.style = {**other.style, **MARK}
        row, col = at
        cell = cv.edit(row, col) if (row, col) in cv.cells else cv.put(row, col, None, BOX)
        cell.style = {**cell.style, **MARK}
        earlier = cell.comment.split("\n") if cell.comment else []
        cell.comment = "\n".join(dict.fromkeys([*earlier, *(str(m) for m in messages)]))


def span_of(cv: Canvas, ref: str) -> list[tuple[int, int]]:
    """The cells of a range reference (its top-left merge anchors), at most a few hundred; [] for one
    cell or a reference that does not parse."""
    if ":" not in ref:
        return []
    try:
        (r0, c0), (r1, c1) = (parse_a1(part.strip()) for part in ref.split(":", 1))
    except ValueError:
        return []
    r0, r1, c0, c1 = min(r0, r1), max(r0, r1), min(c0, c1), max(c0, c1)
    if (r1 - r0 + 1) * (c1 - c0 + 1) > 500:
        return []
    return list(dict.fromkeys(cv.anchor(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)))
