"""``Document.get`` and ``Document.where``: JSON pointers into the document read, whatever they point at."""

from __future__ import annotations

from decimal import Decimal

import pytest

from selfeval_xlsx.document import CellRef, Document


def doc() -> Document:
    return Document(
        file="a.xlsx",
        data={
            "budget": {"total": {"executed": Decimal("12.5"), "initial": None}},
            "indicators": [{"seq": 1, "target": "≥95"}, {"seq": 2}],
            "5": "a key that looks like an index",
        },
        cells={"/indicators/0/seq": CellRef("绩效指标", "A5")},
    )


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        ("/budget/total/executed", Decimal("12.5")),
        ("budget/total/executed/", Decimal("12.5")),  # slashes around are ignored
        ("/budget/total/initial", None),
        ("/budget/total/adjusted", "default"),  # a missing key
        ("/budget/total/executed/more", "default"),  # through a number
        ("/indicators/1/seq", 2),
        ("/indicators/-1/seq", 2),  # as Python indexes a list
        ("/indicators/2/seq", "default"),  # past the end
        ("/indicators/x/seq", "default"),  # not an index
        ("/indicators/0", {"seq": 1, "target": "≥95"}),
        ("/5", "a key that looks like an index"),  # a dict's key is a key, even when it reads as a number
        ("/nothing", "default"),
    ],
)
def test_get(pointer: str, value: object) -> None:
    d = doc()
    assert d.get(pointer, "default") == value
    assert d.get(pointer, "default") == value  # the second look-up of a pointer reads the same


def test_get_reads_the_current_data() -> None:
    d = doc()
    assert d.get("/indicators/1/seq") == 2
    d.data["indicators"][1]["seq"] = 7
    d.data["indicators"].pop(0)
    assert d.get("/indicators/0/seq") == 7
    assert d.get("/indicators/1/seq") is None


def test_where_falls_back_to_the_nearest_cell_above() -> None:
    d = doc()
    assert d.where("/indicators/0/seq") == {
        "sheet": "绩效指标",
        "cell": "A5",
        "field": "/indicators/0/seq",
        "file": "a.xlsx",
    }
    assert d.where("/indicators/0/seq/x")["cell"] == "A5"
