"""Issue 13 (reliability): values the reader and scoring used to accept although they must not.

Each case is built the way a clerk causes it: the seed workbook filled from the template, then edited
with openpyxl as a person would in Excel (typing 96% into a cell, renaming a sheet with a trailing space,
saving with Excel's default password…), and read through the library.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from workbooks import chain, indicator_cell, seed_bytes, set_indicator, set_value, write

from selfeval_xlsx import api, layout, reader
from selfeval_xlsx.xlsx.grid import GridError, grid_from_openpyxl, load_grid

D = Decimal
IND = layout.INDICATOR_SHEET.name


def fast_and_fallback(monkeypatch: pytest.MonkeyPatch, data: bytes) -> list:
    """Score ``data`` with the fast grid reader and with the openpyxl fallback."""
    out = [api.score_workbook(data, name="fast.xlsx")]
    with monkeypatch.context() as m:

        def refuse(*_a, **_k):  # type: ignore[no-untyped-def]
            raise GridError("refused for the test")

        m.setattr(reader, "load_grid", refuse)
        out.append(api.score_workbook(data, name="openpyxl.xlsx"))
    return out


def typed_percent(index: int, key: str, value: float, fmt: str = "0%"):  # type: ignore[no-untyped-def]
    """Typing ``96%`` into a cell in Excel: 0.96 with a percent number format."""
    sheet, ref = indicator_cell(index, key)

    def edit(wb: Workbook) -> None:
        cell = wb[sheet][ref]
        cell.value = value
        cell.number_format = fmt

    return edit


def percent_indicator(unit: str = "%", fmt: str = "0%", actual: float = 0.96):  # type: ignore[no-untyped-def]
    """Indicator 1 (≥, 15 points) made a percentage one: target 90 (unit %), actual typed as 96%."""
    return chain(
        set_indicator(0, "target", 90),
        set_indicator(0, "unit", unit),
        typed_percent(0, "actual", actual, fmt),
    )


# --- 1. percentages typed the Excel way --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["0%", "0.00%", "0.0%", '[Blue]0.0"点"%', "#,##0.0%;[Red]-#,##0.0%"])
def test_percent_typed_in_excel_is_read_as_a_percentage(monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """96% typed into 实际完成值 (unit %) is 96, exactly, with full marks and no finding about it, in the
    fast reader and in the openpyxl fallback (built-in formats 9 and 10, and custom ones)."""
    data = seed_bytes(percent_indicator(fmt=fmt))
    for scored in fast_and_fallback(monkeypatch, data):
        assert scored.report.valid, scored.report.flatten()
        actual = scored.doc.data["indicators"][0]["actual"]
        assert actual == D(96) and str(actual) == "96"
        s = scored.result.for_indicator(0)
        assert s.figure.shown == D(15)
        _, ref = indicator_cell(0, "actual")
        assert not [f for f in scored.report if f.code == "indicator-self-score-differs"]
        assert not [f for f in scored.report if f.cell == ref]
        assert scored.result.grade == "优秀"


def test_two_percent_cells_no_longer_turn_excellent_into_fair() -> None:
    """Target typed as 90% too (0.9 with a % format): both are read as percentages."""
    data = seed_bytes(chain(percent_indicator(), typed_percent(0, "target", 0.9, "0%")))
    scored = api.score_workbook(data)
    assert scored.report.valid, scored.report.flatten()
    row = scored.doc.data["indicators"][0]
    assert (row["target"], row["actual"]) == (D(90), D(96))
    assert scored.result.grade == "优秀"


def test_percent_value_is_exact_decimal() -> None:
    """0.1234 with a % format is 12.34 (no binary-float tail), 0.07 is 7."""
    data = seed_bytes(chain(percent_indicator(actual=0.1234, fmt="0.00%"), typed_percent(0, "target", 0.07)))
    doc, _ = api.validate_workbook(data)
    row = doc.data["indicators"][0]
    assert str(row["actual"]) == "12.34" and str(row["target"]) == "7"


@pytest.mark.parametrize("fmt", ['0"%"', "0\\%", "0_%"])
def test_percent_sign_as_literal_text_is_not_a_percentage(fmt: str) -> None:
    """A % in quotes or escaped is shown as text, not scaled: the value is what was typed."""
    data = seed_bytes(percent_indicator(fmt=fmt, actual=96))
    doc, report = api.validate_workbook(data)
    assert doc.data["indicators"][0]["actual"] == D(96)
    assert report.valid


def test_percent_with_another_unit_is_read_as_percent_with_a_warning() -> None:
    data = seed_bytes(percent_indicator(unit="个"))
    scored = api.score_workbook(data)
    assert scored.doc.data["indicators"][0]["actual"] == D(96)
    _, ref = indicator_cell(0, "actual")
    found = [f for f in scored.report if f.code == "value-normalised" and f.cell == ref]
    assert len(found) == 1 and found[0].sheet == IND
    assert "96%" in found[0].message and "96" in found[0].message and "个" in found[0].message


def test_percent_format_in_an_amount_cell_is_an_error_at_the_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 万元 cell shown as a percentage cannot be told apart (typed 8724.9 into a % cell, or formatted
    after typing): an error at the cell, never silently ×100 or ÷100."""
    sheet, ref = layout.cell_of("/budget/total/executed")

    def edit(wb: Workbook) -> None:
        wb[sheet][ref].number_format = "0.00%"

    data = seed_bytes(edit)
    for scored in fast_and_fallback(monkeypatch, data):
        found = [f for f in scored.report if f.cell == ref and f.sheet == sheet]
        assert [f.code for f in found] == ["percent-format"], scored.report.flatten()
        assert found[0].severity == "error" and "万元" in found[0].message
        assert scored.result is None


