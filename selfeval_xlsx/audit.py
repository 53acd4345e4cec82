"""Audit: what a county bureau checks beyond the schema, once a submission is scored.

Every check returns warnings (``Finding`` values, never exceptions) whose Chinese message tells the
township clerk what to change, with the figures (2 decimals). Positions come from the caller's
``where(pointer)`` (``Document.where``), so findings name the sheet and cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .decimals import HUNDRED, ZERO
from .findings import Finding, make
from .layout import LEVELS
from .messages import text
from .model import Indicator, Submission
from .prompts import is_prompt, squash
from .rules import Rules
from .scoring import IndicatorScore, ScoreResult

Where = Callable[[str], dict[str, Any]]

#: Comparison signs (incl. look-alikes) that betray a target copied into 实际完成值.
SIGNS = "≥≤=＝﹦><＞＜≧≦"
_DIGIT = re.compile(r"[0-9０-９]")
_PUNCT = " \t\r\n。．.，,、；;：:！!　"


def audit(sub: Submission, result: ScoreResult, rules: Rules, where: Where) -> list[Finding]:
    """Every audit finding of a scored submission, in a stable order (totals, budget, indicators, panel)."""
    a = _Audit(sub, result, rules, where)
    return a.run()


class _Audit:
    def __init__(self, sub: Submission, result: ScoreResult, rules: Rules, where: Where) -> None:
        self.sub, self.result, self.rules, self.where = sub, result, rules, where
        self.out: list[Finding] = []

    def f(self, value: Decimal | None) -> str:
        return self.rules.fmt(value)

    def pct(self, ratio: Decimal) -> str:
        return f"{self.rules.fmt(ratio * HUNDRED)}%"

    def add(self, code: str, message: str, pointer: str, value: Any = None) -> None:
        self.out.append(make(code, message, value=value, **self.where(pointer)))

    def run(self) -> list[Finding]:
        self.totals()
        self.budget()
        for s in self.result.indicators:
            self.indicator(s)
        self.weights()
        self.panel()
        self.review()
        self.forms()
        return self.out

    # --- self-reported total and grade -------------------------------------------------------------

    def totals(self) -> None:
        r, res = self.rules, self.result
        total = res.total.shown
        own = self.sub.self_total
        if own is not None and abs(own - total) > r.audit.self_score_tolerance:
            ceiling = ""
            best = r.quantize(res.max_total)
            if own > best and res.execution_rate_shown is not None and not res.budget.full:
                ceiling = text(
                    "self-score-differs",
                    "ceiling",
                    rate=res.execution_rate_shown,
                    budget=self.f(res.budget.value),
                    best=self.f(best),
                )
            self.add(
                "self-score-differs",
                text(
                    "self-score-differs",
                    own=self.f(own),
                    total=self.f(total),
                    budget=self.f(res.budget.value),
                    indicators=self.f(res.indicator_sum),
                    diff=self.f(abs(own - total)),
                    ceiling=ceiling,
                ),
                "/self_assessment/total",
                own,
            )
        grade = (self.sub.self_grade or "").strip()
        if grade and grade != res.grade:
            self.add(
                "self-grade-differs",
                text(
                    "self-grade-differs",
                    own=grade,
                    total=self.f(total),
                    grade=res.grade,
                    grades=r.grade_text(),
                ),
                "/self_assessment/grade",
                grade,
            )

    # --- budget --------------------------------------------------------------------------------------

    def budget(self) -> None:
        row = self.sub.budget.get("total")
        rate = self.result.execution_rate
        if row is None or rate is None or row.adjusted is None or row.executed is None:
            return
        adjusted, executed, initial = row.adjusted, row.executed, row.initial
        if executed > adjusted:
            self.add(
                "execution-over-100",
                text(
                    "execution-over-100",
                    executed=self.f(executed),
                    adjusted=self.f(adjusted),
                    rate=self.pct(rate),
                    score=self.f(self.result.budget.value),
                ),
                "/budget/total/executed",
                executed,
            )
        bl = self.rules.audit.budget_lowered
        if (
            initial is not None
            and initial > 0
            and adjusted < initial
            and (initial - adjusted) >= bl.min_cut_share * initial
            and abs(executed - adjusted) <= bl.rate_tolerance * adjusted
        ):
            self.add(
                "budget-lowered",
                text(
                    "budget-lowered",
                    adjusted=self.f(adjusted),
                    initial=self.f(initial),
                    cut=self.f(initial - adjusted),
                    share=self.pct((initial - adjusted) / initial),
                    executed=self.f(executed),
                    rate=self.pct(rate),
                    initial_rate=self.pct(executed / initial),
                ),
                "/budget/total/adjusted",
                adjusted,
            )

        br = self.rules.audit.budget_raised
        if (
            initial is not None
            and initial > 0
            and adjusted > initial
            and (adjusted - initial) >= br.min_raise_share * initial
            and abs(executed - adjusted) <= br.rate_tolerance * adjusted
        ):
            self.add(
                "budget-raised",
                text(
                    "budget-raised",
                    adjusted=self.f(adjusted),
                    initial=self.f(initial),
                    raise_=self.f(adjusted - initial),
                    share=self.pct((adjusted - initial) / initial),
                    executed=self.f(executed),
                    rate=self.pct(rate),
                ),
                "/budget/total/adjusted",
                adjusted,
            )

    # --- each indicator ------------------------------------------------------------------------------

    def indicator(self, s: IndicatorScore) -> None:
        ind, fig = s.indicator, s.figure
        name = _name(ind)
        p = ind.pointer
        vague_indicator = False
        if ind.quantitative:
            if not isinstance(ind.target, Decimal):
                vague_indicator = True
                self.add(
                    "vague-indicator",
                    text(
                        "vague-indicator",
                        "target",
                        name=name,
                        nature=ind.nature,
                        target=ind.target,
                        score=self.f(fig.value),
                    ),
                    f"{p}/target",
                    ind.target,
                )
            elif not ind.unit.strip():
                self.add(
                    "vague-indicator",
                    text("vague-indicator", "unit", name=name, target=ind.target),
                    f"{p}/unit",
                    ind.target,
                )
        if isinstance(ind.target, str) and not vague_indicator:
            words = [w for w in self.rules.audit.vague_words if w in ind.target]
            if words and not _DIGIT.search(ind.target):
                listed = "”“".join(words)
                self.add(
                    "vague-target",
                    text(
                        "vague-target",
                        "qualitative" if ind.nature == "定性" else "quantitative",
                        name=name,
                        target=ind.target,
                        words=listed,
                    ),
                    f"{p}/target",
                    ind.target,
                )
        self.copied(s, name)
        self.self_score(s, name)
        if not fig.full and _blank(ind.reason, self.rules):
            self.add(
                "missing-deviation-reason",
                text(
                    "missing-deviation-reason",
                    "filler",
                    name=name,
                    score=self.f(fig.value),
                    weight=self.f(ind.weight),
                    reason=ind.reason.strip(),
                )
                if ind.reason.strip()
                else text(
                    "missing-deviation-reason",
                    "blank",
                    name=name,
                    score=self.f(fig.value),
                    weight=self.f(ind.weight),
                ),
                f"{p}/reason",
                ind.reason,
            )
        if s.band is not None and s.clamped:
            base = "评价小组综合得分" if s.panel_composite is not None else "自评得分"
            before = s.figure.inputs.get("base", ZERO)
            low, high = s.band
            self.add(
                "band-mismatch",
                text(
                    "band-mismatch",
                    name=name,
                    completion=ind.completion,
                    low=self.f(low),
                    high=self.f(high),
                    base=base,
                    before=self.f(before),
                    score=self.f(fig.value),
                ),
                f"{p}/completion",
                ind.completion,
            )

    def copied(self, s: IndicatorScore, name: str) -> None:
        ind = s.indicator
        if not (isinstance(ind.actual, str) and isinstance(ind.target, str)):
            return
        actual, target = _squash(ind.actual), _squash(ind.target)
        if not actual or actual != target or not any(c in actual for c in SIGNS):
            return
        full = ind.self_score >= ind.weight if ind.self_score is not None else s.figure.full
        if full:
            self.add(
                "actual-copied-target",
                text("actual-copied-target", "audit", name=name, actual=ind.actual),
                f"{ind.pointer}/actual",
                ind.actual,
            )

    def self_score(self, s: IndicatorScore, name: str) -> None:
        ind, fig = s.indicator, s.figure
        own = ind.self_score
        if own is None:
            return
        if own < ind.weight and fig.full:
            why = "" if ind.reason.strip() else "，也没有说明扣分原因"
            self.add(
                "deduction-without-shortfall",
                text(
                    "deduction-without-shortfall",
                    name=name,
                    weight=self.f(ind.weight),
                    own=self.f(own),
                    why=why,
                ),
                f"{ind.pointer}/self_score",
                own,
            )
            return
        diff = abs(own - fig.shown)
        if diff > self.rules.audit.indicator_self_score_tolerance:
            check = "完成等级和评价小组成员打分" if s.qualitative else "年度指标值和实际完成值"
            self.add(
                "indicator-self-score-differs",
                text(
                    "indicator-self-score-differs",
                    name=name,
                    own=self.f(own),
                    score=self.f(fig.value),
                    diff=self.f(diff),
                    basis=fig.explanation,
                    check=check,
                ),
                f"{ind.pointer}/self_score",
                own,
            )

    # --- the indicator table as a whole --------------------------------------------------------------

    def weights(self) -> None:
        r, scores = self.rules, self.result.indicators
        present = {s.indicator.level1 for s in scores}
        for cat, level2 in LEVELS.items():
            if cat in present:
                continue
            weight = r.category_weights.get(cat, ZERO)
            self.add(
                "category-empty",
                text("category-empty", category=cat, weight=self.f(weight), level2="、".join(level2)),
                "/indicators",
                cat,
            )
        qual = [s for s in scores if s.qualitative]
        weight = sum((s.indicator.weight for s in qual), ZERO)
        limit = r.audit.qualitative_max_share * r.indicator_total
        if qual and weight > limit:
            self.add(
                "qualitative-heavy",
                text(
                    "qualitative-heavy",
                    count=len(qual),
                    weight=self.f(weight),
                    total=self.f(r.indicator_total),
                    share=self.pct(weight / r.indicator_total),
                    max_share=self.pct(r.audit.qualitative_max_share),
                    limit=self.f(limit),
                ),
                "/indicators",
                weight,
            )

    # --- evaluation panel ----------------------------------------------------------------------------

    def panel(self) -> None:
        r, sub = self.rules, self.sub
        n = len(sub.members)
        if self.result.panel_mode == "members" and n < r.audit.min_panel_members:
            self.add(
                "panel-too-small",
                text("panel-too-small", count=n, minimum=r.audit.min_panel_members),
                "/members",
                n,
            )
        names = {m.seq: m.name for m in sub.members}
        for ind in sub.indicators:
            given = sub.scores_for(ind.seq)
            if len(given) < max(r.audit.outlier_min_scores, 2):
                continue
            allowed = r.audit.outlier_share * ind.weight
            for ps in given:
                others = [o.score for o in given if o is not ps]
                mean = sum(others, ZERO) / len(others)
                gap = abs(ps.score - mean)
                if gap > allowed:
                    who = names.get(ps.member) or f"成员{ps.member}"
                    self.add(
                        "panel-outlier",
                        text(
                            "panel-outlier",
                            who=who,
                            name=_name(ind),
                            score=self.f(ps.score),
                            mean=self.f(mean),
                            gap=self.f(gap),
                            weight=self.f(ind.weight),
                            share=self.pct(r.audit.outlier_share),
                            allowed=self.f(allowed),
                        ),
                        ps.pointer,
                        ps.score,
                    )

    # --- 存在的问题 ------------------------------------------------------------------------------------

    def review(self) -> None:
        res = self.result
        if not res.points_lost or not _blank(self.sub.problems, self.rules):
            return
        lost = res.total.weight - res.total.value
        parts = []
        if not res.budget.full:
            rate = res.execution_rate_shown
            parts.append(f"预算执行率{'' if rate is None else f'{rate:f}%'}，扣{self.f(res.budget.lost)}分")
        short = [s for s in res.indicators if not s.figure.full]
        if short:
            parts.append(
                f"{len(short)}项指标未得满分，扣{self.f(sum((s.figure.lost for s in short), ZERO))}分"
            )
        shown = self.sub.problems.strip() or "（空）"
        self.add(
            "no-problems-stated",
            text("no-problems-stated", shown=shown, lost=self.f(lost), parts="；".join(parts)),
            "/review/problems",
            self.sub.problems,
        )

    # --- what careful readers of real forms catch (issue 14) -----------------------------------------

    def forms(self) -> None:
        self.copied_pattern()
        self.generic_actuals()
        self.prompts_left()
        for ind in self.sub.indicators:
            self.execution_twice(ind)
            self.cost_vs_budget(ind)
        self.goal_reported()

    def copied_pattern(self) -> None:
        """Every quantitative row's actual exactly its target, with full marks: one warning."""
        quant = [s for s in self.result.indicators if not s.qualitative]
        same = [s for s in quant if s.indicator.actual == s.indicator.target and s.figure.full]
        if len(quant) >= GENERIC_MIN_ROWS and len(same) == len(quant):
            listed = "、".join(f"指标{s.indicator.seq}" for s in same)
            self.add(
                "actual-equals-target",
                text("actual-equals-target", count=len(same), listed=listed),
                "/indicators",
                len(same),
            )

    def generic_actuals(self) -> None:
        """ "已完成" or "达到预期" as 实际完成值 on every or most rows: one warning."""
        rows = self.sub.indicators
        generic = [i for i in rows if isinstance(i.actual, str) and squash(i.actual) in GENERIC_COMPLETIONS]
        if len(rows) >= GENERIC_MIN_ROWS and len(generic) > len(rows) * GENERIC_SHARE:
            words = "”“".join(dict.fromkeys(str(i.actual).strip() for i in generic))
            self.add(
                "generic-completion",
                text("generic-completion", rows=len(rows), count=len(generic), words=words),
                f"{generic[0].pointer}/actual",
                len(generic),
            )

    def prompts_left(self) -> None:
        """The template's own prompt texts left in answer cells."""
        cells = [(f"/{k}", v) for k, v in PROMPT_CHECKED.items()]
        for ptr, attr in cells:
            found = getattr(self.sub, attr)
            if isinstance(found, str) and is_prompt(found):
                self._prompt(ptr, found)
        for ind in self.sub.indicators:
            for key in ("level3", "target", "actual", "reason"):
                found = getattr(ind, key)
                if isinstance(found, str) and is_prompt(found):
                    self._prompt(f"{ind.pointer}/{key}", found)

    def _prompt(self, pointer: str, prompt: str) -> None:
        self.add(
            "template-text-left",
            text("template-text-left", prompt=prompt.strip()),
            pointer,
            prompt,
        )

    def execution_twice(self, ind: Indicator) -> None:
        """An indicator that scores budget execution again (预算执行率 as a 产出 indicator)."""
        words = [w for w in EXECUTION_WORDS if w in ind.level3]
        if not words:
            return
        self.add(
            "execution-scored-twice",
            text(
                "execution-scored-twice",
                name=_name(ind),
                word=words[0],
                weight=self.f(self.rules.budget_weight),
            ),
            f"{ind.pointer}/level3",
            ind.level3,
        )

    def cost_vs_budget(self, ind: Indicator) -> None:
        """A 成本 indicator about the whole budget whose amount differs from the 合计 全年执行数."""
        row = self.sub.budget.get("total")
        executed = row.executed if row else None
        if row is None or ind.level2 != "成本指标" or executed is None or not isinstance(ind.actual, Decimal):
            return
        factor = COST_UNITS.get(ind.unit.strip())
        if factor is None or any(w in ind.level3 for w in COST_PART_WORDS):
            return
        amounts = {x for x in (row.initial, row.adjusted, executed) if x is not None}
        target = ind.target * factor if isinstance(ind.target, Decimal) else None
        names_total = any(w in ind.level3 for w in COST_TOTAL_WORDS)
        if not names_total and (target is None or target not in amounts):
            return
        actual = ind.actual * factor
        if abs(actual - executed) <= Decimal("0.01"):
            return
        self.add(
            "cost-differs-from-budget",
            text(
                "cost-differs-from-budget",
                name=_name(ind),
                actual=self.f(actual),
                executed=self.f(executed),
                diff=self.f(abs(actual - executed)),
            ),
            f"{ind.pointer}/actual",
            ind.actual,
        )

    def goal_reported(self) -> None:
        """A goal statement with no completion statement to match it."""
        goal, achieved = self.sub.annual_goal.strip(), self.sub.achieved.strip()
        if not goal:
            return
        if achieved and squash(achieved) not in GENERIC_COMPLETIONS and squash(achieved) != squash(goal):
            return
        said = f"只写了“{achieved}”" if achieved else "未填写"
        if achieved and squash(achieved) == squash(goal):
            said = "与年度总体目标一字不差"
        self.add(
            "goal-not-reported",
            text("goal-not-reported", said=said),
            "/goals/achieved",
            achieved,
        )


