"""The collection round through merge and template (library and CLI) on the shipped samples: roster,
ledger and last year's roll-up (issue 17)."""

from __future__ import annotations

import email
import io
import json
import shutil
import subprocess
from decimal import Decimal
from email.policy import default as default_policy
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import needs_soffice, soffice_convert

from selfeval_xlsx.api import merge
from selfeval_xlsx.cli import cli
from selfeval_xlsx.layout import cell_of
from selfeval_xlsx.rollup_read import read_rollup_workbook

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
ROSTER, LEDGER, LAST_YEAR = SAMPLES / "roster.xlsx", SAMPLES / "ledger.csv", SAMPLES / "last-year"
ROUND = {"roster": ROSTER, "ledger": LEDGER, "previous": LAST_YEAR}


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("round") / "out"
    result = merge(SAMPLES / "inbox", out, jobs=1, **ROUND)
    data = json.loads((out / "rollup.json").read_text("utf-8"))["rollups"][0]
    return result, out, data


def test_status_of_every_roster_unit(merged) -> None:  # type: ignore[no-untyped-def]
    result, _, data = merged
    (status,) = result.statuses
    assert status.summary() == "应报 16 个单位，已通过 11，已退回 3，未报送 2；名单外报送 2 个单位"
    by_name = {u["name"]: u for u in data["status"]}
    assert by_name["韩村镇人民政府"]["status"] == "未报送" and by_name["韩村镇人民政府"]["roster_row"] == 17
    assert (
        by_name["北沙乡人民政府"]["status"] == "已退回" and "约8700万" in by_name["北沙乡人民政府"]["reason"]
    )
    assert by_name["石桥镇人民政府"]["status"] == "已通过"
    assert by_name["石桥镇人民政府"]["files"].count("\n") == 1  # the correction and the superseded first
    assert by_name["北河乡人民政府"]["roster_row"] == 0  # sent, but not on the roster
    assert (
        by_name["梨园镇人民政府"]["first_received"]
        == "2024-01-16 " + by_name["梨园镇人民政府"]["first_received"][11:]
    )
    assert data["totals"]["expected"] == 16 and data["totals"]["covered"] == 11
    codes = {f["finding"] for f in data["findings"]}
    assert "not-on-roster" in codes


def test_reminders_only_for_units_that_sent_nothing_and_have_an_email(merged) -> None:  # type: ignore[no-untyped-def]
    result, out, _ = merged
    assert [p.name for p in result.reminders] == ["催报_韩村镇人民政府.eml"]
    msg = email.message_from_bytes(
        (out / "drafts" / "催报_韩村镇人民政府.eml").read_bytes(), policy=default_policy
    )
    assert msg["To"].addresses[0].addr_spec == "hcz@example.cn" and msg["X-Unsent"] == "1"
    assert not (out / "drafts" / "催报_谢庄乡人民政府.eml").exists()  # no e-mail on the roster
    # the unit's prefilled workbook rides along: its identity filled in and locked, ready to fill
    [attached] = list(msg.iter_attachments())
    assert attached.get_filename() == "韩村镇人民政府_2023_整体支出绩效自评表.xlsx"
    assert "附件中的预填模板" in msg.get_body(("plain",)).get_content()
    book = openpyxl.load_workbook(io.BytesIO(attached.get_content()))
    sheet, ref = cell_of("/identity/unit_name")  # type: ignore[misc]
    cell = book[sheet][ref]
    assert cell.value == "韩村镇人民政府" and cell.protection.locked and book[sheet].protection.sheet


def test_ledger_differences_at_the_reported_cell(merged) -> None:  # type: ignore[no-untyped-def]
    _, _, data = merged
    mismatch = [f for f in data["findings"] if f["finding"] == "ledger-mismatch"]
    assert [(f["name"], f["sheet"], f["cell"]) for f in mismatch] == [
        ("洨河镇人民政府", *cell_of("/budget/total/executed"))
    ]
    assert "3505.61" in mismatch[0]["message"] and "3517.96" in mismatch[0]["message"]
    assert {f["finding"] for f in data["findings"]} >= {"ledger-missing", "ledger-not-submitted"}
    rows = {(t["name"], t["kind"]): t for t in data["townships"]}
    assert (
        rows["洨河镇人民政府", "整体"]["ledger_rate"] == "82.29"
        and rows["洨河镇人民政府", "整体"]["rate"] == "82.00"
    )
    assert rows["宋营镇人民政府", "项目"]["ledger_rate"] is None  # a project is not the unit's whole budget
    assert rows["槐树乡人民政府", "整体"]["ledger_rate"] is None  # not in the ledger


