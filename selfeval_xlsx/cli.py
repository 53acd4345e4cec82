"""Command-line interface: thin click commands over the library (see ``selfeval_xlsx/__init__.py``).

Exit codes (``selfeval_xlsx.errors``): 0 all good; 1 some input rejected, has errors or could not be
read; 2 usage error (also: another merge is writing into the same output folder); 3 the disk is full;
4 the output cannot be written (permissions, read-only disk); 130 interrupted (Ctrl-C). For 2-4 and 130
one Chinese line goes to stderr and no output is changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .version import __version__

if TYPE_CHECKING:
    from .findings import Report

# The library (and jsonschema, loguru, xlsxwriter… behind it) is imported by the commands that use it,
# so that ``--help`` and usage errors answer at once.


def _rules_option(f):  # type: ignore[no-untyped-def]
    return click.option(
        "--rules",
        "rules_name",
        default=None,
        metavar="NAME|FILE",
        help="Rules profile: a shipped name (default, mof-2020, budget-20) or a JSON file.",
    )(f)


def _load_rules(name: str | None):  # type: ignore[no-untyped-def]
    from . import api

    try:
        return api.load_rules(name)
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from exc


EXIT_CODES_HELP = (
    "\b\n退出码：0 全部通过；1 有文件被退回、有错误或无法读取；2 用法错误（含另一个汇总正在写同一输出目录）；"
    "3 磁盘空间不足；4 输出位置不可写；130 已中断（Ctrl-C）。2–4 和 130 时不改动任何已有结果。"
)


class _Group(click.Group):
    """The command group: the library's fatal errors and Ctrl-C become one Chinese line and an exit code
    (never a traceback, never click's English "Aborted!")."""

    def invoke(self, ctx: click.Context) -> object:
        from .errors import EXIT_INTERRUPTED, SelfevalError

        try:
            return super().invoke(ctx)
        except SelfevalError as exc:
            click.echo(f"错误：{exc.message}", err=True)
            ctx.exit(exc.exit_code)
        except (KeyboardInterrupt, click.Abort):
            click.echo("已中断：本次未写出任何结果，原有结果保持不变。", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="selfeval-xlsx")
def cli() -> None:
    """Collect, check, score and roll up townships' 整体支出绩效自评 workbooks."""
    from loguru import logger

    logger.remove()  # the library logs INFO to merge.log; the terminal only shows warnings
    logger.add(sys.stderr, level="WARNING")


@cli.command()
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--year", type=click.IntRange(2000, 2100), default=None, help="Evaluation year printed in titles."
)
@_rules_option
def template(output: Path, year: int | None, rules_name: str | None) -> None:
    """Write the blank standard workbook to OUTPUT."""
    from . import api

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
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@_rules_option
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def validate(files: tuple[Path, ...], rules_name: str | None, as_json: bool) -> None:
    """Check one or more workbooks and list every problem with its sheet and cell."""
    from . import api

    rules = _load_rules(rules_name)
    reports = [api.validate_workbook(f, rules=rules)[1] for f in files]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        for r in reports:
            _print_report(r)
    sys.exit(0 if all(r.valid for r in reports) else 1)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Completed workbook to write (default: <FILE>_已评分.xlsx beside the input).",
)
@_rules_option
@click.option("--json", "as_json", is_flag=True, help="Print the scores and findings as JSON.")
def score(file: Path, output: Path | None, rules_name: str | None, as_json: bool) -> None:
    """Score one workbook and write the completed workbook (the input is never modified)."""
    from . import api

    rules = _load_rules(rules_name)
    scored = api.score_workbook(file, rules=rules)
    target = None
    if scored.valid:
        target = output or file.with_name(f"{file.stem}_已评分.xlsx")
        if target.resolve() == file.resolve():
            raise click.UsageError("输出文件不能与输入文件相同。")
        api.write_completed(target, scored)
    if as_json:
        out = scored.summary()
        out["output"] = str(target) if target else None
        out["findings"] = [f.to_dict() for f in scored.report.findings]
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        _print_report(scored.report)
        if scored.result is not None:
            r = scored.result
            click.echo(
                f"核定总分 {r.total.shown:f}（{r.grade}，规则 {r.rules.name}）；"
                f"预算执行 {r.budget.explanation}"
            )
            click.echo(f"已生成评分结果：{target}")
        else:
            click.echo("存在错误，未生成评分结果；请按上述问题修改后重新评分。")
    sys.exit(0 if scored.valid else 1)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Word report to write (default: <FILE>_自评报告.docx beside the input).",
)
@_rules_option
@click.option(
    "--defaults",
    "defaults_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Default paragraphs JSON (see templates/report_defaults.json).",
)
def report(file: Path, output: Path | None, rules_name: str | None, defaults_path: Path | None) -> None:
    """Draft the township's 自评报告 (.docx) from one workbook, with the computed figures."""
    from . import api

    rules = _load_rules(rules_name)
    defaults = _load_defaults(defaults_path)
    scored = api.score_workbook(file, rules=rules)
    if not scored.valid:
        _print_report(scored.report)
        click.echo("存在错误，未生成自评报告；请按上述问题修改后重新生成。")
        sys.exit(1)
    target = output or file.with_name(f"{file.stem}_自评报告.docx")
    if target.resolve() == file.resolve():
        raise click.UsageError("输出文件不能与输入文件相同。")
    api.write_report(target, scored, defaults)
    click.echo(f"已生成自评报告：{target}（黄色底纹“【请修改】”处为默认文字，请据实修改）")


