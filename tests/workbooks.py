"""Helpers that build real workbooks for tests: the template, filled and then edited with openpyxl."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sampledata
from openpyxl import Workbook
from openpyxl_fill import filled_bytes

from selfeval_xlsx import layout

Edit = Callable[[Workbook], None]


def seed_bytes(edit: Edit | None = None, data: dict[str, Any] | None = None) -> bytes:
    """The seed township's workbook, optionally edited."""
    return filled_bytes(data or sampledata.seed(), sampledata.YEAR, edit)


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def cell_of(pointer: str) -> tuple[str, str]:
    """(sheet, A1) of a Form/Grid pointer, from the layout."""
    found = layout.cell_of(pointer)
    assert found is not None, pointer
    return found


def set_value(pointer: str, value: Any) -> Edit:
    """An edit that types ``value`` into the cell of a Form/Grid pointer."""
    sheet, ref = cell_of(pointer)

    def edit(wb: Workbook) -> None:
        wb[sheet][ref] = value

    return edit


def indicator_cell(index: int, key: str) -> tuple[str, str]:
    """(sheet, A1) of an indicator table cell (0-based template row)."""
    p = layout.INDICATOR_SHEET.find("indicators")
    from selfeval_xlsx.xlsx.cells import a1

    return layout.INDICATOR_SHEET.name, a1(layout.table_row(p, index), layout.table_col(p, key))


def set_indicator(index: int, key: str, value: Any) -> Edit:
    sheet, ref = indicator_cell(index, key)

    def edit(wb: Workbook) -> None:
        wb[sheet][ref] = value

    return edit


def panel_cell(indicator_seq: int, member_seq: int) -> tuple[str, str]:
    from selfeval_xlsx.xlsx.cells import a1

    p = layout.PANEL_SHEET.find("panel_scores")
    return layout.PANEL_SHEET.name, a1(*layout.matrix_cell(p, indicator_seq - 1, member_seq - 1))


def chain(*edits: Edit) -> Edit:
    def edit(wb: Workbook) -> None:
        for e in edits:
            e(wb)

    return edit
