"""Validation of real workbooks: the template filled, then edited the way people edit it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import sampledata
from click.testing import CliRunner
from openpyxl import Workbook
from openpyxl_fill import filled_bytes
from workbooks import (
    cell_of,
    chain,
    indicator_cell,
    panel_cell,
    seed_bytes,
    set_indicator,
    set_value,
    write,
)

from selfeval_xlsx import layout
from selfeval_xlsx.api import validate_workbook
from selfeval_xlsx.cli import cli


def errors(data: bytes) -> list[tuple[str, str | None, str | None]]:
    _doc, report = validate_workbook(data, name="t.xlsx")
    return [(f.code, f.sheet, f.cell) for f in report.errors]


def codes(data: bytes) -> set[str]:
    _doc, report = validate_workbook(data, name="t.xlsx")
    return {f.code for f in report.findings}


def test_seed_is_valid_and_pins_cells() -> None:
    doc, report = validate_workbook(seed_bytes(), name="宋营镇.xlsx")
    assert report.valid, report.flatten(["code", "cell", "message"])
    assert doc.get("/budget/total/adjusted") == Decimal("9883.28")
    assert isinstance(doc.get("/budget/total/executed"), Decimal)
    assert doc.get("/identity/division_code") == "130133101000"
    assert doc.get("/identity/filled_on") == "2024-01-20"
    assert doc.cells["/identity/unit_name"].cell == "B4"
    assert doc.cells["/budget/total/executed"].cell == "D20"
    assert doc.cells["/indicators/0/weight"].sheet == "绩效指标"
    assert [m["name"] for m in doc.get("/members")] == ["卢迪", "尹华", "尚建人"]
    assert len(doc.get("/panel_scores")) == 18


# --- one case per finding code: (edit, expected code, sheet, cell) ---------------------------------

CASES = {
    "missing-value": (
        set_value("/identity/unit_name", None),
        "missing-value",
        cell_of("/identity/unit_name"),
    ),
    "type-error": (
        set_value("/budget/total/executed", "约8700万"),
        "type-error",
        cell_of("/budget/total/executed"),
    ),
    "out-of-range": (
        set_value("/self_assessment/total", 120),
        "out-of-range",
        cell_of("/self_assessment/total"),
    ),
    "negative-amount": (
        set_value("/budget/total/initial", -5),
        "out-of-range",
        cell_of("/budget/total/initial"),
    ),
    "invalid-choice": (set_indicator(0, "level1", "产出"), "invalid-choice", indicator_cell(0, "level1")),
    "invalid-format": (
        set_value("/identity/division_code", "13013310100"),
        "invalid-format",
        cell_of("/identity/division_code"),
    ),
    "too-long": (set_value("/review/problems", "问" * 5000), "too-long", cell_of("/review/problems")),
    "invalid-code": (
        set_value("/identity/division_code", "130199101000"),
        "invalid-code",
        cell_of("/identity/division_code"),
    ),
    "invalid-code-township": (
        set_value("/identity/division_code", "130133701000"),
        "invalid-code",
        cell_of("/identity/division_code"),
    ),
    "sum-mismatch": (
        chain(set_value("/budget/current/executed", 8000), set_value("/budget/other/executed", 100)),
        "sum-mismatch",
        cell_of("/budget/total/executed"),
    ),
    "category-mismatch": (
        set_indicator(0, "level2", "社会效益指标"),
        "category-mismatch",
        indicator_cell(0, "level2"),
    ),
    "nature-mismatch": (set_indicator(0, "target", "较高"), "nature-mismatch", indicator_cell(0, "target")),
    "completion-required": (
        set_indicator(1, "completion", None),
        "missing-value",
        indicator_cell(1, "completion"),
    ),
    "duplicate-seq": (set_indicator(1, "seq", 1), "duplicate-seq", indicator_cell(1, "seq")),
    "panel-out-of-range": (
        lambda wb: wb[panel_cell(1, 2)[0]].__setitem__(panel_cell(1, 2)[1], 16),
        "out-of-range",
        panel_cell(1, 2),
    ),
    "panel-missing-score": (
        lambda wb: wb[panel_cell(2, 3)[0]].__setitem__(panel_cell(2, 3)[1], None),
        "panel-missing-score",
        panel_cell(2, 3),
    ),
    "panel-unknown-member": (
        lambda wb: wb[panel_cell(1, 5)[0]].__setitem__(panel_cell(1, 5)[1], 10),
        "panel-unknown-member",
        panel_cell(1, 5),
    ),
    "panel-unknown-indicator": (
        lambda wb: wb[panel_cell(9, 1)[0]].__setitem__(panel_cell(9, 1)[1], 5),
        "panel-unknown-indicator",
        panel_cell(9, 1),
    ),
    "formula-not-allowed": (
        set_value("/budget/total/executed", "=VLOOKUP(A1,B:C,2,0)"),
        "formula-not-allowed",
        cell_of("/budget/total/executed"),
    ),
    "formula-in-text": (
        set_value("/identity/county", '=CONCAT("赵","县")'),
        "formula-not-allowed",
        cell_of("/identity/county"),
    ),
    "cell-error": (
        set_value("/budget/total/executed", "#DIV/0!"),
        "cell-error",
        cell_of("/budget/total/executed"),
    ),
    "date-1900": (
        set_value("/identity/filled_on", "1900-01-01"),
        "out-of-range",
        cell_of("/identity/filled_on"),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_finding_at_its_cell(case: str) -> None:
    edit, code, (sheet, cell) = CASES[case]
    found = errors(seed_bytes(edit))
    assert (code, sheet, cell) in found, found


def test_weights_total_names_the_weight_column() -> None:
    data = sampledata.seed()
    data["indicators"][0]["weight"] = 10  # 85 in all
    _doc, report = validate_workbook(filled_bytes(data, 2023), name="w.xlsx")
    [f] = [f for f in report.errors if f.code == "weights-total"]
    first, last = indicator_cell(0, "weight")[1], indicator_cell(5, "weight")[1]
    assert (f.sheet, f.cell) == ("绩效指标", f"{first}:{last}")
    assert "85" in f.message and "90" in f.message


def test_code_mismatch_warns_for_a_town_with_a_township_range_code() -> None:
    _doc, report = validate_workbook(seed_bytes(set_value("/identity/division_code", "130133201000")))
    assert report.valid
    assert ("code-mismatch", "预算执行", "B7") in report.flatten(["code", "sheet", "cell"])


# --- normalisation of what people type ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("8,724.90", Decimal("8724.90")),
        ("8724.90万元", Decimal("8724.90")),
        (" 8724.90 ", Decimal("8724.90")),
        ("８７２４．９０", Decimal("8724.90")),
        ("8,724.90 万元", Decimal("8724.90")),
    ],
)
def test_amounts_typed_as_text_are_normalised_with_a_warning(typed: str, expected: Decimal) -> None:
    doc, report = validate_workbook(seed_bytes(set_value("/budget/total/executed", typed)))
    assert report.valid, report.flatten(["code", "cell", "message"])
    assert doc.get("/budget/total/executed") == expected
    assert ("value-normalised", "D20") in report.flatten(["code", "cell"])


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2024年1月20日", "2024-01-20"),
        ("2024/1/20", "2024-01-20"),
        (45311, "2024-01-20"),
        ("20240120", "2024-01-20"),
    ],
)
def test_dates_as_text_or_serial(typed: object, expected: str) -> None:
    doc, report = validate_workbook(seed_bytes(set_value("/identity/filled_on", typed)))
    assert report.valid
    assert doc.get("/identity/filled_on") == expected


def test_indicator_values_with_units_and_lookalike_signs() -> None:
    edit = chain(
        set_indicator(0, "target", "38个"),
        set_indicator(0, "actual", "３８"),
        set_indicator(0, "nature", "≧"),
    )
    doc, report = validate_workbook(seed_bytes(edit))
    assert report.valid, report.flatten(["code", "cell", "message"])
    assert doc.get("/indicators/0/target") == Decimal(38)
    assert doc.get("/indicators/0/actual") == Decimal(38)
    assert doc.get("/indicators/0/nature") == "≥"


def test_percent_values_and_code_stored_as_number() -> None:
    data = sampledata.township(1)
    edit = chain(set_indicator(1, "actual", "97%"), set_value("/identity/division_code", 130133102000))
    doc, report = validate_workbook(filled_bytes(data, 2023, edit))
    assert report.valid, report.flatten(["code", "cell", "message"])
    assert doc.get("/indicators/1/actual") == Decimal(97)
    assert doc.get("/identity/division_code") == "130133102000"


def test_blank_rows_inside_the_indicator_table_are_skipped() -> None:
    data = sampledata.seed()
    rows = (0, 1, 4, 5, 9, 10)
    for ind, row in zip(data["indicators"], rows, strict=True):
        ind["_row"] = row
    for entry in data["panel_scores"]:  # the panel scores follow their indicators' 序号
        entry["row"] = rows[entry["row"] - 1] + 1
    doc, report = validate_workbook(filled_bytes(data, 2023))
    assert report.valid, report.flatten(["code", "cell", "message"])
    assert [r["seq"] for r in doc.get("/indicators")] == [1, 2, 5, 6, 10, 11]
    assert doc.cells["/indicators/2/weight"].cell == indicator_cell(4, "weight")[1]


def test_formula_is_recomputed_not_trusted() -> None:
    edit = chain(
        set_value("/budget/current/executed", 8000),
        set_value("/budget/carryover/executed", "724.90"),
        set_value("/budget/total/executed", "=SUM(D17:D19)"),
    )
    doc, report = validate_workbook(seed_bytes(edit))
    assert doc.get("/budget/total/executed") == Decimal("8724.90")
    assert ("formula-recomputed", "D20") in report.flatten(["code", "cell"])


@pytest.mark.parametrize(
    ("formulas", "why"),
    [
        ({"total": "={total}"}, "total"),  # itself
        ({"total": "={carryover}", "carryover": "={total}+1"}, "total"),  # each other
        ({"total": "={carryover}", "carryover": "={carryover}"}, "carryover"),  # refers to a self-loop
    ],
)
def test_circular_formulas_are_findings_not_crashes(formulas: dict[str, str], why: str) -> None:
    cells = {row: cell_of(f"/budget/{row}/executed")[1] for row in ("total", "carryover")}
    edit = chain(*(set_value(f"/budget/{row}/executed", f.format(**cells)) for row, f in formulas.items()))
    _doc, report = validate_workbook(seed_bytes(edit))
    found = [f for f in report.findings if f.code == "formula-not-allowed"]
    assert found, report.flatten(["code", "cell", "message"])
    assert all("循环引用" in f.message for f in found)
    assert any(f"循环引用了{cells[why]}" in f.message for f in found)
    assert not report.valid


def test_deeply_chained_formulas_are_bounded() -> None:
    def edit(wb: Workbook) -> None:  # total = Z1, Z1 = Z2 + 1, …, Z199 = 1: far deeper than allowed
        sheet, cell = cell_of("/budget/total/executed")
        ws = wb[sheet]
        ws[cell] = "=Z1"
        for row in range(1, 200):
            ws[f"Z{row}"] = f"=Z{row + 1}+1" if row < 199 else 1

    _doc, report = validate_workbook(seed_bytes(edit))
    found = [f for f in report.findings if f.code == "formula-not-allowed"]
    assert found and "层数过多" in found[0].message


def test_merged_input_cells_and_extra_content_are_reported() -> None:
    def edit(wb: Workbook) -> None:
        wb["预算执行"].merge_cells("B17:D17")
        wb["绩效指标"]["B200"] = "追加的指标"
        wb.create_sheet("Sheet1")["A1"] = "草稿"

    found = validate_workbook(seed_bytes(edit))[1].flatten(["code", "sheet", "cell"])
    assert ("merged-input", "预算执行", "B17:D17") in found
    assert ("extra-data", "绩效指标", "B200") in found
    assert ("extra-data", "Sheet1", None) in found


def test_missing_sheet_is_one_clear_finding() -> None:
    def drop(wb: Workbook) -> None:
        del wb["评价小组"]

    _doc, report = validate_workbook(seed_bytes(drop), name="x.xlsx")
    assert report.flatten(["code", "sheet"]) == [("missing-sheet", "评价小组")]


def test_another_workbook_is_one_unknown_template_finding(tmp_path) -> None:
    wb = Workbook()
    wb.active["A1"] = "随便一个表"
    wb.save(tmp_path / "other.xlsx")
    _doc, report = validate_workbook(tmp_path / "other.xlsx")
    assert report.flatten(["code", "severity"]) == [("unknown-template", "error")]


def test_old_template_version_is_one_finding() -> None:
    def old(wb: Workbook) -> None:
        for row in wb[layout.META_SHEET_NAME].iter_rows(max_col=2):
            if row[0].value == "template_version":
                row[1].value = "0.9"

    _doc, report = validate_workbook(seed_bytes(old))
    assert report.flatten(["code"]) == [("template-version",)]
    assert "0.9" in report.findings[0].message


# --- CLI -----------------------------------------------------------------------------------------------


def test_cli_validate_good_and_bad(tmp_path) -> None:
    good = write(tmp_path, "good.xlsx", seed_bytes())
    bad = write(tmp_path, "bad.xlsx", seed_bytes(set_value("/budget/total/executed", "约8700万")))
    runner = CliRunner()
    ok = runner.invoke(cli, ["validate", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "通过" in ok.output
    res = runner.invoke(cli, ["validate", str(good), str(bad)])
    assert res.exit_code == 1
    assert "预算执行!D20" in res.output and "type-error" in res.output
    as_json = runner.invoke(cli, ["validate", "--json", str(bad)])
    assert as_json.exit_code == 1
    [report] = json.loads(as_json.output)
    assert report["valid"] is False
    _doc, lib = validate_workbook(bad)
    assert [f["code"] for f in report["findings"]] == [f.code for f in lib.findings]


def test_cli_usage_errors_exit_2(tmp_path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["validate"]).exit_code == 2
    assert runner.invoke(cli, ["validate", str(tmp_path / "nope.xlsx")]).exit_code == 2
    good = write(tmp_path, "good.xlsx", seed_bytes())
    assert runner.invoke(cli, ["validate", "--rules", "no-such-profile", str(good)]).exit_code == 2


def test_too_many_rows_in_a_document_built_by_a_script() -> None:
    """The reader never reads past the template's 50 indicator rows; a document built by a bureau's own
    script can hold more, and the schema says so at the table."""
    from selfeval_xlsx.api import read_workbook, validate_document

    doc = read_workbook(seed_bytes(), name="脚本.xlsx")
    rows = doc.data["indicators"]
    doc.data["indicators"] = [dict(rows[i % len(rows)], seq=i + 1) for i in range(51)]
    codes = {f.code for f in validate_document(doc).findings}
    assert "too-many-rows" in codes


def test_validating_a_document_twice_neither_changes_it_nor_adds_findings() -> None:
    from selfeval_xlsx.api import read_workbook
    from selfeval_xlsx.validate import validate_document

    doc = read_workbook(seed_bytes(set_value("/identity/unit_name", '=CONCAT("宋营","镇")')), name="t.xlsx")
    assert not any(k.startswith("_") for k in doc.data)
    first = validate_document(doc).flatten(["code", "cell"])
    assert ("formula-not-allowed", cell_of("/identity/unit_name")[1]) in first
    assert validate_document(doc).flatten(["code", "cell"]) == first


def test_max_cell_chars_is_enforced_at_the_cell() -> None:
    """A text longer than ``Limits.max_cell_chars`` is one ``too-long`` finding at its cell, even in a
    field whose own limit is larger (存在的问题 allows 4,000 characters)."""
    from selfeval_xlsx.limits import Limits

    data = seed_bytes(set_value("/review/problems", "问" * 150))
    _doc, report = validate_workbook(data, name="t.xlsx", limits=Limits(max_cell_chars=100))
    found = [f for f in report.findings if f.field == "/review/problems"]
    assert [(f.code, f.cell) for f in found] == [("too-long", cell_of("/review/problems")[1])]
    assert "100" in found[0].message and "150" in found[0].message
    assert "too-long" not in codes(data)  # within the default limits
