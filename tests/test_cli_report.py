"""`selfeval-xlsx report` and `merge --reports` through the CLI."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from docx import Document as Docx
from workbooks import seed_bytes, set_value, write

from selfeval_xlsx.cli import cli


def text_of(path: Path) -> str:
    doc = Docx(str(path))
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join(parts)


def test_cli_report_writes_the_computed_figures(tmp_path: Path) -> None:
    src = write(tmp_path, "宋营镇.xlsx", seed_bytes())
    out = tmp_path / "报告.docx"
    res = CliRunner().invoke(cli, ["report", str(src), "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = text_of(out)
    for figure in ("8593.66", "9883.28", "8724.90", "88.28%", "98.68", "卢迪"):
        assert figure in text


def test_cli_report_refuses_an_invalid_workbook(tmp_path: Path) -> None:
    src = write(tmp_path, "bad.xlsx", seed_bytes(set_value("/budget/total/executed", "约8700万")))
    res = CliRunner().invoke(cli, ["report", str(src), "-o", str(tmp_path / "r.docx")])
    assert res.exit_code == 1
    assert not (tmp_path / "r.docx").exists()


def test_cli_report_bad_defaults_is_a_usage_error(tmp_path: Path) -> None:
    src = write(tmp_path, "宋营镇.xlsx", seed_bytes())
    bad = tmp_path / "d.json"
    bad.write_text("{not json", encoding="utf-8")
    assert CliRunner().invoke(cli, ["report", str(src), "--defaults", str(bad)]).exit_code == 2


def test_merge_reports_one_per_accepted_township(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "宋营镇.xlsx", seed_bytes())
    write(inbox, "坏.xlsx", seed_bytes(set_value("/identity/unit_name", None)))
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(out), "--reports", "--jobs", "1"])
    assert res.exit_code == 1, res.output
    [report] = list((out / "reports").iterdir())
    assert "宋营镇" in report.name and report.suffix == ".docx"
    assert "98.68" in text_of(report)


def test_an_edited_report_is_not_overwritten_without_asking(tmp_path: Path) -> None:
    """A clerk edits the 【请修改】 paragraphs of the draft; running `report` again must not lose them."""
    src = write(tmp_path, "宋营镇.xlsx", seed_bytes())
    out = tmp_path / "报告.docx"
    runner = CliRunner()
    assert runner.invoke(cli, ["report", str(src), "-o", str(out)]).exit_code == 0
    doc = Docx(str(out))
    doc.paragraphs[0].text = "已由办公室修改"
    doc.save(str(out))
    edited = out.read_bytes()
    res = runner.invoke(cli, ["report", str(src), "-o", str(out)])
    assert res.exit_code == 2 and "已存在" in res.output and "--overwrite" in res.output
    assert out.read_bytes() == edited
    assert runner.invoke(cli, ["report", str(src), "-o", str(out), "--overwrite"]).exit_code == 0
    assert "已由办公室修改" not in text_of(out)


def test_template_and_fill_keep_an_existing_file(tmp_path: Path) -> None:
    import json

    target = tmp_path / "模板.xlsx"
    target.write_bytes(b"a workbook someone filled")
    runner = CliRunner()
    res = runner.invoke(cli, ["template", "-o", str(target)])
    assert res.exit_code == 2 and target.read_bytes() == b"a workbook someone filled"
    data = tmp_path / "doc.json"
    data.write_text(json.dumps({"identity": {"unit_name": "宋营镇人民政府"}}, ensure_ascii=False), "utf-8")
    res = runner.invoke(cli, ["fill", str(data), "-o", str(target)])
    assert res.exit_code == 2 and target.read_bytes() == b"a workbook someone filled"
    assert runner.invoke(cli, ["template", "-o", str(target), "--overwrite"]).exit_code == 0
    assert target.read_bytes().startswith(b"PK")
