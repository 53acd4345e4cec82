"""The document as JSON, both ways: ``validate --json`` gives it, ``fill`` writes a workbook from it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from selfeval_xlsx import api, docjson
from selfeval_xlsx.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inbox"
VALID = [
    "城关街道2023年度自评表.xlsx",
    "宋营镇2023自评表(修改).xlsx",
    "清水乡2023.xlsx",
    "新建 Microsoft Excel 工作表.xlsx",
]


@pytest.mark.parametrize("name", VALID)
def test_exported_document_filled_again_scores_identically(name: str, tmp_path: Path) -> None:
    runner = CliRunner()
    checked = runner.invoke(cli, ["validate", "--json", str(SAMPLES / name)])
    [entry] = json.loads(checked.output)
    assert entry["valid"] and entry["document"]["identity"]["unit_name"]
    data = tmp_path / "doc.json"
    data.write_text(json.dumps(entry["document"], ensure_ascii=False), "utf-8")
    filled = runner.invoke(cli, ["fill", str(data), "-o", str(tmp_path / "again.xlsx")])
    assert filled.exit_code == 0, filled.output
    before = json.loads(
        runner.invoke(cli, ["score", "--json", str(SAMPLES / name), "-o", str(tmp_path / "a.xlsx")]).output
    )
    after = json.loads(
        runner.invoke(
            cli, ["score", "--json", str(tmp_path / "again.xlsx"), "-o", str(tmp_path / "b.xlsx")]
        ).output
    )
    for d in (before, after):
        d.pop("file"), d.pop("output")
        for f in d["findings"]:
            f.pop("file")
    assert after == before
    doc_before, _ = api.validate_workbook(SAMPLES / name)
    doc_after, _ = api.validate_workbook(tmp_path / "again.xlsx")
    assert doc_after.data == doc_before.data


def test_invalid_workbook_has_no_document(tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["validate", "--json", str(SAMPLES / "错误样例-金额填文字.xlsx")])
    [entry] = json.loads(out.output)
    assert not entry["valid"] and entry["document"] is None


def test_a_prefilled_workbook_from_budget_figures(tmp_path: Path) -> None:
    """What a bureau imports from its budget system: identity and the budget total, numbers exact."""
    data = {
        "identity": {
            "unit_name": "宋营镇人民政府",
            "division_code": "130133103000",
            "county": "赵县",
            "year": "2023",
        },
        "budget": {"total": {"initial": 8593.66, "adjusted": "9883.28", "executed": 8724.90}},
    }
    path = tmp_path / "prefill.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    result = CliRunner().invoke(cli, ["fill", str(path), "-o", str(tmp_path / "宋营镇.xlsx")])
    assert result.exit_code == 0, result.output
    assert "仍有" in result.output and "“填报人”未填写" in result.output and "/goals" not in result.output
    doc, report = api.validate_workbook(tmp_path / "宋营镇.xlsx")
    assert doc.data["budget"]["total"]["executed"] == Decimal("8724.90")
    assert doc.data["identity"]["year"] == 2023
    assert {f.code for f in report.errors} == {"missing-value"}
    ws = load_workbook(tmp_path / "宋营镇.xlsx")["预算执行"]
    assert "宋营镇人民政府" in [c.value for row in ws.iter_rows() for c in row]
    strict = CliRunner().invoke(cli, ["fill", str(path), "-o", str(tmp_path / "s.xlsx"), "--strict"])
    assert strict.exit_code == 1 and not (tmp_path / "s.xlsx").exists()


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    doc = docjson.parse({"identity": {"unit_name": '=HYPERLINK("http://x","y")'}})
    api.fill_workbook(tmp_path / "x.xlsx", doc)
    ws = load_workbook(tmp_path / "x.xlsx")["预算执行"]
    cells = [c for row in ws.iter_rows() for c in row if c.value == '=HYPERLINK("http://x","y")']
    assert cells and all(c.data_type == "s" for c in cells)


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '"text"'])
def test_not_a_document(text: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, "utf-8")
    result = CliRunner().invoke(cli, ["fill", str(path), "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2 and "JSON" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.xlsx").exists()