#: Completions that say nothing ("已完成"), squashed (no spaces or punctuation).
GENERIC_COMPLETIONS = frozenset(
    squash(w)
    for w in (
        "达成预期指标",
        "达成预期目标",
        "达到预期",
        "达到预期目标",
        "达到预期效果",
        "已完成",
        "完成",
        "全部完成",
        "已全部完成",
        "基本完成",
        "已达成",
        "达成",
        "已达到",
        "达到",
        "完成目标",
        "完成预期目标",
        "按计划完成",
    )
)
#: A pattern over rows is reported from this many rows, when more than this share of them show it.
GENERIC_MIN_ROWS = 3
GENERIC_SHARE = Decimal("0.5")
#: 三级指标 words that measure budget execution (scored already in the budget block).
EXECUTION_WORDS = (
    "预算执行率",
    "资金执行率",
    "预算支出进度",
    "资金支出进度",
    "支出进度",
    "执行进度",
    "资金执行进度",
)
#: 成本 indicators measured in these units (万元 per unit) are compared with the budget block ...
COST_UNITS = {"万元": Decimal(1), "元": Decimal("0.0001"), "亿元": Decimal(10000)}
#: ... when their 三级指标 names the whole budget's spending (or their target is one of its amounts),
COST_TOTAL_WORDS = (
    "支出总额",
    "总支出",
    "预算支出",
    "支出金额",
    "成本总额",
    "总成本",
    "经费支出",
    "资金支出",
    "实际支出",
)
#: ... and not when it names a part or a unit cost.
COST_PART_WORDS = ("单位", "人均", "平均", "每", "单价", "节约", "超支", "率")
#: Answer cells (pointer → Submission attribute) checked for prompts left in.
PROMPT_CHECKED = {
    "goals/annual_goal": "annual_goal",
    "goals/achieved": "achieved",
    "review/problems": "problems",
    "review/measures": "measures",
    "narrative/overview": "overview",
    "narrative/process": "process",
}


def _name(ind: Indicator) -> str:
    return f"指标{ind.seq}“{ind.level3}”"


def _squash(text: str) -> str:
    return "".join(text.split())


def _blank(text: str, rules: Rules) -> bool:
    """Empty, or only a word that means 'nothing' (无, 没有, 暂无…)."""
    core = (text or "").strip(_PUNCT)
    return not core or core in rules.audit.none_words