def _load_defaults(path: Path | None):  # type: ignore[no-untyped-def]
    from .report import ReportError, load_defaults

    try:
        return load_defaults(path)
    except ReportError as exc:
        raise click.UsageError(str(exc)) from exc


@cli.command()
@click.argument("inbox", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Output folder.",
)
@_rules_option
@click.option(
    "--jobs", type=click.IntRange(1, 256), default=None, help="Worker processes (default: all cores)."
)
@click.option(
    "--year", type=click.IntRange(2000, 2100), default=None, help="Only accept this evaluation year."
)
@click.option("--no-completed", is_flag=True, help="Do not write a completed workbook per township.")
@click.option(
    "--reports", is_flag=True, help="Also draft each accepted township's 自评报告 into OUTDIR/reports/."
)
@click.option(
    "--report-defaults",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Default paragraphs JSON for --reports.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def merge(
    inbox: Path,
    outdir: Path,
    rules_name: str | None,
    jobs: int | None,
    year: int | None,
    no_completed: bool,
    reports: bool,
    report_defaults: Path | None,
    as_json: bool,
) -> None:
    """Check, score and roll up every file under INBOX (recursively) into OUTDIR."""
    from . import api

    rules = _load_rules(rules_name)
    defaults = _load_defaults(report_defaults) if reports else None
    bar = None
    if sys.stderr.isatty() and not as_json:
        bar = click.progressbar(length=1, label="处理中", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.length = total
            bar.update(1)

    result = api.merge(
        inbox,
        outdir,
        rules=rules,
        jobs=jobs,
        year=year,
        completed=not no_completed,
        reports=reports,
        report_defaults=defaults,
        progress=progress,
    )
    if bar is not None:
        bar.render_finish()
    c = result.counts
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"共 {c['seen']} 个文件：通过 {c['accepted']}，被替代 {c['superseded']}，"
            f"退回 {c['rejected']}，跳过 {c['skipped']}。"
        )
        for row in result.rejected:
            click.echo(f"  退回：{row.file}")
        for roll in result.rollups:
            click.echo(f"汇总表：{outdir / _rollup_name(roll)}")
        for path in result.kept:
            click.echo(f"  保留：{path}（不是本工具生成或已被修改，未删除）")
        if no_completed:
            click.echo("未生成评分结果（--no-completed）：completed/ 保留上次运行的内容。")
        click.echo(
            f"输出目录：{outdir}（completed/ 评分结果，returned/ 退回文件，"
            + ("reports/ 自评报告，" if reports else "")
            + "rollup.json，merge.log）"
        )
    sys.exit(0 if result.ok else 1)


def _rollup_name(roll) -> str:  # type: ignore[no-untyped-def]
    from .intake import safe_name

    return safe_name(f"汇总_{roll.county}_{roll.year or '未知年度'}.xlsx")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="selfeval-xlsx")
