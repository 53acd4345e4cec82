"""Command-line interface: thin click commands over the library (see ``selfeval_xlsx/__init__.py``).

Exit codes (``selfeval_xlsx.errors``): 0 all good; 1 some input rejected, has errors or could not be
read; 2 usage error (also: another merge is writing into the same output folder); 3 the disk is full;
4 the output cannot be written (permissions, read-only disk); 130 interrupted (Ctrl-C). For 2-4 and 130
one Chinese line goes to stderr and no output is changed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import cli_zh as zh
from . import jsoncodec
from .findings import SEVERITY_LABELS
from .rollup import rollup_file_name
from .version import __version__

if TYPE_CHECKING:
    from .findings import Report

# The library (and jsonschema, loguru, xlsxwriter… behind it) is imported by the commands that use it,
# so that ``--help`` and usage errors answer at once.


def _rules_option(f):
    return click.option(
        "--rules",
        "rules_name",
        default=None,
        metavar="NAME|FILE",
        help="评分规则：内置规则名（default、mof-2020、budget-20）或规则 JSON 文件。",
    )(f)


def _keys_options(f):
    f = click.option(
        "--trusted",
        "trusted_dir",
        type=zh.Path(file_okay=False, path_type=Path),
        default=None,
        help="受信任公钥目录（下级地区的 .pub 文件；默认：密钥目录下的 trusted/）。",
    )(f)
    return click.option(
        "--keys",
        "keys_dir",
        type=zh.Path(file_okay=False, path_type=Path),
        default=None,
        help="密钥目录（默认：环境变量 SELFEVAL_XLSX_KEYS，否则 ~/.selfeval-xlsx/keys）。",
    )(f)


def _load_rules(name: str | None):
    from . import api

    try:
        return api.load_rules(name)
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from exc


EXIT_CODES_HELP = (
    "\b\n退出码：0 全部通过；1 有文件被退回、有错误或无法读取；2 用法错误（含另一个汇总正在写同一输出目录）；"
    "3 磁盘空间不足；4 输出位置不可写；130 已中断（Ctrl-C）。2–4 和 130 时不改动任何已有结果。"
)


class _Group(zh.Group):
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
@click.version_option(__version__, prog_name="selfeval-xlsx", help="显示版本号并退出。")
def cli() -> None:
    """收集、检查、评分并汇总各乡镇的整体支出绩效自评表。"""
    from loguru import logger

    from . import enable_logging

    logger.remove()  # the library logs INFO to merge.log; the terminal only shows warnings
    logger.add(sys.stderr, level="WARNING", diagnose=False)  # no variable dumps on a clerk's screen
    enable_logging()  # the library is silent unless its caller enables it


_overwrite_option = click.option(
    "--overwrite",
    "--force",
    "overwrite",
    is_flag=True,
    help="输出文件已存在时替换它（默认不替换，以免覆盖已修改的文件）。",
)


def _output_file_option(help: str, required: bool = False) -> Any:
    """``-o/--output FILE``: the file a command writes (``required`` or else its default name)."""
    return click.option(
        "-o",
        "--output",
        type=zh.Path(dir_okay=False, path_type=Path),
        default=None,
        required=required,
        metavar="FILE",
        help=help,
    )


def _refuse_existing(target: Path, overwrite: bool) -> None:
    """An existing output is kept unless ``--overwrite``: a clerk may have edited it since."""
    if target.exists() and not target.is_dir() and not overwrite:
        raise click.UsageError(f"输出文件“{target}”已存在，未做任何改动。如需替换，请加 --overwrite。")


@cli.command()
@click.option(
    "-o",
    "--output",
    "output",
    type=zh.Path(path_type=Path),
    required=True,
    metavar="FILE|DIR",
    help="要生成的模板文件；使用 --roster 时为存放各单位预填模板的文件夹。",
)
@click.option("--year", type=zh.IntRange(2000, 2100), default=None, metavar="YYYY", help="标题中的评价年度。")
@click.option(
    "--roster",
    type=zh.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="报送单位名单（表格文件，工作簿或逗号分隔的文本文件均可）：为名单中每个单位生成一份预填并锁定单位名称、代码、所属县和年度的模板。",
)
@_rules_option
@_overwrite_option
def template(
    output: Path, year: int | None, roster: Path | None, rules_name: str | None, overwrite: bool
) -> None:
    """生成空白的标准自评表模板（或按报送单位名单为每个单位生成预填模板）。"""
    from . import api

    rules = _load_rules(rules_name)
    if roster is None:
        if output.is_dir():
            raise click.UsageError(f"{output} 是文件夹，请指定要生成的模板文件名（如 自评表模板.xlsx）。")
        _refuse_existing(output, overwrite)
        api.write_template(output, year=year, rules=rules)
        click.echo(f"已生成模板：{output}")
        return
    if output.exists() and not output.is_dir():
        raise click.UsageError(f"使用 --roster 时 -o 应为文件夹，{output} 是文件。")
    done, problems = api.write_prefilled_templates(roster, output, year=year, rules=rules)
    for f in problems:
        click.echo(f"名单问题：{f.message}", err=True)
    if not done:
        click.echo(f"名单《{roster.name}》中没有可用的单位，未生成模板。", err=True)
        sys.exit(1)
    click.echo(f"已为 {len(done)} 个单位生成预填模板（单位名称、代码、所属县、年度已锁定）：{output}")
    for p in done:
        click.echo(f"  {p.path.name}")
    sys.exit(1 if any(f.severity == "error" for f in problems) else 0)


def _print_report(report: Report) -> None:
    status = "通过" if report.valid else "未通过"
    click.echo(f"{report.file}：{status}（错误{len(report.errors)}，警告{len(report.warnings)}）")
    for f in report.findings:
        sev = SEVERITY_LABELS[f.severity]
        where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else f.sheet or ""  # none where there is none
        click.echo(f"  [{sev}] {where + '  ' if where else ''}{f.code}  {f.message}")


def _checked(path: Path, rules):
    """What ``validate`` reports on one file: every finding ``score`` (and ``merge``) would report on it,
    for a workbook or for each workbook in a .zip or .eml (named ``容器 › 成员``); a file ``merge``
    would skip is listed with its reason."""
    from . import api
    from .findings import Report as _Report
    from .intake import Item, Rejected, collect_file

    if path.suffix.lower() not in (".zip", ".eml"):
        scored = api.score_workbook(path, rules=rules)
        yield scored.doc, scored.report, ""
        return
    found = collect_file(path)
    received: list[tuple[str, Item | Rejected]] = [
        *((i.name, i) for i in found.items),
        *((r.name, r) for r in found.rejected),
    ]
    entries = sorted(received, key=lambda e: e[0])
    for name, entry in entries:
        if isinstance(entry, Item):
            scored = api.score_workbook(entry.data, name=name, rules=rules)
            scored.report.findings[:0] = list(entry.findings)
            yield scored.doc, scored.report, ""
        else:
            yield None, _Report(name, list(entry.findings)), ""
    for s in found.skipped:
        yield None, None, f"{s.name}：跳过（{s.reason}）"


@cli.command()
@click.argument("files", nargs=-1, required=True, type=zh.Path(exists=True, dir_okay=False, path_type=Path))
@_rules_option
@click.option("--json", "as_json", is_flag=True, help="以JSON输出检查结果（通过的工作簿附其数据文档）。")
def validate(files: tuple[Path, ...], rules_name: str | None, as_json: bool) -> None:
    """检查一个或多个工作簿（也可以是 .zip 压缩包、.eml 邮件），逐条列出问题所在的工作表和单元格。"""
    from . import api

    rules = _load_rules(rules_name)
    checked = [c for f in files for c in _checked(f, rules)]
    reports = [r for _, r, _ in checked if r is not None]
    if as_json:
        out = []
        for doc, r, skipped in checked:
            if r is None:
                out.append({"file": skipped.split("：", 1)[0], "skipped": skipped.split("：", 1)[1]})
                continue
            d = r.to_dict()
            d["document"] = api.document_json(doc) if r.valid and doc is not None else None  # for `fill`
            out.append(d)
        click.echo(jsoncodec.dumps(out))
    else:
        for _, r, skipped in checked:
            if r is None:
                click.echo(skipped)
            else:
                _print_report(r)
    sys.exit(0 if reports and all(r.valid for r in reports) else 1)


@cli.command()
@click.argument("data", type=zh.Path(exists=True, dir_okay=False, path_type=Path))
@_output_file_option("要生成的工作簿。", required=True)
@click.option(
    "--year",
    type=zh.IntRange(2000, 2100),
    default=None,
    metavar="YYYY",
    help="标题中的年度（默认：文档中的评价年度）。",
)
@_rules_option
@click.option("--strict", is_flag=True, help="文档有错误时不生成工作簿。")
@_overwrite_option
def fill(
    data: Path, output: Path, year: int | None, rules_name: str | None, strict: bool, overwrite: bool
) -> None:
    """由 DATA.json（报送数据文档，validate --json 输出的格式）生成标准自评表。

    各项数值填入乡镇填报时的位置；只有部分内容的文档（如从预算系统导出的单位信息和预算数）也照常生成，
    并列出仍需填写的内容。
    """
    from . import api
    from .docjson import parse

    rules = _load_rules(rules_name)
    _refuse_existing(output, overwrite)
    doc = parse(data)
    if strict:
        from .validate import validate_document

        report = validate_document(parse(data), rules)
        if not report.valid:
            _print_report(report)
            click.echo("文档有错误，未生成工作簿（--strict）。")
            sys.exit(1)
    report = api.fill_workbook(output, doc, rules=rules, year=year)
    click.echo(f"已生成工作簿：{output}")
    if not report.valid:
        click.echo(
            f"其中仍有{len(report.errors)}处需填写或修改（打开工作簿后按批注填报，或用 validate 查看）："
        )
        for f in report.errors[:20]:
            where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.field or "")
            click.echo(f"  {where}  {f.message}")


@cli.command()
@click.argument("file", type=zh.Path(exists=True, dir_okay=False, path_type=Path))
@_output_file_option("要生成的评分结果（默认：与输入文件同目录的“<文件名>_已评分.xlsx”）。")
@_rules_option
@_overwrite_option
@click.option("--json", "as_json", is_flag=True, help="以JSON输出得分和问题。")
def score(file: Path, output: Path | None, rules_name: str | None, overwrite: bool, as_json: bool) -> None:
    """给一个工作簿评分并生成评分结果工作簿（不改动输入文件）。"""
    from . import api

    rules = _load_rules(rules_name)
    target = output or file.with_name(f"{file.stem}_已评分.xlsx")
    if target.resolve() == file.resolve():
        raise click.UsageError("输出文件不能与输入文件相同。")
    _refuse_existing(target, overwrite)
    scored = api.score_workbook(file, rules=rules)
    if scored.valid:
        api.write_completed(target, scored)
    if as_json:
        out = scored.summary()
        out["output"] = str(target) if scored.valid else None
        out["findings"] = [f.to_dict() for f in scored.report.findings]
        click.echo(jsoncodec.dumps(out))
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
@click.argument("file", type=zh.Path(exists=True, dir_okay=False, path_type=Path))
@_output_file_option("要生成的 Word 自评报告（默认：与输入文件同目录的“<文件名>_自评报告.docx”）。")
@_rules_option
@click.option(
    "--defaults",
    "defaults_path",
    type=zh.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="默认段落的 JSON 文件（参见 templates/report_defaults.json）。",
)
@_overwrite_option
def report(
    file: Path, output: Path | None, rules_name: str | None, defaults_path: Path | None, overwrite: bool
) -> None:
    """由一个工作簿起草该乡镇的自评报告（.docx），填入核定的各项数字。"""
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
    _refuse_existing(target, overwrite)
    api.write_report(target, scored, defaults)
    click.echo(f"已生成自评报告：{target}（黄色底纹“【请修改】”处为默认文字，请据实修改）")


def _load_defaults(path: Path | None):
    from .report import ReportError, load_defaults

    try:
        return load_defaults(path)
    except ReportError as exc:
        raise click.UsageError(str(exc)) from exc


@cli.command()
@click.argument("inbox", type=zh.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "outdir",
    type=zh.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    metavar="DIR",
    help="输出文件夹（默认：out）。",
)
@_rules_option
@click.option(
    "--jobs", type=zh.IntRange(1, 256), default=None, metavar="N", help="并行进程数（默认：全部CPU核数）。"
)
@click.option(
    "--year", type=zh.IntRange(2000, 2100), default=None, metavar="YYYY", help="只接受该评价年度的报送。"
)
@click.option("--no-completed", is_flag=True, help="不生成各乡镇的评分结果工作簿。")
@click.option("--reports", is_flag=True, help="同时为每个通过的乡镇起草自评报告，写入输出文件夹的 reports/。")
@click.option(
    "--report-defaults",
    type=zh.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="--reports 所用默认段落的 JSON 文件。",
)
@_keys_options
@click.option("--no-sign", is_flag=True, help="不对生成的汇总表签名（默认：密钥目录中有本地区私钥时签名）。")
@click.option("--no-verify", is_flag=True, help="不验证收到的汇总表的签名（默认：配置了受信任公钥时验证）。")
@click.option(
    "--roster",
    type=zh.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="报送单位名单（表格文件，工作簿或逗号分隔的文本文件均可）：汇总表增加“报送情况”，并为未报送且有邮箱的单位生成催报邮件草稿。",
)
@click.option(
    "--ledger",
    type=zh.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="财政预算执行台账（预算系统导出的表格文件）：逐单位核对报送的预算数和执行数。",
)
@click.option(
    "--ledger-unit",
    type=click.Choice(["元", "万元"]),
    default=None,
    help="台账金额单位（台账表头未写明“单位：元”或“单位：万元”时使用）。",
)
@click.option(
    "--previous",
    type=zh.Path(exists=True, path_type=Path),
    default=None,
    metavar="DIR|FILE",
    help="上年的输出文件夹（或其中的汇总数据文件、汇总表）：与上年比较得分、等级和执行率。",
)
@click.option("--json", "as_json", is_flag=True, help="以JSON输出汇总结果。")
def merge(
    inbox: Path,
    outdir: Path,
    rules_name: str | None,
    jobs: int | None,
    year: int | None,
    no_completed: bool,
    reports: bool,
    report_defaults: Path | None,
    keys_dir: Path | None,
    trusted_dir: Path | None,
    no_sign: bool,
    no_verify: bool,
    roster: Path | None,
    ledger: Path | None,
    ledger_unit: str | None,
    previous: Path | None,
    as_json: bool,
) -> None:
    """检查、评分并汇总 INBOX 文件夹（含子文件夹）中的全部报送，结果写入输出文件夹。"""
    from . import api

    rules = _load_rules(rules_name)
    keys = api.load_keyring(keys_dir, trusted=trusted_dir, sign=not no_sign, verify=not no_verify)
    for problem in keys.problems:
        click.echo(f"密钥提示：{problem}", err=True)
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
        keys=keys,
        roster=roster,
        ledger=ledger,
        previous=previous,
        ledger_unit=ledger_unit,
    )
    if bar is not None:
        bar.render_finish()
    c = result.counts
    if as_json:
        click.echo(jsoncodec.dumps(result.to_dict()))
    else:
        click.echo(
            f"共 {c['seen']} 个文件：通过 {c['accepted']}，被替代 {c['superseded']}，"
            f"退回 {c['rejected']}，跳过 {c['skipped']}。"
        )
        _print_files(result)
        _print_round(result)
        for roll in result.rollups:
            signer = keys.signer_for(roll.county_code)
            signed = (
                f"已签名，密钥指纹 {_fp(signer.fingerprint)}"
                if signer
                else "未签名（--no-sign）"
                if no_sign
                else "未签名：密钥目录中没有本地区的私钥"
            )
            click.echo(f"汇总表：{outdir / rollup_file_name(roll.county, roll.year)}（{signed}）")
        if any(p.rollup is not None for p in result.accepted) and not keys.verifying:
            click.echo("注意：并入的下级汇总表来源未经验证（未配置受信任的公钥或使用了--no-verify）。")
        for path in result.kept:
            click.echo(f"  保留：{path}（不是本工具生成或已被修改，未删除）")
        if no_completed:
            click.echo("未生成评分结果（--no-completed）：completed/ 保留上次运行的内容。")
        click.echo(
            f"输出目录：{outdir}（completed/ 评分结果，returned/ 退回文件，drafts/ 回复邮件草稿，"
            + ("reports/ 自评报告，" if reports else "")
            + "rollup.json，merge.log）"
        )
        _print_next_steps(result)
    sys.exit(0 if result.ok else 1)


def _first_line(reason: str) -> str:
    """A file row's reason in one line: the first problem of a rejection (its numbered list), else the
    reason's first line."""
    lines = [line.strip() for line in reason.splitlines() if line.strip()]
    for line in lines:
        head, dot, rest = line.partition(". ")
        if dot and head.isdigit():
            more = sum(1 for x in lines if x.partition(". ")[0].isdigit()) - 1
            return rest + (f"（另有{more}处问题）" if more > 0 else "")
    return lines[0] if lines else ""


