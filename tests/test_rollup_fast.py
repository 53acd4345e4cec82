"""The roll-up's fast writing paths write exactly what the plain ones write.

:class:`~selfeval_xlsx.xlsxfast.FastWorksheet` replaces xlsxwriter's row-and-cell-to-XML writer,
:class:`~selfeval_xlsx.xlsxfast.FastWorkbook` its shared-strings writer, and ``_Writer._records`` inlines
:meth:`~selfeval_xlsx.rollup_write._Writer.put`; all lean on xlsxwriter's internals, so every part of the
workbook is compared byte for byte with what xlsxwriter's own workbook and worksheet and the plain
cell-by-cell loop write (an xlsxwriter upgrade that changes its XML fails here)."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import random
import re
import sys
import warnings
import zipfile
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal as D
from typing import Any

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rollup_xlsx import INJECTIONS, sample
from xlsxwriter.sharedstrings import SharedStrings
from xlsxwriter.worksheet import Worksheet

from selfeval_xlsx import rollup_write
from selfeval_xlsx.jsoncodec import rows_text
from selfeval_xlsx.rollup import IndicatorRow, PanelRow, Rollup
from selfeval_xlsx.xlsxfast import FastSharedStrings


def _plain_records(
    self: rollup_write._Writer,
    ws: Worksheet,
    cols: Sequence[rollup_write._Col],
    rows: Sequence[Any],
    widths: list[int],
) -> None:
    """The records written cell by cell with ``put`` (what ``_records`` inlines)."""
    for i, row in enumerate(rows, start=2):
        lines = 1
        for c, col in enumerate(cols):
            value = col.get(row)
            self.put(ws, i, c, value, col.kind)
            if col.kind == "wrap" and isinstance(value, str):
                lines = max(lines, rollup_write._lines(value, widths[c]))
        if lines > 1:
            ws.set_row(i, min(409, rollup_write.LINE_HEIGHT * lines + 3))


def _plain_widths(ws: Worksheet, cols: Sequence[rollup_write._Col], rows: Sequence[Any]) -> list[int]:
    """Column widths measured on every column, fixed ones too (``_widths`` skips those)."""
    widest = [rollup_write._text_width(c.header, "text") // 2 + 2 for c in cols]
    for row in list(rows)[:2000]:
        for i, c in enumerate(cols):
            widest[i] = max(widest[i], rollup_write._text_width(c.get(row), c.kind) + 2)
    out = [min(max(w, c.width[0]), c.width[1]) for w, c in zip(widest, cols, strict=True)]
    for i, w in enumerate(out):
        ws.set_column(i, i, w)
    return out


def _parts(roll: Rollup, data: dict[str, Any] | None = None) -> dict[str, bytes]:
    """Every part of the written workbook but docProps/core.xml (it holds the time of writing)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 40,000-character text is truncated with a warning
        rollup_write.write_rollup_workbook(buf, copy.deepcopy(roll), data)
    with zipfile.ZipFile(buf) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n != "docProps/core.xml"}


