"""click in Chinese: the help pages, usage lines and usage errors a clerk reads (option names stay English).

Only click's public extension points are used: a :class:`click.HelpFormatter` subclass (headings, the
usage line) set as the context's ``formatter_class``; command classes that set ``options_metavar``, the help
option's text and the extras of option help (``[默认：…]``, ``[必填]``); parameter types whose ``fail``
messages are Chinese; and a ``main`` that shows :class:`click.UsageError` in Chinese.
"""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import click

HEADINGS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}


class Formatter(click.HelpFormatter):
    """Chinese headings and usage prefix."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{HEADINGS.get(heading, heading)}：\n")


class Context(click.Context):
    formatter_class = Formatter


def _extras(text: str) -> str:
    """click's English extras of an option's help, in Chinese."""
    return text.replace("[default: ", "[默认：").replace("default: ", "默认：").replace("required", "必填")


class _Help(click.Command):
    """What every command and group shares: the Chinese context, ``[选项]`` and the help option's text."""

    context_class: type[click.Context] = Context

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "显示本帮助并退出。"
        return option

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                rows.append((record[0], _extras(record[1])))
        if rows:
            with formatter.section("选项"):
                formatter.write_dl(rows)
        if isinstance(self, click.Group):
            self.format_commands(ctx, formatter)


class Command(_Help, click.Command):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)


class Group(_Help, click.Group):
    """A group whose commands and subgroups speak Chinese, and whose ``main`` shows usage errors in
    Chinese (click's ``Usage:``/``Try … for help.``/``Error:`` lines are English)."""

    command_class = Command
    group_class = type  # subgroups are of this same class

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            show_usage_error(exc)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"错误：{exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("已中断：本次未写出任何结果，原有结果保持不变。", err=True)
            sys.exit(130)
        except OSError as exc:  # output piped into a program that stopped reading (as click's own main)
            if exc.errno != errno.EPIPE:
                raise
            sys.stdout = click.utils.PacifyFlushWrapper(sys.stdout)
            sys.stderr = click.utils.PacifyFlushWrapper(sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def show_usage_error(exc: click.UsageError) -> None:
    """A usage error as a clerk reads it: the usage line, where to find help, the error in Chinese."""
    ctx = exc.ctx
    if ctx is not None:
        click.echo(ctx.get_usage(), err=True)
        click.echo(f"请运行“{ctx.command_path} --help”查看帮助。", err=True)
        click.echo("", err=True)
    click.echo(f"错误：{usage_message(exc)}", err=True)


def _hint(exc: click.UsageError, param: click.Parameter | None) -> str:
    if param is None:
        return ""
    return " / ".join(param.opts) if isinstance(param, click.Option) else param.human_readable_name


def usage_message(exc: click.UsageError) -> str:
    """The Chinese text of one of click's usage errors (the English one when it is not known)."""
    message = exc.format_message() if not isinstance(exc, click.BadParameter) else exc.message
    if isinstance(exc, click.MissingParameter):
        what = "参数" if isinstance(exc.param, click.Argument) else "选项"
        return f"缺少{what} {_hint(exc, exc.param)}。"
    if isinstance(exc, click.NoSuchOption):
        close = f"（是否想用 {'、'.join(sorted(exc.possibilities))}？）" if exc.possibilities else ""
        return f"没有选项 {exc.option_name}{close}。"
    if isinstance(exc, click.BadParameter):
        return f"{_hint(exc, exc.param)} 的值无效：{message}"
    if isinstance(exc, click.BadOptionUsage):
        if "requires an argument" in message:
            return f"选项 {exc.option_name} 后面须跟一个值。"
        if "does not take a value" in message:
            return f"选项 {exc.option_name} 不带值。"
    m = re.match(r"Got unexpected extra arguments? \((.*)\)", message)
    if m:
        return f"多余的参数：{m.group(1)}"
    m = re.match(r"No such command '(.*)'\.", message)
    if m:
        return f"没有命令“{m.group(1)}”。"
    return message


class Path(click.Path):
    """``click.Path`` whose refusals are Chinese ("不存在", "是文件夹"…)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = os.fsdecode(value) if isinstance(value, bytes | os.PathLike) else str(value)
        folder_only = not self.file_okay and self.dir_okay
        if text != "-" or not self.allow_dash:
            if self.exists and not os.path.lexists(text):
                self.fail(f"{'文件夹' if folder_only else '文件'}“{text}”不存在。", param, ctx)
            if not self.dir_okay and os.path.isdir(text):
                self.fail(f"“{text}”是文件夹，这里应为文件。", param, ctx)
            if not self.file_okay and os.path.exists(text) and not os.path.isdir(text):
                self.fail(f"“{text}”是文件，这里应为文件夹。", param, ctx)
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            raise self.fail(f"“{text}”无法访问（可能没有权限）。", param, ctx) from exc


class IntRange(click.IntRange):
    """``click.IntRange`` whose refusals are Chinese."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.fail(f"“{value}”不是整数。", param, ctx)
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            self.fail(f"{number} 不在 {self.min}–{self.max} 范围内。", param, ctx)
        return super().convert(value, param, ctx)
