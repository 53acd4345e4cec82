"""Scoring real workbooks end to end: the seed township's own numbers, the completed workbook, the CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import sampledata
from click.testing import CliRunner
from conftest import needs_soffice, soffice_convert
from openpyxl import load_workbook
from openpyxl_fill import filled_bytes
from workbooks import cell_of, seed_bytes, set_indicator, set_value, write

from selfeval_xlsx import api
from selfeval_xlsx.cli import cli
from selfeval_xlsx.completed import RESULT_SHEET

INJECTIONS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "{=1+1}", "-2+3"]


def test_seed_township_figures() -> None:
    scored = api.score_workbook(seed_bytes(), name="宋营镇.xlsx")
    assert scored.valid
    r = scored.result
    assert r.execution_rate_shown == Decimal("88.28")
    assert r.budget.shown == Decimal("8.83")
    assert "8724.90" in r.budget.explanation and "9883.28" in r.budget.explanation
    assert r.total.shown == Decimal("98.68")  # not the 100 the township reported
    assert r.grade == "优秀"
    found = {(f.code, f.sheet, f.cell) for f in scored.report.findings}
    assert ("self-score-differs", *cell_of("/self_assessment/total")) in found
    vague = {f.cell for f in scored.report.findings if f.code == "vague-target"}
    assert len(vague) >= 3  # 高质量完成 / 及时拨付 / 群众满意度较高 …


def test_mof_profile_changes_the_grade_not_the_total() -> None:
    data = sampledata.township(4)  # 洨河镇, around 77 points
    default = api.score_workbook(filled_bytes(data, 2023))
    mof = api.score_workbook(filled_bytes(data, 2023), rules=api.load_rules("mof-2020"))
    assert default.result.total.shown == mof.result.total.shown
    assert default.result.grade == "良好"
    assert mof.result.grade == "中"


def test_completed_workbook_holds_values_scores_and_findings(tmp_path: Path) -> None:
    data = sampledata.seed()
    data["indicators"][2]["level3"] = INJECTIONS[0]
    data["identity"]["preparer"] = INJECTIONS[2]
    scored = api.score_workbook(filled_bytes(data, 2023))
    target = tmp_path / "done.xlsx"
    api.write_completed(target, scored)
    wb = load_workbook(target)
    assert RESULT_SHEET in wb.sheetnames
    budget = wb["预算执行"]
    assert budget["G20"].value == pytest.approx(8.83)
    assert budget["F20"].value == pytest.approx(0.8828)
    sheet, ref = cell_of("/self_assessment/total")
    assert wb[sheet][ref].comment is not None and "98.68" in wb[sheet][ref].comment.text
    texts = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value in INJECTIONS]
    assert texts and all(c.data_type == "s" for c in texts)
    result = wb[RESULT_SHEET]
    values = [c.value for row in result.iter_rows() for c in row if c.value is not None]
    assert pytest.approx(98.68) in values
    links = [c.hyperlink.location for row in result.iter_rows() for c in row if c.hyperlink]
    assert any(loc and "预算执行" in loc for loc in links)


def test_cli_score_writes_completed_and_never_touches_input(tmp_path: Path) -> None:
    src = write(tmp_path, "宋营镇.xlsx", seed_bytes())
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    out = tmp_path / "done.xlsx"
    res = CliRunner().invoke(cli, ["score", str(src), "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["total"] == "98.68" and data["grade"] == "优秀" and data["execution_rate"] == "88.28"
    assert out.exists()
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    text = CliRunner().invoke(cli, ["score", str(src), "-o", str(tmp_path / "d2.xlsx")])
    assert text.exit_code == 0 and "98.68" in text.output


def test_cli_score_with_errors_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    src = write(tmp_path, "bad.xlsx", seed_bytes(set_value("/budget/total/executed", "约8700万")))
    out = tmp_path / "done.xlsx"
    res = CliRunner().invoke(cli, ["score", str(src), "-o", str(out)])
    assert res.exit_code == 1
    assert "D20" in res.output
    assert not out.exists()


def test_deduction_without_reason_is_flagged_at_the_reason_cell() -> None:
    scored = api.score_workbook(seed_bytes(set_indicator(3, "reason", None)))
    assert any(
        f.code == "missing-deviation-reason" and f.cell.startswith("L") for f in scored.report.findings
    )


@needs_soffice
def test_completed_workbook_converts_to_pdf_with_the_total(tmp_path: Path) -> None:
    scored = api.score_workbook(seed_bytes())
    target = tmp_path / "done.xlsx"
    api.write_completed(target, scored)
    soffice_convert(target, tmp_path)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "done.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "98.68" in text
    assert "宋营镇人民政府" in text
