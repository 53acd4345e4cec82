"""Command-line interface: thin click commands over the library (see ``selfeval_xlsx/__init__.py``).

Exit codes: 0 all good, 1 some input rejected (or has errors), 2 usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import api
from .findings import Report
from .version import __version__


def _rules_option(f):  # type: ignore[no-untyped-def]
    return click.option(
        "--rules",
        "rules_name",
        default=None,
        metavar="NAME|FILE",
        help="Rules profile: a shipped name (default, mof-2020) or a JSON file.",
    )(f)


def _load_rules(name: str | None):  # type: ignore[no-untyped-def]
    try:
        return api.load_rules(name)
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="selfeval-xlsx")
def cli() -> None:
    """Collect, check, score and roll up townships' 整体支出绩效自评 workbooks."""


@cli.command()
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="Evaluation year printed in titles.")
@_rules_option
def template(output: Path, year: int | None, rules_name: str | None) -> None:
    """Write the blank standard workbook to OUTPUT."""
    rules = _load_rules(rules_name)
    api.write_template(output, year=year, rules=rules)
    click.echo(f"已生成模板：{output}")


def _print_report(report: Report) -> None:
    status = "通过" if report.valid else "未通过"
    click.echo(f"{report.file}：{status}（错误{len(report.errors)}，警告{len(report.warnings)}）")
    for f in report.findings:
        sev = {"error": "错误", "warning": "警告", "info": "提示"}[f.severity]
        click.echo(f"  [{sev}] {f.sheet or '-'}!{f.cell or '-'}  {f.code}  {f.message}")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_rules_option
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def validate(files: tuple[Path, ...], rules_name: str | None, as_json: bool) -> None:
    """Check one or more workbooks and list every problem with its sheet and cell."""
    rules = _load_rules(rules_name)
    reports = [api.validate_workbook(f, rules=rules)[1] for f in files]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        for r in reports:
            _print_report(r)
    sys.exit(0 if all(r.valid for r in reports) else 1)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="selfeval-xlsx")
