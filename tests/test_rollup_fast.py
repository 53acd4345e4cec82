"""The roll-up's fast writing paths write exactly what the plain ones write.

``_Writer._records`` inlines :meth:`~selfeval_xlsx.rollup_write._Writer.put` and writes most of a table's
records into xlsxwriter's package itself (``_splice``, their text held in the cells), ``_table`` gives
xlsxwriter a table's first record only (``_splice`` writes its whole range), and ``_widths`` skips
the fixed-width columns; every part of the workbook is compared byte for byte with what the plain
cell-by-cell loop writes through xlsxwriter, once each shared string is put in its cell. (Both go through
xlsxwriter's public API: the roll-up overrides none of its private methods, issue 18.)"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import random
import re
import warnings
import zipfile
from collections.abc import Callable, Sequence
from decimal import Decimal as D
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rollup_xlsx import INJECTIONS, sample
from xlsxwriter.worksheet import Worksheet

from selfeval_xlsx import rollup_write
from selfeval_xlsx.jsoncodec import rows_text
from selfeval_xlsx.rollup import IndicatorRow, PanelRow, Rollup


def _plain_records(
    self: rollup_write._Writer,
    ws: Worksheet,
    cols: Sequence[rollup_write._Col],
    rows: Sequence[Any],
    widths: list[int],
    splice: bool = False,
) -> None:
    """The records written cell by cell with ``put`` (what ``_records`` inlines and splices)."""
    for i, row in enumerate(rows, start=2):
        lines = 1
        for c, col in enumerate(cols):
            value = col.get(row)
            self.put(ws, i, c, value, col.kind)
            if col.kind == "wrap" and isinstance(value, str):
                lines = max(lines, rollup_write._lines(value, widths[c]))
        if lines > 1:
            ws.set_row(i, min(409, rollup_write.LINE_HEIGHT * lines + 3))


def _plain_defer(self: rollup_write._Writer, ws: Worksheet, ncols: int, rows: list[Any]) -> None:
    """Rows kept for the splice written by xlsxwriter instead (the hidden data sheet's)."""
    for i, cells, height in rows:
        rollup_write.write_row(ws, i, cells, height)


def _plain_table(
    self: rollup_write._Writer, ws: Worksheet, name: str, cols: Sequence[rollup_write._Col], last: int
) -> None:
    """The table given its whole range (``_table`` gives xlsxwriter its first record, ``_splice`` the rest)."""
    ws.add_table(
        1,
        0,
        last,
        len(cols) - 1,
        {
            "name": name,
            "style": "Table Style Light 1",
            "columns": [{"header": c.header, "header_format": self.fmt("header")} for c in cols],
        },
    )


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
    """Every part of the written workbook but docProps/core.xml (it holds the time of writing), each
    shared string of a sheet put in its cell (``inlineStr``) and the shared strings left out."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 40,000-character text is truncated with a warning
        rollup_write.write_rollup_workbook(buf, copy.deepcopy(roll), data)
    with zipfile.ZipFile(buf) as zf:
        parts = {n: zf.read(n) for n in zf.namelist() if n != "docProps/core.xml"}
    sst = parts.pop("xl/sharedStrings.xml", b"").decode()
    strings = re.findall(r"<si>(.*?)</si>", sst, flags=re.S)
    for name in parts:
        if name.startswith("xl/worksheets/sheet"):
            parts[name] = re.sub(
                r' t="s"><v>(\d+)</v>',
                lambda m: f' t="inlineStr"><is>{strings[int(m[1])]}</is>',
                parts[name].decode(),
            ).encode()
    return parts


def _plain_parts(roll: Rollup, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    with monkeypatch.context() as m:
        m.setattr(rollup_write._Writer, "_records", _plain_records)
        m.setattr(rollup_write._Writer, "defer", _plain_defer)
        m.setattr(rollup_write._Writer, "_table", _plain_table)
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


def zeros() -> Rollup:
    """Numbers that compare equal but show differently: 0 and −0 (a score of −0.001 rounded), 1.5 in
    three forms; each cell must show its own (the fast path renders a value once per column)."""
    roll = sample()
    first = roll.panel[0]
    scores = [D("0"), D("-0.00"), 0, D("-0"), D("1.5"), D("1.50"), D("-0.00"), D("0.0")]
    roll.panel = [dataclasses.replace(first, member=m, score=s) for m, s in enumerate(scores, 1)]
    roll.indicators = [dataclasses.replace(roll.indicators[0], seq=s, weight=w) for s, w in enumerate(scores)]
    for township, score in zip(roll.townships, scores, strict=False):  # 汇总, written by xlsxwriter
        township.output_score = score
    return roll


@pytest.mark.parametrize(
    "make", [sample, odd, big, zeros, lambda: Rollup("410522", "安阳县", None, "default", "0.1.0", "")]
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


@pytest.mark.parametrize("make", [odd, big])
def test_spliced_records_read_back_the_same(
    make: Callable[[], Rollup], monkeypatch: pytest.MonkeyPatch
) -> None:
    """openpyxl reads every cell of the spliced records as it reads xlsxwriter's: value, type, style,
    quote prefix, row heights (``_xHHHH_`` escapes, control characters and spaces included)."""

    def book() -> openpyxl.Workbook:
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rollup_write.write_rollup_workbook(buf, make())
        return openpyxl.load_workbook(buf)

    fast = book()
    with monkeypatch.context() as m:
        m.setattr(rollup_write._Writer, "_records", _plain_records)
        m.setattr(rollup_write._Writer, "defer", _plain_defer)
        m.setattr(rollup_write._Writer, "_table", _plain_table)
        plain = book()
    for ws in plain.worksheets:
        other = fast[ws.title]
        for mine, theirs in zip(other.iter_rows(), ws.iter_rows(), strict=True):
            for a, b in zip(mine, theirs, strict=True):
                assert (a.value, a.data_type, a.style_id, a.quotePrefix) == (
                    b.value,
                    b.data_type,
                    b.style_id,
                    b.quotePrefix,
                ), (ws.title, b.coordinate)
        assert {k: d.height for k, d in other.row_dimensions.items()} == {
            k: d.height for k, d in ws.row_dimensions.items()
        }
    assert (fast["指标明细"]["A3"].value == "=A1" and fast["指标明细"]["A3"].quotePrefix) or make is big
