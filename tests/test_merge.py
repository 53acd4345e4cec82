"""merge: the main job, on the bundled samples and on inboxes built for each rule."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sampledata
from click.testing import CliRunner
from conftest import needs_soffice, soffice_convert
from hostile import template_xlsm
from openpyxl import load_workbook
from openpyxl_fill import filled_bytes
from workbooks import seed_bytes, write

from selfeval_xlsx import api
from selfeval_xlsx.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inbox"
INJECTIONS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "{=1+1}"]


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def rollup_content(path: Path) -> dict[str, list]:
    """Every sheet's values except the run time."""
    wb = load_workbook(path, read_only=True)
    out = {}
    for ws in wb.worksheets:
        if ws.title.startswith("_"):  # machine-readable copy, holds the run time
            continue
        rows = []
        for row in ws.iter_rows(values_only=True):
            if (
                row and row[0] == "生成时间"
            ):  # 运行信息's run time, shown as local time ("2026年12月5日 14:12")
                continue
            rows.append(tuple(v for v in row if not (isinstance(v, str) and v[:2] == "20" and "T" in v[:11])))
        out[ws.title] = rows
    return out


@pytest.fixture(scope="module")
def sample_merge(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("merge") / "out"
    before = hashes(SAMPLES)
    result = api.merge(SAMPLES, out, jobs=2)
    assert hashes(SAMPLES) == before  # inputs never modified
    return out, result


def test_samples_every_file_is_accounted_for(sample_merge) -> None:
    out, result = sample_merge
    c = result.counts
    on_disk = sum(1 for p in SAMPLES.rglob("*") if p.is_file())
    assert c["seen"] == c["accepted"] + c["superseded"] + c["rejected"] + c["skipped"]
    assert c["seen"] >= on_disk - 2  # the .zip and .eml count as the workbooks inside them
    assert c["accepted"] == 12 and c["rejected"] == 6 and c["superseded"] == 1
    info = load_workbook(out / "汇总_赵县_2023.xlsx", read_only=True)["运行信息"]
    text = " ".join(str(v) for row in info.iter_rows(values_only=True) for v in row if v is not None)
    for key in ("seen", "accepted", "superseded", "rejected", "skipped"):
        assert str(c[key]) in text


def test_samples_outputs(sample_merge) -> None:
    out, _ = sample_merge
    assert (out / "汇总_赵县_2023.xlsx").exists()
    completed = sorted(p.name for p in (out / "completed").iterdir())
    assert len(completed) == 12 and any("宋营镇" in n for n in completed)
    returned = sorted(p.name for p in (out / "returned").iterdir())
    assert any("金额填文字" in n for n in returned)
    data = json.loads((out / "rollup.json").read_text(encoding="utf-8"))
    [roll] = data["rollups"]
    seed = next(t for t in roll["townships"] if t["name"] == "宋营镇人民政府")
    assert seed["total"] == "98.68" and seed["rate"] == "88.28" and seed["budget_score"] == "8.83"
    assert seed["difference"] == "1.32"
    assert (out / "merge.log").read_text(encoding="utf-8").strip()
    assert not list(out.glob(".staging-*")) and not list(out.glob(".*.tmp"))
    superseded = [f for f in roll["files"] if f["status"] == "superseded"]
    assert superseded[0]["file"] == "石桥镇自评表.xlsx"
    assert superseded[0]["replaced_by"] == "石桥镇自评表（更正）.xlsx"


def test_rejections_explain_themselves_with_cells(sample_merge) -> None:
    _out, result = sample_merge
    reasons = {r.file: r.reason for r in result.rejected}
    assert "D20" in reasons["错误样例-金额填文字.xlsx"]
    assert "绩效指标" in reasons["错误样例-缺少绩效指标表.xlsx"]
    assert "0.9" in reasons["错误样例-旧版模板.xlsx"]
    assert (
        "校验未通过" in reasons["错误样例-信用代码错误.xlsx"]
        and "B8" in reasons["错误样例-信用代码错误.xlsx"]
    )


def test_cli_merge_prints_counts_and_exit_code(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "宋营镇.xlsx", seed_bytes())
    res = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(tmp_path / "out"), "--jobs", "1"])
    assert res.exit_code == 0, res.output
    assert "通过 1" in res.output
    write(inbox, "坏.xlsx", b"not a workbook at all")
    res = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(tmp_path / "out"), "--json"])
    assert res.exit_code == 1
    data = json.loads(res.output)
    assert data["counts"]["accepted"] == 1 and data["counts"]["rejected"] == 1
    assert CliRunner().invoke(cli, ["merge", str(tmp_path / "none")]).exit_code == 2
    assert CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(inbox / "out")]).exit_code == 2


