"""The committed template is what `selfeval-xlsx template` produces."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook

from selfeval_xlsx.cli import cli
from selfeval_xlsx.template import TEMPLATE_FILENAME

ROOT = Path(__file__).resolve().parents[1]


def content(path: Path) -> dict[str, list[tuple]]:
    """Every sheet's cell values, validations and merged ranges (what a user sees and fills)."""
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        cells = [(c.coordinate, c.value) for row in ws.iter_rows() for c in row if c.value is not None]
        dvs = sorted((dv.sqref.__str__(), dv.type, dv.formula1) for dv in ws.data_validations.dataValidation)
        merged = sorted(str(r) for r in ws.merged_cells.ranges)
        out[ws.title] = [*cells, *dvs, *merged, ("state", ws.sheet_state)]
    return out


def test_committed_template_matches_the_command(tmp_path: Path) -> None:
    target = tmp_path / "t.xlsx"
    result = CliRunner().invoke(cli, ["template", "-o", str(target)])
    assert result.exit_code == 0, result.output
    committed = ROOT / "templates" / TEMPLATE_FILENAME
    assert committed.exists()
    assert content(target) == content(committed)


def test_template_with_year_prefills_titles(tmp_path: Path) -> None:
    target = tmp_path / "t2023.xlsx"
    assert CliRunner().invoke(cli, ["template", "-o", str(target), "--year", "2023"]).exit_code == 0
    wb = load_workbook(target)
    assert str(wb["预算执行"]["A1"].value).startswith("2023年度")


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert command.help, name
