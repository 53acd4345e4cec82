"""The scoring engine: pure functions from a :class:`Submission` and :class:`Rules` to figures.

Decimal throughout (a local context of 28 digits), never floats. Each score is rounded half-up to the
profile's places once, when it is computed (an indicator's 得分, the budget's 得分); subtotals and the
total are sums of those rounded scores, so every printed table adds up to its own total (DOMAIN.md,
"Rounding"). The unrounded figure is kept in ``Figure.inputs["unrounded"]`` for explanations only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any

from . import panel
from .decimals import HUNDRED, ONE, ZERO, q2
from .layout import LEVELS
from .model import Indicator, Submission
from .rules import Rules

CATEGORIES: tuple[str, ...] = tuple(LEVELS)
QUANT_METHODS = ("≥", "≤", "=")
FALLBACK = "定性(回退)"

_CTX = Context(prec=28, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Figure:
    """A computed score: unrounded value, shown value, out of weight, and how it was reached."""

    value: Decimal  # the score as counted: rounded once (a sum of rounded scores for subtotals/total)
    shown: Decimal  # the same, on the profile's places (kept for callers that print it)
    weight: Decimal
    explanation: str  # Chinese, 2-decimal figures
    inputs: dict[str, Any] = field(default_factory=dict)
    pointer: str | None = None  # JSON pointer of the cell the figure is written to

    @property
    def full(self) -> bool:
        """True when the shown score reaches the weight."""
        return self.shown >= self.weight

    @property
    def lost(self) -> Decimal:
        """Points lost."""
        return self.weight - self.value


@dataclass(frozen=True)
class IndicatorScore:
    """The computed score of one indicator.

    ``method`` is '≥', '≤', '=', '定性' or '定性(回退)' (a quantitative row without numbers, scored by the
    panel). ``band`` is the allowed (lowest, highest) points of the declared completion level.
    """

    indicator: Indicator
    figure: Figure
    method: str
    panel_composite: Decimal | None
    band: tuple[Decimal, Decimal] | None
    clamped: bool
    panel_mode: str = ""  # for qualitative rows: members / agreed / none (selfeval_xlsx.panel)

    @property
    def qualitative(self) -> bool:
        """Scored by the panel (定性 or a quantitative row that fell back)."""
        return self.method.startswith("定性")

    @property
    def method_label(self) -> str:
        """The method as shown in the completed workbook and the roll-up: '≥', '定性（小组合议）'…"""
        if self.qualitative and self.panel_mode:
            return f"{self.method}（{panel.label(self.panel_mode)}）"
        return self.method


@dataclass(frozen=True)
class ScoreResult:
    """Every computed figure of a submission."""

    rules: Rules
    execution_rate: Decimal | None  # unrounded ratio, e.g. 0.88279…
    budget: Figure
    indicators: tuple[IndicatorScore, ...]
    subtotals: dict[str, Figure]  # 产出指标 / 效益指标 / 满意度指标, always all three
    total: Figure
    grade: str
    panel_mode: str = panel.MEMBERS  # how the qualitative indicators were scored

    @property
    def execution_rate_shown(self) -> Decimal | None:
        """Execution rate in percent, as shown (88.28)."""
        return None if self.execution_rate is None else self.rules.quantize(self.execution_rate * HUNDRED)

    @property
    def indicator_sum(self) -> Decimal:
        """Sum of the indicators' (rounded) scores."""
        return sum((s.figure.value for s in self.indicators), ZERO)

    @property
    def max_total(self) -> Decimal:
        """The best total this table allows given its execution rate."""
        return self.budget.value + sum((s.indicator.weight for s in self.indicators), ZERO)

    @property
    def points_lost(self) -> bool:
        """True when any part (budget or an indicator) is shown below its weight."""
        return not self.budget.full or any(not s.figure.full for s in self.indicators)

    def for_indicator(self, index: int) -> IndicatorScore:
        """The score of the indicator with this ``Indicator.index``."""
        for s in self.indicators:
            if s.indicator.index == index:
                return s
        raise KeyError(index)


# --- public functions --------------------------------------------------------------------------------


