"""Operating conditions of a merge (issue 13): the bureau's own folders, two runs at once, a full disk,
an unwritable output and Ctrl-C. Each case is caused as a user would cause it where the machine allows it
(a second process, a small tmpfs, a read-only mount, a real SIGINT to the process group) and injected
otherwise; in every case the previous output folder is left exactly as it was."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sampledata
from click.testing import CliRunner
from filelock import FileLock
from openpyxl_fill import filled_bytes
from workbooks import write

from selfeval_xlsx import api, publishing, worker
from selfeval_xlsx import merge as merge_mod
from selfeval_xlsx import output as output_mod
from selfeval_xlsx.cli import cli
from selfeval_xlsx.errors import DiskFull, FolderError, OutputBusy, OutputError
from selfeval_xlsx.output import LOCK_NAME, STAGING_PREFIX

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inbox"


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) with its sha256: what "exactly as it was" means."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def township_inbox(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        data = sampledata.township(k, seed_value=500 + k)
        write(folder, f"乡镇{k:03d}.xlsx", filled_bytes(data, sampledata.YEAR))
    return folder


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return township_inbox(tmp_path_factory.mktemp("inbox") / "收件", 6)


@pytest.fixture
def previous(tmp_path: Path, inbox: Path) -> Path:
    """An output folder holding a first run's results."""
    out = tmp_path / "out"
    api.merge(inbox, out, jobs=1)
    assert any((out / "completed").iterdir())
    return out


def _no_staging(out: Path) -> bool:
    return not any(p.name.startswith(STAGING_PREFIX) for p in out.iterdir())


# --- folders --------------------------------------------------------------------------------------------


def test_inbox_inside_output_is_refused_and_the_corrected_file_survives(previous: Path, inbox: Path) -> None:
    """merge in -o out; the township's corrected copy is saved into out/returned/; merging out/returned
    into out would have replaced returned/ and deleted it."""
    corrected = write(previous / "returned", "退回_乡镇001(修改).xlsx", (inbox / "乡镇001.xlsx").read_bytes())
    before = tree(previous)
    with pytest.raises(FolderError, match=r"收件目录.*位于输出目录"):
        api.merge(previous / "returned", previous, jobs=1)
    result = CliRunner().invoke(cli, ["merge", str(previous / "returned"), "-o", str(previous)])
    assert result.exit_code == 2, result.output
    assert "位于输出目录" in result.output and "Traceback" not in result.output
    assert corrected.exists() and tree(previous) == before


def test_output_inside_inbox_is_refused(inbox: Path) -> None:
    result = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(inbox / "out")])
    assert result.exit_code == 2 and "不能位于收件目录" in result.output
    assert not (inbox / "out").exists()


def test_files_the_tool_did_not_write_are_never_deleted(previous: Path, inbox: Path) -> None:
    returned = previous / "returned"
    returned.mkdir(exist_ok=True)
    note = write(returned, "说明.txt", "乡镇001已电话通知".encode())
    mine = write(previous / "completed", "我的批注.xlsx", b"not ours")
    # a completed workbook of ours that a clerk opened and saved again
    ours = sorted((previous / "completed").glob("*_已评分.xlsx"))[0]
    ours.write_bytes(ours.read_bytes() + b"\0")
    result = api.merge(inbox, previous, jobs=1)
    assert note.read_bytes() == "乡镇001已电话通知".encode()
    assert mine.read_bytes() == b"not ours"
    kept = {p.name for p in result.kept}
    assert {"说明.txt", "我的批注.xlsx", f"{ours.stem}(保留).xlsx"} <= kept
    assert (previous / "completed" / f"{ours.stem}(保留).xlsx").read_bytes().endswith(b"\0")
    assert ours.exists()  # the new run's copy under the tool's name
    # an unchanged output of the previous run is replaced, not kept
    again = api.merge(inbox, previous, jobs=1)
    assert {p.name for p in again.kept} == kept