def test_percent_format_in_an_indicator_measured_in_wanyuan_is_an_error() -> None:
    """Indicator 4 (≤ 8593.66 万元): its actual formatted as % is an amount, not a percentage."""
    data = seed_bytes(typed_percent(3, "actual", 87.249, "0.00%"))
    _, report = api.validate_workbook(data)
    _, ref = indicator_cell(3, "actual")
    assert [f.code for f in report if f.cell == ref] == ["percent-format"]
    assert not report.valid


def test_grid_reader_marks_percent_cells_like_openpyxl() -> None:
    """The fast reader and the openpyxl adapter agree on which cells are percentages."""
    from openpyxl import load_workbook

    data = seed_bytes(chain(percent_indicator(), typed_percent(0, "target", 0.9, "0.0%")))
    fast = load_grid(data)
    slow = grid_from_openpyxl(load_workbook(io.BytesIO(data)))
    for name in fast.sheetnames:
        assert fast[name].cells == slow[name].cells, name
    _, ref = indicator_cell(0, "actual")
    from selfeval_xlsx.xlsx.cells import parse_a1

    assert fast[IND].cells[parse_a1(ref)].percent


# --- 2. zero or negative targets -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nature", "target", "actual"),
    [("≥", 0, 38), ("≥", -48, 38), ("≥", -48, -50), ("≤", -5, -10), ("≤", -5, 3)],
)
def test_meaningless_target_is_an_error_at_the_target_cell(nature: str, target: int, actual: int) -> None:
    data = seed_bytes(
        chain(
            set_indicator(0, "nature", nature),
            set_indicator(0, "target", target),
            set_indicator(0, "actual", actual),
        )
    )
    scored = api.score_workbook(data)
    _, ref = indicator_cell(0, "target")
    found = [f for f in scored.report if f.cell == ref]
    assert [f.code for f in found] == ["invalid-target"], scored.report.flatten()
    assert found[0].severity == "error" and found[0].sheet == IND
    assert "年度指标值" in found[0].message
    assert scored.result is None  # never full marks for a comparison that means nothing