def _print_files(result) -> None:
    """Every file under the heading of its fate, with a one-line reason (the roll-up's 文件清单 has all)."""
    if result.accepted:
        click.echo(f"通过（{len(result.accepted)}）：")
        for p in result.accepted:
            row = p.row
            shown = f"：核定总分 {row.total:.2f}（{row.grade}）" if row is not None else "（下级汇总表）"
            click.echo(f"  {p.name}{shown}")
    for title, rows in (("退回", result.rejected), ("被替代", result.superseded), ("跳过", result.skipped)):
        if rows:
            click.echo(f"{title}（{len(rows)}）：")
            for row in rows:
                click.echo(f"  {row.file}：{_first_line(row.reason)}")


def _print_round(result) -> None:
    """The round: problems of the roster/ledger/last year's files, who has reported, reminders."""
    for f in result.round_findings:
        if f.severity in ("error", "warning"):
            click.echo(f"  {f.file}：{f.message}")
    for status in result.statuses:
        click.echo(f"报送情况：{status.summary()}。")
        for u in status.expected:
            if u.status != "已通过":
                why = f"：{u.reason}" if u.reason else ""
                click.echo(f"  {u.status}：{u.name}{why}")
        for u in status.extra:
            click.echo(f"  名单外：{u.name}（{u.code or '无代码'}，{u.status}）")
    if result.reminders:
        click.echo(f"催报邮件草稿（{len(result.reminders)}）：{'、'.join(p.name for p in result.reminders)}")
    differ = [f for f in result.ledger_findings if f.code == "ledger-mismatch"]
    if differ:
        click.echo(f"与财政预算执行台账不符（{len(differ)}处，详见汇总表的“问题清单”）：")
        for f in differ:
            where = (
                f"（{f.sheet}工作表{f.cell}单元格）" if f.sheet and f.cell else ""
            )  # as the rejections say it
            click.echo(f"  {f.file}：{f.message}{where}")
    for f in result.ledger_findings:
        if f.code in ("ledger-missing", "ledger-not-submitted"):
            click.echo(f"  {f.message}")