def score_submission(sub: Submission, rules: Rules) -> ScoreResult:
    """Score a submission under a rules profile."""
    with localcontext(_CTX):
        rate, budget = score_budget(sub, rules)
        mode = panel.resolve(rules.panel_mode, bool(sub.scores), bool(sub.agreed))
        scores = tuple(
            score_indicator(ind, _panel_scores(sub, ind, mode), rules, mode) for ind in sub.indicators
        )
        subtotals = {cat: _subtotal(cat, scores, rules) for cat in CATEGORIES}
        value = budget.value + sum((s.figure.value for s in scores), ZERO)
        weight = rules.budget_weight + sum((s.indicator.weight for s in scores), ZERO)
        parts = [f"预算执行 {rules.fmt(budget.value)}"]
        parts += [f"{cat} {rules.fmt(f.value)}" for cat, f in subtotals.items()]
        other = sum((s.figure.value for s in scores if s.indicator.level1 not in CATEGORIES), ZERO)
        if any(s.indicator.level1 not in CATEGORIES for s in scores):
            parts.append(f"其他指标 {rules.fmt(other)}")
        shown = rules.quantize(value)
        total = Figure(
            value=value,
            shown=shown,
            weight=weight,
            explanation=f"{' + '.join(parts)} = {rules.fmt(value)} / {_w(weight)}（各项得分保留两位小数后相加）",
            inputs={"budget": budget.value, **{cat: f.value for cat, f in subtotals.items()}},
        )
        return ScoreResult(
            rules=rules,
            execution_rate=rate,
            budget=budget,
            indicators=scores,
            subtotals=subtotals,
            total=total,
            grade=rules.grade_for(shown),
            panel_mode=mode,
        )


def _panel_scores(sub: Submission, ind: Indicator, mode: str) -> list[Decimal]:
    """The scores a qualitative indicator's composite is taken from, under the panel mode."""
    if mode == panel.MEMBERS:
        return [p.score for p in sub.scores_for(ind.seq)]
    if mode == panel.AGREED:
        agreed = sub.agreed_for(ind.seq)
        return [] if agreed is None else [agreed.score]
    return []


def panel_composite(scores: Sequence[Decimal], rules: Rules) -> Decimal | None:
    """Mean of members' scores (unrounded); trimmed per profile when there are enough; None if none."""
    if not scores:
        return None
    with localcontext(_CTX):
        kept = _trimmed(scores, rules)
        return sum(kept, ZERO) / len(kept)


def score_budget(sub: Submission, rules: Rules) -> tuple[Decimal | None, Figure]:
    """(unrounded execution rate or None, budget figure) from the ``total`` budget row."""
    with localcontext(_CTX):
        w = rules.budget_weight
        row = sub.budget.get("total")
        adjusted = row.adjusted if row else None
        executed = row.executed if row else None
        inputs: dict[str, Any] = {
            "initial": row.initial if row else None,
            "adjusted": adjusted,
            "executed": executed,
        }
        pointer = "/budget/total/score"
        if adjusted is None or adjusted <= 0:
            text = f"全年预算数（调整后）为空或为0，无法计算执行率，得0分 → {rules.fmt(ZERO)} / {_w(w)}"
            return None, _figure(ZERO, w, text, rules, inputs | {"rate": None}, pointer)
        if executed is None:
            text = f"全年执行数未填写，无法计算执行率，得0分 → {rules.fmt(ZERO)} / {_w(w)}"
            return None, _figure(ZERO, w, text, rules, inputs | {"rate": None}, pointer)
        rate = executed / adjusted
        share = min(max(rate, ZERO), ONE)
        value = share * w
        text = f"{rules.fmt(executed)} / {rules.fmt(adjusted)} = {_pct(rate, rules)}"
        if rate > ONE:
            text += "，超过100%按100%计"
        elif rate < 0:
            text += "，按0计"
        text += f" → {rules.fmt(value)} / {_w(w)}"
        return rate, _figure(value, w, text, rules, inputs | {"rate": rate}, pointer)


