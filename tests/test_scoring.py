"""The scoring engine, with hand-computed figures."""

from __future__ import annotations

import dataclasses
from decimal import Decimal, getcontext, localcontext
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from submissions import ind

from selfeval_xlsx.model import Budget, Indicator, Member, PanelScore, Submission
from selfeval_xlsx.rules import Rules, load_rules
from selfeval_xlsx.scoring import (
    FALLBACK,
    ScoreResult,
    panel_composite,
    score_indicator,
    score_submission,
)

D = Decimal
HUNDRED = D(100)
RULES = load_rules()


# --- a small factory: submissions built directly, as the typed model holds them ---------------------


def make_sub(
    indicators: list[dict[str, Any]] | None = None,
    *,
    panel: dict[int, list[Any]] | None = None,
    members: int = 3,
    budget: tuple[Any, Any, Any] | None = ("8593.66", "9883.28", "8724.90"),
    self_total: Any = None,
    self_grade: str = "",
    problems: str = "部分项目资金支付进度滞后。",
) -> Submission:
    """A submission; ``panel`` maps an indicator's seq to its members' scores in member order."""
    rows = indicators if indicators is not None else [ind()]
    inds = tuple(Indicator(index=i, seq=i + 1, **r) for i, r in enumerate(rows))
    mems = tuple(Member(j, j + 1, f"成员{j + 1}", "", "职务", "") for j in range(members))
    scores: list[PanelScore] = []
    for seq, values in (panel or {}).items():
        for j, v in enumerate(values):
            scores.append(PanelScore(len(scores), seq, j + 1, D(v)))
    money = {"total": Budget(*(None if v is None else D(v) for v in budget))} if budget else {}
    return Submission(
        unit_name="宋营镇人民政府",
        division_code="130133100000",
        county="赵县",
        year=2023,
        preparer="张三",
        phone="13800000000",
        filled_on="2024-01-15",
        budget=money,
        annual_goal="",
        achieved="",
        self_total=None if self_total is None else D(self_total),
        self_grade=self_grade,
        problems=problems,
        measures="",
        overview="",
        process="",
        indicators=inds,
        members=mems,
        scores=tuple(scores),
    )


def one(indicator: dict[str, Any], scores: list[Any] | None = None, rules: Rules = RULES):
    sub = make_sub([indicator], panel={1: scores} if scores else None)
    return score_submission(sub, rules).indicators[0]


# --- budget execution -------------------------------------------------------------------------------


def test_seed_township_budget() -> None:
    res = score_submission(make_sub(), RULES)
    assert res.execution_rate == D("8724.90") / D("9883.28")
    assert res.execution_rate_shown == D("88.28")
    assert res.budget.shown == D("8.83")
    assert res.budget.weight == D(10)
    assert res.budget.value == D("8.83")  # rounded once, when computed (DOMAIN.md "Rounding")
    assert res.budget.inputs["unrounded"] == res.execution_rate * 10
    assert res.budget.explanation == "8724.90 / 9883.28 = 88.28% → 8.83 / 10"
    assert res.budget.pointer == "/budget/total/score"
    assert res.budget.inputs["initial"] == D("8593.66")


def test_budget_over_100_percent_earns_no_more_than_the_weight() -> None:
    res = score_submission(make_sub(budget=("100", "100", "110")), RULES)
    assert res.execution_rate == D("1.1")
    assert res.budget.value == D(10)
    assert "110.00%" in res.budget.explanation and "按100%计" in res.budget.explanation


@pytest.mark.parametrize(
    ("budget", "why"),
    [
        (("100", "0", "50"), "为空或为0"),
        (("100", None, "50"), "为空或为0"),
        (("100", "100", None), "全年执行数未填写"),
        (None, "为空或为0"),  # no total row at all
    ],
)
def test_budget_without_a_rate_scores_zero_and_says_why(budget: Any, why: str) -> None:
    res = score_submission(make_sub(budget=budget), RULES)
    assert res.execution_rate is None
    assert res.execution_rate_shown is None
    assert res.budget.value == 0
    assert why in res.budget.explanation


# --- quantitative indicators ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "actual", "weight", "score"),
    [
        ("38", "38", "20", "20.00"),
        ("38", "19", "20", "10.00"),  # half the target, half the points
        ("38", "40", "20", "20.00"),  # over the target: capped at the weight
        ("95", "90", "10", "9.47"),  # 90/95 × 10 = 9.4736…
        ("0", "0", "10", "10.00"),  # target 0 and reached
        ("0", "-1", "10", "0.00"),
        ("38", "-5", "10", "0.00"),  # never below zero
    ],
)
def test_higher_is_better(target: str, actual: str, weight: str, score: str) -> None:
    s = one(ind("≥", D(target), D(actual), weight))
    assert s.method == "≥"
    assert s.figure.shown == D(score)
    assert s.figure.explanation.endswith(f"→ {score} / {weight}")
    assert s.figure.pointer == "/indicators/0/score"


