"""Issue 14, point 5: indicator values and amounts as clerks really type them.

Each workbook is the seed township's, edited with openpyxl the way a clerk types into Excel: "2天以内"
as a target, "150万" where the unit column says 万元, "=8个" (which Excel stores as a formula), "—" in an
amount cell. What has one reading is read, with a ``value-normalised`` warning naming the change; the
rest is an error saying what was typed and what to type instead.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from workbooks import chain, indicator_cell, seed_bytes, set_indicator, set_value

from selfeval_xlsx import api, layout

D = Decimal


def row(nature: str, unit: str, target: Any, actual: Any) -> Any:
    """Indicator 1 (产出/数量, 15 points, self-scored 15) retyped."""
    return chain(
        set_indicator(0, "nature", nature),
        set_indicator(0, "unit", unit),
        set_indicator(0, "target", target),
        set_indicator(0, "actual", actual),
    )


def at(scored: Any, key: str) -> list:
    _, ref = indicator_cell(0, key)
    return [f for f in scored.report if f.sheet == layout.INDICATOR_SHEET.name and f.cell == ref]


@pytest.mark.parametrize(
    ("nature", "unit", "target", "actual", "value", "unit_read", "message"),
    [
        ("≤", "天", "2天以内", 2, D(2), "天", "“2天以内”已规范为 ≤ 2（单位：天）"),
        ("≤", "", "2天以内", 2, D(2), "天", "“2天以内”已规范为 ≤ 2（单位：天）"),
        ("≤", "天", "30天内", 20, D(30), "天", "“30天内”已规范为 ≤ 30（单位：天）"),
        ("≤", "天", "30日内", 20, D(30), "天", "“30日内”已规范为 ≤ 30（单位：天）"),
        ("≤", "月", "9月前", 8, D(9), "月", "“9月前”已规范为 ≤ 9（单位：月）"),
        ("≤", "天", "不超过30天", 25, D(30), "天", "“不超过30天”已规范为 ≤ 30（单位：天）"),
        ("≥", "%", "≥100百分比", 100, D(100), "%", "“≥100百分比”已规范为 ≥ 100（单位：%）"),
        ("≥", "个", "50个以上", 50, D(50), "个", "“50个以上”已规范为 ≥ 50（单位：个）"),
        ("≤", "万元", "150万", 140, D(150), "万元", "“150万”已规范为 150（单位：万元）"),
        ("≤", "元", "1.5万", 14000, D(15000), "元", "“1.5万”已规范为 15000（单位：元）"),
    ],
)
def test_targets_with_one_reading_are_read_with_a_warning_naming_the_change(
    nature: str, unit: str, target: str, actual: int, value: Decimal, unit_read: str, message: str
) -> None:
    scored = api.score_workbook(seed_bytes(row(nature, unit, target, actual)))
    assert scored.report.valid, scored.report.flatten(["code", "cell", "message"])
    rec = scored.doc.data["indicators"][0]
    assert rec["target"] == value and rec["unit"] == unit_read
    notes = [f for f in at(scored, "target") if f.code == "value-normalised"]
    assert len(notes) == 1 and message in notes[0].message, [f.message for f in notes]
    assert scored.result.for_indicator(0).method == nature  # scored by the formula, not the panel


def test_actual_in_wan_with_a_wan_yuan_unit() -> None:
    scored = api.score_workbook(seed_bytes(set_indicator(3, "actual", "8724.90万")))
    assert scored.report.valid
    assert scored.doc.data["indicators"][3]["actual"] == D("8724.90")


@pytest.mark.parametrize(
    ("nature", "target", "actual", "key", "value"),
    [("=", "=8个", 8, "target", D(8)), ("≥", 8, "=8个", "actual", D(8))],
)
def test_equals_sign_typed_first_is_a_formula_that_is_read_as_the_value(
    nature: str, target: Any, actual: Any, key: str, value: Decimal
) -> None:
    """Excel stores "=8个" as a formula (openpyxl writes it as one, as Excel does); what reaches the
    reader is the formula text, read as the value with a warning that says why."""
    scored = api.score_workbook(seed_bytes(row(nature, "个", target, actual)))
    assert scored.report.valid, scored.report.flatten(["code", "cell", "message"])
    assert scored.doc.data["indicators"][0][key] == value
    (note,) = [f for f in at(scored, key) if f.code == "value-normalised"]
    assert "被Excel当成了公式" in note.message and "“=8个”" in note.message
    assert not [f for f in scored.report if f.code == "formula-not-allowed"]


@pytest.mark.parametrize(
    ("nature", "unit", "target", "actual", "key", "says"),
    [
        ("≥", "天", "2天以内", 2, "target", ["“2天以内”表示“≤ 2”", "指标性质改为“≤”", "只填2"]),
        ("≥", "个", "3天", 3, "target", ["单位“天”与计量单位“个”不一致"]),
        ("≥", "个", 40, "≥45个", "actual", ["“≥45个”表示“≥ 45”", "不是实际完成的数值"]),
        ("≥", "个", "约40个", 40, "target", ["应为数字", "现为“约40个”"]),
    ],
)
def test_values_with_no_single_reading_say_what_to_type(
    nature: str, unit: str, target: Any, actual: Any, key: str, says: list[str]
) -> None:
    scored = api.score_workbook(seed_bytes(row(nature, unit, target, actual)))
    assert not scored.report.valid
    (err,) = [f for f in at(scored, key) if f.severity == "error"]
    assert err.code == "nature-mismatch"
    for text in says:
        assert text in err.message, err.message


def test_formula_that_is_not_a_value_of_this_row_says_why() -> None:
    scored = api.score_workbook(seed_bytes(row("≥", "个", "=8个", 8)))
    (err,) = [f for f in at(scored, "target") if f.severity == "error"]
    assert err.code == "formula-not-allowed"
    assert "以“=”开头，被Excel当成了公式" in err.message and "指标性质改为“=”" in err.message


def test_actual_copied_from_the_target_with_its_sign_is_named_at_the_actual_cell() -> None:
    """ "≥38个" typed as 实际完成值 of "≥ 38 个": the target, copied, sign and all (B: 定量 rows too)."""
    scored = api.score_workbook(seed_bytes(set_indicator(0, "actual", "≥38个")))
    assert not scored.report.valid
    (err,) = [f for f in at(scored, "actual") if f.severity == "error"]
    assert err.code == "actual-copied-target"
    assert "“≥38个”照抄了年度指标值（连“≥”一起）" in err.message


# --- amounts: dashes mean blank ------------------------------------------------------------------


@pytest.mark.parametrize("dash", ["—", "-", "／", "无", "——"])
def test_dash_in_an_optional_amount_cell_is_blank_without_a_finding(dash: str) -> None:
    edit = chain(
        set_value("/budget/current/initial", "8593.66"),
        set_value("/budget/carryover/initial", dash),
        set_value("/budget/other/initial", dash),
    )
    doc, report = api.validate_workbook(seed_bytes(edit))
    assert report.valid, report.flatten(["code", "cell", "message"])
    assert "initial" not in doc.data["budget"].get("carryover", {})
    assert not [f for f in report if f.field and f.field.startswith("/budget/carryover")]


def test_dash_in_the_total_row_is_blank_with_a_warning_and_an_error() -> None:
    _doc, report = api.validate_workbook(seed_bytes(set_value("/budget/total/executed", "—")))
    sheet, ref = layout.cell_of("/budget/total/executed")  # type: ignore[misc]
    found = {(f.code, f.severity) for f in report if f.cell == ref and f.sheet == sheet}
    assert ("value-normalised", "warning") in found and ("missing-value", "error") in found
    assert not [f for f in report if f.code == "type-error"]


# --- a message never shows the same text twice --------------------------------------------------


@pytest.mark.parametrize(
    ("pointer", "typed"),
    [
        ("/identity/division_code", "130133101000\u200b"),
        ("/identity/division_code", " 130133101000 "),
        ("/budget/total/executed", "8724.90"),
        ("/budget/total/executed", " 8724.90 "),
    ],
)
def test_no_message_repeats_the_value_it_normalised(pointer: str, typed: str) -> None:
    _, report = api.validate_workbook(seed_bytes(set_value(pointer, typed)))
    for f in report:
        if f.code == "value-normalised":
            assert f.message.count("8724.90") <= 1 and f.message.count("130133101000") <= 1, f.message
