"""A1 cell references (1-based rows and columns, as Excel shows them)."""

from __future__ import annotations

import re

from openpyxl.utils.cell import column_index_from_string, get_column_letter

_A1 = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def a1(row: int, col: int) -> str:
    """``a1(4, 2) == 'B4'``."""
    return f"{get_column_letter(col)}{row}"


def parse_a1(ref: str) -> tuple[int, int]:
    """``parse_a1('B4') == (4, 2)``."""
    m = _A1.match(ref.upper())
    if not m:
        raise ValueError(f"not an A1 reference: {ref!r}")
    return int(m.group(2)), column_index_from_string(m.group(1))


def cell_sort_key(ref: str | None) -> tuple[int, str]:
    """Sort cells by row, then column letters; ranges by their first cell; None first."""
    if not ref:
        return (0, "")
    first = ref.split(":")[0]
    m = _A1.match(first.upper())
    if not m:
        return (0, ref)
    return (int(m.group(2)), m.group(1).rjust(3))