def score_indicator(
    ind: Indicator, scores: Sequence[Decimal], rules: Rules, mode: str = panel.MEMBERS
) -> IndicatorScore:
    """Score one indicator from its row and its panel scores (in member order; under ``agreed`` the one
    agreed score; under ``none`` none, so the self score counts)."""
    with localcontext(_CTX):
        target, actual = ind.target, ind.actual
        numeric = isinstance(target, Decimal) and isinstance(actual, Decimal)
        if ind.nature in QUANT_METHODS and numeric:
            assert isinstance(target, Decimal) and isinstance(actual, Decimal)
            share, text = _quantitative(ind.nature, target, actual, rules)
            value = share * ind.weight
            text += f" → {rules.fmt(value)} / {_w(ind.weight)}"
            inputs = {"target": target, "actual": actual}
            fig = _figure(value, ind.weight, text, rules, inputs, f"{ind.pointer}/score")
            return IndicatorScore(ind, fig, ind.nature, None, None, False)
        method = "定性" if ind.nature == "定性" else FALLBACK
        if method == "定性":
            prefix = ""
        elif ind.nature in QUANT_METHODS:
            what = "年度指标值" if not isinstance(target, Decimal) else "实际完成值"
            prefix = f"{what}不是数字，无法按“{ind.nature}”公式计算，改按评价小组打分计："
        else:
            prefix = f"指标性质“{ind.nature}”无法识别，改按评价小组打分计："
        return _qualitative(ind, scores, rules, method, prefix, mode)


# --- helpers ---------------------------------------------------------------------------------------


def _quantitative(nature: str, target: Decimal, actual: Decimal, rules: Rules) -> tuple[Decimal, str]:
    """(share of the weight earned, explanation) of a quantitative indicator."""
    a, t = _n(actual), _n(target)
    if nature == "≥":
        if actual >= target:
            if target > 0:
                return ONE, f"实际完成值 {a} / 年度指标值 {t} = {_pct(actual / target, rules)}，得满分"
            return ONE, f"实际完成值 {a} ≥ 年度指标值 {t}，得满分"
        if target <= 0:
            return ZERO, f"实际完成值 {a} 未达到年度指标值 {t}（指标值不为正数，无法按比例计），得0分"
        ratio = actual / target
        share = max(ratio, ZERO)
        return share, f"实际完成值 {a} / 年度指标值 {t} = {_pct(ratio, rules)}"
    if nature == "≤":
        if actual <= target:
            return ONE, f"实际完成值 {a} ≤ 年度指标值 {t}，得满分"
        if target <= 0:
            return ZERO, f"实际完成值 {a} 超过年度指标值 {t}（指标值不为正数，无法按比例计），得0分"
        over = (actual - target) / target
        limit = rules.reverse_zero_at - ONE
        share = max(ONE - over / limit, ZERO)
        return share, (
            f"实际完成值 {a} 比年度指标值 {t} 多出 {_pct(over, rules)}"
            f"（多出年度指标值的 {_pct(limit, rules)} 及以上得0分），得分比例 {_pct(share, rules)}"
        )
    # "="
    if actual == target:
        return ONE, f"实际完成值 {a} = 年度指标值 {t}，得满分"
    if target == 0:
        return ZERO, f"实际完成值 {a} 不等于年度指标值 {t}（指标值为0，无法按比例计），得0分"
    dev = abs(actual - target) / abs(target)
    limit = rules.exact_zero_at
    share = max(ONE - dev / limit, ZERO)
    return share, (
        f"实际完成值 {a} 与年度指标值 {t} 相差 {_pct(dev, rules)}"
        f"（相差年度指标值的 {_pct(limit, rules)} 及以上得0分），得分比例 {_pct(share, rules)}"
    )