@pytest.mark.parametrize(
    ("actual", "score"),
    [
        ("5", "10.00"),  # below the target: full
        ("10", "10.00"),  # 1× target: full
        ("12", "8.00"),  # 20% over: 1 − 0.2
        ("15", "5.00"),  # 1.5× target: half
        ("20", "0.00"),  # 2× target: zero
        ("25", "0.00"),  # beyond: still zero, never negative
    ],
)
def test_lower_is_better(actual: str, score: str) -> None:
    s = one(ind("≤", D(10), D(actual), 10, unit="天"))
    assert s.method == "≤"
    assert s.figure.shown == D(score)


def test_lower_is_better_explanation() -> None:
    s = one(ind("≤", D(10), D(15), 10, unit="天"))
    assert (
        s.figure.explanation
        == "实际完成值 15 比年度指标值 10 多出 50.00%（多出年度指标值的 100.00% 及以上得0分），得分比例 50.00% → 5.00 / 10"
    )


def test_lower_is_better_zero_point_is_a_setting() -> None:
    rules = dataclasses.replace(RULES, reverse_zero_at=D(3))  # 0 points at three times the target
    assert one(ind("≤", D(10), D(20), 10), rules=rules).figure.shown == D("5.00")


@pytest.mark.parametrize(
    ("target", "actual", "score"),
    [
        ("100", "100", "10.00"),
        ("100", "90", "9.00"),
        ("100", "110", "9.00"),
        ("100", "150", "5.00"),
        ("100", "200", "0.00"),
        ("100", "300", "0.00"),
        ("0", "0", "10.00"),
        ("0", "1", "0.00"),
    ],
)
def test_exact(target: str, actual: str, score: str) -> None:
    s = one(ind("=", D(target), D(actual), 10))
    assert s.method == "="
    assert s.figure.shown == D(score)


@pytest.mark.parametrize(
    ("target", "actual"),
    [("不超过年初预算", "未超过年初预算"), (D(38), "全部完成"), ("高质量完成", D(100))],
)
def test_quantitative_row_without_numbers_falls_back_to_the_panel(target: Any, actual: Any) -> None:
    s = one(ind("≤", target, actual, 5), [4, 5, 4.5])
    assert s.method == FALLBACK == "定性(回退)"
    assert s.qualitative
    assert s.panel_composite == D("4.5")
    assert s.figure.shown == D("4.50")
    assert "不是数字" in s.figure.explanation and "评价小组3人打分" in s.figure.explanation


# --- qualitative indicators ------------------------------------------------------------------------


def test_qualitative_within_its_band_is_the_composite() -> None:
    s = one(ind("定性", "及时拨付", "及时拨付", 10, completion="达成"), [9, 8.5, 9.5])
    assert s.method == "定性"
    assert s.panel_composite == D(9)
    assert s.band == (D("8.00"), D("10.00"))
    assert not s.clamped
    assert s.figure.shown == D("9.00")
    assert s.figure.explanation == (
        "评分方式：成员打分；评价小组3人打分 9.00、8.50、9.50，平均 9.00；完成等级“达成”的得分范围 8.00–10.00"
        " → 9.00 / 10"
    )


@pytest.mark.parametrize(
    ("completion", "scores", "score"),
    [
        ("部分达成", [9, 9, 9], "7.99"),  # exclusive top: just below 8
        ("部分达成", [8, 8, 8], "7.99"),  # exactly the top is already outside
        ("部分达成", [5, 5, 5], "6.00"),
        ("达成", [5, 6, 7], "8.00"),
        ("未达成", [7, 7, 7], "5.99"),
    ],
)
def test_qualitative_clamped_into_the_declared_band(completion: str, scores: list[int], score: str) -> None:
    s = one(ind("定性", "群众满意度较高", "较高", 10, completion=completion), scores)
    assert s.clamped
    assert s.figure.shown == D(score)
    assert f"已调整为 {score}" in s.figure.explanation


def test_qualitative_without_panel_scores_uses_the_self_score() -> None:
    s = one(ind("定性", "保持社会稳定", "稳定", 30, completion="达成", self_score=27))
    assert s.panel_composite is None
    assert s.figure.shown == D("27.00")
    # no panel score anywhere: the auto mode is "none" (self scores), and the explanation says so
    assert s.panel_mode == "none" and s.method_label == "定性（单位自评）"
    assert s.figure.explanation.startswith(
        "评分方式：单位自评；本表不设评价小组打分，按单位自评得分 27.00 计"
    )
    # a members panel that skipped this indicator: the self score stands in, and the text says why
    sub = make_sub(
        [ind("定性", "保持社会稳定", "稳定", 30, completion="达成", self_score=27)] * 2, panel={2: [28]}
    )
    s = score_submission(sub, RULES).indicators[0]
    assert s.panel_mode == "members" and "未对本指标打分" in s.figure.explanation
    assert "暂按单位自评得分 27.00" in s.figure.explanation


