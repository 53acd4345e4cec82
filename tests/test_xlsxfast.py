"""The fast worksheet and the shared blank canvas change how workbooks are written, not what is written.

:class:`~selfeval_xlsx.xlsxfast.FastWorksheet` overrides xlsxwriter internals, and the completed workbook's
canvas shares its style dicts with the blank one drawn once per process; every part of the template,
completed and returned workbooks is compared byte for byte with what xlsxwriter's own worksheet writes.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from workbooks import seed_bytes, set_value
from xlsxwriter.worksheet import Worksheet

from selfeval_xlsx import completed, template
from selfeval_xlsx.completed import write_completed, write_returned
from selfeval_xlsx.pipeline import score_workbook
from selfeval_xlsx.template import write_template
from selfeval_xlsx.xlsx import canvas
from selfeval_xlsx.xlsxfast import FastWorksheet

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "inbox"


class _Frozen(datetime):
    """The 评分结果 sheet says when it was made (to the minute): one minute for every write here."""

    @classmethod
    def now(cls, tz: Any = None) -> _Frozen:
        return cls(2024, 3, 1, 9, 30)


@pytest.fixture(autouse=True)
def _frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(completed, "datetime", _Frozen)


def _parts(data: bytes) -> dict[str, bytes]:
    """Every part but docProps/core.xml (it holds the time of writing)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n != "docProps/core.xml"}


def _outputs() -> dict[str, bytes]:
    """The blank template, completed workbooks (seed, a date-typed edit) and returned ones (with marks)."""
    out: dict[str, bytes] = {}
    buf = io.BytesIO()
    write_template(buf, year=2024)
    out["template"] = buf.getvalue()
    sources = {
        "seed": seed_bytes(),
        "dated": seed_bytes(set_value("/identity/filled_on", "2024-01-15")),
        "money-as-text": (SAMPLES / "错误样例-金额填文字.xlsx").read_bytes(),
        "missing-sheet": (SAMPLES / "错误样例-缺少绩效指标表.xlsx").read_bytes(),
        "total-differs": (SAMPLES / "错误样例-分值合计不符.xlsx").read_bytes(),
    }
    for name, data in sources.items():
        scored = score_workbook(data, name=f"{name}.xlsx")
        buf = io.BytesIO()
        if scored.valid:
            write_completed(buf, scored)
        else:
            write_returned(buf, scored.doc, scored.report)
        out[name] = buf.getvalue()
    return out


def _public_write_value(ws: Worksheet, row: int, col: int, value: Any, fmt: Any) -> None:
    """``xlsx.canvas.write_value`` through xlsxwriter's public writers only."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, int | float | Decimal) and math.isfinite(value):
        ws.write_number(row, col, float(value), fmt)
    elif isinstance(value, datetime | date):
        ws.write_datetime(
            row, col, value if isinstance(value, datetime) else datetime(*value.timetuple()[:3]), fmt
        )
    else:
        ws.write_string(row, col, str(value), fmt)


def test_fast_worksheet_writes_byte_for_byte_what_xlsxwriter_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        completed, "PART_WRITER", False
    )  # the xlsxwriter path (tests/test_bookparts.py: the other)
    fast = _outputs()
    with monkeypatch.context() as m:
        m.setattr(template, "FastWorksheet", Worksheet)
        m.setattr(canvas, "write_value", _public_write_value)
        plain = _outputs()
    assert fast.keys() == plain.keys()
    for name in fast:
        a, b = _parts(fast[name]), _parts(plain[name])
        assert a.keys() == b.keys(), name
        assert [p for p in a if a[p] != b[p]] == [], name
    # the comparison is not vacuous: marks, comments, formulas and dates are all in what was compared
    returned = _parts(fast["money-as-text"])
    assert any(p.startswith("xl/comments") for p in returned)
    sheets = b"".join(v for k, v in _parts(fast["dated"]).items() if k.startswith("xl/worksheets/sheet"))
    assert b"<f>" in sheets and b' t="s"' in sheets and b"/>" in sheets


def test_each_workbook_is_written_the_same_whatever_a_process_wrote_before() -> None:
    """Township values, dates and marks replace a cell's style, so the blank canvas shared by every
    workbook of a process stays as drawn; and xlsxwriter, which adds to the options it is given, gets
    new ones each time (a shared dict made a process's first completed workbook differ from the rest)."""
    before = io.BytesIO()
    write_template(before)
    first = _outputs()  # completed and returned workbooks, with dates, numbers in text cells and marks
    second = _outputs()
    after = io.BytesIO()
    write_template(after)
    assert _parts(before.getvalue()) == _parts(after.getvalue())
    assert {k: _parts(v) for k, v in first.items()} == {k: _parts(v) for k, v in second.items()}
    # whichever ran first in this process, a completed workbook's default font is the template's
    fonts = [
        re.search(rb"<font>.*?</font>", _parts(w)["xl/styles.xml"])
        for w in (after.getvalue(), second["seed"])
    ]
    assert fonts[0] and fonts[1] and fonts[0][0] == fonts[1][0]


def test_prepared_formulas_are_remembered_per_setting_of_future_functions() -> None:
    wb = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True})
    plain = wb.add_worksheet("a", worksheet_class=FastWorksheet)
    future = wb.add_worksheet("b", worksheet_class=FastWorksheet)
    future.use_future_functions = True
    formula = "=STDEV.S(A1:A3)+XLOOKUP(1,A1:A3,B1:B3)"
    for _ in range(2):  # the second time from the cache
        assert plain._prepare_formula(formula) == "STDEV.S(A1:A3)+_xlfn.XLOOKUP(1,A1:A3,B1:B3)"
        assert future._prepare_formula(formula) == "_xlfn.STDEV.S(A1:A3)+_xlfn.XLOOKUP(1,A1:A3,B1:B3)"
    wb.close()
