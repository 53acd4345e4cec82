"""Issue 14: what careful readers of published tables catch, on workbooks written as a clerk would.

Each case is the seed township's workbook (宋营镇 2023) edited with openpyxl the way the pattern turns
up in real forms; each finding is asserted at its cell, with its figures, in Chinese.
"""

from __future__ import annotations

from typing import Any

import pytest
from workbooks import cell_of, chain, indicator_cell, seed_bytes, set_indicator, set_value

from selfeval_xlsx import api

NEW_CODES = {
    "budget-raised",
    "actual-equals-target",
    "generic-completion",
    "template-text-left",
    "execution-scored-twice",
    "cost-differs-from-budget",
    "goal-not-reported",
}


def scored(*edits: Any) -> Any:
    return api.score_workbook(seed_bytes(chain(*edits) if edits else None))


def found(s: Any, code: str) -> list:
    return [f for f in s.report if f.code == code]


def test_the_seed_township_raises_none_of_the_new_findings() -> None:
    s = scored()
    assert not [f for f in s.report if f.code in NEW_CODES], [f.code for f in s.report]


# --- budget raised during the year until spending equals it ------------------------------------------


def test_budget_raised_to_equal_spending() -> None:
    s = scored(set_value("/budget/total/initial", "7000.00"), set_value("/budget/total/adjusted", "8724.90"))
    (f,) = found(s, "budget-raised")
    assert (f.sheet, f.cell) == cell_of("/budget/total/adjusted")
    for text in ("8724.90万元", "7000.00万元", "调增了1724.90万元", "24.64%", "100.00%"):
        assert text in f.message, f.message


@pytest.mark.parametrize(("initial", "adjusted"), [("8000.00", "8724.90"), ("7000.00", "9883.28")])
def test_small_raise_or_rate_below_100_is_not_flagged(initial: str, adjusted: str) -> None:
    s = scored(set_value("/budget/total/initial", initial), set_value("/budget/total/adjusted", adjusted))
    assert not found(s, "budget-raised")


# --- blank amounts in the 合计 row ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["executed", "initial", "adjusted"])
def test_blank_total_amount_is_an_error_at_the_cell(key: str) -> None:
    s = scored(set_value(f"/budget/total/{key}", None))
    assert s.result is None  # no longer scored 0 or with the cut check switched off
    errs = [f for f in s.report.errors if (f.sheet, f.cell) == cell_of(f"/budget/total/{key}")]
    assert [f.code for f in errs] == ["missing-value"] and "“合计”行" in errs[0].message


def test_blank_total_with_funding_rows_filled_names_their_sum() -> None:
    s = scored(
        set_value("/budget/total/executed", None),
        set_value("/budget/current/executed", "8000.50"),
        set_value("/budget/carryover/executed", "724.40"),
    )
    (err,) = [f for f in s.report.errors if (f.sheet, f.cell) == cell_of("/budget/total/executed")]
    assert "合计为8724.90万元" in err.message


# --- actual values copied from the target ----------------------------------------------------------


def quantitative_quality_row() -> Any:
    """Indicator 2 made quantitative: 项目验收合格率 ≥ 100 %, actual 100."""
    return chain(
        set_indicator(1, "level3", "项目验收合格率"),
        set_indicator(1, "nature", "≥"),
        set_indicator(1, "target", 100),
        set_indicator(1, "unit", "%"),
        set_indicator(1, "actual", 100),
        set_indicator(1, "completion", None),
    )


def test_every_quantitative_actual_equal_to_its_target_is_one_warning() -> None:
    s = scored(quantitative_quality_row(), set_indicator(3, "actual", "8593.66"))
    (f,) = found(s, "actual-equals-target")
    assert "全部3项定量指标（指标1、指标2、指标4）" in f.message
    assert f.sheet == "绩效指标" and f.cell is not None


def test_one_quantitative_row_short_of_its_target_is_no_pattern() -> None:
    s = scored(quantitative_quality_row())  # indicator 4: 8724.90 against 8593.66
    assert not found(s, "actual-equals-target")