def test_qualitative_without_any_score_is_zero_and_says_so() -> None:
    s = one(ind("定性", "保持社会稳定", "稳定", 30))
    assert s.figure.value == 0
    assert "也未填写自评得分，按0分计" in s.figure.explanation


def test_qualitative_without_completion_is_kept_within_the_weight() -> None:
    s = one(ind("定性", "好", "好", 10), [12, 12, 12])  # members scored above the weight
    assert s.band is None
    assert s.clamped
    assert s.figure.shown == D("10.00")


# --- the panel -------------------------------------------------------------------------------------


def test_five_members_plain_mean() -> None:
    assert panel_composite([D(6), D(7), D(8), D(9), D(10)], RULES) == D(8)
    assert panel_composite([D(2), D(7), D(8), D(9), D(10)], RULES) == D("7.2")


def test_six_members_drop_one_highest_and_one_lowest() -> None:
    # untrimmed mean would be 46 / 6 = 7.67; trimmed (7 + 8 + 9 + 10) / 4 = 8.5
    assert panel_composite([D(2), D(7), D(8), D(9), D(10), D(10)], RULES) == D("8.5")
    s = one(ind("定性", "x", "x", 10), [2, 7, 8, 9, 10, 10])
    assert s.figure.shown == D("8.50")
    assert "去掉一个最高分 10.00 和一个最低分 2.00 后平均 8.50" in s.figure.explanation


def test_trimming_threshold_is_a_setting() -> None:
    rules = dataclasses.replace(RULES, trim_when_more_than=3)
    assert panel_composite([D(0), D(8), D(9), D(10)], rules) == D("8.5")
    assert panel_composite([D(0), D(8), D(9), D(10)], RULES) == D("6.75")


def test_no_scores_no_composite() -> None:
    assert panel_composite([], RULES) is None


def test_composite_is_unrounded() -> None:
    assert panel_composite([D(10), D(10), D(9)], RULES) == D(29) / D(3)


# --- totals, rounding, grades ----------------------------------------------------------------------


def test_half_up_rounding_where_float_or_bankers_would_differ() -> None:
    sub = make_sub(
        [
            ind("≥", D(1000), D(535), 5),  # 0.535 × 5 = 2.675
            ind("≥", D(1000), D(125), 1),  # 0.125
        ],
        budget=("10000", "10000", "8825"),  # 0.8825 × 10 = 8.825
    )
    res = score_submission(sub, RULES)
    assert res.budget.value == D("8.83") and res.budget.shown == D("8.83")
    assert [s.figure.value for s in res.indicators] == [D("2.68"), D("0.13")]
    assert [s.figure.shown for s in res.indicators] == [D("2.68"), D("0.13")]
    # each score is rounded once; the total adds the shown parts (8.83 + 2.68 + 0.13 = 11.64), so the
    # printed table adds up (the unrounded parts would give 11.625 → 11.63 beside parts adding to 11.64)
    assert res.total.value == D("11.64")
    assert res.total.shown == D("11.64")
    assert res.subtotals["产出指标"].shown == D("2.81")  # 2.68 + 0.13, as printed


def test_seed_like_submission_total_and_subtotals() -> None:
    sub = make_sub(
        [
            ind("≥", D(38), D(38), 20, unit="个"),
            ind("定性", "高质量完成", "高质量完成", 15, completion="达成", level2="质量指标"),
            ind(
                "定性",
                "保持社会稳定",
                "社会稳定",
                30,
                completion="达成",
                level1="效益指标",
                level2="社会效益指标",
            ),
        ],
        panel={2: [15, 14, 13], 3: [30, 30, 27]},
    )
    res = score_submission(sub, RULES)
    assert list(res.subtotals) == ["产出指标", "效益指标", "满意度指标"]
    assert res.subtotals["产出指标"].shown == D("34.00")
    assert res.subtotals["产出指标"].weight == D(35)
    assert res.subtotals["效益指标"].shown == D("29.00")
    assert res.subtotals["满意度指标"].value == 0 and res.subtotals["满意度指标"].weight == 0
    assert res.total.value == res.budget.value + 20 + 14 + 29
    assert res.total.shown == D("71.83")
    assert res.total.weight == D(75)
    assert res.grade == "一般"
    assert res.total.explanation.startswith(
        "预算执行 8.83 + 产出指标 34.00 + 效益指标 29.00 + 满意度指标 0.00 = 71.83"
    )