@pytest.mark.parametrize("nature", ["≤", "="])
def test_zero_target_of_a_lower_or_exact_indicator_is_all_or_nothing_with_a_note(nature: str) -> None:
    """ "事故发生数 ≤ 0": meaningful (met or not), scored all-or-nothing; a note says so, no error."""
    data = seed_bytes(
        chain(
            set_indicator(0, "nature", nature),
            set_indicator(0, "target", 0),
            set_indicator(0, "actual", 0),
        )
    )
    scored = api.score_workbook(data)
    assert scored.report.valid, scored.report.flatten()
    _, ref = indicator_cell(0, "target")
    notes = [f for f in scored.report if f.cell == ref and f.code == "invalid-target"]
    assert len(notes) == 1 and notes[0].severity == "info"
    assert scored.result.for_indicator(0).figure.shown == D(15)


# --- 3. huge values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "other"),
    [("actual", 1e308, None), ("actual", -1e300, None), ("target", 1e13, None), ("actual", 1e300, 1e-300)],
)
def test_huge_indicator_values_are_out_of_range_at_their_cell(key: str, value: float, other) -> None:  # type: ignore[no-untyped-def]
    edits = [set_indicator(0, key, value)]
    if other is not None:
        edits.append(set_indicator(0, "target", other))
    scored = api.score_workbook(seed_bytes(chain(*edits)))  # never raises
    _, ref = indicator_cell(0, key)
    assert "out-of-range" in [f.code for f in scored.report if f.cell == ref], scored.report.flatten()
    assert not scored.report.valid


def test_tiny_target_is_out_of_range_at_its_cell() -> None:
    """A target of 1e-300 (a divisor) with an ordinary actual: a finding, not a 10^300 % ratio."""
    scored = api.score_workbook(seed_bytes(set_indicator(0, "target", 1e-300)))
    _, ref = indicator_cell(0, "target")
    assert "out-of-range" in [f.code for f in scored.report if f.cell == ref], scored.report.flatten()


def test_tiny_adjusted_budget_is_out_of_range_at_its_cell() -> None:
    sheet, ref = layout.cell_of("/budget/total/adjusted")
    scored = api.score_workbook(seed_bytes(set_value("/budget/total/adjusted", 1e-300)))
    found = [f for f in scored.report if (f.sheet, f.cell) == (sheet, ref)]
    assert "out-of-range" in [f.code for f in found], scored.report.flatten()


# --- 4. a sheet name with invisible white space ----------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "shown"),
    [(" ", "[空格]"), ("\u3000", "[全角空格]"), ("\u200b", "\\u200b"), ("\t", "\\t"), ("\u00a0", "\\u00a0")],
)
@pytest.mark.parametrize("where", ["end", "start"])
def test_sheet_name_with_invisible_white_space_is_accepted(
    monkeypatch: pytest.MonkeyPatch, suffix: str, shown: str, where: str
) -> None:
    budget = layout.WORKBOOK.data_sheets[0].name
    renamed = budget + suffix if where == "end" else suffix + budget

    def edit(wb: Workbook) -> None:
        wb[budget].title = renamed

    data = seed_bytes(edit)
    for scored in fast_and_fallback(monkeypatch, data):
        assert scored.report.valid, scored.report.flatten()
        assert scored.result is not None and scored.result.budget.shown > 0
        notes = [
            f for f in scored.report if f.code == "value-normalised" and f.sheet == budget and not f.cell
        ]
        assert len(notes) == 1, scored.report.flatten()
        assert shown in notes[0].message and f"“{budget}”" in notes[0].message
        assert not [f for f in scored.report if f.code in ("missing-sheet", "extra-data")]


def test_missing_sheet_message_shows_the_difference_visibly() -> None:
    """A name that differs in more than white space is still missing; the names listed show their
    invisible characters."""
    budget = layout.WORKBOOK.data_sheets[0].name

    def edit(wb: Workbook) -> None:
        wb[budget].title = budget + "表 "

    _, report = api.validate_workbook(seed_bytes(edit))
    missing = [f for f in report if f.code == "missing-sheet"]
    assert len(missing) == 1
    assert f"“{budget}表[空格]”" in missing[0].message


# --- 5. amounts in rollup.json ---------------------------------------------------------------------