def _print_next_steps(result) -> None:
    """What the clerk does next, and what exit code 1 means."""
    check = [r.file for r in (*result.superseded, *result.skipped) if "请确认" in r.reason]
    internal = [r.file for r in result.rejected if "请勿退回" in r.reason]
    if result.rejected:
        click.echo(
            "下一步：双击打开 drafts/ 中的回复邮件草稿（已附 returned/ 中对应的退回文件，"
            "来自邮件的已填好收件人），核对后发送给报送单位，请其修改后重新报送；"
            "收到后放入收件箱重新汇总。"
        )
    else:
        click.echo("下一步：全部报送均已通过，汇总表可以使用。")
    if internal:
        click.echo(f"请勿退回（本工具出错，请将文件和 merge.log 转交技术人员）：{'、'.join(internal)}")
    if check:
        click.echo(f"请确认取舍：{'、'.join(check)}（详见汇总表的“退回及未采用文件清单”）")
    if not result.ok:
        click.echo(f"退出码 1：有 {len(result.rejected)} 个文件被退回（不是程序出错）。")


def _fp(fp: str) -> str:
    from .signing import show_fingerprint

    return show_fingerprint(fp)


@cli.group()
def keys() -> None:
    """汇总表签名密钥：生成本地区密钥、查看密钥、验证收到的汇总表。"""