@pytest.mark.parametrize(
    ("actual", "default", "mof"),
    [("75", "优秀", "良"), ("74.99", "良好", "良"), ("80", "优秀", "优"), ("79.99", "优秀", "良")],
)
def test_grade_from_the_computed_total(actual: str, default: str, mof: str) -> None:
    sub = make_sub([ind("≥", D(90), D(actual), 90)], budget=("100", "100", "100"))
    res = score_submission(sub, RULES)
    assert res.total.shown == 10 + D(actual)
    assert res.grade == default
    assert score_submission(sub, load_rules("mof-2020")).grade == mof


def test_grade_uses_the_shown_total() -> None:
    # 74.995 is rounded once to 75.00; 10 + 75.00 = 85.00: the grade is that of the rounded total
    sub = make_sub(
        [ind("≥", D(1000000), D("937437.5"), 80), ind("≥", D(10), D(0), 10)],  # 0.9374375 × 80 = 74.995
        budget=("1", "1", "1"),
    )
    res = score_submission(sub, RULES)
    assert res.for_indicator(0).figure.inputs["unrounded"] == D("74.995")
    assert res.total.value == D("85.00")
    assert res.total.shown == D("85.00")
    assert res.grade == "优秀"


def test_result_helpers() -> None:
    sub = make_sub([ind("≥", D(10), D(5), 10), ind("≥", D(10), D(10), 80)])
    res = score_submission(sub, RULES)
    assert isinstance(res, ScoreResult)
    assert res.indicator_sum == D(85)
    assert res.points_lost
    assert res.for_indicator(1).figure.shown == D("80.00")
    assert res.max_total == res.budget.value + 90
    with pytest.raises(KeyError):
        res.for_indicator(9)


def test_independent_of_the_callers_decimal_context() -> None:
    with localcontext() as ctx:
        ctx.prec = 3
        res = score_submission(make_sub(), RULES)
        assert getcontext().prec == 3
    assert res.execution_rate == D("0.8827939712322225010320460414")
    assert res.budget.shown == D("8.83")


def test_score_indicator_directly() -> None:
    i = Indicator(0, 1, "产出指标", "数量指标", "x", "≥", D(4), "个", D(3), None, D(8), None, "")
    assert score_indicator(i, [], RULES).figure.value == D(6)


# --- properties ------------------------------------------------------------------------------------

money = st.decimals(min_value=-10, max_value=100000, places=2, allow_nan=False, allow_infinity=False)
value = st.one_of(
    st.decimals(min_value=-100, max_value=10000, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from(["高质量完成", "≥95%", "及时"]),
)
row = st.builds(
    lambda nature, target, actual, weight, completion, self_score, scores: (
        ind(nature, target, actual, weight, completion=completion, self_score=self_score),
        scores,
    ),
    st.sampled_from(["≥", "≤", "=", "定性", "≧"]),
    value,
    value,
    st.decimals(min_value=0, max_value=90, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from([None, "达成", "部分达成", "未达成"]),
    st.one_of(st.none(), st.decimals(min_value=0, max_value=90, places=2)),
    st.lists(st.decimals(min_value=0, max_value=100, places=2), max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(row, min_size=1, max_size=8),
    budget=st.tuples(st.one_of(st.none(), money), st.one_of(st.none(), money), st.one_of(st.none(), money)),
    profile=st.sampled_from(["default", "mof-2020"]),
)
def test_scores_stay_within_their_weights_and_add_up(rows: list, budget: tuple, profile: str) -> None:
    rules = load_rules(profile)
    sub = make_sub(
        [r for r, _ in rows], panel={i + 1: s for i, (_, s) in enumerate(rows) if s}, budget=budget
    )
    res = score_submission(sub, rules)
    for s in res.indicators:
        assert 0 <= s.figure.value <= s.indicator.weight
        assert 0 <= s.figure.shown <= s.indicator.weight
        if s.band is not None:
            assert s.band[0] <= s.figure.value <= s.band[1]
    assert 0 <= res.budget.value <= rules.budget_weight
    assert 0 <= res.budget.shown <= rules.budget_weight
    # the total is exactly the sum of the shown parts, and so is each subtotal
    parts = [res.budget.shown, *(s.figure.shown for s in res.indicators)]
    assert res.total.shown == res.total.value == sum(parts)
    for cat, fig in res.subtotals.items():
        assert fig.shown == sum((s.figure.shown for s in res.indicators if s.indicator.level1 == cat), D(0))
    assert res.grade == rules.grade_for(res.total.shown)
    assert set(res.subtotals) == {"产出指标", "效益指标", "满意度指标"}
