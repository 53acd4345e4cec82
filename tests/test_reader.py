"""The reader's shortcuts (issue 6) read exactly what a cell-by-cell reading of the layout reads.

The reader precomputes the layout's positions once and looks only at the cells a sheet holds; these
tests pin what that must not change: blank-looking cells count as blank, the order of the cells in the
file does not matter, every pointer maps to the cell the layout names, and the A1 helpers (no longer
borrowed from openpyxl) name columns as Excel does.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils.cell import column_index_from_string, get_column_letter
from workbooks import chain, panel_cell, seed_bytes, set_indicator

from selfeval_xlsx import layout, reader
from selfeval_xlsx.document import Document
from selfeval_xlsx.limits import DEFAULT_LIMITS
from selfeval_xlsx.values import _SPACES, trim_spaces
from selfeval_xlsx.xlsx.cells import MAX_COLUMN, a1, column_letter, parse_a1
from selfeval_xlsx.xlsx.grid import load_grid


def read_grid(grid) -> Document:  # type: ignore[no-untyped-def]
    doc = Document(file="t.xlsx")
    reader._Reader(grid, doc, DEFAULT_LIMITS).read()
    return doc


def snapshot(doc: Document) -> tuple:
    return doc.data, dict(doc.cells), [f.to_dict() for f in doc.findings]


def test_every_form_and_grid_pointer_is_at_the_layouts_cell() -> None:
    doc = read_grid(load_grid(seed_bytes(), sheets=reader._READ_SHEETS))
    pointers = [
        f"/{p.block.key}/{f.key}" if isinstance(p.block, layout.Form) else f"/{p.block.key}/{row}/{f.key}"
        for sheet in layout.WORKBOOK.data_sheets
        for p in sheet.placements
        if isinstance(p.block, layout.Form | layout.Grid)
        for row in ((None,) if isinstance(p.block, layout.Form) else [k for k, _ in p.block.rows])
        for f in (
            p.block.fields if isinstance(p.block, layout.Form) else (*p.block.columns, *p.block.outputs)
        )
    ]
    assert len(pointers) == 18 + 6 * 6  # 18 form fields; 6 budget rows × 3 inputs + 3 outputs
    for pointer in pointers:
        ref = doc.cells[pointer]
        assert (ref.sheet, ref.cell) == layout.cell_of(pointer), pointer


def test_blank_looking_cells_read_as_empty_ones() -> None:
    """A row whose inputs hold only spaces (full-width, no-break, empty text) is no record; a score of
    spaces is no entry: the same document as without them."""
    blanks = ("   ", "\u3000", "\u00a0 ", "")
    keys = [f.key for f in layout.INDICATORS.inputs]
    edits = [set_indicator(8, key, blanks[i % len(blanks)]) for i, key in enumerate(keys)]

    def spaces_in_panel(wb) -> None:  # type: ignore[no-untyped-def]
        sheet, ref = panel_cell(9, 2)
        wb[sheet][ref] = " \u3000 "

    plain = read_grid(load_grid(seed_bytes(), sheets=reader._READ_SHEETS))
    spaced = read_grid(load_grid(seed_bytes(chain(*edits, spaces_in_panel)), sheets=reader._READ_SHEETS))
    assert snapshot(spaced) == snapshot(plain)
    assert len(plain.data["indicators"]) == 6


def test_the_order_of_cells_in_the_sheet_does_not_matter() -> None:
    def extra(wb) -> None:  # type: ignore[no-untyped-def]
        wb[layout.INDICATOR_SHEET.name]["P9"] = "表外"  # beyond the table: one extra-data finding
        wb[layout.PANEL_SHEET.name]["B200"] = "表下"

    grid = load_grid(seed_bytes(extra), sheets=reader._READ_SHEETS)
    expected = snapshot(read_grid(grid))
    assert {f["code"] for f in expected[2]} >= {"extra-data"}
    rng = random.Random(6)
    for name in grid.sheetnames:
        items = list(grid[name].cells.items())
        rng.shuffle(items)
        grid[name].cells = dict(items)
    assert snapshot(read_grid(grid)) == expected


def test_column_letters_match_excel_for_every_column() -> None:
    for col in range(1, MAX_COLUMN + 1):
        letters = get_column_letter(col)
        assert column_letter(col) == letters
        assert parse_a1(f"${letters.lower()}$12") == (12, column_index_from_string(letters))
    assert a1(4, 2) == "B4"
    for col in (0, -1, MAX_COLUMN + 1):
        with pytest.raises(ValueError, match="Invalid column index"):
            a1(1, col)


def reference_clean_text(raw: str) -> str:
    """trim_spaces as first written: line by line, then the outer line breaks and spaces."""
    lines = [
        _SPACES.sub(" ", line).strip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    return "\n".join(lines).strip("\n ")


@given(st.text(alphabet=st.sampled_from("ab 宋\t\n\r\u3000\u00a0\u200b\ufeff\u2028\x0b\x1c")) | st.text())
def test_clean_text_shortcuts_match_the_line_by_line_rule(raw: str) -> None:
    assert trim_spaces(raw) == reference_clean_text(raw)