def _plain_parts(roll: Rollup, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    with monkeypatch.context() as m:
        m.setattr(
            rollup_write, "FastWorkbook", xlsxwriter.Workbook
        )  # xlsxwriter's own workbook and worksheets
        m.setattr(rollup_write._Writer, "sheet", lambda self, name: self.wb.add_worksheet(name))
        m.setattr(rollup_write._Writer, "_records", _plain_records)
        m.setattr(rollup_write, "_widths", _plain_widths)
        return _parts(roll)


def odd() -> Rollup:
    """Text a cell cannot hold as is, risky first characters, blanks, non-finite numbers, long lines."""
    roll = sample()
    roll.townships[0].name = "_x005F_x0041_"
    roll.townships[1].name = "-开头"
    roll.townships[2].self_total = None
    roll.indicators[0].code = "=A1"
    roll.indicators[0].name = "第一行\n第二行\n" + "很长" * 30
    roll.indicators[1].self_score = D("NaN")
    roll.indicators[1].reason = "a\x01b\r\nc"
    roll.indicators[2].target = ""
    roll.indicators[2].reason = "\ud800x"
    roll.panel[0].post = "+" + "职务" * 40
    roll.panel[0].member_name = "  前后空格  "
    roll.panel[1].score = D("Infinity")
    roll.findings[0].message = "𠀀𠀁 CJK-B\u202e反向"
    roll.findings[2].value = "@"
    roll.files[0].reason = "x" * 40_000
    roll.files[2].name = "\t制表"
    return roll


def big() -> Rollup:
    """Sixty townships of every indicator and panel row, values drawn from a fixed seed."""
    rnd = random.Random(6)
    words = ["宋营镇", "预算项目数", "党委书记", "", "≥", "达成", *INJECTIONS, "甲\n乙", "长" * 60]
    roll = sample()
    for t in range(60):
        code, name = f"41052210{t:02d}00", rnd.choice(words) or "某镇"
        roll.townships.append(
            dataclasses.replace(
                roll.townships[3], code=code, name=name, total=D(rnd.randint(0, 10_000)) / 100
            )
        )
        for seq in range(1, 9):
            text = [rnd.choice(words) for _ in range(8)]
            score = rnd.choice([D("15"), D("9.47"), None, D(seq)])
            roll.indicators.append(
                IndicatorRow(code, name, seq, *text, D(20), score, D("7.5"), text[0], text[1])
            )
            for member in range(1, 6):
                roll.panel.append(PanelRow(code, name, seq, text[2], member, text[3], text[4], D(member) / 3))
    return roll


@pytest.mark.parametrize(
    "make", [sample, odd, big, lambda: Rollup("410522", "安阳县", None, "default", "0.1.0", "")]
)
def test_fast_paths_write_the_same_workbook(
    make: Callable[[], Rollup], monkeypatch: pytest.MonkeyPatch
) -> None:
    roll = make()
    plain = _plain_parts(roll, monkeypatch)
    assert _parts(roll) == plain
    ranked = copy.deepcopy(roll)
    ranked.rank()
    assert _parts(roll, ranked.to_dict()) == plain  # merge hands over the dict it writes to rollup.json


def _every_kind_of_row(self: rollup_write._Writer) -> None:
    """The roll-up, then on each sheet every kind of row and cell xlsxwriter writes: hidden rows (with
    and without cells), rows and columns with formats (over cells without one), outline levels, rows
    with only a height or a note, formulas (number, text, boolean, error and blank results), booleans,
    dates, rich text, far columns, merges and text that needs escaping or preserved spaces."""
    _write(self)
    wb = self.wb
    row_fmt, col_fmt, bold = (
        wb.add_format({"italic": True}),
        wb.add_format({"num_format": "0.0"}),
        wb.add_format(),
    )
    bold.set_bold()
    for n, ws in enumerate(wb.worksheets()):
        top = (ws.dim_rowmax or 0) + 1  # below the sheet's own rows (charts and notes end there too)
        ws.set_row(2, None, None, {"hidden": True})  # a record (or item) row, hidden
        ws.set_row(3, 0)  # height 0: hidden
        ws.set_row(top + 40, None, None, {"hidden": True})  # hidden, without cells
        ws.set_row(top + 2, 20, row_fmt, {"level": 1, "collapsed": True})
        ws.set_column(40, 41, 12, col_fmt)
        ws.write_string(top + 2, 0, "行格式")  # no format of its own: its row's
        ws.write_number(top + 2, 40, 1.25)  # the row's format before the column's
        ws.write_number(top + 3, 40, 2.5)  # the column's
        ws.write_number(top + 3, 42, 1e-300)  # no format at all
        ws.write_formula(top + 4, 0, "=1+1", bold, 2)
        ws.write_formula(top + 4, 1, '="a"&"b"', None, "ab")
        ws.write_formula(top + 4, 2, "=1>0", bold, True)
        ws.write_formula(top + 4, 3, "=NA()", bold, "#N/A")
        ws.write_formula(top + 4, 4, "=A1", bold)
        ws.write_array_formula(top + 5, 0, top + 5, 0, "{=SUM(B1:B2)}", bold, 0)
        ws.write_boolean(top + 5, 1, False, bold)
        ws.write_datetime(top + 5, 2, datetime(2024, 3, 1, 9, 30), bold)
        ws.write_rich_string(top + 5, 3, "富", bold, "文本")
        ws.write_string(top + 5, 70, " 远列 ")  # past column 64, spaces to preserve
        ws.write_string(top + 5, 71, "a&b<c>_x0041_\x01")
        ws.write_blank(top + 5, 72, None, bold)
        ws.write_blank(top + 5, 73, None)  # not stored
        ws.merge_range(top + 6, 5, top + 7, 6, "并", bold)
        ws.set_row(top + 20, 40)  # a height only
        ws.set_row(top + 17 + n, 15)  # the default height, set
        if n == 1:
            ws.write_comment(top + 8, 3, "批注")  # a row with a note only
            ws.write_comment(2, 100, "批注")  # a note past every cell widens its rows' span
        if n == 2:
            ws.write_number(1_048_575, 16_383, 1)  # the last cell of a sheet


_write = rollup_write._Writer.write


def test_fast_rows_write_what_xlsxwriter_writes_for_every_kind_of_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    roll = odd()
    monkeypatch.setattr(rollup_write._Writer, "write", _every_kind_of_row)
    plain = _plain_parts(roll, monkeypatch)
    with monkeypatch.context() as m:
        m.setattr(Worksheet, "_write_rows", None)  # FastWorksheet writes every row itself: no fallback
        fast = _parts(roll)
    assert fast.keys() == plain.keys()
    assert [p for p in fast if fast[p] != plain[p]] == []
    # the comparison is not vacuous: every kind of row and cell is in what was compared
    sheets = b"".join(v for k, v in fast.items() if k.startswith("xl/worksheets/sheet"))
    for kind in (
        b'hidden="1"',
        b'customFormat="1"',
        b'outlineLevel="1"',
        b'customHeight="1"',
        b'collapsed="1"',
        b'"/></row>',  # a blank cell last in its row
        b' t="s"><v>',
        b"><f>1+1</f><v>2</v>",
        b' t="str"><f>',
        b' t="b"><f>',
        b' t="e"><f>',
        b'<f t="array"',
        b' t="b"><v>0</v>',
        b"<v>45352.39583333334</v>",
        b'r="BS',  # past column 64
        b'r="XFD1048576"',
        b"<mergeCell ",
        b"<tablePart ",
        b"<autoFilter ",
    ):
        assert kind in sheets, kind
    assert re.search(rb'<row r="3" spans="[^"]*" hidden="1">', sheets)  # hidden, with cells
    assert re.search(rb'<row r="\d+" hidden="1"/>', sheets)  # hidden, without cells
    assert re.search(rb'<row r="\d+" spans="[^"]*"/>', sheets)  # a note only
    assert any(p.startswith("xl/comments") for p in fast)
    strings = fast["xl/sharedStrings.xml"]
    assert b'xml:space="preserve"' in strings and b"_x005F_x0041_" in strings and b"_x0001_" in strings
    assert b"<r>" in strings  # rich text


def test_fast_shared_strings_write_what_xlsxwriter_writes() -> None:
    chars = "".join(map(chr, range(sys.maxunicode + 1)))
    # the fast path's premise: the only printable character that is whitespace (to \s) is the space
    assert re.findall(r"\s", "".join(c for c in chars if c.isprintable())) == [" "]
    texts = [chars[i : i + 97] for i in range(0, len(chars), 97)]
    texts += [f"a{t}b" for t in texts]
    texts += [c for c in chars if re.match(r"\s", c) or c < "\x80"]
    texts += ["", " ", "a ", " a", "a\n", "\na", "_x0041_", "_x", "<r>x</r>", "<r>x", "&<>\"'", "汇总\u3000"]
    fast, plain = FastSharedStrings(), SharedStrings()
    for writer in (fast, plain):
        writer.fh = io.StringIO()
        for text in texts:
            writer._write_si(text)
    assert fast.fh.getvalue() == plain.fh.getvalue()


_values = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(["", *INJECTIONS, "a\nb\nc", "_x0041_"]),
    st.decimals(min_value=-(10**12), max_value=10**12, places=3),
    st.sampled_from([D("NaN"), D("-Infinity"), D("0E-7"), True]),
    st.integers(-(10**9), 10**9),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(name=_values, level3=_values, score=_values, member=_values)
def test_fast_paths_property(
    name: Any, level3: Any, score: Any, member: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    roll = sample()
    roll.indicators[0].name, roll.indicators[1].level3, roll.indicators[2].score = name, level3, score
    roll.panel[0].member_name, roll.panel[1].score, roll.panel[2].member = member, score, member
    assert _parts(roll) == _plain_parts(roll, monkeypatch)


def test_json_text_is_json_with_one_line_per_row() -> None:
    data = odd().to_dict()
    text = rows_text(data, "    ")
    assert json.loads(text) == data
    lines = text.split("\n")
    for key in ("townships", "indicators", "panel", "findings", "files"):
        start = lines.index(f'      "{key}": [')
        rows = [json.dumps(row, ensure_ascii=False) for row in data[key]]
        assert lines[start + 1 : start + 1 + len(rows)] == [f"        {r}," for r in rows[:-1]] + [
            f"        {rows[-1]}"
        ]
        assert lines[start + 1 + len(rows)] in ("      ],", "      ]")
