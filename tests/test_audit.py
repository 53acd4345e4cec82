"""Audit checks: each code fires on the pattern it names, and stays quiet otherwise."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from submissions import ind

from selfeval_xlsx.audit import audit
from selfeval_xlsx.document import Document
from selfeval_xlsx.findings import CODES, Finding
from selfeval_xlsx.layout import cell_of
from selfeval_xlsx.model import Budget, Indicator, Member, PanelScore, Submission
from selfeval_xlsx.rules import load_rules
from selfeval_xlsx.scoring import score_submission

D = Decimal
HUNDRED = D(100)
RULES = load_rules()
AUDIT_CODES = {
    "self-score-differs",
    "self-grade-differs",
    "indicator-self-score-differs",
    "execution-over-100",
    "budget-lowered",
    "missing-deviation-reason",
    "vague-indicator",
    "vague-target",
    "qualitative-heavy",
    "actual-copied-target",
    "category-empty",
    "band-mismatch",
    "panel-outlier",
    "panel-too-small",
    "no-problems-stated",
    "deduction-without-shortfall",
    "budget-raised",
    "actual-equals-target",
    "generic-completion",
    "template-text-left",
    "execution-scored-twice",
    "cost-differs-from-budget",
    "goal-not-reported",
}


# --- a small factory: submissions built directly, as the typed model holds them ---------------------


#: A table where every category is present and every target is met: no findings at all.
def clean_rows() -> list[dict[str, Any]]:
    return [
        ind("≥", D(38), D(38), 50, unit="个", self_score=50),
        ind("≥", D(95), D(96), 30, unit="%", level1="效益指标", level2="社会效益指标", self_score=30),
        ind(
            "≥",
            D(90),
            D(92),
            10,
            unit="%",
            level1="满意度指标",
            level2="服务对象满意度指标",
            level3="群众满意度",
            self_score=10,
        ),
    ]


def make_sub(
    indicators: list[dict[str, Any]] | None = None,
    *,
    panel: dict[int, list[Any]] | None = None,
    members: int = 3,
    budget: tuple[Any, Any, Any] | None = ("100", "100", "100"),
    self_total: Any = "100",
    self_grade: str = "优秀",
    problems: str = "部分项目资金支付进度滞后。",
) -> Submission:
    """A submission; ``panel`` maps an indicator's seq to its members' scores in member order."""
    rows = indicators if indicators is not None else clean_rows()
    inds = tuple(Indicator(index=i, seq=i + 1, **r) for i, r in enumerate(rows))
    names = ("卢迪", "尹华", "尚建人")
    mems = tuple(
        Member(j, j + 1, names[j] if j < len(names) else f"成员{j + 1}", "", "职务", "")
        for j in range(members)
    )
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


def where(pointer: str) -> dict[str, Any]:
    return {"file": "宋营镇2023自评表.xlsx", "sheet": "S", "cell": "A1", "field": pointer}


def run(sub: Submission, rules=RULES) -> list[Finding]:
    return audit(sub, score_submission(sub, rules), rules, where)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def fields(findings: list[Finding], code: str) -> list[str | None]:
    return [f.field for f in findings if f.code == code]


def only(findings: list[Finding], code: str) -> Finding:
    hits = [f for f in findings if f.code == code]
    assert len(hits) == 1, codes(findings)
    return hits[0]


# --- the seed township (宋营镇 2023) ----------------------------------------------------------------


def seed() -> Submission:
    rows = [
        ind("≥", D(38), D(38), 20, level3="预算项目个数", unit="个", self_score=20),
        ind(
            "定性",
            "高质量完成",
            "高质量完成",
            15,
            level2="质量指标",
            level3="工作完成质量",
            completion="达成",
            self_score=15,
        ),
        ind(
            "定性",
            "及时拨付",
            "及时拨付",
            10,
            level2="时效指标",
            level3="资金拨付及时性",
            completion="达成",
            self_score=10,
        ),
        ind(
            "≤",
            "不超过年初预算",
            "未超过年初预算",
            5,
            level2="成本指标",
            level3="成本控制",
            unit="万元",
            self_score=5,
        ),
        ind(
            "定性",
            "保持社会稳定",
            "社会稳定",
            30,
            level1="效益指标",
            level2="社会效益指标",
            level3="社会稳定",
            completion="达成",
            self_score=30,
        ),
        ind(
            "定性",
            "群众满意度较高",
            "群众满意度较高",
            10,
            level1="满意度指标",
            level2="服务对象满意度指标",
            level3="群众满意度",
            completion="达成",
            self_score=10,
        ),
    ]
    panel = {i + 1: [r["weight"]] * 3 for i, r in enumerate(rows)}  # the panel gave full marks
    return make_sub(
        rows,
        panel=panel,
        budget=("8593.66", "9883.28", "8724.90"),
        self_total="100",
        self_grade="优秀",
        problems="1.部分项目资金支付进度滞后。\n2.绩效评价指标体系还不够完善、合理。",
    )


def test_seed_township_findings() -> None:
    findings = run(seed())
    assert sorted(codes(findings)) == sorted(
        [
            "self-score-differs",
            *["vague-target"] * 4,
            "vague-indicator",
            "qualitative-heavy",
        ]
    )
    total = only(findings, "self-score-differs")
    assert total.field == "/self_assessment/total"
    assert total.value == D(100)
    for figure in ("100.00", "98.83", "8.83", "88.28%", "1.17"):
        assert figure in total.message
    assert "请" in total.message
    assert fields(findings, "vague-target") == [
        "/indicators/1/target",  # 高质量完成
        "/indicators/2/target",  # 及时拨付
        "/indicators/4/target",  # 保持社会稳定
        "/indicators/5/target",  # 群众满意度较高
    ]
    messages = [f.message for f in findings if f.code == "vague-target"]
    for word, message in zip(["高质量", "及时", "保持", "较高"], messages, strict=True):
        assert f"“{word}”" in message
    assert fields(findings, "vague-indicator") == ["/indicators/3/target"]  # 不超过年初预算 under ≤
    heavy = only(findings, "qualitative-heavy")
    assert "70.00分" in heavy.message and "77.78%" in heavy.message and "45.00分" in heavy.message


def test_every_finding_is_a_located_chinese_warning() -> None:
    findings = run(seed())
    for f in findings:
        assert f.code in CODES and f.code in AUDIT_CODES
        assert f.severity == "warning"
        assert f.file == "宋营镇2023自评表.xlsx" and f.sheet == "S" and f.cell == "A1"
        assert re.search(r"[\u4e00-\u9fff]", f.message)
        assert "请" in f.message  # says what to change


def test_pointers_resolve_through_document_where() -> None:
    sub = seed()
    doc = Document(file="宋营镇.xlsx")
    findings = audit(sub, score_submission(sub, RULES), RULES, doc.where)
    f = only(findings, "self-score-differs")
    assert (f.sheet, f.cell) == cell_of("/self_assessment/total")
    assert f.file == "宋营镇.xlsx"


def test_clean_submission_has_no_findings() -> None:
    assert run(make_sub()) == []


# --- each code ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("self_total", "flagged"), [("100", False), ("99.50", False), ("99.49", True), ("0", True)]
)
def test_self_score_tolerance(self_total: str, flagged: bool) -> None:
    assert ("self-score-differs" in codes(run(make_sub(self_total=self_total)))) is flagged


def test_self_grade_differs() -> None:
    sub = make_sub(
        [ind("≥", D(38), D(19), 50, reason="项目未完成"), *clean_rows()[1:]],
        self_total="75",
        self_grade="优秀",
    )
    f = only(run(sub), "self-grade-differs")
    assert f.field == "/self_assessment/grade"
    assert "“优秀”" in f.message and "75.00分" in f.message and "“良好”" in f.message
    assert "得分≥85为优秀" in f.message
    # the same submission under MoF 2020 grades
    f = only(run(sub, load_rules("mof-2020")), "self-grade-differs")
    assert "应为“中”" in f.message


def test_indicator_self_score_differs() -> None:
    rows = clean_rows()
    rows[0] = ind("≥", D(40), D(20), 50, self_score="40", reason="资金未到位")  # computed 25
    f = only(run(make_sub(rows, self_total="75")), "indicator-self-score-differs")
    assert f.field == "/indicators/0/self_score"
    assert "40.00分" in f.message and "25.00分" in f.message and "15.00分" in f.message
    rows[0]["self_score"] = D("25.2")  # within the 0.2 tolerance
    assert "indicator-self-score-differs" not in codes(run(make_sub(rows, self_total="75")))


def test_execution_over_100() -> None:
    f = only(run(make_sub(budget=("100", "800", "880"))), "execution-over-100")
    assert f.field == "/budget/total/executed"
    assert "880.00万元" in f.message and "800.00万元" in f.message and "110.00%" in f.message
    assert "execution-over-100" not in codes(run(make_sub(budget=("800", "800", "800"))))


@pytest.mark.parametrize(
    ("budget", "flagged"),
    [
        (("1000", "800", "800"), True),  # cut by 20% to exactly the spending
        (("1000", "800", "798"), True),  # within 0.5% of the adjusted budget
        (("1000", "800", "700"), False),  # spending well below the adjusted budget
        (("1000", "990", "990"), False),  # a 1% cut is ordinary
        (("800", "800", "800"), False),  # not lowered
        ((None, "800", "800"), False),
    ],
)
def test_budget_lowered(budget: tuple, flagged: bool) -> None:
    findings = run(make_sub(budget=budget, self_total=None, problems="资金拨付滞后"))
    assert ("budget-lowered" in codes(findings)) is flagged
    if flagged:
        f = only(findings, "budget-lowered")
        assert f.field == "/budget/total/adjusted"
        assert "1000.00万元" in f.message and "200.00万元" in f.message and "20.00%" in f.message


@pytest.mark.parametrize(
    ("reason", "flagged"), [("", True), ("无", True), (" 无。", True), ("资金下达较晚", False)]
)
def test_missing_deviation_reason(reason: str, flagged: bool) -> None:
    rows = clean_rows()
    rows[0] = ind("≥", D(38), D(19), 50, reason=reason)
    findings = run(make_sub(rows, self_total=None))
    assert ("missing-deviation-reason" in codes(findings)) is flagged
    if flagged:
        f = only(findings, "missing-deviation-reason")
        assert f.field == "/indicators/0/reason"
        assert "25.00分" in f.message and "50.00分" in f.message


def test_vague_indicator_without_unit() -> None:
    rows = clean_rows()
    rows[0]["unit"] = ""
    f = only(run(make_sub(rows)), "vague-indicator")
    assert f.field == "/indicators/0/unit"
    assert "计量单位" in f.message


@pytest.mark.parametrize(
    ("target", "flagged"),
    [("群众满意度较高", True), ("明显改善", True), ("群众满意度≥90%", False), ("按规定完成", False)],
)
def test_vague_target(target: str, flagged: bool) -> None:
    rows = clean_rows()
    rows[2] = ind("定性", target, "完成", 10, level1="满意度指标", completion="达成", self_score=10)
    findings = run(make_sub(rows, panel={3: [10, 10, 10]}))
    assert fields(findings, "vague-target") == (["/indicators/2/target"] if flagged else [])


@pytest.mark.parametrize(("qual_weight", "flagged"), [(45, False), (46, True)])
def test_qualitative_heavy(qual_weight: int, flagged: bool) -> None:
    rows = [
        ind("≥", D(10), D(10), 90 - qual_weight - 10, level3="数量"),
        ind("定性", "按期完成", "已完成", qual_weight, level1="效益指标", completion="达成"),
        ind("≥", D(90), D(95), 10, unit="%", level1="满意度指标"),
    ]
    findings = run(make_sub(rows, panel={2: [qual_weight] * 3}, self_total=None))
    assert ("qualitative-heavy" in codes(findings)) is flagged


@pytest.mark.parametrize(
    ("target", "actual", "self_score", "flagged"),
    [
        ("≥95%", "≥95%", 10, True),
        ("≥ 95%", "≥95%", 10, True),  # spacing does not hide it
        ("≤30天", "≤30天", 10, True),
        ("≥95%", "≥95%", 8, False),  # not claimed as full marks
        ("≥95%", "96%", 10, False),
        ("及时拨付", "及时拨付", 10, False),  # no comparison sign copied
    ],
)
def test_actual_copied_target(target: str, actual: str, self_score: int, flagged: bool) -> None:
    rows = clean_rows()
    rows[2] = ind("≥", target, actual, 10, unit="%", level1="满意度指标", self_score=self_score)
    findings = run(make_sub(rows, panel={3: [10, 10, 10]}, self_total=None))
    assert fields(findings, "actual-copied-target") == (["/indicators/2/actual"] if flagged else [])


def test_category_empty() -> None:
    rows = clean_rows()[:2]
    rows[0]["weight"] = D(60)
    rows[0]["self_score"] = D(60)
    f = only(run(make_sub(rows)), "category-empty")
    assert f.field == "/indicators" and f.value == "满意度指标"
    assert "10.00分" in f.message and "服务对象满意度指标" in f.message


def test_band_mismatch() -> None:
    rows = clean_rows()
    rows[2] = ind(
        "定性", "满意度≥90%", "满意", 10, level1="满意度指标", completion="部分达成", reason="个别不满意"
    )
    findings = run(make_sub(rows, panel={3: [9, 9, 9]}, self_total=None))
    f = only(findings, "band-mismatch")
    assert f.field == "/indicators/2/completion"
    assert "6.00～7.99分" in f.message and "9.00分" in f.message and "调整为7.99分" in f.message
    # inside the band: nothing to say
    findings = run(make_sub(rows, panel={3: [7, 7, 7]}, self_total=None))
    assert "band-mismatch" not in codes(findings)


def test_panel_outlier_names_the_member_and_the_cell() -> None:
    rows = clean_rows()
    rows[2] = ind("定性", "满意度≥90%", "满意", 10, level1="满意度指标", completion="达成")
    findings = run(make_sub(rows, members=4, panel={3: [9, 9, 9, 2]}, self_total=None))
    f = only(findings, "panel-outlier")
    assert f.field == "/panel_scores/3"
    assert "成员4" in f.message and "2.00分" in f.message and "9.00分" in f.message
    assert "7.00分" in f.message and "3.00分" in f.message  # the gap and 30% of the weight
    # within 30% of the weight, or exactly at it: no finding
    for last in (7, 6):
        findings = run(make_sub(rows, members=4, panel={3: [9, 9, 9, last]}, self_total=None))
        assert "panel-outlier" not in codes(findings)
    findings = run(make_sub(rows, members=4, panel={3: [9, 9, 9, D("5.99")]}, self_total=None))
    assert fields(findings, "panel-outlier") == ["/panel_scores/3"]


@pytest.mark.parametrize(("members", "flagged"), [(1, True), (2, True), (3, False), (7, False)])
def test_panel_too_small(members: int, flagged: bool) -> None:
    # members mode (member scores filled): a panel smaller than the profile's minimum is a warning
    findings = run(make_sub(members=members, panel={1: [15] * members}))
    assert fields(findings, "panel-too-small") == (["/members"] if flagged else [])
    # the other modes have no per-member scoring to be too small for
    assert fields(run(make_sub(members=members)), "panel-too-small") == []


@pytest.mark.parametrize(
    ("problems", "budget", "flagged"),
    [
        ("无", ("100", "100", "90"), True),
        ("暂无。", ("100", "100", "90"), True),
        ("", ("100", "100", "90"), True),
        ("资金拨付进度滞后", ("100", "100", "90"), False),
        ("无", ("100", "100", "100"), False),  # nothing lost: 无 is true
    ],
)
def test_no_problems_stated(problems: str, budget: tuple, flagged: bool) -> None:
    findings = run(make_sub(budget=budget, problems=problems, self_total=None))
    assert fields(findings, "no-problems-stated") == (["/review/problems"] if flagged else [])
    if flagged:
        assert "1.00分" in only(findings, "no-problems-stated").message


def test_deduction_without_shortfall_replaces_the_self_score_finding() -> None:
    rows = clean_rows()
    rows[0]["self_score"] = D(45)
    findings = run(make_sub(rows, self_total="95"))
    f = only(findings, "deduction-without-shortfall")
    assert f.field == "/indicators/0/self_score"
    assert "50.00分" in f.message and "45.00分" in f.message and "没有说明扣分原因" in f.message
    assert "indicator-self-score-differs" not in codes(findings)


def test_a_huge_ratio_in_a_message_does_not_crash_scoring() -> None:
    """A tiny 年初预算数 under a real adjusted budget makes the raise ratio ~1e152 %: rounding it for the
    budget-raised message must not raise decimal.InvalidOperation (found by test_values_accepted)."""
    from workbooks import chain, seed_bytes, set_value

    from selfeval_xlsx import api

    edit = chain(
        set_value("/budget/total/initial", 1e-150),
        set_value("/budget/total/adjusted", 100),
        set_value("/budget/total/executed", 100),
    )
    scored = api.score_workbook(seed_bytes(edit))
    (raised,) = [f for f in scored.report.findings if f.code == "budget-raised"]
    assert "调增了100.00万元" in raised.message
    assert load_rules().fmt(Decimal("8.36E+163")) == "836" + "0" * 161 + ".00"