@keys.command("generate")
@click.option("--area", required=True, metavar="CODE", help="本地区6位行政区划代码，如 130133（赵县）。")
@click.option("--name", default="", help="地区名称（默认按区划代码查出，如“赵县”）。")
@click.option(
    "--dir", "keys_dir", type=zh.Path(file_okay=False, path_type=Path), default=None, help="密钥目录。"
)
@click.option("--overwrite", is_flag=True, help="替换已有的密钥（旧密钥签名的汇总表将无法再被上级验证）。")
def keys_generate(area: str, name: str, keys_dir: Path | None, overwrite: bool) -> None:
    """生成本地区的签名密钥对：私钥留在本机，公钥（.pub）发送给上级。"""
    from . import api
    from .signing import KeyFileError

    try:
        private, public, fp = api.generate_keys(area, name, keys_dir, overwrite=overwrite)
    except KeyFileError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"私钥：{private}（仅本机可读，请勿发送给任何人，并备份到安全的离线介质）")
    click.echo(f"公钥：{public}（请将此文件发送给上级财政部门）")
    click.echo(f"密钥指纹：{_fp(fp)}")
    click.echo("上级收到公钥后，请通过电话与其核对上面的指纹。")


@keys.command("list")
@click.option(
    "--dir", "keys_dir", type=zh.Path(file_okay=False, path_type=Path), default=None, help="密钥目录。"
)
@click.option(
    "--trusted",
    "trusted_dir",
    type=zh.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="受信任公钥目录（默认：密钥目录下的 trusted/）。",
)
def keys_list(keys_dir: Path | None, trusted_dir: Path | None) -> None:
    """列出本机的签名密钥和受信任的公钥。"""
    from . import api
    from .signing import key_dir

    ring = api.load_keyring(keys_dir, trusted=trusted_dir)
    click.echo(f"密钥目录：{key_dir(keys_dir)}")
    for k in ring.signing:
        click.echo(f"  本地区私钥：{k.area} {k.name}  指纹 {_fp(k.fingerprint)}")
    if not ring.signing:
        click.echo("  （没有私钥：生成的汇总表不会签名）")
    for t in ring.trusted:
        click.echo(f"  受信任公钥：{t.area} {t.name}  指纹 {_fp(t.fingerprint)}  （{t.file}）")
    if not ring.trusted:
        click.echo("  （没有受信任的公钥：收到的汇总表无法验证来源）")
    for problem in ring.problems:
        click.echo(f"  问题：{problem}")


