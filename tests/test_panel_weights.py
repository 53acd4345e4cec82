"""Published 自评表 transcribed into the template (issue 14, points 1-3): panel modes, profile weights,
tables without per-indicator 分值. Every workbook is the template filled and edited as a clerk would."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import pytest
import sampledata
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from openpyxl_fill import filled_bytes
from workbooks import indicator_cell, panel_cell, seed_bytes, write

from selfeval_xlsx import api, layout
from selfeval_xlsx.cli import cli
from selfeval_xlsx.completed import RESULT_SHEET
from selfeval_xlsx.rules import RulesError
from selfeval_xlsx.xlsx.cells import a1

D = Decimal
QUALITATIVE = (2, 3, 5, 6)  # the seed's 定性 indicators (seq)


def rules_file(tmp: Path, name: str, **weights: Any) -> Path:
    """A custom profile: the default one with other weights."""
    data = json.loads(Path(api.load_rules().source).read_text(encoding="utf-8"))
    data["name"] = name
    data["weights"] = {**data["weights"], **weights}
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def with_panel_mode(tmp: Path, mode: str) -> Any:
    data = json.loads(Path(api.load_rules().source).read_text(encoding="utf-8"))
    data["name"] = f"panel-{mode}"
    data["panel"]["mode"] = mode
    path = tmp / f"panel-{mode}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return api.load_rules(path)


def seed(**changes: Any) -> dict[str, Any]:
    data = sampledata.seed()
    data.update(changes)
    return data


def found(report: Any, *codes: str) -> list[tuple[str, str, str | None, str | None]]:
    return [(f.code, f.severity, f.sheet, f.cell) for f in report.findings if not codes or f.code in codes]


def all_text(path_or_bytes: Any) -> str:
    wb = load_workbook(path_or_bytes)
    cells = [
        str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None
    ]
    prompts = [
        f"{dv.prompt or ''}{dv.error or ''}"
        for ws in wb.worksheets
        for dv in ws.data_validations.dataValidation
    ]
    return "\n".join(cells + prompts)


# --- point 1: panel modes -----------------------------------------------------------------------------


def test_no_panel_at_all_is_a_warning_and_self_scores_count() -> None:
    """A published table with no panel: 评价小组 left empty; 定性 indicators take the 自评得分."""
    scored = api.score_workbook(filled_bytes(seed(members=[], panel_scores=[]), 2023), name="无小组.xlsx")
    assert scored.valid, found(scored.report)
    assert [f[:3] for f in found(scored.report, "panel-mode")] == [("panel-mode", "warning", "评价小组")]
    assert scored.result.panel_mode == "none"
    s = scored.result.for_indicator(4)  # 社会稳定, 定性, self score 30
    assert s.method_label == "定性（单位自评）" and s.figure.shown == D("30.00")
    assert s.figure.explanation.startswith("评分方式：单位自评；")


def test_members_listed_without_scores_is_one_warning_not_one_error_per_cell() -> None:
    """10 indicators × 3 members without a score used to be 30 errors."""
    data = sampledata.township(4)
    data["indicators"] = (data["indicators"] * 3)[:10]
    for i, r in enumerate(data["indicators"]):
        r["seq"] = i + 1
    data["panel_scores"] = []
    _doc, report = api.validate_workbook(filled_bytes(data, 2023))
    assert [f.code for f in report.findings if f.code.startswith("panel")] == ["panel-mode"]
    assert "成员名单已填写，但成员未打分" in next(
        f.message for f in report.findings if f.code == "panel-mode"
    )
    assert not any(f.code == "panel-missing-score" for f in report.findings)


def test_members_mode_summarises_an_empty_member_column(tmp_path: Path) -> None:
    members = with_panel_mode(tmp_path, "members")

    def clear_member_3(wb: Workbook) -> None:
        for seq in range(1, 7):
            sheet, ref = panel_cell(seq, 3)
            wb[sheet][ref] = None

    _doc, report = api.validate_workbook(seed_bytes(clear_member_3), rules=members)
    first, last = panel_cell(1, 3)[1], panel_cell(6, 3)[1]
    assert found(report, "panel-missing-score") == [
        ("panel-missing-score", "error", "评价小组", f"{first}:{last}")
    ]
    assert "尚建人" in report.errors[0].message and "共6项" in report.errors[0].message

    # one cell missing stays one finding at that cell
    def clear_one(wb: Workbook) -> None:
        sheet, ref = panel_cell(2, 3)
        wb[sheet][ref] = None

    _doc, report = api.validate_workbook(seed_bytes(clear_one), rules=members)
    assert found(report, "panel-missing-score") == [("panel-missing-score", "error", *panel_cell(2, 3))]
    # the whole matrix empty under a members profile: one error per member, not per cell
    _doc, report = api.validate_workbook(filled_bytes(seed(panel_scores=[]), 2023), rules=members)
    assert len(found(report, "panel-missing-score")) == 3
    # and no members at all: one error
    _doc, report = api.validate_workbook(filled_bytes(seed(members=[], panel_scores=[]), 2023), rules=members)
    assert [f.code for f in report.errors] == ["missing-value"]
    assert "评价工作组成员" in report.errors[0].message


def test_agreed_scores_in_the_agreed_column(tmp_path: Path) -> None:
    """The panel agreed one score per indicator: typed in 小组评分, member columns left empty."""
    agreed = [
        {"row": 2, "value": 14},
        {"row": 3, "value": 9},
        {"row": 5, "value": 27},
        {"row": 6, "value": 9},
    ]
    data = seed(panel_scores=[], panel_agreed=agreed)
    doc, report = api.validate_workbook(filled_bytes(data, 2023))
    assert report.valid, found(report)
    p = layout.PANEL_SHEET.find("panel_scores")
    assert doc.cells["/panel_agreed/0/value"].cell == a1(*layout.agreed_cell(p, 1))
    scored = api.score_workbook(filled_bytes(data, 2023))
    assert scored.result.panel_mode == "agreed"
    s = scored.result.for_indicator(1)  # 工作完成质量 (seq 2), weight 15
    assert s.figure.shown == D("14.00") and s.method_label == "定性（小组合议）"
    assert s.figure.explanation.startswith("评分方式：小组合议；评价小组合议评分 14.00")
    assert scored.result.for_indicator(0).method_label == "≥"  # quantitative rows: the formula
    # an agreed score above the weight is an error at its cell; a 定性 row without one too
    data["panel_agreed"] = [{"row": 2, "value": 16}, *agreed[1:3]]
    _doc, report = api.validate_workbook(filled_bytes(data, 2023))
    assert ("out-of-range", "error", "评价小组", a1(*layout.agreed_cell(p, 1))) in found(report)
    assert ("panel-missing-score", "error", "评价小组", a1(*layout.agreed_cell(p, 5))) in found(report)
    # both filled: the member scores count and the agreed column is reported as not used
    _doc, report = api.validate_workbook(filled_bytes(seed(panel_agreed=agreed), 2023))
    assert report.valid and [f.code for f in report.warnings if f.code.startswith("panel")] == [
        "panel-ignored"
    ]


def test_a_score_above_the_weight_names_who_gave_it() -> None:
    """A member's score above the indicator's weight names the member; an agreed one, the panel."""
    data = seed()
    entry = next(e for e in data["panel_scores"] if e["row"] == 2)
    entry["value"] = 99
    member = next(m for m in data["members"] if m["seq"] == entry["column"])
    _doc, report = api.validate_workbook(filled_bytes(data, 2023))
    [f] = [f for f in report.findings if f.code == "out-of-range"]
    assert (f.sheet, f.cell) == panel_cell(2, entry["column"])
    assert f.message.startswith(f"{member['name']}对第2项指标的打分99超过该指标分值")
    data = seed(panel_scores=[], panel_agreed=[{"row": 2, "value": 99}])
    _doc, report = api.validate_workbook(filled_bytes(data, 2023))
    [f] = [f for f in report.findings if f.code == "out-of-range"]
    assert f.message.startswith("评价小组对第2项指标的打分99超过该指标分值")


def test_missing_panel_sheet_is_a_warning_unless_the_profile_requires_a_panel(tmp_path: Path) -> None:
    def drop(wb: Workbook) -> None:
        del wb["评价小组"]

    scored = api.score_workbook(seed_bytes(drop))
    assert scored.valid
    assert found(scored.report, "missing-sheet") == [("missing-sheet", "warning", "评价小组", None)]
    assert scored.result.panel_mode == "none"
    _doc, report = api.validate_workbook(seed_bytes(drop), rules=with_panel_mode(tmp_path, "members"))
    assert found(report, "missing-sheet") == [("missing-sheet", "error", "评价小组", None)]


def test_none_mode_requires_self_scores_of_qualitative_rows_and_ignores_a_panel(tmp_path: Path) -> None:
    none = with_panel_mode(tmp_path, "none")
    data = seed()
    data["indicators"][1]["self_score"] = None
    _doc, report = api.validate_workbook(filled_bytes(data, 2023), rules=none)
    assert found(report, "missing-value") == [("missing-value", "error", *indicator_cell(1, "self_score"))]
    assert [f.code for f in report.warnings if f.code.startswith("panel")] == ["panel-ignored"]


def test_a_small_panel_is_a_warning_in_members_mode_only() -> None:
    data = seed(members=sampledata.seed()["members"][:2])
    data["panel_scores"] = [e for e in data["panel_scores"] if e["column"] <= 2]
    scored = api.score_workbook(filled_bytes(data, 2023))
    assert scored.valid and scored.result.panel_mode == "members"
    assert [f.code for f in scored.report.findings].count("panel-too-small") == 1
    data["panel_scores"] = []
    scored = api.score_workbook(filled_bytes(data, 2023))
    assert scored.result.panel_mode == "none" and "panel-too-small" not in {
        f.code for f in scored.report.findings
    }


def test_mode_in_the_completed_workbook_and_the_rollup(tmp_path: Path) -> None:
    data = seed(members=[], panel_scores=[])
    scored = api.score_workbook(filled_bytes(data, 2023))
    api.write_completed(tmp_path / "done.xlsx", scored)
    done = load_workbook(tmp_path / "done.xlsx")
    detail = [str(c.value) for row in done["评分明细"].iter_rows() for c in row if c.value is not None]
    assert "定性（单位自评）" in detail  # each indicator's method, on the detail sheet
    text = [str(c.value) for row in done[RESULT_SHEET].iter_rows() for c in row if c.value is not None]
    assert any("定性指标评分方式：未设评价小组打分，按单位自评得分计" in t for t in text)
    api.write_report(tmp_path / "report.docx", scored)
    paragraphs = [p.text for p in docx.Document(str(tmp_path / "report.docx")).paragraphs]
    assert any("未由评价工作组逐项打分，定性指标按单位自评得分计" in p for p in paragraphs)
    assert any("未成立评价工作组逐项打分" in p for p in paragraphs)
    assert not any("由0人组成" in p for p in paragraphs)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "宋营镇.xlsx", filled_bytes(data, 2023))
    api.merge(inbox, tmp_path / "out", jobs=1)
    rollup = json.loads((tmp_path / "out" / "rollup.json").read_text(encoding="utf-8"))
    methods = {r["seq"]: r["method"] for r in rollup["rollups"][0]["indicators"]}
    assert methods == {
        1: "≥",
        2: "定性（单位自评）",
        3: "定性（单位自评）",
        4: "≤",
        5: "定性（单位自评）",
        6: "定性（单位自评）",
    }


def test_cli_validate_a_table_without_panel(tmp_path: Path) -> None:
    path = write(tmp_path, "无小组.xlsx", filled_bytes(seed(members=[], panel_scores=[]), 2023))
    result = CliRunner().invoke(cli, ["validate", "--json", str(path)])
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.output)
    assert report["valid"] and "panel-mode" in {f["code"] for f in report["findings"]}
    profile = tmp_path / "members.json"
    profile.write_text(Path(with_panel_mode(tmp_path, "members").source).read_text(encoding="utf-8"), "utf-8")
    result = CliRunner().invoke(cli, ["validate", "--rules", str(profile), str(path)])
    assert result.exit_code == 1 and "评价工作组成员" in result.output


# --- point 2: weights from the profile ------------------------------------------------------------------

SPLIT_80 = {1: 15, 2: 15, 3: 10, 4: 10, 5: 20, 6: 10}  # 产出 50 / 效益 20 / 满意度 10


def reweighted(weights: dict[int, int]) -> dict[str, Any]:
    data = sampledata.seed()
    for r in data["indicators"]:
        r["weight"] = r["self_score"] = weights[r["seq"]]
    data["panel_scores"] = [{**e, "value": weights[e["row"]]} for e in data["panel_scores"]]
    return data


def test_budget_20_template_states_the_profile_everywhere(tmp_path: Path) -> None:
    target = tmp_path / "t.xlsx"
    result = CliRunner().invoke(cli, ["template", "--rules", "budget-20", "-o", str(target)])
    assert result.exit_code == 0, result.output
    text = all_text(target)
    assert "预算执行20分，绩效指标80分（产出指标50分、效益指标20分、满意度指标10分），合计100分" in text
    assert "全部指标合计80分" in text  # the 分值 input message
    assert "90分" not in text and "预算执行10分" not in text and "{" not in text
    default = all_text(_template(tmp_path))
    assert "绩效指标90分" in default and "预算执行10分" in default


def _template(tmp: Path, rules: Any = None) -> Path:
    path = tmp / "default.xlsx"
    api.write_template(path, rules=rules)
    return path


def test_budget_20_messages_and_category_checks() -> None:
    rules = api.load_rules("budget-20")
    _doc, report = api.validate_workbook(seed_bytes(), rules=rules)  # a 90-point table
    [total] = [f for f in report.errors if f.code == "weights-total"]
    assert "应为80分" in total.message and "预算执行20分" in total.message and "10分另计" not in total.message
    [benefit] = found(report, "category-weights")
    assert benefit == ("category-weights", "warning", *indicator_cell(4, "weight"))
    scored = api.score_workbook(filled_bytes(reweighted(SPLIT_80), 2023), rules=rules)
    assert scored.valid, found(scored.report)
    assert scored.result.budget.weight == 20 and scored.result.budget.shown == D("17.66")
    assert scored.result.total.weight == 100


def test_category_split_against_the_profile_at_the_category_cells() -> None:
    """70/20/10 plus 10 for the budget: the total and each category that breaks the profile."""
    _doc, report = api.validate_workbook(
        filled_bytes(reweighted({1: 20, 2: 20, 3: 15, 4: 15, 5: 20, 6: 10}), 2023)
    )
    assert "weights-total" in {f.code for f in report.errors}
    first, last = indicator_cell(0, "weight")[1], indicator_cell(3, "weight")[1]
    assert found(report, "category-weights") == [
        ("category-weights", "warning", "绩效指标", f"{first}:{last}"),
        ("category-weights", "warning", "绩效指标", indicator_cell(4, "weight")[1]),
    ]
    [output] = [f for f in report.findings if f.code == "category-weights" and f.cell.startswith(first)]
    assert "“产出指标”4项指标的分值合计70分，按评分规则应为50分" in output.message


def test_custom_profile_budget_0_indicators_100(tmp_path: Path) -> None:
    path = rules_file(
        tmp_path,
        "budget-0",
        budget=0,
        indicators=100,
        categories={"产出指标": 60, "效益指标": 30, "满意度指标": 10},
    )
    rules = api.load_rules(path)
    data = reweighted({1: 20, 2: 20, 3: 10, 4: 10, 5: 30, 6: 10})
    scored = api.score_workbook(filled_bytes(data, 2023), rules=rules)
    assert scored.valid, found(scored.report)
    assert scored.result.budget.weight == 0 and scored.result.total.weight == 100
    text = all_text(_template(tmp_path, rules))
    assert "预算执行不单独计分，绩效指标100分" in text and "90分" not in text
    out = tmp_path / "score.json"
    source = write(tmp_path, "b0.xlsx", filled_bytes(data, 2023))
    result = CliRunner().invoke(
        cli, ["score", "--rules", str(path), "--json", "-o", str(out.with_suffix(".xlsx")), str(source)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["budget_score"] == "0.00"


# --- point 3: no per-indicator 分值 ---------------------------------------------------------------------


def no_weights(data: dict[str, Any], categories: tuple[str, ...] = tuple(layout.LEVELS)) -> dict[str, Any]:
    for r in data["indicators"]:
        if r["level1"] in categories:
            r["weight"] = None
    return data


def test_weights_derived_from_full_self_scores() -> None:
    """Every row at full marks: the category's scores add up to its weight, so weight = score."""
    scored = api.score_workbook(filled_bytes(no_weights(sampledata.seed()), 2023))
    assert scored.valid, found(scored.report)
    derived = [f for f in scored.report.findings if f.code == "weights-derived"]
    first, last = indicator_cell(0, "weight")[1], indicator_cell(3, "weight")[1]
    assert [(f.severity, f.cell) for f in derived] == [
        ("warning", f"{first}:{last}"),
        ("warning", indicator_cell(4, "weight")[1]),
        ("warning", indicator_cell(5, "weight")[1]),
    ]
    assert (
        "第1项15分、第2项15分、第3项10分、第4项10分" in derived[0].message
        and "均为满分" in derived[0].message
    )
    assert [s.indicator.weight for s in scored.result.indicators] == [15, 15, 10, 10, 30, 10]
    assert scored.result.total.shown == api.score_workbook(seed_bytes()).result.total.shown


