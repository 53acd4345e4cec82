"""A1 cell references (1-based rows and columns, as Excel shows them): the one parser of them.

Every module that reads an A1 reference uses :func:`parse_a1` (or :func:`column_index`); the fast grid
reader calls it for every cell reference it has not seen, so the common case (``B14``: upper-case
letters already seen, then digits) is a string split and a dict look-up.
"""

from __future__ import annotations

import re

MAX_COLUMN = 18_278  # ZZZ: the largest column three letters name
MAX_ROW_DIGITS = 7  # Excel's last row, 1048576, has seven digits

_DIGITS = "0123456789"
_A1 = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")
_LETTERS: dict[int, str] = {}
_COLS: dict[str, int] = {}  # 'A'..'ZZZ' → 1..18278, filled on demand


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


def column_index(letters: str) -> int:
    """``column_index('AB') == 28``: the 1-based column of one to three upper-case letters; 0 if
    ``letters`` is not such a column name."""
    col = _COLS.get(letters)
    if col is not None:
        return col
    if not 1 <= len(letters) <= 3 or not letters.isascii() or not letters.isalpha() or not letters.isupper():
        return 0
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    _COLS[letters] = col
    return col


def a1(row: int, col: int) -> str:
    """``a1(4, 2) == 'B4'``."""
    return f"{column_letter(col)}{row}"


def parse_a1(ref: str) -> tuple[int, int]:
    """``parse_a1('B4') == (4, 2)``; ``$`` and lower case are accepted (``'$b$4'``), at most three
    letters and seven digits; anything else is a ValueError. The row is not bounded below (``A0`` is
    row 0): callers that need a real cell check ``row >= 1``."""
    letters = ref.rstrip(_DIGITS)
    col = _COLS.get(letters)
    if col is not None and len(letters) < len(ref) <= len(letters) + MAX_ROW_DIGITS:
        return int(ref[len(letters) :]), col
    m = _A1.fullmatch(ref)
    if m is None:
        raise ValueError(f"not an A1 reference: {ref!r}")
    return int(m.group(2)), column_index(m.group(1).upper())


def cell_sort_key(ref: str | None) -> tuple[int, str]:
    """Sort cells by row, then column letters; ranges by their first cell; None first."""
    if not ref:
        return (0, "")
    first = ref.split(":")[0]
    m = _A1.fullmatch(first.upper())
    if not m:
        return (0, ref)
    return (int(m.group(2)), m.group(1).rjust(3))
