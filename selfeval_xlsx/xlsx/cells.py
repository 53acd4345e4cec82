"""A1 cell references (1-based rows and columns, as Excel shows them)."""

from __future__ import annotations

import re

_A1 = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")
MAX_COLUMN = 18_278  # ZZZ: the largest column three letters name
_LETTERS: dict[int, str] = {}


def column_letter(col: int) -> str:
    """``column_letter(28) == 'AB'`` (1 to 18278; anything else is a ValueError)."""
    letters = _LETTERS.get(col)
    if letters is None:
        if not 1 <= col <= MAX_COLUMN:
            raise ValueError(f"Invalid column index {col}")
        letters, n = "", col
        while n:
            n, rest = divmod(n - 1, 26)
            letters = chr(65 + rest) + letters
        _LETTERS[col] = letters
    return letters


def a1(row: int, col: int) -> str:
    """``a1(4, 2) == 'B4'``."""
    return f"{column_letter(col)}{row}"


def parse_a1(ref: str) -> tuple[int, int]:
    """``parse_a1('B4') == (4, 2)``."""
    m = _A1.match(ref.upper())
    if not m:
        raise ValueError(f"not an A1 reference: {ref!r}")
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def cell_sort_key(ref: str | None) -> tuple[int, str]:
    """Sort cells by row, then column letters; ranges by their first cell; None first."""
    if not ref:
        return (0, "")
    first = ref.split(":")[0]
    m = _A1.match(first.upper())
    if not m:
        return (0, ref)
    return (int(m.group(2)), m.group(1).rjust(3))
