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
                f"全年预算数（调整后）{self.f(adjusted)}万元比年初预算数{self.f(initial)}万元调增了"
                f"{self.f(adjusted - initial)}万元（{self.pct((adjusted - initial) / initial)}），"
                f"调增后与全年执行数{self.f(executed)}万元基本相同，执行率显示为{self.pct(rate)}。"
                "请核实预算调增是否经过批复（追加预算的文件），按批复的全年预算数填写，"
                "并在“存在的问题”中说明年中追加预算的原因。",
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
        if self.result.panel_mode == "members" and n < r.audit.min_panel_members:
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
                f"全部{len(same)}项定量指标（{listed}）的实际完成值都与年度指标值完全相同，且都得满分。"
                "请核实是否按实际完成情况填写：实际完成值应为统计或核实得到的数（如实际完成40个、达到96.5%），"
                "而不是照抄年度指标值。",
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
                f"{len(rows)}项指标中有{len(generic)}项的实际完成值只写了“{words}”，看不出实际完成了多少。"
                "请逐项填写实际完成的数值或具体情况（定量指标填数字，定性指标写明做了什么、达到什么程度）。",
                f"{generic[0].pointer}/actual",
                len(generic),
            )

    def prompts_left(self) -> None:
        """The template's own prompt texts left in answer cells."""
        cells = [(f"/{k}", v) for k, v in PROMPT_CHECKED.items()]
        for ptr, attr in cells:
            text = getattr(self.sub, attr)
            if isinstance(text, str) and is_prompt(text):
                self._prompt(ptr, text)
        for ind in self.sub.indicators:
            for key in ("level3", "target", "actual", "reason"):
                text = getattr(ind, key)
                if isinstance(text, str) and is_prompt(text):
                    self._prompt(f"{ind.pointer}/{key}", text)

    def _prompt(self, pointer: str, text: str) -> None:
        self.add(
            "template-text-left",
            f"“{text.strip()}”是模板中的填写提示，不是填报内容。请删除提示文字，填写本单位的实际情况。",
            pointer,
            text,
        )

    def execution_twice(self, ind: Indicator) -> None:
        """An indicator that scores budget execution again (预算执行率 as a 产出 indicator)."""
        words = [w for w in EXECUTION_WORDS if w in ind.level3]
        if not words:
            return
        self.add(
            "execution-scored-twice",
            f"{_name(ind)}衡量的是“{words[0]}”，而预算执行情况已在“预算执行”部分单独计分"
            f"（{self.f(self.rules.budget_weight)}分），同一事项计了两次分。"
            "请改为反映本单位履职产出或效益的指标（如完成的项目数、服务人次、验收合格率）。",
            f"{ind.pointer}/level3",
            ind.level3,
        )

    def cost_vs_budget(self, ind: Indicator) -> None:
        """A 成本 indicator about the whole budget whose amount differs from the 合计 全年执行数."""
        row = self.sub.budget.get("total")
        executed = row.executed if row else None
        if ind.level2 != "成本指标" or executed is None or not isinstance(ind.actual, Decimal):
            return
        factor = COST_UNITS.get(ind.unit.strip())
        if factor is None or any(w in ind.level3 for w in COST_PART_WORDS):
            return
        amounts = {x for x in (row.initial, row.adjusted, executed) if x is not None}  # type: ignore[union-attr]
        target = ind.target * factor if isinstance(ind.target, Decimal) else None
        names_total = any(w in ind.level3 for w in COST_TOTAL_WORDS)
        if not names_total and (target is None or target not in amounts):
            return
        actual = ind.actual * factor
        if abs(actual - executed) <= Decimal("0.01"):
            return
        self.add(
            "cost-differs-from-budget",
            f"{_name(ind)}的实际完成值为{self.f(actual)}万元，但“预算执行”合计行的全年执行数为"
            f"{self.f(executed)}万元，相差{self.f(abs(actual - executed))}万元。该指标反映的是全年支出总额，"
            "两处应一致：请核对后修改其中填错的一处。",
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
            f"填写了年度总体目标，但“实际完成情况”{said}，看不出目标完成得怎样。"
            "请对照年度总体目标逐项写明实际完成情况（做了什么、完成了多少、未完成的原因）。",
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
