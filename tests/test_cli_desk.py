"""The clerk's desk on the terminal and in drafts/ (issue 16): what merge prints, the reply drafts, the
README's transcript, and inboxes with nothing to merge."""

from __future__ import annotations

import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from selfeval_xlsx.cli import cli

ROOT = Path(__file__).parent.parent
SAMPLES = ROOT / "samples" / "inbox"


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    work = tmp_path_factory.mktemp("desk")
    inbox = work / "inbox"
    shutil.copytree(SAMPLES, inbox)
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=work) as here:
        keys = {"SELFEVAL_XLSX_KEYS": str(work / "keys")}  # no signing key, whatever this machine holds
        result = runner.invoke(cli, ["merge", str(inbox), "-o", "out", "--jobs", "2"], env=keys)
        return result, Path(here) / "out", inbox


def test_readme_transcript_is_what_merge_prints(merged) -> None:  # type: ignore[no-untyped-def]
    result, _, inbox = merged
    readme = (ROOT / "README.md").read_text("utf-8")
    block = re.search(r"```text\n\$ selfeval-xlsx merge samples/inbox -o out\n(.*?)```", readme, re.S)
    assert block, "README has no transcript of `selfeval-xlsx merge samples/inbox -o out`"
    printed = result.stdout.replace(str(inbox), "samples/inbox")
    assert printed == block.group(1)
    assert result.exit_code == 1


def test_merge_prints_each_file_with_a_reason_and_next_steps(merged) -> None:  # type: ignore[no-untyped-def]
    out = merged[0].stdout
    assert "  错误样例-金额填文字.xlsx：“合计”行的“全年执行数”应填写数字，现为“约8700万”" in out
    assert "被替代（1）：\n  石桥镇自评表.xlsx：" in out
    assert "  关于报送绩效自评材料的通知.pdf：不是工作簿（PDF文档）" in out
    assert "下一步：" in out and "drafts/" in out and "returned/" in out
    assert "请确认取舍：石桥镇自评表.xlsx" in out
    assert "退出码 1：有 6 个文件被退回" in out


def test_reply_drafts(merged) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = merged
    drafts = sorted((out / "drafts").glob("*.eml"))
    assert len(drafts) == 6
    raw = (out / "drafts" / "退回_错误样例-金额填文字.eml").read_bytes()
    subject = re.search(rb"^Subject: (.*?)\r?\n(?!\s)", raw, re.M | re.S)
    assert subject and b"=?utf-8?" in subject.group(1)  # RFC 2047 encoded, not raw UTF-8
    msg = BytesParser(policy=default).parsebytes(raw)
    assert msg["Subject"] == "关于退回北沙乡人民政府2023年度整体支出绩效自评表的说明"
    assert msg["X-Unsent"] == "1"
    assert msg["To"] == ""  # not from an e-mail: the clerk fills in the address
    body = msg.get_body(("plain",))
    assert body.get_content_charset() == "utf-8"
    assert "“合计”行的“全年执行数”应填写数字，现为“约8700万”" in body.get_content()
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "退回_错误样例-金额填文字.xlsx"
    assert attachment.get_content() == (out / "returned" / "退回_错误样例-金额填文字.xlsx").read_bytes()


def test_reply_draft_goes_to_the_sender(tmp_path: Path) -> None:
    """A rejected file that came in an e-mail: the draft is addressed to that e-mail's From."""
    from email.message import EmailMessage

    from selfeval_xlsx import api

    good = (SAMPLES / "错误样例-区划代码错误.xlsx").read_bytes()
    mail = EmailMessage()
    mail["From"] = "西河乡财政所 <xhx@example.cn>"
    mail["Subject"] = "报送自评表"
    mail["Date"] = "Tue, 16 Jan 2024 10:05:00 +0800"
    mail.set_content("请查收。")
    mail.add_attachment(good, "application", "octet-stream", filename="西河乡自评表.xlsx")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "西河乡.eml").write_bytes(bytes(mail))
    result = api.merge(inbox, tmp_path / "out", jobs=1)
    assert len(result.rejected) == 1
    (draft,) = (tmp_path / "out" / "drafts").glob("*.eml")
    msg = BytesParser(policy=default).parsebytes(draft.read_bytes())
    assert msg["To"].addresses[0].addr_spec == "xhx@example.cn"
    assert msg["To"].addresses[0].display_name == "西河乡财政所"
    assert "2023年度" in msg["Subject"]