def test_stale_rollups_of_an_earlier_run_go_unless_edited(previous: Path, inbox: Path) -> None:
    """A roll-up the tool wrote in an earlier run over other files (another year) is removed; one a
    clerk made or edited is kept."""
    import json

    stale = previous / "汇总_别县_2022.xlsx"
    shutil.copy(next(previous.glob("汇总_*.xlsx")), stale)
    manifest = previous / output_mod.MANIFEST_NAME
    data = json.loads(manifest.read_text("utf-8"))
    data["files"][stale.name] = [stale.stat().st_size, stale.stat().st_mtime_ns]  # as if written by a run
    manifest.write_text(json.dumps(data), "utf-8")
    foreign = write(previous, "汇总_手工整理.xlsx", b"clerk's own")
    api.merge(inbox, previous, jobs=1)
    assert not stale.exists() and foreign.read_bytes() == b"clerk's own"


def test_no_completed_keeps_the_previous_completed_folder(previous: Path, inbox: Path) -> None:
    before = tree(previous / "completed")
    result = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(previous), "--no-completed"])
    assert result.exit_code == 0, result.output
    assert "completed/ 保留上次运行的内容" in result.output
    assert tree(previous / "completed") == before
    # and the next full run still recognises them as its own (no "(保留)" copies)
    full = api.merge(inbox, previous, jobs=1)
    assert full.kept == []


def test_merge_log_holds_one_run(previous: Path, inbox: Path) -> None:
    size = (previous / "merge.log").stat().st_size
    for _ in range(3):
        api.merge(inbox, previous, jobs=1)
    assert (previous / "merge.log").stat().st_size < size * 1.5
    assert (previous / "merge.log").read_text("utf-8").count("merge ") == 1


# --- two runs at once -------------------------------------------------------------------------------------


def test_a_second_merge_into_a_busy_output_stops_at_once(previous: Path, inbox: Path) -> None:
    before = tree(previous)
    with FileLock(str(previous / LOCK_NAME), timeout=0):
        with pytest.raises(OutputBusy):
            api.merge(inbox, previous, jobs=1)
        result = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(previous)])
    assert result.exit_code == 2
    assert "另一个汇总正在写入输出目录" in result.output and "Traceback" not in result.output
    assert tree(previous) == before


def _cli(*args: str, **kw: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", "from selfeval_xlsx.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kw,  # type: ignore[arg-type]
    )


