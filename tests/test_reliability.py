"""Issue 13: which resubmission wins, the tool's own outputs back in the inbox, every file accounted
for (unreadable, too deep, look-alike names) and the reason text a clerk pastes into a reply."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import hostile
import pytest
import sampledata
from click.testing import CliRunner
from openpyxl import load_workbook
from openpyxl_fill import filled_bytes
from workbooks import cell_of, chain, indicator_cell, seed_bytes, set_value, write

from selfeval_xlsx import api
from selfeval_xlsx.cli import cli
from selfeval_xlsx.intake import collect
from selfeval_xlsx.limits import Limits

CST = timezone(timedelta(hours=8))
HOUR = 3600.0


def township(i: int, **changes: object) -> bytes:
    return filled_bytes(sampledata.variant(sampledata.township(i, seed_value=50 + i), **changes), 2023)


def put(folder: Path, name: str, data: bytes, mtime: float | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = write(folder, name, data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def roll_json(out: Path) -> dict:
    [roll] = json.loads((out / "rollup.json").read_text(encoding="utf-8"))["rollups"]
    return roll


def reasons(roll: dict) -> dict[str, str]:
    return {f["file"]: f["reason"] for f in roll["files"]}


# --- 1. which resubmission wins --------------------------------------------------------------------


def test_a_typo_year_in_fill_date_does_not_beat_the_later_correction(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    now = time.time()
    typo = sampledata.variant(
        sampledata.seed(), **{"identity.filled_on": "2042-01-05", "self_assessment.total": 100}
    )
    fixed = sampledata.variant(
        sampledata.seed(), **{"identity.filled_on": "2024-01-20", "self_assessment.total": 98}
    )
    put(inbox, "宋营镇.xlsx", filled_bytes(typo, 2023), now - 5 * HOUR)
    put(inbox, "宋营镇-更新.xlsx", filled_bytes(fixed, 2023), now - 1 * HOUR)
    result = api.merge(inbox, tmp_path / "out", jobs=1)
    assert [p.name for p in result.accepted] == ["宋营镇-更新.xlsx"]
    assert [f.file for f in result.superseded] == ["宋营镇.xlsx"]


def test_a_fill_date_in_the_future_is_a_warning_at_its_cell(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    put(
        inbox,
        "宋营镇.xlsx",
        filled_bytes(sampledata.variant(sampledata.seed(), **{"identity.filled_on": "2042-01-05"}), 2023),
    )
    result = api.merge(inbox, tmp_path / "out", jobs=1)
    [p] = result.accepted
    [f] = [f for f in p.findings if f.code == "future-date"]
    assert f.severity == "warning" and "2042-01-05" in f.message
    assert (f.sheet, f.cell) == cell_of("/identity/filled_on")
    rows = roll_json(tmp_path / "out")["findings"]
    assert any(r["finding"] == "future-date" and r["cell"] == f.cell for r in rows)


def test_within_one_email_the_revised_attachment_wins_and_the_clerk_is_told(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first = filled_bytes(sampledata.variant(sampledata.seed(), **{"self_assessment.total": 100}), 2023)
    revised = filled_bytes(sampledata.variant(sampledata.seed(), **{"self_assessment.total": 98}), 2023)
    hostile.eml_rfc2231(inbox / "宋营镇.eml", {"自评表(修改).xlsx": revised, "自评表.xlsx": first})
    result = api.merge(inbox, tmp_path / "out", jobs=1)
    [winner] = result.accepted
    assert winner.name == "宋营镇.eml › 自评表(修改).xlsx"
    assert any(f.code == "resubmission-tie" and f.severity == "warning" for f in winner.findings)
    [loser] = result.superseded
    assert loser.file == "宋营镇.eml › 自评表.xlsx"
    assert "文件名" in loser.reason and "确认" in loser.reason
    roll = roll_json(tmp_path / "out")
    assert "确认" in reasons(roll)["宋营镇.eml › 自评表.xlsx"]
    assert any(r["finding"] == "resubmission-tie" for r in roll["findings"])


def test_a_copy_never_beats_its_original_on_the_same_time(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    t = time.time() - HOUR
    put(
        inbox,
        "宋营镇 - 副本.xlsx",
        filled_bytes(sampledata.variant(sampledata.seed(), **{"self_assessment.total": 97}), 2023),
        t,
    )
    put(
        inbox,
        "宋营镇.xlsx",
        filled_bytes(sampledata.variant(sampledata.seed(), **{"self_assessment.total": 98}), 2023),
        t,
    )
    result = api.merge(inbox, tmp_path / "out", jobs=1)
    assert [p.name for p in result.accepted] == ["宋营镇.xlsx"]
    assert "确认" in result.superseded[0].reason


def test_email_date_decides_and_a_future_email_date_is_a_warning(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    older = filled_bytes(sampledata.variant(sampledata.seed(), **{"self_assessment.total": 100}), 2023)
    newer = filled_bytes(sampledata.variant(sampledata.seed(), **{"self_assessment.total": 98}), 2023)
    # saved to disk in the opposite order from the one they arrived in
    hostile.eml_rfc2231(inbox / "b.eml", {"自评表.xlsx": older}, date=datetime(2024, 1, 10, 9, 0, tzinfo=CST))
    hostile.eml_rfc2231(inbox / "a.eml", {"自评表.xlsx": newer}, date=datetime(2024, 1, 12, 9, 0, tzinfo=CST))
    os.utime(inbox / "a.eml", (time.time() - 5 * HOUR,) * 2)
    result = api.merge(inbox, tmp_path / "out", jobs=1)
    assert [p.name for p in result.accepted] == ["a.eml › 自评表.xlsx"]

    future = tmp_path / "future"
    future.mkdir()
    hostile.eml_rfc2231(
        future / "c.eml", {"自评表.xlsx": older}, date=datetime.now(CST) + timedelta(days=400)
    )
    [p] = api.merge(future, tmp_path / "out2", jobs=1).accepted
    assert any(f.code == "future-date" and "邮件" in f.message for f in p.findings)


# --- 2. last run's output in this run's inbox ----------------------------------------------------------


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    root = tmp_path_factory.mktemp("first")
    inbox = root / "inbox"
    for i in range(3):
        put(inbox, f"t{i}.xlsx", township(i), time.time() - 10 * HOUR)
    put(inbox, "坏.xlsx", seed_bytes(set_value("/budget/total/executed", "八千")), time.time() - 10 * HOUR)
    result = api.merge(inbox, root / "out", jobs=1)
    assert result.counts["accepted"] == 3 and result.counts["rejected"] == 1
    return inbox, root / "out", result


def test_a_workbook_and_its_old_rollup_count_the_township_once(first_run, tmp_path: Path) -> None:
    inbox, out, first = first_run
    again = tmp_path / "inbox"
    again.mkdir()
    shutil.copy2(inbox / "t0.xlsx", again)
    shutil.copy2(out / "汇总_赵县_2023.xlsx", again)
    result = api.merge(again, tmp_path / "out", jobs=1)
    [roll] = result.rollups
    assert roll.county == "赵县" and (tmp_path / "out" / "汇总_赵县_2023.xlsx").exists()
    codes = [t.code for t in roll.townships]
    assert len(codes) == len(set(codes)) == 3
    assert roll.totals()["adjusted"] == first.rollups[0].totals()["adjusted"]
    t0 = next(t for t in roll.townships if t.file == "t0.xlsx")
    assert not t0.source_rollup
    notes = reasons(roll_json(tmp_path / "out"))
    [note] = [r for f, r in notes.items() if f.startswith("汇总_赵县_2023.xlsx")]
    assert "t0.xlsx" in note and "原始报送" in note
    c = result.counts
    assert c["seen"] == c["accepted"] + c["superseded"] + c["rejected"] + c["skipped"] == 2
    assert c["accepted"] == 2 and c["superseded"] == 0  # t0.xlsx, and the roll-up for t1 and t2


def test_a_whole_previous_out_copied_into_the_inbox_changes_nothing(first_run, tmp_path: Path) -> None:
    inbox, out, first = first_run
    again = tmp_path / "inbox"
    shutil.copytree(inbox, again)
    shutil.copytree(out, again / "out")
    result = api.merge(again, tmp_path / "out", jobs=1)
    [roll] = result.rollups
    assert roll.county == "赵县"
    assert sorted(t.file for t in roll.townships) == ["t0.xlsx", "t1.xlsx", "t2.xlsx"]
    assert roll.totals() == first.rollups[0].totals()
    skipped = {f.file: f.reason for f in result.skipped}
    completed = [f for f in skipped if "/completed/" in f]
    assert len(completed) == 3 and all("本工具生成的评分结果" in skipped[f] for f in completed)
    assert "本工具" in skipped["out/rollup.json"] and "本工具" in skipped["out/merge.log"]
    assert "本工具生成的退回副本" in skipped["out/returned/退回_坏.xlsx"]
    assert "本工具生成的回复邮件草稿" in skipped["out/drafts/退回_坏.eml"]  # issue 16
    c = result.counts
    assert c["accepted"] == 3 and [r.file for r in result.rejected] == ["坏.xlsx"]
    assert [p.name for p in (tmp_path / "out" / "returned").iterdir()] == ["退回_坏.xlsx"]
    assert c["seen"] == c["accepted"] + c["superseded"] + c["rejected"] + c["skipped"]
    assert sorted(p.name for p in (tmp_path / "out" / "completed").iterdir()) == sorted(
        p.name for p in (out / "completed").iterdir()
    )


def test_a_completed_copy_alone_stands_in_for_its_lost_original(first_run, tmp_path: Path) -> None:
    _inbox, out, first = first_run
    again = tmp_path / "inbox"
    again.mkdir()
    [copy] = [p for p in (out / "completed").iterdir() if "城关" in p.name]
    shutil.copy2(copy, again)
    result = api.merge(again, tmp_path / "out", jobs=1)
    [p] = result.accepted
    assert any("本工具生成的评分结果" in f.message for f in p.findings)
    [row] = result.rollups[0].townships
    [original] = [t for t in first.rollups[0].townships if t.code == row.code]
    assert (row.total, row.adjusted) == (original.total, original.adjusted)


def _broken_and_returned(tmp_path: Path) -> tuple[Path, Path]:
    inbox = tmp_path / "inbox"
    put(inbox, "宋营镇.xlsx", seed_bytes(set_value("/budget/total/executed", "八千")), time.time() - 5 * HOUR)
    api.merge(inbox, tmp_path / "out1", jobs=1)
    [returned] = (tmp_path / "out1" / "returned").iterdir()
    return inbox, returned


def test_an_unedited_returned_copy_is_not_a_resubmission(tmp_path: Path) -> None:
    inbox, returned = _broken_and_returned(tmp_path)
    shutil.copy2(returned, inbox)
    result = api.merge(inbox, tmp_path / "out2", jobs=1)
    assert [r.file for r in result.rejected] == ["宋营镇.xlsx"]
    [skip] = result.skipped
    assert skip.file == returned.name and "退回" in skip.reason and "本工具" in skip.reason
    assert [p.name for p in (tmp_path / "out2" / "returned").iterdir()] == ["退回_宋营镇.xlsx"]


def test_a_returned_copy_edited_by_the_township_is_its_resubmission(tmp_path: Path) -> None:
    inbox, returned = _broken_and_returned(tmp_path)
    good = load_workbook(io.BytesIO(seed_bytes()))
    sheet, ref = cell_of("/budget/total/executed")
    wb = load_workbook(returned)
    wb[sheet][ref] = good[sheet][ref].value
    wb.properties.lastModifiedBy = "宋营镇财政所"  # what Excel or WPS records when the clerk saves
    wb.properties.modified = datetime.now()
    wb.save(inbox / returned.name)
    result = api.merge(inbox, tmp_path / "out2", jobs=1)
    assert [p.name for p in result.accepted] == [returned.name]
    assert [f.file for f in result.superseded] == ["宋营镇.xlsx"]
    assert result.counts["rejected"] == 0


def test_two_rollups_holding_the_same_township_count_it_once(first_run, tmp_path: Path) -> None:
    inbox, _out, first = first_run
    for tag, names in (("a", ["t0.xlsx", "t1.xlsx"]), ("b", ["t1.xlsx", "t2.xlsx"])):
        part = tmp_path / f"in-{tag}"
        part.mkdir()
        for n in names:
            shutil.copy2(inbox / n, part)
        api.merge(part, tmp_path / f"out-{tag}", jobs=1)
    city = tmp_path / "city"
    put(
        city, "赵县甲.xlsx", (tmp_path / "out-a" / "汇总_赵县_2023.xlsx").read_bytes(), time.time() - 2 * HOUR
    )
    put(city, "赵县乙.xlsx", (tmp_path / "out-b" / "汇总_赵县_2023.xlsx").read_bytes(), time.time() - HOUR)
    result = api.merge(city, tmp_path / "out-city", jobs=1)
    [roll] = result.rollups
    codes = [t.code for t in roll.townships]
    assert len(codes) == len(set(codes)) == 3
    assert roll.totals()["adjusted"] == first.rollups[0].totals()["adjusted"]
    t1 = next(t for t in roll.townships if t.file == "t1.xlsx")
    assert t1.source_rollup == "赵县乙.xlsx"
    notes = reasons(roll_json(tmp_path / "out-city"))
    assert any(f.startswith("赵县甲.xlsx") and "赵县乙.xlsx" in r for f, r in notes.items())


# --- 3. accounting ------------------------------------------------------------------------------


def test_an_unreadable_folder_or_file_is_rejected_not_skipped(tmp_path: Path, monkeypatch) -> None:
    from selfeval_xlsx import intake as intake_module

    inbox = tmp_path / "inbox"
    put(inbox, "宋营镇.xlsx", seed_bytes())
    put(inbox / "锁住的", "王庄乡.xlsx", township(1))
    put(inbox, "锁住的.xlsx", township(2))
    real_scandir, real_open = os.scandir, os.open

    def scandir(path):  # type: ignore[no-untyped-def]
        if str(path).endswith("锁住的"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def os_open(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path).endswith("锁住的.xlsx"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(intake_module.os, "scandir", scandir)
    monkeypatch.setattr(intake_module.os, "open", os_open)
    res = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(tmp_path / "out"), "--json"])
    assert res.exit_code == 1, res.output
    data = json.loads(res.output)
    assert data["counts"]["accepted"] == 1 and data["counts"]["rejected"] == 2
    rows = {f["file"]: f["reason"] for f in data["rollups"][0]["files"]}
    assert "锁住的/" in rows and "锁住的" in rows["锁住的/"] and "权限" in rows["锁住的/"]
    assert "锁住的.xlsx" in rows and "权限" in rows["锁住的.xlsx"]


@pytest.mark.skipif(not hasattr(os, "fork") or os.geteuid() != 0, reason="needs root to drop to nobody")
def test_unreadable_inbox_entries_as_a_real_user(tmp_path: Path) -> None:
    """The same, with real permissions: the merge runs in a forked child that became ``nobody``."""
    import pwd

    from selfeval_xlsx import completed, report, rollup_read, rollup_write  # noqa: F401  (imported before dropping root)

    package = Path(api.__file__).parent
    closed = [d for d in (package, *package.parents) if not os.stat(d).st_mode & 0o001]
    if closed:  # e.g. a clone in a 0700 mktemp folder: nobody could not read the package's own data
        pytest.skip(f"{closed[0]} is closed to other users")
    nobody = pwd.getpwnam("nobody")
    # /root (where Python lives here) is closed to nobody: import everything a merge uses first
    from concurrent.futures import process  # noqa: F401

    put(tmp_path / "warm", "宋营镇.xlsx", seed_bytes(set_value("/budget/total/executed", "八千")))
    api.merge(tmp_path / "warm", tmp_path / "warm-out", jobs=1)
    root = Path(tempfile.mkdtemp(prefix="i13-"))
    try:
        os.chmod(root, 0o755)
        inbox, out = root / "inbox", root / "out"
        put(inbox, "宋营镇.xlsx", seed_bytes())
        put(inbox / "锁住的", "王庄乡.xlsx", township(1))
        put(inbox, "锁住的.xlsx", township(2))
        out.mkdir()
        for p in (inbox, inbox / "宋营镇.xlsx"):
            os.chmod(p, 0o755)
        os.chmod(inbox / "锁住的", 0o000)
        os.chmod(inbox / "锁住的.xlsx", 0o000)
        os.chmod(out, 0o777)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 3
            try:
                os.close(r)
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
                result = api.merge(inbox, out, jobs=1)
                rows = {f.file: f.reason for f in result.rejected}
                os.write(w, json.dumps({"counts": result.counts, "rows": rows}).encode())
                code = 0
            except BaseException:
                import traceback

                os.write(w, traceback.format_exc().encode())
            finally:
                os._exit(code)
        os.close(w)
        with os.fdopen(r, "rb") as fh:
            raw = fh.read()
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, raw
        got = json.loads(raw)
        assert got["counts"]["accepted"] == 1 and got["counts"]["rejected"] == 2, got
        assert "权限" in got["rows"]["锁住的/"] and "权限" in got["rows"]["锁住的.xlsx"]
    finally:
        for p in (root / "inbox" / "锁住的", root / "inbox" / "锁住的.xlsx"):
            if p.exists():
                os.chmod(p, 0o755)
        shutil.rmtree(root, ignore_errors=True)


def test_every_file_under_a_too_deep_folder_is_named(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    deep = inbox.joinpath(*[f"d{i}" for i in range(20)])
    put(deep, "宋营镇.xlsx", hostile.xlsx_bytes(title="宋营镇"))
    put(deep / "more", "说明.txt", b"x")
    got = collect(inbox)  # the default reaches well past 16 levels
    assert [i.name.rsplit("/", 1)[-1] for i in got.items] == ["宋营镇.xlsx"]
    got = collect(inbox, Limits(max_inbox_depth=5))
    names = sorted(e.name for e in [*got.skipped, *got.rejected])
    assert names == sorted(
        "/".join([*(f"d{i}" for i in range(20)), *rest]) for rest in (["宋营镇.xlsx"], ["more", "说明.txt"])
    )
    assert got.seen == 2
    assert all("层级过深" in s.reason for s in got.skipped)
    assert [r.findings[0].code for r in got.rejected] == ["too-deep"]


@pytest.mark.skipif(sys.platform != "linux", reason="needs a case-sensitive file system that keeps NFD")
def test_look_alike_names_are_told_apart_and_never_overwrite_each_other(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    bad = seed_bytes(set_value("/budget/total/executed", "八千"))
    names = [
        unicodedata.normalize("NFC", "Rückgabe.xlsx"),
        unicodedata.normalize("NFD", "Rückgabe.xlsx"),
        "退回A.xlsx",
        "退回A\u200b.xlsx",
        "甲/坏.xlsx",
        "乙/坏.xlsx",
        "BAD.xlsx",
        "bad.xlsx",
    ]
    for i, n in enumerate(names):
        folder, _, base = n.rpartition("/")
        put(inbox / folder if folder else inbox, base, bad + b"\0" * i)  # different bytes, same findings
    res = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(tmp_path / "out")])
    assert res.exit_code == 1
    result = api.merge(inbox, tmp_path / "out", jobs=1)
    shown = [r.file for r in result.rejected]
    assert len(set(shown)) == len(names), shown  # BAD.xlsx and bad.xlsx: a clerk sees the difference
    assert "退回A\\u200b.xlsx" in shown and "甲/坏.xlsx" in shown
    returned = sorted(p.name for p in (tmp_path / "out" / "returned").iterdir())
    assert len({unicodedata.normalize("NFC", n).casefold() for n in returned}) == len(names), returned
    for row in result.rejected:  # each reply names its own returned copy
        assert sum(f"returned/{n}" in row.reason for n in returned) == 1, row.reason


# --- 4. the reason text ---------------------------------------------------------------------------


def test_the_reason_lists_errors_then_the_warnings_that_need_attention(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    sheet, first = indicator_cell(0, "weight")
    _, second = indicator_cell(1, "weight")

    def merge_rows(wb) -> None:  # type: ignore[no-untyped-def]
        wb[sheet].merge_cells(f"{first}:{second}")

    put(inbox, "合并.xlsx", seed_bytes(chain(merge_rows)))
    result = api.merge(inbox, tmp_path / "out", jobs=1)
    [row] = result.rejected
    assert "merged" not in row.reason
    head, _, tail = row.reason.partition("另请注意")
    assert "分值" in head and "合并" in tail, row.reason


def test_what_a_name_says_about_being_a_revision_or_a_copy() -> None:
    from selfeval_xlsx.resubmissions import name_rank

    assert [
        name_rank(n)
        for n in (
            "宋营镇2023自评表(修改).xlsx",
            "a.eml › 自评表（更正）.xlsx",
            "自评表最终版.xlsx",
            "自评表-新.xlsx",
            "新建 Microsoft Excel 工作表.xlsx",
            "自评表.xlsx",
            "宋营镇2023自评表(修改) - 副本.xlsx",
            "自评表 - Copy.xlsx",
            "自评表(1).xlsx",
            "news/自评表.xlsx",
        )
    ] == [1, 1, 1, 1, 0, 0, -1, -1, -1, 0]


def test_two_attachments_of_one_email_with_one_name_are_told_apart(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    raw = (
        hostile.eml_rfc2231(inbox / "x.eml", {"自评表.xlsx": hostile.xlsx_bytes(title="甲")})
        .read_bytes()
        .replace(b"\r\n", b"\n")
    )
    from email import message_from_bytes, policy

    msg = message_from_bytes(raw, policy=policy.default)
    msg.add_attachment(
        hostile.xlsx_bytes(title="乙"), maintype="application", subtype="octet-stream", filename="自评表.xlsx"
    )
    (inbox / "x.eml").write_bytes(bytes(msg))
    got = collect(inbox)
    assert sorted(i.name for i in got.items) == ["x.eml › 自评表.xlsx", "x.eml › 自评表〔2〕.xlsx"]