def test_weights_split_equally_when_scores_fall_short(tmp_path: Path) -> None:
    data = no_weights(seed(members=[], panel_scores=[]), ("产出指标",))
    for r, score in zip(data["indicators"][:4], (12, 12, 10, 10), strict=True):
        r["self_score"] = score
    scored = api.score_workbook(filled_bytes(data, 2023))
    assert scored.valid, found(scored.report)
    [f] = [f for f in scored.report.findings if f.code == "weights-derived"]
    assert "第1项12.5分、第2项12.5分、第3项12.5分、第4项12.5分" in f.message and "平均分配" in f.message
    # the completed workbook shows the derived 分值 in the 分值 cells, marked
    api.write_completed(tmp_path / "done.xlsx", scored)
    ws = load_workbook(tmp_path / "done.xlsx")["绩效指标"]
    assert ws[indicator_cell(0, "weight")[1]].value == 12.5


def test_weights_not_derivable_are_errors_that_say_why() -> None:
    data = no_weights(sampledata.seed(), ("产出指标",))
    for r, score in zip(data["indicators"][:4], (20, 10, 10, 5), strict=True):  # 20 > 12.5
        r["self_score"] = score
    _doc, report = api.validate_workbook(filled_bytes(data, 2023))
    [f] = report.errors
    assert (f.code, f.cell) == (
        "missing-value",
        f"{indicator_cell(0, 'weight')[1]}:{indicator_cell(3, 'weight')[1]}",
    )
    assert "第1项的自评得分高于平均分值" in f.message
    data["indicators"][0]["self_score"] = None
    _doc, report = api.validate_workbook(filled_bytes(data, 2023))
    assert [e.code for e in report.errors] == ["missing-value"] and "自评得分”不全" in report.errors[
        0
    ].message

    # an error value in one 分值 cell is not a blank table: nothing derived, the error stands
    def div0(wb: Workbook) -> None:
        sheet, ref = indicator_cell(0, "weight")
        wb[sheet][ref] = "#DIV/0!"

    data = no_weights(sampledata.seed(), ("产出指标",))
    _doc, report = api.validate_workbook(filled_bytes(data, 2023, div0))
    assert "weights-derived" not in {f.code for f in report.findings}
    assert ("cell-error", "error", *indicator_cell(0, "weight")) in found(report)
    # some rows filled, some not: the usual missing 分值, one per blank row
    data = sampledata.seed()
    data["indicators"][0]["weight"] = None
    _doc, report = api.validate_workbook(filled_bytes(data, 2023))
    assert found(report, "missing-value") == [("missing-value", "error", *indicator_cell(0, "weight"))]