@keys.command("verify")
@click.argument("files", nargs=-1, required=True, type=zh.Path(exists=True, dir_okay=False, path_type=Path))
@_keys_options
@_rules_option
@click.option("--json", "as_json", is_flag=True, help="以JSON输出检查结果。")
def keys_verify(
    files: tuple[Path, ...],
    keys_dir: Path | None,
    trusted_dir: Path | None,
    rules_name: str | None,
    as_json: bool,
) -> None:
    """检查收到的汇总表：签名、各乡镇数据和合计（与 merge 并入前的检查相同）。"""
    from . import api

    rules = _load_rules(rules_name)
    ring = api.load_keyring(keys_dir, trusted=trusted_dir, sign=False)
    for problem in ring.problems:
        click.echo(f"密钥提示：{problem}", err=True)
    bad = False
    out = []
    for path in files:
        _roll, report = api.check_rollup_file(path, rules=rules, keys=ring)
        bad = bad or not report.valid
        if as_json:
            out.append(report.to_dict())
            continue
        if report.valid and ring.verifying:
            click.echo(f"{path.name}：签名有效，数据核对无误，可以并入汇总。")
        elif report.valid:
            click.echo(f"{path.name}：数据核对无误，但来源未经验证（未配置受信任的公钥）。")
        else:
            click.echo(f"{path.name}：未通过检查，不能并入汇总。")
        _print_report(report)
    if as_json:
        click.echo(jsoncodec.dumps(out))
    sys.exit(1 if bad else 0)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="selfeval-xlsx")