def test_generic_completions_on_most_rows_are_one_warning() -> None:
    edits = [set_indicator(i, "actual", "已完成") for i in (1, 2, 4)] + [
        set_indicator(5, "actual", "达到预期")
    ]
    s = scored(*edits)
    (f,) = found(s, "generic-completion")
    assert "6项指标中有4项" in f.message and "“已完成”“达到预期”" in f.message
    assert (f.sheet, f.cell) == indicator_cell(1, "actual")


def test_generic_completion_on_one_row_is_not_a_pattern() -> None:
    assert not found(scored(set_indicator(1, "actual", "已完成")), "generic-completion")


# --- template prompts left in answer cells -----------------------------------------------------------


def test_template_prompt_left_in_answer_cells() -> None:
    from selfeval_xlsx import layout

    achieved_help = next(f.help for f in layout.GOALS.fields if f.key == "achieved")
    reason_help = next(f.help for f in layout.INDICATORS.columns if f.key == "reason")
    s = scored(set_value("/goals/achieved", achieved_help), set_indicator(0, "reason", reason_help))
    cells = {(f.sheet, f.cell) for f in found(s, "template-text-left")}
    assert cells == {cell_of("/goals/achieved"), indicator_cell(0, "reason")}
    assert all("模板中的填写提示" in f.message for f in found(s, "template-text-left"))


# --- execution scored twice; 成本 against the budget -------------------------------------------------


@pytest.mark.parametrize("name", ["预算执行率", "资金支出进度"])
def test_indicator_that_rescores_budget_execution(name: str) -> None:
    s = scored(set_indicator(0, "level3", name))
    (f,) = found(s, "execution-scored-twice")
    assert (f.sheet, f.cell) == indicator_cell(0, "level3") and name in f.message


def test_cost_indicator_disagreeing_with_the_budget_execution() -> None:
    """成本控制 ≤ 8593.66 万元 (the 年初预算数): its actual is the year's spending, typed as 8000."""
    s = scored(set_indicator(3, "actual", "8000"))
    (f,) = found(s, "cost-differs-from-budget")
    assert (f.sheet, f.cell) == indicator_cell(3, "actual")
    assert "8000.00万元" in f.message and "8724.90万元" in f.message and "相差724.90万元" in f.message


@pytest.mark.parametrize(
    ("level3", "unit", "target", "actual"),
    [
        ("项目支出总额", "元", 85936600, 87249000),  # the same total, in 元
        ("单位面积建设成本", "万元", 50, 48),  # a unit cost, not the total
        ("培训经费", "万元", 30, 25),  # a part, not named as the total
    ],
)
def test_cost_indicators_that_agree_or_are_parts_are_not_flagged(
    level3: str, unit: str, target: int, actual: int
) -> None:
    s = scored(
        set_indicator(3, "level3", level3),
        set_indicator(3, "unit", unit),
        set_indicator(3, "target", target),
        set_indicator(3, "actual", actual),
    )
    assert not found(s, "cost-differs-from-budget")


def test_cost_indicator_named_as_total_in_yuan_disagreeing() -> None:
    s = scored(
        set_indicator(3, "level3", "项目支出总额"),
        set_indicator(3, "unit", "元"),
        set_indicator(3, "actual", 80000000),
    )
    (f,) = found(s, "cost-differs-from-budget")
    assert "8000.00万元" in f.message


# --- points deducted with every target met (kept); goals without completion ----------------------------


def test_points_deducted_while_the_target_is_met_and_no_reason() -> None:
    s = scored(set_indicator(0, "self_score", 12))
    (f,) = found(s, "deduction-without-shortfall")
    assert (f.sheet, f.cell) == indicator_cell(0, "self_score")
    assert "只给了12.00分" in f.message and "也没有说明扣分原因" in f.message


@pytest.mark.parametrize(
    ("achieved", "said"), [("已完成", "只写了“已完成”"), ("达到预期", "只写了“达到预期”")]
)
def test_goal_with_a_generic_completion_statement(achieved: str, said: str) -> None:
    s = scored(set_value("/goals/achieved", achieved))
    (f,) = found(s, "goal-not-reported")
    assert (f.sheet, f.cell) == cell_of("/goals/achieved") and said in f.message


def test_goal_copied_as_its_completion() -> None:
    import sampledata

    s = scored(set_value("/goals/achieved", sampledata.SEED_GOAL))
    (f,) = found(s, "goal-not-reported")
    assert "与年度总体目标一字不差" in f.message