@pytest.mark.parametrize("files", [{}, {"通知.pdf": b"%PDF-1.4\n%%EOF\n", "说明.txt": b"hello"}])
def test_nothing_to_merge_is_a_usage_error(tmp_path: Path, files: dict[str, bytes]) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, data in files.items():
        (inbox / name).write_bytes(data)
    result = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "没有可汇总的内容" in result.output
    assert not (tmp_path / "out").exists()


def test_year_mismatch_is_named_and_the_rollup_named_by_the_year(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLES / "洨河镇.xlsx", inbox)
    shutil.copy(SAMPLES / "槐树乡2023.xlsx", inbox)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(out), "--year", "2024", "--jobs", "1"])
    assert result.exit_code == 1
    assert "文件为2023年度，本次汇总为2024年度" in result.stdout
    assert (out / "汇总_赵县_2024.xlsx").exists()
    assert not list(out.glob("*未知*"))


@pytest.mark.parametrize("name", ["洨河镇.xlsx", "错误样例-分值合计不符.xlsx", "宋营镇2023自评表(修改).xlsx"])
def test_validate_reports_every_finding_score_reports(tmp_path: Path, name: str) -> None:
    import json

    runner = CliRunner()
    validated = json.loads(runner.invoke(cli, ["validate", "--json", str(SAMPLES / name)]).stdout)
    scored = json.loads(
        runner.invoke(cli, ["score", "--json", str(SAMPLES / name), "-o", str(tmp_path / "x.xlsx")]).stdout
    )
    assert validated[0]["findings"] == scored["findings"]
    text = runner.invoke(cli, ["validate", str(SAMPLES / name)]).stdout
    assert f"警告{scored['warnings']}）" in text
    assert "-!-" not in text and "!-" not in text


def test_validate_accepts_what_merge_accepts() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "validate",
            str(SAMPLES / "安济镇自评材料.zip"),
            str(SAMPLES / "邮件" / "梨园镇报送自评表.eml"),
            str(SAMPLES / "错误样例-旧版模板.xlsx"),
        ],
    )
    out = result.stdout
    assert "安济镇自评材料.zip › 安济镇/安济镇2023自评表.xlsx：通过" in out
    assert "梨园镇报送自评表.eml › 梨园镇2023年整体支出绩效自评表.xlsx：通过" in out
    assert "  [错误] template-version  模板版本为0.9" in out  # no sheet, no cell: no location printed
    assert result.exit_code == 1


def _commands() -> list[tuple[list[str], object]]:
    import click

    out: list[tuple[list[str], object]] = [([], cli)]
    for name, command in cli.commands.items():
        out.append(([name], command))
        if isinstance(command, click.Group):
            out += [([name, sub], c) for sub, c in command.commands.items()]
    return out


ALLOWED_ASCII = {
    "selfeval-xlsx", "json", "JSON", "default", "mof-2020", "DATA.json", "validate", "merge", "zip", "eml",
    "budget-20", "docx", "Word", "Ctrl-C", "pub", "SELFEVAL_XLSX_KEYS", "xlsx", "keys", "trusted", "reports",
    "templates/report_defaults.json", "out", "CPU", "selfeval", "xlsx/keys",
}  # fmt: skip


@pytest.mark.parametrize("path", [p for p, _ in _commands()], ids=lambda p: " ".join(p) or "cli")
def test_help_has_no_english_sentences(path: list[str]) -> None:
    """Option names, metavars and command names stay English; every word a clerk reads is Chinese."""
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="selfeval-xlsx")
    assert result.exit_code == 0
    text = result.output
    text = re.sub(r"(?<![\w-])--?[a-z][a-z-]*", " ", text)  # option names
    text = re.sub(r"\b[A-Z][A-Z_|.]*[A-Z]\b(\.\.\.)?", " ", text)  # metavars (FILE, NAME|FILE, INBOX...)
    words = set(re.findall(r"[A-Za-z][\w./-]*[A-Za-z0-9]", text)) - ALLOWED_ASCII
    commands = {name for p, _ in _commands() for name in p}
    assert words - commands == set(), words - commands


