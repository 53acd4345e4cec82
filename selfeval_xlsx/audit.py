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
from .model import Indicator, Submission
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
                ceiling = (
                    f"预算执行率{res.execution_rate_shown:f}%，预算执行只能得{self.f(res.budget.value)}分，"
                    f"本表总分最高为{self.f(best)}分。"
                )
            self.add(
                "self-score-differs",
                f"自评总分填为{self.f(own)}分，但按本表数据核定为{self.f(total)}分（预算执行{self.f(res.budget.value)}分"
                f"＋绩效指标{self.f(res.indicator_sum)}分），相差{self.f(abs(own - total))}分。{ceiling}"
                f"请核对预算执行数和各指标得分，并将“自评总分”改为{self.f(total)}分。",
                "/self_assessment/total",
                own,
            )
        grade = (self.sub.self_grade or "").strip()
        if grade and grade != res.grade:
            self.add(
                "self-grade-differs",
                f"自评等级填为“{grade}”，但按核定总分{self.f(total)}分应为“{res.grade}”（{r.grade_text()}）。"
                f"请将“自评等级”改为“{res.grade}”。",
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
                f"全年执行数{self.f(executed)}万元大于全年预算数（调整后）{self.f(adjusted)}万元，执行率为{self.pct(rate)}，"
                f"按100%计分（{self.f(self.result.budget.value)}分）。请核对执行数和调整后预算数是否填错；"
                "如确属超预算支出，请在“存在的问题”中说明原因。",
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
                f"全年预算数（调整后）{self.f(adjusted)}万元比年初预算数{self.f(initial)}万元调减了"
                f"{self.f(initial - adjusted)}万元（{self.pct((initial - adjusted) / initial)}），"
                f"调减后与全年执行数{self.f(executed)}万元基本相同，执行率显示为{self.pct(rate)}；按年初预算计算执行率仅为"
                f"{self.pct(executed / initial)}。请核实预算调整是否经过批复：按批复的全年预算数填写，"
                "并在“存在的问题”中说明预算调减的原因。",
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
                    f"{name}的指标性质为“{ind.nature}”（定量指标），但年度指标值“{ind.target}”不是数字，"
                    f"无法按公式计分（暂按评价小组打分计{self.f(fig.value)}分）。请在“年度指标值”只填数字（如38、95），"
                    "单位填在“计量单位”列；确实无法量化的，请把指标性质改为“定性”并写明评判标准。",
                    f"{p}/target",
                    ind.target,
                )
            elif not ind.unit.strip():
                self.add(
                    "vague-indicator",
                    f"{name}是定量指标（年度指标值{ind.target:f}），但没有填写“计量单位”。"
                    "请填写单位，如“个”“%”“万元”“天”。",
                    f"{p}/unit",
                    ind.target,
                )
        if isinstance(ind.target, str) and not vague_indicator:
            words = [w for w in self.rules.audit.vague_words if w in ind.target]
            if words and not _DIGIT.search(ind.target):
                listed = "”“".join(words)
                self.add(
                    "vague-target",
                    f"{name}的年度指标值“{ind.target}”使用了“{listed}”等模糊表述，没有可以核验的标准。"
                    + (
                        "定性指标请写明可以核验的完成标准，如“全年未发生重大安全事故”“按期完成验收并出具验收报告”；"
                        "能够量化的，改为定量指标，填数字并写明计量单位。"
                        if ind.nature == "定性"
                        else "请改为可衡量的指标值，如“群众满意度≥90%”“资金拨付时间≤30天”；定量指标填数字并写明计量单位。"
                    ),
                    f"{p}/target",
                    ind.target,
                )
        self.copied(s, name)
        self.self_score(s, name)
        if not fig.full and _blank(ind.reason, self.rules):
            self.add(
                "missing-deviation-reason",
                f"{name}核定得分{self.f(fig.value)}分，低于分值{self.f(ind.weight)}分，但“偏差原因分析及改进措施”"
                f"{'未填写' if not ind.reason.strip() else '只填了“' + ind.reason.strip() + '”'}。"
                "请写明未达到目标的原因和改进措施。",
                f"{p}/reason",
                ind.reason,
            )
        if s.band is not None and s.clamped:
            base = "评价小组综合得分" if s.panel_composite is not None else "自评得分"
            before = s.figure.inputs.get("base", ZERO)
            low, high = s.band
            self.add(
                "band-mismatch",
                f"{name}完成等级填为“{ind.completion}”，该等级的得分应在{self.f(low)}～{self.f(high)}分之间，"
                f"但{base}为{self.f(before)}分，已按完成等级调整为{self.f(fig.value)}分。"
                "请核对完成等级和成员打分，使二者一致。",
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
                f"{name}的实际完成值“{ind.actual}”与年度指标值一字不差（连比较符号一起照抄），却按满分自评。"
                "请填写实际达到的数值（如96.5，不带“≥”“≤”等符号），并按实际完成情况自评打分。",
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
                f"{name}已完成目标（核定得满分{self.f(ind.weight)}分），但自评只给了{self.f(own)}分{why}。"
                f"请核实：确已完成的，自评得分应为{self.f(ind.weight)}分；有未完成的情况，请据实修改实际完成值，"
                "并在“偏差原因分析及改进措施”中说明。",
                f"{ind.pointer}/self_score",
                own,
            )
            return
        diff = abs(own - fig.shown)
        if diff > self.rules.audit.indicator_self_score_tolerance:
            check = "完成等级和评价小组成员打分" if s.qualitative else "年度指标值和实际完成值"
            self.add(
                "indicator-self-score-differs",
                f"{name}自评得分{self.f(own)}分，按本表数据核定为{self.f(fig.value)}分，相差{self.f(diff)}分"
                f"（核定依据：{fig.explanation}）。请核对{check}，并将“自评得分”改为{self.f(fig.value)}分。",
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
                f"一级指标“{cat}”下没有任何指标（评分规则中该类共{self.f(weight)}分）。"
                f"请至少设置一项{cat}，二级指标可选：{'、'.join(level2)}。",
                "/indicators",
                cat,
            )
        qual = [s for s in scores if s.qualitative]
        weight = sum((s.indicator.weight for s in qual), ZERO)
        limit = r.audit.qualitative_max_share * r.indicator_total
        if qual and weight > limit:
            self.add(
                "qualitative-heavy",
                f"定性指标（含未填数字的定量指标）共{len(qual)}项，分值合计{self.f(weight)}分，"
                f"占指标总分{self.f(r.indicator_total)}分的{self.pct(weight / r.indicator_total)}，"
                f"超过{self.pct(r.audit.qualitative_max_share)}（{self.f(limit)}分）。"
                "请增加有数值目标和计量单位的定量指标，或把部分定性指标改为可量化的指标。",
                "/indicators",
                weight,
            )

    # --- evaluation panel ----------------------------------------------------------------------------

    def panel(self) -> None:
        r, sub = self.rules, self.sub
        n = len(sub.members)
        if n < r.audit.min_panel_members:
            self.add(
                "panel-too-small",
                f"评价工作组只有{n}人，少于{r.audit.min_panel_members}人。请补充评价工作组成员"
                "（如单位负责人、办公室主任、财政所所长），并由每位成员对各项指标打分。",
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
                        f"评价小组成员“{who}”对{_name(ind)}打分{self.f(ps.score)}分，其他成员平均"
                        f"{self.f(mean)}分，相差{self.f(gap)}分，超过该指标分值{self.f(ind.weight)}分的"
                        f"{self.pct(r.audit.outlier_share)}（{self.f(allowed)}分）。请核实该打分是否填错；"
                        "确无错误的，请在“偏差原因分析及改进措施”中说明评分分歧的原因。",
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
            f"“存在的问题”填写为“{shown}”，但本表核定共失{self.f(lost)}分（{'；'.join(parts)}）。"
            "请如实写明失分的原因和存在的主要问题。",
            "/review/problems",
            self.sub.problems,
        )


def _name(ind: Indicator) -> str:
    return f"指标{ind.seq}“{ind.level3}”"


def _squash(text: str) -> str:
    return "".join(text.split())


def _blank(text: str, rules: Rules) -> bool:
    """Empty, or only a word that means 'nothing' (无, 没有, 暂无…)."""
    core = (text or "").strip(_PUNCT)
    return not core or core in rules.audit.none_words