def _wait_for(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def _locked(out: Path) -> bool:
    try:
        with FileLock(str(out / LOCK_NAME), timeout=0):
            return False
    except Exception:
        return True


@pytest.fixture(scope="module")
def big_inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return township_inbox(tmp_path_factory.mktemp("big") / "收件", 60)


@pytest.mark.slow
def test_two_merges_at_once_in_two_processes(tmp_path: Path, big_inbox: Path) -> None:
    out = tmp_path / "out"
    first = _cli("merge", str(big_inbox), "-o", str(out), "--jobs", "1")
    _wait_for(lambda: out.exists() and _locked(out))
    second = _cli("merge", str(big_inbox), "-o", str(out))
    _, err2 = second.communicate(timeout=120)
    _, err1 = first.communicate(timeout=300)
    assert second.returncode == 2, err2
    assert err2.strip().splitlines() == [err2.strip()] and "另一个汇总正在写入输出目录" in err2
    assert first.returncode in (0, 1), err1
    assert "Traceback" not in err1 + err2
    assert len(list((out / "completed").iterdir())) > 0 and _no_staging(out)


# --- Ctrl-C ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_leaves_the_previous_output_whole(tmp_path: Path, big_inbox: Path, inbox: Path) -> None:
    out = tmp_path / "out"
    api.merge(inbox, out, jobs=1)
    before = tree(out)
    proc = _cli("merge", str(big_inbox), "-o", str(out), "--jobs", "2", start_new_session=True)

    def working() -> bool:
        staging = [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]
        return any(len(list(p.glob("*.xlsx"))) >= 3 for p in staging)

    _wait_for(working)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the whole process group
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr.strip() == "已中断：本次未写出任何结果，原有结果保持不变。", stderr
    assert tree(out) == before and _no_staging(out)


def _renames_in_publish(monkeypatch: pytest.MonkeyPatch, calls: list[object], hook: object) -> None:
    """Call ``hook(n)`` before the n-th rename made while publishing (and only then)."""
    real_replace, real_publish = os.replace, merge_mod.publish
    active = [False]

    def replace(src: object, dst: object) -> None:
        if active[0]:
            calls.append(dst)
            hook(len(calls))  # type: ignore[operator]
        real_replace(src, dst)  # type: ignore[arg-type]

    def publish(*a: object, **kw: object) -> object:
        active[0] = True
        try:
            return real_publish(*a, **kw)  # type: ignore[arg-type]
        finally:
            active[0] = False

    monkeypatch.setattr(output_mod.os, "replace", replace)
    monkeypatch.setattr(merge_mod, "publish", publish)


def test_ctrl_c_while_publishing_finishes_the_publishing(previous: Path, inbox: Path, monkeypatch) -> None:
    """A Ctrl-C that lands among the renames of publishing is held until they are done: OUT is never half
    old, half new."""
    calls = []

    def on_rename(n: int) -> None:
        if n == 2:
            os.kill(os.getpid(), signal.SIGINT)

    _renames_in_publish(monkeypatch, calls, on_rename)
    (previous / "completed" / "marker").write_text("")  # foreign: carried over, proves the swap happened
    result = api.merge(inbox, previous, jobs=1)
    assert len(calls) > 4
    assert (previous / "completed" / "marker").exists() and _no_staging(previous)
    assert {p.name for p in result.kept} == {"marker"}


# --- a full disk ------------------------------------------------------------------------------------------


def _enospc_on_staging(monkeypatch: pytest.MonkeyPatch, after: int = 2) -> None:
    real_open = open
    count = [0]

    def fake_open(file: object, mode: str = "r", *a: object, **kw: object):  # type: ignore[no-untyped-def]
        if "w" in mode and STAGING_PREFIX in str(file):
            count[0] += 1
            if count[0] > after:
                raise OSError(errno.ENOSPC, "No space left on device", str(file))
        return real_open(file, mode, *a, **kw)  # type: ignore[call-overload]

    for module in (worker, publishing):  # the staging folder's writes
        monkeypatch.setattr(module, "open", fake_open, raising=False)


def test_disk_full_while_scoring_leaves_the_previous_output(previous: Path, inbox: Path, monkeypatch) -> None:
    before = tree(previous)
    _enospc_on_staging(monkeypatch)
    with pytest.raises(DiskFull, match=r"磁盘空间不足.*原有结果保持不变"):
        api.merge(inbox, previous, jobs=1)
    assert tree(previous) == before and _no_staging(previous)
    result = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(previous), "--jobs", "1"])
    assert result.exit_code == 3, result.output
    assert "磁盘空间不足" in result.output and "Traceback" not in result.output
    assert "内部错误" not in (previous / "merge.log").read_text("utf-8")
    assert tree(previous) == before