def _qualitative(
    ind: Indicator, scores: Sequence[Decimal], rules: Rules, method: str, prefix: str, mode: str
) -> IndicatorScore:
    """Score from the panel composite (or the self score, or 0), kept inside the completion band."""
    w = ind.weight
    composite = panel_composite(scores, rules)
    who = "评价小组" if mode != panel.NONE else "本表不设评价小组打分，"
    if composite is not None and mode == panel.AGREED:
        base, text = composite, f"评价小组合议评分 {rules.fmt(composite)}"
    elif composite is not None:
        base, text = composite, _panel_text(scores, composite, rules)
    elif ind.self_score is not None:
        base = ind.self_score
        verb = "按" if mode == panel.NONE else "暂按"
        text = (
            f"{who}{'未对本指标打分，' if mode != panel.NONE else ''}{verb}单位自评得分 {rules.fmt(base)} 计"
        )
    else:
        base, text = ZERO, f"{who}{'未对本指标打分，' if mode != panel.NONE else ''}也未填写自评得分，按0分计"
    text = f"评分方式：{panel.label(mode)}；{text}"
    band = rules.band_points(ind.completion, w)
    if band is not None:
        low, high = band
        value = min(max(base, low), high)
        text += f"；完成等级“{ind.completion}”的得分范围 {rules.fmt(low)}–{rules.fmt(high)}"
        if value != base:
            text += f"，已调整为 {rules.fmt(value)}"
    else:
        value = min(max(base, ZERO), w)
        if method == "定性":
            text += "；未填写完成等级"
        if value != base:
            text += f"，超出 0–{_w(w)} 分，按 {rules.fmt(value)} 计"
    clamped = value != base
    text = f"{prefix}{text} → {rules.fmt(value)} / {_w(w)}"
    inputs = {"scores": list(scores), "composite": composite, "completion": ind.completion, "base": base}
    fig = _figure(value, w, text, rules, inputs, f"{ind.pointer}/score")
    return IndicatorScore(ind, fig, method, composite, band, clamped, mode)


def _trimmed(scores: Sequence[Decimal], rules: Rules) -> list[Decimal]:
    ordered = sorted(scores)
    k = rules.trim_each_side
    if len(ordered) > rules.trim_when_more_than and k and len(ordered) > 2 * k:
        return ordered[k:-k]
    return ordered


def _panel_text(scores: Sequence[Decimal], composite: Decimal, rules: Rules) -> str:
    listed = "、".join(rules.fmt(s) for s in scores)
    text = f"评价小组{len(scores)}人打分 {listed}"
    kept = _trimmed(scores, rules)
    if len(kept) < len(scores):
        ordered = sorted(scores)
        k = rules.trim_each_side
        if k == 1:
            text += f"，去掉一个最高分 {rules.fmt(ordered[-1])} 和一个最低分 {rules.fmt(ordered[0])} 后"
        else:
            text += f"，去掉最高的{k}个和最低的{k}个分数后"
    else:
        text += "，"
    return text + f"平均 {rules.fmt(composite)}"


def _subtotal(cat: str, scores: Sequence[IndicatorScore], rules: Rules) -> Figure:
    mine = [s for s in scores if s.indicator.level1 == cat]
    value = sum((s.figure.value for s in mine), ZERO)
    weight = sum((s.indicator.weight for s in mine), ZERO)
    if mine:
        text = f"{cat}{len(mine)}项合计 {rules.fmt(value)} / {_w(weight)}"
    else:
        text = f"没有{cat} → {rules.fmt(ZERO)} / 0"
    inputs = {
        "indicators": [s.indicator.seq for s in mine],
        "profile_weight": rules.category_weights.get(cat),
    }
    return _figure(value, weight, text, rules, inputs, None)


def _figure(
    value: Decimal, weight: Decimal, text: str, rules: Rules, inputs: dict[str, Any], pointer: str | None
) -> Figure:
    """A score rounded once, here, half-up to the profile's places; what is summed is what is shown."""
    shown = rules.quantize(value)
    if shown != value:
        inputs = inputs | {"unrounded": value}
    return Figure(shown, shown, weight, text, inputs, pointer)


def _pct(ratio: Decimal, rules: Rules) -> str:
    """A ratio as a percentage with the profile's places: 0.882792… → '88.28%'."""
    return f"{rules.fmt(ratio * HUNDRED)}%"


def _n(value: Decimal) -> str:
    """A value as the township wrote it (no exponent)."""
    return f"{value:f}"


def _w(weight: Decimal) -> str:
    """A weight: '10' when whole, else with two decimals."""
    if weight == weight.to_integral_value():
        return f"{weight.to_integral_value():f}"
    return f"{q2(weight):f}"
