"""An xlsxwriter worksheet that writes the same XML with fewer Python calls per cell.

xlsxwriter's general cell writer builds an attribute list and escapes every attribute of every cell; a
completed workbook has ~2,000 cells and a county roll-up ~10⁵. :class:`FastWorksheet` writes formatted
text, number and blank cells directly and remembers how each formula text was prepared. Both override
private methods of xlsxwriter's ``Worksheet``: ``tests/test_xlsxfast.py`` and ``tests/test_rollup_fast.py``
compare every part of the workbooks with what xlsxwriter's own worksheet writes, byte for byte, so an
xlsxwriter upgrade that changes its XML fails there, not in a township's hands.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import CellBlankTuple, CellNumberTuple, CellStringTuple, Worksheet

_COLUMN_NAMES = tuple(xl_col_to_name(c) for c in range(64))
_FORMULAS: dict[tuple[str, bool, bool], str] = {}  # (formula, expand, use_future_functions) → prepared
_FORMULAS_MAX = 10_000


class FastWorksheet(Worksheet):
    """A ``Worksheet`` for ``Workbook.add_worksheet(name, worksheet_class=FastWorksheet)``."""

    def _write_cell(self, row: int, col: int, cell: Any) -> None:
        cls = cell.__class__
        fmt = cell.format
        if fmt is None or col >= len(_COLUMN_NAMES) or self.constant_memory:
            super()._write_cell(row, col, cell)
        elif cls is CellStringTuple:  # a shared string: its index
            self.fh.write(
                f'<c r="{_COLUMN_NAMES[col]}{row + 1}" s="{fmt._get_xf_index()}" t="s"><v>{cell.string}</v></c>'
            )
        elif cls is CellNumberTuple:
            self.fh.write(
                f'<c r="{_COLUMN_NAMES[col]}{row + 1}" s="{fmt._get_xf_index()}"><v>{cell.number:.16G}</v></c>'
            )
        elif cls is CellBlankTuple:
            self.fh.write(f'<c r="{_COLUMN_NAMES[col]}{row + 1}" s="{fmt._get_xf_index()}"/>')
        else:
            super()._write_cell(row, col, cell)

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
        # xlsxwriter runs some 30 regular expressions over every formula; the template's formulas recur
        # in every workbook, so each distinct one is prepared once per process.
        key = (formula, bool(expand_future_functions), bool(self.use_future_functions))
        prepared = _FORMULAS.get(key)
        if prepared is None:
            prepared = super()._prepare_formula(formula, expand_future_functions)
            if len(_FORMULAS) >= _FORMULAS_MAX:
                _FORMULAS.clear()
            _FORMULAS[key] = prepared
        return prepared

    def release(self) -> None:
        """Drop the cells once the workbook is written. A workbook and its sheets refer to each other,
        so otherwise only the cyclic garbage collector frees them, after a pass over every cell."""
        self.table.clear()
        self.table_cells.clear()
