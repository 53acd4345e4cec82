"""The one A1 parser (``selfeval_xlsx.xlsx.cells``), as the grid reader and the workbook check use it."""

from __future__ import annotations

import pytest

from selfeval_xlsx.xlsx import grid as grid_reader
from selfeval_xlsx.xlsx.cells import a1, column_index, parse_a1


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("B4", (4, 2)),
        ("b4", (4, 2)),
        ("$B$4", (4, 2)),
        ("XFD1048576", (1048576, 16384)),
        ("ZZZ1", (1, 18278)),
    ],
)
def test_parse_a1_reads_what_excel_writes(ref: str, expected: tuple[int, int]) -> None:
    assert parse_a1(ref) == expected
    assert parse_a1(ref) == expected  # the cached path gives the same answer


@pytest.mark.parametrize("ref", ["", "4", "B", "AAAA1", "B12345678", "B-1", "B4:C5", "Ｂ4", "B 4"])
def test_parse_a1_refuses_what_is_not_a_reference(ref: str) -> None:
    with pytest.raises(ValueError):
        parse_a1(ref)


def test_column_index_and_a1_are_inverse() -> None:
    assert [column_index(a1(1, c)[:-1]) for c in (1, 26, 27, 702, 703, 16384, 18278)] == [
        1,
        26,
        27,
        702,
        703,
        16384,
        18278,
    ]
    assert column_index("ab") == column_index("A1") == 0


def test_the_grid_bounds_references_to_excels_sheet() -> None:
    assert grid_reader._parse_ref("xfd1048576") == (1048576, 16384)
    for ref in ("XFE1", "A0", "A1048577", "B12345678"):
        with pytest.raises(grid_reader.GridError):
            grid_reader._parse_ref(ref)