def test_rollup_json_amounts_are_exact_two_place_strings(tmp_path: Path) -> None:
    """Amounts stored with a binary-float tail (5012.4900000000007, as Excel writes a sum pasted as a
    value) or typed with many places are stored in rollup.json as exact strings of at most 2 places."""
    import sampledata
    from openpyxl_fill import filled_bytes

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first = sampledata.township(1)
    keys = ("initial", "adjusted", "executed")
    write(
        inbox,
        "a.xlsx",
        filled_bytes(
            first,
            sampledata.YEAR,
            chain(
                *(set_value(f"/budget/{row}/{key}", None) for row in ("carryover", "other") for key in keys),
                set_value("/budget/current/executed", 5012.47 + 0.02),  # 5012.490000000001
                set_value("/budget/total/executed", "5012.49000000000001"),
                set_value("/budget/current/initial", 0.1 + 0.2),
                set_value("/budget/total/initial", 0.1 + 0.2),
                set_value("/budget/current/adjusted", 6000),
                set_value("/budget/total/adjusted", 6000),
            ),
        ),
    )
    write(inbox, "b.xlsx", filled_bytes(sampledata.township(2), sampledata.YEAR))
    api.merge(inbox, tmp_path / "out", jobs=1, completed=False)
    data = json.loads((tmp_path / "out" / "rollup.json").read_text(encoding="utf-8"))
    amounts = []
    for roll in data["rollups"]:
        for row in roll["townships"]:
            amounts += [row[k] for k in ("initial", "adjusted", "executed") if row[k] is not None]
        amounts += [roll["totals"][k] for k in ("initial", "adjusted", "executed")]
    assert len(amounts) >= 9
    for text in amounts:
        assert isinstance(text, str), text
        assert -D(text).as_tuple().exponent <= 2, text
    rows = {r["file"]: r for roll in data["rollups"] for r in roll["townships"]}
    assert rows["a.xlsx"]["executed"] == "5012.49"
    assert rows["a.xlsx"]["initial"] == "0.30"


def test_float_tail_beyond_excels_15_digits_is_dropped_when_read() -> None:
    """Excel shows and computes with 15 significant digits: 5012.47 + 0.02 stored as
    5012.4900000000007 is 5012.49 to the clerk and to the reader."""
    doc, _ = api.validate_workbook(seed_bytes(set_value("/budget/current/executed", 5012.47 + 0.02)))
    assert str(doc.data["budget"]["current"]["executed"]) == "5012.49"


# --- 6. Excel's default password -------------------------------------------------------------------


def velvet(data: bytes, password: str = "VelvetSweatshop") -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()


def test_default_password_workbook_is_decrypted_and_read(tmp_path: Path) -> None:
    plain = seed_bytes()
    data = velvet(plain)
    assert data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    path = write(tmp_path, "只读建议.xlsx", data)
    before = path.read_bytes()
    scored = api.score_workbook(path)
    assert path.read_bytes() == before  # never modified
    assert scored.report.valid, scored.report.flatten()
    notes = [f for f in scored.report if f.code == "default-password"]
    assert len(notes) == 1 and notes[0].severity == "info"
    assert scored.result is not None
    expected = api.score_workbook(plain)
    assert scored.result.total.shown == expected.result.total.shown
    assert scored.doc.data == expected.doc.data


def test_default_password_workbook_is_accepted_by_merge(tmp_path: Path) -> None:
    import sampledata
    from openpyxl_fill import filled_bytes

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "a.xlsx", velvet(filled_bytes(sampledata.township(1), sampledata.YEAR)))
    result = api.merge(inbox, tmp_path / "out", jobs=1, completed=False)
    data = json.loads((tmp_path / "out" / "rollup.json").read_text(encoding="utf-8"))
    assert [r["file"] for roll in data["rollups"] for r in roll["townships"]] == ["a.xlsx"], result


def test_a_real_password_is_still_refused_with_its_own_message() -> None:
    _, report = api.validate_workbook(velvet(seed_bytes(), "secret123"), name="x.xlsx")
    assert [f.code for f in report] == ["encrypted-workbook"]
    assert "打开密码" in report.findings[0].message