def test_same_result_whatever_jobs_and_on_a_second_run(tmp_path: Path) -> None:
    a = api.merge(SAMPLES, tmp_path / "a", jobs=1)
    b = api.merge(SAMPLES, tmp_path / "b", jobs=2)
    assert a.counts == b.counts
    assert rollup_content(tmp_path / "a" / "汇总_赵县_2023.xlsx") == rollup_content(
        tmp_path / "b" / "汇总_赵县_2023.xlsx"
    )
    api.merge(SAMPLES, tmp_path / "a", jobs=2)
    assert rollup_content(tmp_path / "a" / "汇总_赵县_2023.xlsx") == rollup_content(
        tmp_path / "b" / "汇总_赵县_2023.xlsx"
    )


def test_resubmission_newest_wins_by_when_it_was_received_not_by_fill_date(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    old = sampledata.variant(sampledata.seed(), **{"identity.filled_on": "2024-01-25"})
    new = sampledata.variant(
        sampledata.seed(), **{"identity.filled_on": "2024-01-05", "self_assessment.total": 98}
    )
    write(inbox, "a-old.xlsx", filled_bytes(old, 2023))
    write(inbox, "z-new.xlsx", filled_bytes(new, 2023))
    os.utime(inbox / "a-old.xlsx", (1706000000, 1706000000))  # received 2024-01-23
    os.utime(inbox / "z-new.xlsx", (1706100000, 1706100000))  # received a day later
    result = api.merge(inbox, tmp_path / "out", jobs=1)
    assert result.counts["accepted"] == 1 and result.counts["superseded"] == 1
    assert result.accepted[0].name == "z-new.xlsx"
    assert result.superseded[0].file == "a-old.xlsx"


def test_a_good_file_is_unchanged_by_broken_neighbours(tmp_path: Path) -> None:
    alone, mixed = tmp_path / "alone", tmp_path / "mixed"
    alone.mkdir()
    mixed.mkdir()
    write(alone, "宋营镇.xlsx", seed_bytes())
    shutil.copy(alone / "宋营镇.xlsx", mixed / "宋营镇.xlsx")
    write(mixed, "空.xlsx", b"")
    write(mixed, "乱码.xlsx", bytes(range(256)) * 10)
    write(mixed, "~$宋营镇.xlsx", b"lock")
    a = api.merge(alone, tmp_path / "oa", jobs=1).rollups[0].townships
    b = api.merge(mixed, tmp_path / "ob", jobs=2).rollups[0].townships
    assert a == b


def test_user_text_never_becomes_a_formula(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = sampledata.seed()
    data["identity"]["unit_name"] = INJECTIONS[0]
    data["indicators"][0]["level3"] = INJECTIONS[1]
    data["indicators"][1]["level3"] = INJECTIONS[2]
    data["members"][0]["name"] = INJECTIONS[3]
    write(inbox, "x.xlsx", filled_bytes(data, 2023))
    out = tmp_path / "out"
    result = api.merge(inbox, out, jobs=1)
    assert result.counts["accepted"] == 1, [r.reason for r in result.rejected]
    files = [*out.glob("汇总_*.xlsx"), *(out / "completed").iterdir()]
    seen = set()
    for path in files:
        wb = load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.value in INJECTIONS:
                        assert c.data_type == "s", (path.name, ws.title, c.coordinate)
                        seen.add(c.value)
    assert seen == set(INJECTIONS)


@needs_soffice
def test_rollup_opens_in_libreoffice_with_charts(sample_merge, tmp_path: Path) -> None:
    out, _ = sample_merge
    src = out / "汇总_赵县_2023.xlsx"
    import zipfile

    with zipfile.ZipFile(src) as zf:
        assert len([n for n in zf.namelist() if n.startswith("xl/charts/chart")]) >= 2
    soffice_convert(src, tmp_path)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "汇总_赵县_2023.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "宋营镇人民政府" in text and "98.68" in text


def test_rollups_of_rollups_make_a_city_rollup(sample_merge, tmp_path: Path) -> None:
    out, first = sample_merge
    other = tmp_path / "other"
    other.mkdir()
    for i in range(3):
        d = sampledata.township(i, seed_value=50 + i)
        d["identity"].update(
            division_code=f"130132{100 + i}000", county="元氏县", unit_name=f"元氏{i}镇人民政府"
        )
        write(other, f"y{i}.xlsx", filled_bytes(d, 2023))
    second = api.merge(other, tmp_path / "o2", jobs=1)
    city_inbox = tmp_path / "city"
    city_inbox.mkdir()
    shutil.copy(out / "汇总_赵县_2023.xlsx", city_inbox)
    shutil.copy(tmp_path / "o2" / "汇总_元氏县_2023.xlsx", city_inbox)
    city = api.merge(city_inbox, tmp_path / "o3", jobs=1)
    assert city.counts == {"seen": 2, "accepted": 2, "superseded": 0, "rejected": 0, "skipped": 0}
    [roll] = city.rollups
    assert (roll.county_code, roll.county) == ("130100", "石家庄市")
    assert len(roll.townships) == len(first.rollups[0].townships) + len(second.rollups[0].townships)
    seed = next(t for t in roll.townships if t.name == "宋营镇人民政府")
    assert str(seed.total) == "98.68" and seed.source_rollup == "汇总_赵县_2023.xlsx"
    assert (tmp_path / "o3" / "汇总_石家庄市_2023.xlsx").exists()


def test_city_rollup_carries_every_row_of_its_counties(sample_merge, tmp_path: Path) -> None:
    """Rows are spooled to disk and read back per roll-up: none may be lost or duplicated on the way."""
    out, _ = sample_merge
    city_inbox = tmp_path / "city"
    city_inbox.mkdir()
    shutil.copy(out / "汇总_赵县_2023.xlsx", city_inbox)
    result = api.merge(city_inbox, tmp_path / "o", jobs=1)
    county = json.loads((out / "rollup.json").read_text(encoding="utf-8"))["rollups"][0]
    city = json.loads((tmp_path / "o" / "rollup.json").read_text(encoding="utf-8"))["rollups"][0]
    for key in ("indicators", "panel"):
        assert len(county[key]) > 0 and city[key] == county[key]
    assert len(city["findings"]) >= len([f for f in county["findings"] if f["code"]])
    # the result keeps townships; the rows are released once written (memory stays flat)
    assert len(result.rollups[0].townships) == len(county["townships"]) and result.rollups[0].panel == []


def test_a_file_changed_during_the_merge_is_rejected_not_misread(tmp_path: Path, monkeypatch) -> None:
    from selfeval_xlsx import merge as merge_module

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "宋营镇.xlsx", seed_bytes())
    real = merge_module.collect

    def collect_then_edit(*args, **kwargs):
        got = real(*args, **kwargs)
        write(inbox, "宋营镇.xlsx", seed_bytes() + b"\0")  # replaced after intake checked it
        return got

    monkeypatch.setattr(merge_module, "collect", collect_then_edit)
    result = api.merge(inbox, tmp_path / "out", jobs=1)
    assert result.counts["rejected"] == 1 and "被修改" in result.rejected[0].reason
    rows = json.loads((tmp_path / "out" / "rollup.json").read_text(encoding="utf-8"))["rollups"][0][
        "findings"
    ]
    assert [r["finding"] for r in rows] == ["file-changed"]


def test_a_workbook_missing_a_sheet_comes_back_in_the_full_template(sample_merge) -> None:
    """The township gets its own figures back in a complete template, so it only fills the lost sheet."""
    out, _ = sample_merge
    returned = out / "returned" / "退回_错误样例-缺少绩效指标表.xlsx"
    wb = load_workbook(returned)
    assert {"预算执行", "绩效指标", "评价小组"} <= set(wb.sheetnames)
    budget = wb["预算执行"]
    assert budget["B4"].value == "南沙乡人民政府" and budget["B7"].value == "130133205000"
    assert wb["评价小组"]["B5"].value  # its own members came back
    assert not any(
        c.value for row in wb["绩效指标"].iter_rows(min_row=5, max_row=54, min_col=2, max_col=12) for c in row
    )
    notes = wb["退回说明"] if "退回说明" in wb.sheetnames else None
    assert notes is not None and any("绩效指标" in str(c.value) for row in notes.iter_rows() for c in row)


def test_year_option_rejects_other_years_through_the_cli(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "宋营镇.xlsx", seed_bytes())  # 2023
    res = CliRunner().invoke(
        cli, ["merge", str(inbox), "-o", str(tmp_path / "out"), "--year", "2024", "--json"]
    )
    assert res.exit_code == 1, res.output
    data = json.loads(res.output)
    assert data["counts"]["accepted"] == 0 and data["counts"]["rejected"] == 1
    rows = json.loads((tmp_path / "out" / "rollup.json").read_text(encoding="utf-8"))["rollups"][0]
    assert "year-mismatch" in {f["finding"] for f in rows["findings"]}
    assert "2024" in rows["files"][0]["reason"]


def test_each_package_is_checked_once_and_its_warnings_reported_once(tmp_path: Path, monkeypatch) -> None:
    """Intake leaves the package check to the workers (it used to run twice, and a macro-enabled
    workbook's ``macro-ignored`` warning was reported twice)."""
    from selfeval_xlsx import safety

    inbox = tmp_path / "in"
    inbox.mkdir()
    template_xlsm(inbox / "带宏.xlsm")
    calls: list[str] = []
    original = safety.check_workbook

    def counting(data: bytes, name: str, *args, **kwargs):
        calls.append(name)
        return original(data, name, *args, **kwargs)

    monkeypatch.setattr(safety, "check_workbook", counting)
    result = api.merge(inbox, tmp_path / "out", jobs=1, completed=False)
    assert result.counts["accepted"] == 1
    [accepted] = result.accepted
    assert [f.code for f in accepted.findings].count("macro-ignored") == 1
    assert calls == ["带宏.xlsm"]


def test_returned_copy_offers_the_rules_profiles_grades(tmp_path: Path) -> None:
    """After ``merge --rules mof-2020`` the returned copy's 自评等级 dropdown lists 优/良/中/差."""
    from workbooks import cell_of, set_value

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "坏.xlsx", seed_bytes(set_value("/budget/total/executed", "很多")))
    res = CliRunner().invoke(
        cli, ["merge", str(inbox), "-o", str(tmp_path / "out"), "--rules", "mof-2020", "--jobs", "1"]
    )
    assert res.exit_code == 1, res.output
    [returned] = (tmp_path / "out" / "returned").iterdir()
    sheet, cell = cell_of("/self_assessment/grade")
    wb = load_workbook(returned)
    [dv] = [dv for dv in wb[sheet].data_validations.dataValidation if cell in dv.sqref]
    source, _, cells = dv.formula1.partition("!")  # the list lives on a hidden sheet: _meta!$D$2:$D$5
    choices = [c.value for row in wb[source.strip("'")][cells.replace("$", "")] for c in row]
    assert choices == ["优", "良", "中", "差"]


