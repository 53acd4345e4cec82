"""Real forms (issue 14): the 基本支出/项目支出 split of the budget, several evaluations per unit and year
(评价类型 整体/项目), units that are not townships (统一社会信用代码), and workbooks of template 1.0."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sampledata
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from openpyxl_fill import fill, filled_bytes
from workbooks import cell_of, chain, seed_bytes, set_value, write

from selfeval_xlsx import api, layout
from selfeval_xlsx.cli import cli
from selfeval_xlsx.validate import credit_check_char
from selfeval_xlsx.version import TEMPLATE_VERSION

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_1_0 = ROOT / "tests" / "data" / "乡镇整体支出绩效自评表_v1.0.xlsx"

#: 基本支出 + 项目支出 = the seed's 合计 in every column.
SPLIT = {
    "basic": {"initial": "2593.66", "adjusted": "2683.28", "executed": "2624.90"},
    "project": {"initial": "6000.00", "adjusted": "7200.00", "executed": "6100.00"},
}


def split_seed() -> dict[str, Any]:
    data = sampledata.seed()
    data["budget"].update(SPLIT)
    return data


def codes(report: Any) -> list[tuple[str, str, str | None]]:
    return report.flatten(["code", "severity", "cell"])


def errors(report: Any) -> list[Any]:
    return [f for f in report.findings if f.severity == "error"]


# --- point 4: the budget split ------------------------------------------------------------------------


def test_template_has_the_split_rows_under_the_total_with_their_own_rate() -> None:
    wb = load_workbook(ROOT / "templates" / f"乡镇整体支出绩效自评表_v{TEMPLATE_VERSION}.xlsx")
    sheet, total = cell_of("/budget/total/initial")
    _, basic = cell_of("/budget/basic/initial")
    _, project = cell_of("/budget/project/initial")
    ws = wb[sheet]
    label = ws[f"A{basic[1:]}"].value, ws[f"A{project[1:]}"].value
    assert label == ("其中：基本支出", "其中：项目支出")
    assert int(basic[1:]) == int(total[1:]) + 1
    _, rate = cell_of("/budget/basic/rate")
    assert ws[rate].number_format == "0.00%" and ws[rate].protection.locked  # the tool fills it
    _, score = cell_of("/budget/basic/score")
    assert ws[score].fill.fgColor.rgb != ws[rate].fill.fgColor.rgb  # no 得分 of its own: greyed


def test_split_that_adds_up_is_valid_and_its_rates_are_written_back(tmp_path: Path) -> None:
    scored = api.score_workbook(filled_bytes(split_seed(), sampledata.YEAR))
    assert scored.valid and not [f for f in scored.report.findings if f.code == "sum-mismatch"]
    assert scored.submission.budget["basic"].rate == Decimal("2624.90") / Decimal("2683.28")
    assert scored.result.total.shown == Decimal("98.68")  # the score comes from the 合计 row only
    target = tmp_path / "done.xlsx"
    api.write_completed(target, scored)
    wb = load_workbook(target)
    sheet, basic = cell_of("/budget/basic/rate")
    _, project = cell_of("/budget/project/rate")
    _, total = cell_of("/budget/total/rate")
    assert wb[sheet][basic].value == pytest.approx(0.9782)  # 2624.90 / 2683.28 = 97.82%
    assert wb[sheet][project].value == pytest.approx(0.8472)  # 6100 / 7200 = 84.72%
    assert wb[sheet][total].value == pytest.approx(0.8828)
    result = [c.value for row in wb["评分结果"].iter_rows() for c in row if c.value is not None]
    assert "其中：基本支出" in result and pytest.approx(0.9782) in result


def test_blank_split_is_not_used(tmp_path: Path) -> None:
    scored = api.score_workbook(seed_bytes())
    assert scored.valid and not [f for f in scored.report.findings if f.code == "sum-mismatch"]
    target = tmp_path / "done.xlsx"
    api.write_completed(target, scored)
    sheet, basic = cell_of("/budget/basic/rate")
    assert load_workbook(target)[sheet][basic].value is None


@pytest.mark.parametrize(
    ("typed", "column"),
    [
        ({"/budget/basic/executed": 3000}, "executed"),  # a typo in one part
        ({"/budget/project/initial": None}, "initial"),  # one part left blank
    ],
)
def test_split_that_does_not_add_up_is_a_sum_mismatch_at_its_cells(typed: dict, column: str) -> None:
    edit = chain(*(set_value(p, v) for p, v in typed.items()))
    _doc, report = api.validate_workbook(seed_bytes(edit, split_seed()))
    [f] = errors(report)
    sheet, first = cell_of(f"/budget/basic/{column}")
    _, last = cell_of(f"/budget/project/{column}")
    assert (f.code, f.sheet, f.cell) == ("sum-mismatch", sheet, f"{first}:{last}")
    assert "基本支出与项目支出之和" in f.message and "合计为" in f.message


def test_only_the_split_filled_against_funding_sources_that_add_up() -> None:
    """Funding sources and the split are separate checks: both are reported, each at its own cells."""
    data = split_seed()
    data["budget"]["current"] = {"initial": "8000", "adjusted": "9000", "executed": "8000"}
    _doc, report = api.validate_workbook(filled_bytes(data, sampledata.YEAR))
    found = {(f.code, f.cell) for f in errors(report)}
    _, total = cell_of("/budget/total/initial")
    assert ("sum-mismatch", total) in found  # the funding sources (8000 ≠ 8593.66): at the total
    assert all("基本支出" not in f.message for f in errors(report))  # the split agrees


def test_cli_validate_names_the_split_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "部门.xlsx", seed_bytes(set_value("/budget/basic/executed", 3000), split_seed()))
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 1
    _, first = cell_of("/budget/basic/executed")
    assert f"预算执行!{first}:" in res.output and "sum-mismatch" in res.output


# --- point 6: kind, project, departments ----------------------------------------------------------


def test_kind_is_a_dropdown_defaulting_to_whole() -> None:
    wb = load_workbook(ROOT / "templates" / f"乡镇整体支出绩效自评表_v{TEMPLATE_VERSION}.xlsx")
    sheet, ref = cell_of("/identity/kind")
    assert wb[sheet][ref].value == "整体"
    [dv] = [dv for dv in wb[sheet].data_validations.dataValidation if ref in str(dv.sqref)]
    assert dv.type == "list"
    meta = wb[layout.META_SHEET_NAME]
    col = next(c for c in meta[1] if c.value == "评价类型").column
    assert [meta.cell(r, col).value for r in (2, 3)] == ["整体", "项目"]


def test_project_kind_requires_a_project_name() -> None:
    _doc, report = api.validate_workbook(seed_bytes(set_value("/identity/kind", "项目")))
    [f] = errors(report)
    assert (f.code, f.cell) == ("missing-value", cell_of("/identity/project_name")[1])
    assert "评价类型为“项目”时必须填写" in f.message


def test_blank_kind_reads_as_whole_and_other_words_are_refused() -> None:
    scored = api.score_workbook(seed_bytes(set_value("/identity/kind", None)))
    assert scored.valid and scored.submission.kind == "整体"
    _doc, report = api.validate_workbook(seed_bytes(set_value("/identity/kind", "专项")))
    assert [(f.code, f.cell) for f in errors(report)] == [("invalid-choice", cell_of("/identity/kind")[1])]


def test_department_with_a_credit_code_and_no_division_code_is_valid() -> None:
    scored = api.score_workbook(filled_bytes(sampledata.department(), sampledata.YEAR))
    assert scored.valid, scored.report.flatten(["code", "message"])
    sub = scored.submission
    assert (sub.unit_code, sub.county_code, sub.division_code) == (sampledata.DEPARTMENT_CODE, "130133", "")


def test_gb_32100_check_character() -> None:
    assert credit_check_char("91350100M000100Y4") == "3"  # a code printed on a real business licence
    assert credit_check_char("91350100M000100YI") is None  # I is not a code character
    assert sampledata.DEPARTMENT_CODE == "11130133MB01234569"


@pytest.mark.parametrize(
    ("typed", "code", "words"),
    [
        (sampledata.DEPARTMENT_CODE[:-1] + "0", "invalid-code", "校验未通过"),  # the check character mistyped
        (
            sampledata.DEPARTMENT_CODE[:9] + sampledata.DEPARTMENT_CODE[10:],
            "invalid-format",
            "校验未通过",
        ),  # a character lost
        (
            sampledata.DEPARTMENT_CODE[:10] + "O" + sampledata.DEPARTMENT_CODE[11:],
            "invalid-format",
            "不含I、O",
        ),  # O for 0
        (
            sampledata.DEPARTMENT_CODE[:8] + "7" + sampledata.DEPARTMENT_CODE[9:],
            "invalid-code",
            "校验未通过",
        ),  # two swapped
    ],
)
def test_mistyped_credit_code_is_an_error_at_its_cell(typed: str, code: str, words: str) -> None:
    data = sampledata.variant(sampledata.department(), **{"identity.credit_code": typed})
    _doc, report = api.validate_workbook(filled_bytes(data, sampledata.YEAR))
    [f] = errors(report)
    assert (f.code, f.sheet, f.cell) == (code, *cell_of("/identity/credit_code"))
    assert words in f.message


def test_credit_code_in_lower_case_is_normalised() -> None:
    data = sampledata.variant(
        sampledata.department(), **{"identity.credit_code": sampledata.DEPARTMENT_CODE.lower()}
    )
    scored = api.score_workbook(filled_bytes(data, sampledata.YEAR))
    assert scored.valid and scored.submission.credit_code == sampledata.DEPARTMENT_CODE
    assert ("value-normalised", cell_of("/identity/credit_code")[1]) in scored.report.flatten(
        ["code", "cell"]
    )


def test_unit_with_neither_code_is_told_which_to_fill() -> None:
    _doc, report = api.validate_workbook(seed_bytes(set_value("/identity/division_code", None)))
    [f] = errors(report)
    assert (f.code, f.cell) == ("missing-value", cell_of("/identity/division_code")[1])
    assert "统一社会信用代码" in f.message


def test_credit_code_of_another_county_is_flagged_against_the_county_name() -> None:
    other = sampledata.credit_code("11130102MB0123456")  # 长安区, while 所属县 says 赵县
    data = sampledata.variant(sampledata.department(), **{"identity.credit_code": other})
    _doc, report = api.validate_workbook(filled_bytes(data, sampledata.YEAR))
    assert ("code-mismatch", cell_of("/identity/county")[1]) in report.flatten(["code", "cell"])


def test_cli_validate_mistyped_credit_code(tmp_path: Path) -> None:
    data = sampledata.variant(
        sampledata.department(), **{"identity.credit_code": sampledata.DEPARTMENT_CODE[:-1] + "0"}
    )
    path = write(tmp_path, "农业农村局.xlsx", filled_bytes(data, sampledata.YEAR))
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 1
    assert f"预算执行!{cell_of('/identity/credit_code')[1]}" in res.output and "校验未通过" in res.output


@pytest.fixture(scope="module")
def evaluations_merge(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """宋营镇's 整体 evaluation, two project evaluations (one sent twice), and a county department."""
    inbox = tmp_path_factory.mktemp("inbox")
    seed = sampledata.seed()
    road = sampledata.project(seed, "乡村道路维护项目")
    put = {
        "宋营镇整体.xlsx": seed,
        "宋营镇人居环境项目.xlsx": sampledata.project(seed, "农村人居环境整治项目"),
        "宋营镇道路项目.xlsx": sampledata.variant(road, **{"identity.filled_on": "2024-01-10"}),
        "宋营镇道路项目（更正）.xlsx": sampledata.variant(road, **{"self_assessment.total": "98.68"}),
        "农业农村局.xlsx": sampledata.variant(
            sampledata.department(), **{f"budget.{k}": v for k, v in SPLIT.items()}
        ),
    }
    for name, data in put.items():
        write(inbox, name, filled_bytes(data, sampledata.YEAR))
    out = tmp_path_factory.mktemp("out") / "out"
    return out, api.merge(inbox, out, jobs=1)