def test_last_year_figures_copied_indicators_and_recurring_problems(merged) -> None:  # type: ignore[no-untyped-def]
    _, _, data = merged
    town = next(t for t in data["townships"] if t["name"] == "宋营镇人民政府" and t["kind"] == "整体")
    assert town["last_total"] and town["last_grade"] == "优秀"
    assert Decimal(town["total_change"]) == Decimal(town["total"]) - Decimal(town["last_total"])
    copied = {f["name"] for f in data["findings"] if f["finding"] == "copied-from-last-year"}
    assert copied == {"清水乡人民政府"}
    assert any(f["finding"] == "recurring-problem" for f in data["findings"])


def test_rollup_workbook_has_the_status_sheet_on_one_a4_page(merged) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = merged
    path = next(out.glob("汇总_*.xlsx"))
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:3] == ["统计", "汇总", "报送情况"]
    ws = wb["报送情况"]
    assert ws["A1"].value == "赵县2023年度乡镇整体支出绩效自评报送情况"
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0  # one page wide
    assert ws.page_setup.fitToWidth in (None, 1)  # (1 is the default, left out of the file)
    assert ws.print_area == "'报送情况'!$A$1:$M$21"  # title, header, 18 units, the note
    assert "名单应报16个单位" in ws["A21"].value
    headers = [c.value for c in wb["汇总"][2]]
    assert {"台账执行率(%)", "上年总分", "上年等级", "总分变化", "上年执行率(%)", "执行率变化"} <= set(
        headers
    )
    stats = {row[0]: row[1] for row in wb["统计"].iter_rows(min_row=3, max_col=2, values_only=True) if row[0]}
    assert stats["应报单位数"] == 16 and stats["与台账不符的单位数"] == 1 and stats["上年平均得分"]
    roll = read_rollup_workbook(path.read_bytes())  # the roll-up still reads back, status rows included
    assert roll is not None and len(roll.status) == 18


def test_a_merge_without_the_round_has_no_status_sheet(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLES / "inbox" / "洨河镇.xlsx", inbox)
    result = merge(inbox, tmp_path / "out", jobs=1)
    assert result.statuses == [] and result.reminders == []
    wb = openpyxl.load_workbook(next((tmp_path / "out").glob("汇总_*.xlsx")))
    assert "报送情况" not in wb.sheetnames and "台账执行率(%)" not in [c.value for c in wb["汇总"][2]]


@pytest.mark.parametrize(
    ("option", "content", "code"),
    [
        ("roster", b"not,a,roster\n1,2,3\n", "roster-unreadable"),
        ("ledger", "单位名称,全年预算数,全年执行数\n洨河镇,1,2\n".encode("gbk"), "ledger-unit"),
        ("previous", b"{broken", "previous-unreadable"),
    ],
)
def test_a_bad_round_file_never_stops_the_merge(
    tmp_path: Path, option: str, content: bytes, code: str
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLES / "inbox" / "洨河镇.xlsx", inbox)
    bad = tmp_path / f"bad.{'json' if option == 'previous' else 'csv'}"
    bad.write_bytes(content)
    result = merge(inbox, tmp_path / "out", jobs=1, **{option: bad})
    assert result.ok and result.counts["accepted"] == 1
    assert [f.code for f in result.round_findings] == [code]
    data = json.loads((tmp_path / "out" / "rollup.json").read_text("utf-8"))["rollups"][0]
    assert [f["file"] for f in data["findings"] if f["finding"] == code] == [bad.name]
    runner = CliRunner()
    cli_result = runner.invoke(
        cli, ["merge", str(inbox), "-o", str(tmp_path / "cli"), f"--{option}", str(bad)]
    )
    assert cli_result.exit_code == 0, cli_result.output
    assert bad.name in cli_result.output