def test_the_library_is_silent_but_merge_log_is_written(tmp_path: Path) -> None:
    """From Python, a merge prints nothing on stderr (a library logs only when its caller enables it);
    its merge.log still holds the run's lines."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "宋营镇.xlsx", seed_bytes())
    write(inbox, "坏.xlsx", b"not a workbook at all")
    script = f"from selfeval_xlsx import api; api.merge({str(inbox)!r}, {str(tmp_path / 'out')!r}, jobs=2)"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    log = (tmp_path / "out" / "merge.log").read_text(encoding="utf-8")
    assert "merge " in log and "processed 1 items" in log and "counts " in log


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_merge_under_spawn_matches_fork(tmp_path: Path, monkeypatch, method: str) -> None:
    """Workers that inherit nothing (spawn: Windows, macOS; forkserver: Python 3.14 on Linux) load the
    rules from their file and write to merge.log themselves: same counts and roll-up as forked ones."""
    from selfeval_xlsx import merge as merge_module

    forked = api.merge(SAMPLES, tmp_path / "fork", jobs=2)
    monkeypatch.setattr(merge_module, "START_METHOD", method)
    monkeypatch.delenv(merge_module.START_METHOD_ENV, raising=False)
    spawned = api.merge(SAMPLES, tmp_path / method, jobs=2)
    assert spawned.counts == forked.counts
    assert rollup_content(tmp_path / method / "汇总_赵县_2023.xlsx") == rollup_content(
        tmp_path / "fork" / "汇总_赵县_2023.xlsx"
    )
    log = (tmp_path / method / "merge.log").read_text(encoding="utf-8")
    assert f"started ({method})" in log and "processed" in log


def test_a_custom_rules_file_reaches_spawned_workers(tmp_path: Path, monkeypatch) -> None:
    from selfeval_xlsx import merge as merge_module

    profile = json.loads(
        (Path(merge_module.__file__).parent / "rules" / "mof-2020.json").read_text(encoding="utf-8")
    )
    profile["name"] = "county-2024"
    profile["grades"] = [{"name": "甲", "min": 90}, {"name": "乙", "min": 0}]
    custom = tmp_path / "本县细则.json"
    custom.write_text(json.dumps(profile, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(merge_module, "START_METHOD", "spawn")
    result = api.merge(SAMPLES, tmp_path / "out", jobs=2, rules=api.load_rules(custom))
    townships = result.rollups[0].townships
    assert len(townships) == 12 and {t.grade for t in townships} == {"甲", "乙"}
    assert "(spawn)" in (tmp_path / "out" / "merge.log").read_text(encoding="utf-8")


def test_an_internal_error_is_not_sent_back_to_the_township(tmp_path: Path, monkeypatch) -> None:
    """A file the tool failed on gets no returned copy, and its reason in the roll-up does not ask the
    township to correct it."""
    from selfeval_xlsx import worker

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "宋营镇.xlsx", seed_bytes())
    write(inbox, "出错.xlsx", filled_bytes(sampledata.township(0), 2023))
    real = worker.score_workbook

    def fails_on_one(data: bytes, name: str, **kw):
        if name == "出错.xlsx":
            raise RuntimeError("a bug")
        return real(data, name=name, **kw)

    monkeypatch.setattr(worker, "score_workbook", fails_on_one)
    result = api.merge(inbox, tmp_path / "out", jobs=1)
    assert result.counts["accepted"] == 1 and result.counts["rejected"] == 1
    [row] = result.rejected
    assert "请勿退回" in row.reason and "请修改" not in row.reason and "未通过审核" not in row.reason
    assert not list((tmp_path / "out" / "returned").iterdir())
    assert "a bug" in (tmp_path / "out" / "merge.log").read_text(encoding="utf-8")  # the traceback