def test_evaluations_of_one_unit_and_year_are_kept_apart(evaluations_merge) -> None:
    _out, result = evaluations_merge
    assert result.counts["accepted"] == 4 and result.counts["superseded"] == 1
    [gone] = result.superseded
    assert (gone.file, gone.replaced_by) == ("宋营镇道路项目.xlsx", "宋营镇道路项目（更正）.xlsx")
    [roll] = result.rollups
    assert roll.county_code == "130133"  # the department is grouped under its code's county
    rows = {(t.code, t.evaluation) for t in roll.townships}
    assert rows == {
        ("130133101000", "整体"),
        ("130133101000", "项目：农村人居环境整治项目"),
        ("130133101000", "项目：乡村道路维护项目"),
        (sampledata.DEPARTMENT_CODE, "整体"),
    }


def test_rollup_workbook_shows_the_evaluation_and_the_split(evaluations_merge) -> None:
    out, _result = evaluations_merge
    ws = load_workbook(out / "汇总_赵县_2023.xlsx")["汇总"]
    head = {c.value: c.column for c in ws[2] if c.value}
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3, max_row=6)]
    by_name = {(r[head["单位名称"] - 1], r[head["评价对象"] - 1]): r for r in rows}
    dept = by_name["赵县农业农村局", "整体"]
    assert dept[head["行政区划代码"] - 1] == sampledata.DEPARTMENT_CODE
    assert dept[head["基本支出执行率(%)"] - 1] == 97.82 and dept[head["项目支出执行率(%)"] - 1] == 84.72
    assert by_name["宋营镇人民政府", "整体"][head["基本支出执行率(%)"] - 1] is None
    completed = sorted(p.name for p in (out / "completed").iterdir())
    assert "130133101000_宋营镇人民政府_2023_乡村道路维护项目_已评分.xlsx" in completed