def test_default_password_bounds_apply_before_decrypting() -> None:
    """The input is capped before decryption (max_file_bytes), like any file."""
    from selfeval_xlsx.limits import Limits

    data = velvet(seed_bytes())
    _, report = api.validate_workbook(data, limits=Limits(max_file_bytes=len(data) - 1))
    assert [f.code for f in report] == ["too-large"]


# --- 3b. property: whatever the reader can produce, a finding or a score, never an exception ---------


def _reader_decimals() -> st.SearchStrategy[Decimal | None]:
    """Every kind of number the reader hands on: floats (as read, 15 digits), ints, decimal text of any
    length, ordinary figures, and any of them shown as a percentage; ``None`` leaves the value as it is."""
    from selfeval_xlsx.decimals import from_float, percent

    floats = st.floats(allow_nan=False, allow_infinity=False).map(from_float)
    ints = st.integers(min_value=-(10**40), max_value=10**40).map(Decimal)
    texts = st.decimals(allow_nan=False, allow_infinity=False).filter(lambda d: d.adjusted() < 400)
    ordinary = st.decimals(min_value=0, max_value=10**6, places=2)
    edges = st.sampled_from(["1e-300", "5e-324", "1e-7", "0.000001", "1e12", "1000000000000.01", "0", "-48"])
    base = st.one_of(floats, ints, texts, ordinary, edges.map(Decimal))
    changed = st.one_of(base, base.map(percent))
    return st.integers(0, 3).flatmap(lambda k: changed if k == 0 else st.none())  # mostly left alone


_BASE: dict[str, object] = {}
_VALID: list[int] = []  # examples that passed validation (and were scored)


def _base_doc():  # type: ignore[no-untyped-def]
    if not _BASE:
        _BASE["doc"] = reader.read_workbook(seed_bytes(), name="base.xlsx")
    return _BASE["doc"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nature=st.sampled_from(["≥", "≤", "="]),
    values=st.fixed_dictionaries(
        {
            "target": _reader_decimals(),
            "actual": _reader_decimals(),
            "weight": _reader_decimals(),
            "self_score": _reader_decimals(),
            "adjusted": _reader_decimals(),
            "executed": _reader_decimals(),
            "initial": _reader_decimals(),
            "panel": _reader_decimals(),
            "total": _reader_decimals(),
        }
    ),
)
def test_any_number_the_reader_produces_gives_a_finding_or_a_score(nature: str, values: dict) -> None:  # type: ignore[type-arg]
    import copy

    from selfeval_xlsx.document import Document
    from selfeval_xlsx.pipeline import score_document
    from selfeval_xlsx.rules import load_rules
    from selfeval_xlsx.validate import validate_document

    base = _base_doc()
    data = copy.deepcopy(base.data)
    given_ = {k: v for k, v in values.items() if v is not None}
    row = data["indicators"][0]
    row["nature"] = nature
    row.update({k: given_[k] for k in ("target", "actual", "weight", "self_score") if k in given_})
    total = data["budget"]["total"]
    total.update({k: given_[k] for k in ("adjusted", "executed", "initial") if k in given_})
    data["budget"]["current"].update(total)
    for row_key in ("carryover", "other"):
        data["budget"].pop(row_key, None)
    data["panel_scores"][0]["value"] = given_.get("panel", data["panel_scores"][0]["value"])
    data["self_assessment"]["total"] = given_.get("total", data["self_assessment"]["total"])
    doc = Document(file="x.xlsx", data=data, cells=dict(base.cells))
    rules = load_rules()
    report = validate_document(doc, rules)
    scored = score_document(doc, report, rules)  # must not raise
    if report.valid:
        _VALID.append(1)
        assert scored.result is not None
        assert scored.result.total.shown.is_finite()
        for s in scored.result.indicators:
            assert s.figure.explanation
        if scored.result.execution_rate is not None:
            assert scored.result.execution_rate_shown is not None


def test_the_property_scores_many_valid_examples() -> None:
    """The property above is not vacuous: a good share of its examples pass validation and are scored."""
    _VALID.clear()
    test_any_number_the_reader_produces_gives_a_finding_or_a_score()
    assert len(_VALID) >= 20