@pytest.mark.parametrize(
    "args, expected",
    [
        (["merge", "/no/such/inbox"], "文件夹“/no/such/inbox”不存在"),
        (["template"], "缺少选项 -o / --output"),
        (["merge", str(SAMPLES), "--year", "3000"], "3000 不在 2000–2100 范围内"),
        (["validate", str(SAMPLES)], "是文件夹，这里应为文件"),
        (["merge", "--nope"], "没有选项 --nope"),
    ],
)
def test_usage_errors_are_chinese(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(cli, args, prog_name="selfeval-xlsx")
    assert result.exit_code == 2
    assert expected in result.output
    assert "用法：selfeval-xlsx" in result.output
    assert not re.search(r"Usage|Error|Try |Invalid|does not exist|Missing", result.output)


def test_score_does_not_overwrite_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "结果.xlsx"
    target.write_bytes(b"keep me")
    runner = CliRunner()
    result = runner.invoke(cli, ["score", str(SAMPLES / "洨河镇.xlsx"), "-o", str(target)])
    assert result.exit_code == 2
    assert "已存在" in result.output and "--overwrite" in result.output
    assert target.read_bytes() == b"keep me"
    result = runner.invoke(cli, ["score", str(SAMPLES / "洨河镇.xlsx"), "-o", str(target), "--overwrite"])
    assert result.exit_code == 0
    assert target.read_bytes()[:2] == b"PK"


def test_every_command_and_option_is_in_the_readme() -> None:
    """Like sqlite-utils' test_commands_are_documented: the README's command table names every command
    and every option."""
    readme = (ROOT / "README.md").read_text("utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `selfeval-xlsx ")]
    for path, command in _commands():
        if not path or isinstance(command, click.Group):
            continue
        head = f"`selfeval-xlsx {' '.join(path)} "
        (row,) = [r for r in rows if r.startswith(f"| {head}") or r.startswith(f"| {head[:-1]}`")]
        usage = row.split(" | ")[0]  # the command column: each option in its own command's row
        for param in command.params:  # type: ignore[attr-defined]
            if param.name == "help" or not getattr(param, "opts", None) or param.param_type_name != "option":
                continue
            assert any(re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", usage) for opt in param.opts), (
                path,
                param.opts,
            )
    for row in rows:  # and the table documents no command that does not exist
        named = row.split("`")[1].split()[1:]
        top = cli.commands.get(named[0])
        assert top is not None, row
        assert not isinstance(top, click.Group) or named[1] in top.commands, row


def test_project_evaluations_follow_the_ranking_unranked(merged) -> None:  # type: ignore[no-untyped-def]
    """宋营镇's 项目 evaluation is listed after the ranking without a rank, and stays out of the county's
    figures: 11 units are ranked, not 12, and the mean is of their overall (整体) totals."""
    import json

    import openpyxl

    _, out, _ = merged
    data = json.loads((out / "rollup.json").read_text("utf-8"))["rollups"][0]
    rows = data["townships"]
    kinds = [r["kind"] for r in rows]
    assert kinds == ["整体"] * 11 + ["项目"]
    assert [r["rank"] for r in rows][-1] == 0 and sorted(r["rank"] for r in rows[:11])[0] == 1
    totals = data["totals"]
    assert totals["townships"] == 11 and totals["projects"] == 1
    mean = sum(Decimal(r["total"]) for r in rows[:11]) / 11
    assert Decimal(totals["mean_total"]) == mean.quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert sum(totals["grades"].values()) == 11
    book = openpyxl.load_workbook(next(out.glob("汇总_*.xlsx")))
    summary = [row for row in book["汇总"].iter_rows(min_row=3, values_only=True) if row[0] is not None]
    assert summary[11][0] == "—" and "农村人居环境整治项目" in summary[11][3]
    stats = {r[0]: r[1] for r in book["统计"].iter_rows(min_row=3, max_row=12, values_only=True)}
    assert stats["单位数"] == 11 and stats["项目评价数"] == 1
