"""The rows a worker spools for each workbook: appended to one file per process, each record read back
whole by the roll-up's spool, and nothing lost or misplaced when a write fails."""

from __future__ import annotations

import errno
import pickle
from pathlib import Path

import pytest
from workbooks import seed_bytes, write

from selfeval_xlsx import api, worker
from selfeval_xlsx.errors import StagingWriteError
from selfeval_xlsx.limits import DEFAULT_LIMITS
from selfeval_xlsx.publishing import Spool
from selfeval_xlsx.rollup import Rollup
from selfeval_xlsx.rules import load_rules

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "inbox"


def _task(staging: Path, name: str) -> tuple[worker.Task, object]:
    from selfeval_xlsx.intake import collect

    inbox = staging.parent / f"inbox-{name}"
    inbox.mkdir()
    write(inbox, f"{name}.xlsx", seed_bytes())
    item = collect(inbox, DEFAULT_LIMITS, check=False).items[0]
    return worker.Task(item, load_rules().source, str(staging), False, DEFAULT_LIMITS), item


@pytest.fixture
def staging(tmp_path: Path):
    (tmp_path / "staging" / "rows").mkdir(parents=True)
    yield tmp_path / "staging"
    worker.close_spool()


def test_records_share_one_file_and_each_reads_back_whole(staging: Path) -> None:
    task, item = _task(staging, "a")
    records = [([f"i{k}"] * k, [f"p{k}"], [f"f{k}"] * (3 - k % 3)) for k in range(5)]
    where = [worker._spool(task, item, rows) for rows in records]  # type: ignore[arg-type]
    files = {w.partition("#")[0] for w in where}
    assert len(files) == 1 and len(list((staging / "rows").iterdir())) == 1
    for w, rows in zip(where, records, strict=True):
        path, _, offset = w.partition("#")
        with open(staging / path, "rb") as fh:
            fh.seek(int(offset))
            assert pickle.load(fh) == rows


def test_a_failed_write_starts_a_new_file_and_stops_the_run_on_a_full_disk(
    staging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task, item = _task(staging, "b")
    first = worker._spool(task, item, ([1], [2], [3]))  # type: ignore[arg-type]
    spool = worker._row_spool(staging)

    class Full:
        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            pass

    real = spool.fh
    monkeypatch.setattr(spool, "fh", Full())
    with pytest.raises(StagingWriteError):
        worker._spool(task, item, ([4], [5], [6]))  # type: ignore[arg-type]
    real.close()
    after = worker._spool(task, item, ([7], [8], [9]))  # type: ignore[arg-type]
    assert after.partition("#")[0] != first.partition("#")[0] and after.endswith("#0")
    roll = Rollup(county_code="130133", county="赵县", year=2023, rules="r", tool_version="t", generated="")
    fill = Spool(staging, files=[first, after])
    fill.fill(roll)
    assert (roll.indicators, roll.panel, roll.findings) == ([1, 7], [2, 8], [3, 9])


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_merge_spools_one_file_per_process_not_per_workbook(
    tmp_path: Path, jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from selfeval_xlsx import merge as merge_module

    seen: list[list[str]] = []
    real = merge_module.build_rollups

    def spy(accepted, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(sorted({p.rows_file.partition("#")[0] for p in accepted if p.rows_file}))
        return real(accepted, *args, **kwargs)

    monkeypatch.setattr(merge_module, "build_rollups", spy)
    result = api.merge(SAMPLES, tmp_path / "out", jobs=jobs)
    accepted = len(result.accepted)
    assert accepted > 3
    assert 1 <= len(seen[0]) <= jobs + 1  # the main process's (the first file), and each worker's
    rollup = (tmp_path / "out" / "rollup.json").read_text(encoding="utf-8")
    assert all(p.unit_name in rollup for p in result.accepted)