def test_a_reminder_put_back_into_the_inbox_is_skipped(merged, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = merged
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLES / "inbox" / "洨河镇.xlsx", inbox)
    shutil.copy(out / "drafts" / "催报_韩村镇人民政府.eml", inbox)
    result = merge(inbox, tmp_path / "out", jobs=1)
    assert result.counts["accepted"] == 1 and result.counts["rejected"] == 0


def test_cli_merge_with_the_round(tmp_path: Path) -> None:
    args = ["merge", str(SAMPLES / "inbox"), "-o", str(tmp_path / "out"), "--jobs", "1"]
    args += ["--roster", str(ROSTER), "--ledger", str(LEDGER), "--previous", str(LAST_YEAR / "rollup.json")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1  # the sample inbox's broken submissions
    assert "报送情况：应报 16 个单位，已通过 11，已退回 3，未报送 2；名单外报送 2 个单位。" in result.output
    assert "  未报送：韩村镇人民政府" in result.output and "  名单外：北河乡人民政府" in result.output
    assert "催报邮件草稿（1）：催报_韩村镇人民政府.eml" in result.output
    assert "与财政预算执行台账不符（1处" in result.output
    assert "洨河镇.xlsx：“合计”行的“全年执行数”填报为3505.61万元" in result.output
    assert "预算执行台账中没有“槐树乡人民政府”" in result.output
    as_json = CliRunner().invoke(cli, [*args[:3], str(tmp_path / "json"), "--roster", str(ROSTER), "--json"])
    data = json.loads(as_json.output)
    assert data["rollups"][0]["totals"]["expected"] == 16 and len(data["rollups"][0]["status"]) == 18


def test_cli_ledger_unit_option(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLES / "inbox" / "洨河镇.xlsx", inbox)
    ledger = tmp_path / "台账.csv"
    ledger.write_bytes("单位名称,全年预算数,全年执行数\n洨河镇人民政府,42751400,35056100\n".encode("gbk"))
    result = CliRunner().invoke(
        cli,
        ["merge", str(inbox), "-o", str(tmp_path / "out"), "--ledger", str(ledger), "--ledger-unit", "元"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "rollup.json").read_text("utf-8"))["rollups"][0]
    assert data["townships"][0]["ledger_rate"] == "82.00"
    assert not [f for f in data["findings"] if f["finding"].startswith("ledger-")]


def test_cli_template_with_a_roster(tmp_path: Path) -> None:
    out = tmp_path / "模板"
    result = CliRunner().invoke(cli, ["template", "--roster", str(ROSTER), "-o", str(out), "--year", "2023"])
    assert result.exit_code == 0, result.output
    assert "已为 16 个单位生成预填模板" in result.output
    names = sorted(p.name for p in out.glob("*.xlsx"))
    assert len(names) == 16 and "韩村镇人民政府_2023_整体支出绩效自评表.xlsx" in names
    target = tmp_path / "x.xlsx"
    target.write_bytes(b"keep")
    refused = CliRunner().invoke(cli, ["template", "--roster", str(ROSTER), "-o", str(target)])
    assert refused.exit_code == 2 and target.read_bytes() == b"keep"


def test_cli_template_with_a_bad_roster(tmp_path: Path) -> None:
    roster = tmp_path / "名单.csv"
    roster.write_bytes(
        "单位名称,行政区划代码\n宋营镇人民政府,130133101000\n宋营镇,130133101000\n".encode("gbk")
    )
    result = CliRunner().invoke(cli, ["template", "--roster", str(roster), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "名单问题：名单第3行的单位代码130133101000与第2行重复" in result.output
    assert len(list((tmp_path / "out").glob("*.xlsx"))) == 1


@needs_soffice
@pytest.mark.slow
def test_status_sheet_prints_on_one_page(merged, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = merged
    pdf = soffice_convert(next(out.glob("汇总_*.xlsx")), tmp_path)
    pages = int(
        next(
            line.split()[1]
            for line in subprocess.run(
                ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        )
    )
    texts = [
        subprocess.run(
            ["pdftotext", "-f", str(i), "-l", str(i), str(pdf), "-"], capture_output=True, text=True
        ).stdout
        for i in range(1, pages + 1)
    ]
    status_pages = [i for i, t in enumerate(texts, 1) if "自评报送情况" in t]
    assert status_pages == [3]
    assert "未报送" in texts[2] and "韩村镇人民政府" in texts[2] and "名单外" in texts[2]