def test_cli_score_a_table_without_weights(tmp_path: Path) -> None:
    source = write(tmp_path, "只有得分.xlsx", filled_bytes(no_weights(sampledata.seed()), 2023))
    result = CliRunner().invoke(cli, ["score", "--json", "-o", str(tmp_path / "out.xlsx"), str(source)])
    assert result.exit_code == 0, result.output
    codes = [f["code"] for f in json.loads(result.output)["findings"]]
    assert codes.count("weights-derived") == 3


@pytest.mark.parametrize("name", ["default", "budget-20", "mof-2020"])
def test_template_guide_explains_modes_and_derivation(tmp_path: Path, name: str) -> None:
    text = all_text(_template(tmp_path, api.load_rules(name)))
    for words in (
        "方式一 成员逐项打分",
        "方式二 小组合议",
        "方式三 单位自评",
        "可将一个一级指标下各行的“分值”全部留空",
    ):
        assert words in text


def test_returned_copy_states_the_profile_it_was_checked_against(tmp_path: Path) -> None:
    """Under budget-20 a 90-point table is sent back on a template that says 80 (not the default's 90)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "宋营镇.xlsx", seed_bytes())
    api.merge(inbox, tmp_path / "out", jobs=1, rules=api.load_rules("budget-20"))
    [returned] = (tmp_path / "out" / "returned").iterdir()
    text = all_text(returned)
    assert "分值：预算执行20分，绩效指标80分（产出指标50分、效益指标20分、满意度指标10分），合计100分" in text
    assert "绩效指标90分" not in text


def test_panel_mode_is_a_checked_profile_setting(tmp_path: Path) -> None:
    assert api.load_rules().panel_mode == "auto"
    assert with_panel_mode(tmp_path, "agreed").panel_mode == "agreed"
    with pytest.raises(RulesError) as err:
        with_panel_mode(tmp_path, "everyone")
    assert err.value.json_path == "$.panel.mode"
    budget20 = api.load_rules("budget-20")
    assert (budget20.budget_weight, budget20.indicator_total) == (20, 80)
    assert sum(budget20.category_weights.values()) == 80