def test_cli_merge_keeps_two_projects(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("甲项目", "乙项目"):
        write(
            inbox, f"{name}.xlsx", filled_bytes(sampledata.project(sampledata.seed(), name), sampledata.YEAR)
        )
    res = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(tmp_path / "out"), "--jobs", "1"])
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "out" / "completed").iterdir())) == 2


# --- the template version -------------------------------------------------------------------------


def v1_0_bytes(data: dict[str, Any], edit: Any = None) -> bytes:
    """A workbook of the 1.0 template (as a township that kept last year's file would send), filled at
    its own positions."""
    wb = load_workbook(TEMPLATE_1_0)
    fill(wb, data, layout.LAYOUTS["1.0"])
    if edit:
        edit(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_fixture_is_a_1_0_template() -> None:
    meta = load_workbook(TEMPLATE_1_0)[layout.META_SHEET_NAME]
    assert {r[0].value: r[1].value for r in meta.iter_rows(max_col=2)}["template_version"] == "1.0"
    assert TEMPLATE_VERSION == "1.1"


def test_v1_0_workbook_is_read_with_a_warning_naming_what_to_add() -> None:
    scored = api.score_workbook(v1_0_bytes(sampledata.seed()))
    assert scored.valid
    [f] = [f for f in scored.report.findings if f.code == "template-version"]
    assert f.severity == "warning"
    for added in ("评价类型", "项目名称", "统一社会信用代码", "基本支出", "项目支出"):
        assert added in f.message
    current = api.score_workbook(seed_bytes())
    assert scored.result.total.shown == current.result.total.shown == Decimal("98.68")
    assert scored.submission.budget == {k: current.submission.budget[k] for k, _ in layout.FUNDING}
    assert scored.submission.kind == "整体"


def test_v1_0_findings_name_the_cells_of_the_file_as_sent() -> None:
    old = layout.LAYOUTS["1.0"].sheet("budget")
    r, c = layout.grid_cell(old.find("budget"), "total", "executed")

    def typed(wb: Workbook) -> None:
        wb[old.name].cell(r, c).value = "约8700万"

    _doc, report = api.validate_workbook(v1_0_bytes(sampledata.seed(), typed))
    [f] = errors(report)
    assert (f.code, f.cell) == ("type-error", "D17")  # where it is in the 1.0 workbook
    assert cell_of("/budget/total/executed")[1] == "D20"  # and where it is now


def test_v1_0_returned_and_completed_copies_are_on_the_new_template(tmp_path: Path) -> None:
    old = layout.LAYOUTS["1.0"].sheet("budget")
    r, c = layout.grid_cell(old.find("budget"), "total", "executed")

    def typed(wb: Workbook) -> None:
        wb[old.name].cell(r, c).value = "约8700万"

    doc, report = api.validate_workbook(v1_0_bytes(sampledata.seed(), typed))
    from selfeval_xlsx.completed import write_returned

    target = tmp_path / "returned.xlsx"
    write_returned(target, doc, report)
    wb = load_workbook(target)
    sheet, executed = cell_of("/budget/total/executed")
    assert wb[sheet][executed].comment is not None and "约8700万" in wb[sheet][executed].comment.text
    assert wb[sheet][cell_of("/identity/unit_name")[1]].value == "宋营镇人民政府"
    assert wb[sheet][cell_of("/identity/division_code")[1]].value == "130133101000"
    assert wb[sheet][cell_of("/goals/annual_goal")[1]].value == sampledata.SEED_GOAL
    meta = {row[0].value: row[1].value for row in wb[layout.META_SHEET_NAME].iter_rows(max_col=2)}
    assert meta["template_version"] == TEMPLATE_VERSION

    scored = api.score_workbook(v1_0_bytes(sampledata.seed()))
    done = tmp_path / "done.xlsx"
    api.write_completed(done, scored)
    wb = load_workbook(done)
    assert wb[sheet][executed].value == pytest.approx(8724.90)
    assert wb[sheet][cell_of("/budget/total/rate")[1]].value == pytest.approx(0.8828)
    assert wb[sheet][cell_of("/self_assessment/total")[1]].value == 100
    # the returned copy of a 1.0 workbook reads back as a valid 1.1 workbook once the clerk fixes it
    fixed = load_workbook(target)
    del fixed["退回说明"]
    fixed[sheet][executed] = 8724.90
    buf = io.BytesIO()
    fixed.save(buf)
    again = api.score_workbook(buf.getvalue())
    assert again.valid and not [f for f in again.report.findings if f.code == "template-version"]


def test_cli_score_of_a_v1_0_workbook(tmp_path: Path) -> None:
    path = write(tmp_path, "宋营镇2023.xlsx", v1_0_bytes(sampledata.seed()))
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 0, res.output
    assert "template-version" in res.output and "1.0版" in res.output


def test_rollup_totals_count_a_projects_budget_once(evaluations_merge) -> None:
    """A project's budget is part of its unit's: the county sums take the 整体 rows only."""
    _out, result = evaluations_merge
    [roll] = result.rollups
    t = roll.totals()
    assert t["initial"] == Decimal("8593.66") * 2  # 宋营镇 整体 + the department, not the two projects
    assert t["townships"] == 2 and t["projects"] == 2  # the projects are listed, not ranked or counted
    assert [r.rank for r in roll.townships][-2:] == [0, 0]