def test_disk_full_while_publishing_undoes_the_renames(previous: Path, inbox: Path, monkeypatch) -> None:
    before = tree(previous)
    calls: list[object] = []

    def on_rename(n: int) -> None:
        if n == 5:
            raise OSError(errno.ENOSPC, "No space left on device")

    _renames_in_publish(monkeypatch, calls, on_rename)
    with pytest.raises(DiskFull):
        api.merge(inbox, previous, jobs=1)
    assert tree(previous) == before and _no_staging(previous)


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    if not _mount_tmpfs(disk, "1500k"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def _fill(disk: Path, leave_kb: int) -> None:
    st = os.statvfs(disk)
    free_kb = st.f_bavail * st.f_frsize // 1024
    with open(disk / "fill.bin", "wb") as fh:
        fh.write(b"\0" * max(0, (free_kb - leave_kb) * 1024))


def test_a_real_full_disk(small_disk: Path, inbox: Path) -> None:
    out = small_disk / "out"
    first = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(out), "--jobs", "1"])
    assert first.exit_code == 0, first.output
    before = tree(out)
    _fill(small_disk, 60)
    result = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(out), "--jobs", "1"])
    assert result.exit_code == 3, result.output
    assert "磁盘空间不足" in result.output and "约需" in result.output
    assert tree(out) == before and _no_staging(out)
    # score -o and template -o on the same full disk: no partial file, an existing one untouched
    target = small_disk / "评分.xlsx"
    target.write_bytes(b"earlier")
    _fill_more = small_disk / "fill2.bin"
    st = os.statvfs(small_disk)
    _fill_more.write_bytes(b"\0" * max(0, st.f_bavail * st.f_frsize - 4096))
    scored = CliRunner().invoke(cli, ["score", str(inbox / "乡镇000.xlsx"), "-o", str(target), "--overwrite"])
    assert scored.exit_code == 3 and "磁盘空间不足" in scored.output
    assert target.read_bytes() == b"earlier"
    blank = CliRunner().invoke(cli, ["template", "-o", str(small_disk / "模板.xlsx")])
    assert blank.exit_code == 3 and not (small_disk / "模板.xlsx").exists()
    assert not [p for p in small_disk.iterdir() if p.name.endswith(".tmp")]


# --- an unwritable output -----------------------------------------------------------------------------------


def test_a_read_only_output(small_disk: Path, inbox: Path) -> None:
    out = small_disk / "out"
    assert CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(out), "--jobs", "1"]).exit_code == 0
    before = tree(out)
    ro = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True)
    if ro.returncode:
        pytest.skip("cannot remount read-only")
    try:
        for target in (out, small_disk / "新目录"):
            result = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(target)])
            assert result.exit_code == 4, result.output
            assert "只读" in result.output and "Traceback" not in result.output
        scored = CliRunner().invoke(
            cli, ["score", str(inbox / "乡镇000.xlsx"), "-o", str(small_disk / "x.xlsx")]
        )
        assert scored.exit_code == 4 and "只读" in scored.output
        assert tree(out) == before
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], capture_output=True)


def test_permission_denied_on_the_output(previous: Path, inbox: Path, monkeypatch) -> None:
    """As a user without write permission would meet it (tests run as root, which ignores modes)."""
    before = tree(previous)

    def denied(*a: object, **kw: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(output_mod.tempfile, "mkdtemp", denied)
    with pytest.raises(OutputError, match="没有写入权限"):
        api.merge(inbox, previous, jobs=1)
    result = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(previous)])
    assert result.exit_code == 4 and "没有写入权限" in result.output
    assert tree(previous) == before


def test_exit_codes_are_in_the_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for code in ("0 全部通过", "2 用法错误", "3 磁盘空间不足", "4 输出位置不可写", "130 已中断"):
        assert code in result.output


def test_the_tools_own_failure_is_not_blamed_on_the_file(tmp_path: Path, inbox: Path, monkeypatch) -> None:
    """A bug while scoring one file: that file is set aside as an internal error (not "corrupt"), with
    its traceback in merge.log (no variable dumps); the others are merged."""
    real = worker.score_workbook

    def flaky(data: bytes, *, name: str, **kw: object) -> object:
        if name == "乡镇002.xlsx":
            raise RuntimeError("secret-value-should-not-be-dumped")
        return real(data, name=name, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(worker, "score_workbook", flaky)
    out = tmp_path / "out"
    result = api.merge(inbox, out, jobs=1)
    [row] = [r for r in result.rejected if r.file == "乡镇002.xlsx"]
    assert "不是文件本身的问题" in row.reason and "损坏" not in row.reason
    assert result.counts["accepted"] == 5
    log = (out / "merge.log").read_text("utf-8")
    assert "RuntimeError" in log and "Traceback" in log and "└" not in log
