"""Roll-ups written at once by the worker pool and by the main process (``publishing._shared_out``):
every roll-up written exactly once, results in the order given, the main process taking only tasks no
worker has started, and a failure raised rather than lost."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from selfeval_xlsx import api, publishing

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def fake_write(outdir: Path, roll: SimpleNamespace, spool: SimpleNamespace) -> tuple[Path, Path]:
    """Stands in for ``write_rollup``: says which process wrote which roll-up (a worker takes a while)."""
    if roll.name == "坏":
        raise OSError("磁盘已满")
    if os.getpid() != roll.main_pid:
        time.sleep(0.3)
    (outdir / f"{roll.name}.txt").write_text(str(os.getpid()), encoding="utf-8")
    return outdir / roll.name, outdir / f"{roll.name}.json"


def spooled(names_sizes: list[tuple[str, int]]) -> list[tuple[SimpleNamespace, SimpleNamespace]]:
    pid = os.getpid()
    return [
        (SimpleNamespace(name=n, main_pid=pid), SimpleNamespace(files=["x"] * size))
        for n, size in names_sizes
    ]


def test_each_rollup_written_once_in_the_given_order_and_the_smallest_by_the_main_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publishing, "write_rollup", fake_write)
    tasks = spooled([("甲", 1), ("乙", 9), ("丙", 5), ("丁", 2)])
    with ProcessPoolExecutor(max_workers=1) as pool:
        pool.submit(int).result()  # the worker is up before the roll-ups are handed out
        done = publishing._shared_out(tmp_path, tasks, pool)  # type: ignore[arg-type]
    assert [p.name for p, _ in done] == ["甲", "乙", "丙", "丁"]
    writer = {n: (tmp_path / f"{n}.txt").read_text(encoding="utf-8") for n in "甲乙丙丁"}
    me = str(os.getpid())
    assert writer["乙"] != me  # the largest goes to the worker first
    assert writer["甲"] == me  # the smallest is written here while the worker is busy
    assert sorted(p.name for p in tmp_path.glob("*.txt")) == sorted(f"{n}.txt" for n in "甲乙丙丁")


def test_a_failing_rollup_is_raised_not_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publishing, "write_rollup", fake_write)
    for tasks in (spooled([("甲", 9), ("坏", 1)]), spooled([("坏", 9), ("甲", 1)])):  # here, then in a worker
        with ProcessPoolExecutor(max_workers=1) as pool, pytest.raises(OSError, match="磁盘已满"):
            publishing._shared_out(tmp_path, tasks, pool)  # type: ignore[arg-type]


def test_rollup_json_lists_the_counties_in_the_same_order_whatever_the_jobs(tmp_path: Path) -> None:
    api.merge(SAMPLES, tmp_path / "one", jobs=1)
    api.merge(SAMPLES, tmp_path / "two", jobs=2)

    def years(folder: str) -> list[object]:
        data = json.loads((tmp_path / folder / "rollup.json").read_text(encoding="utf-8"))
        return [(r["county"], r["year"], len(r["townships"])) for r in data["rollups"]]

    assert years("one") == years("two") and len(years("one")) == 2


def test_with_many_rollups_per_worker_the_main_process_writes_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publishing, "write_rollup", fake_write)
    names = "甲乙丙丁戊己"
    with ProcessPoolExecutor(max_workers=1) as pool:
        done = publishing._shared_out(
            tmp_path, spooled([(n, i) for i, n in enumerate(names)]), pool, share=False
        )  # type: ignore[arg-type]
    assert [p.name for p, _ in done] == list(names)
    assert str(os.getpid()) not in {(tmp_path / f"{n}.txt").read_text(encoding="utf-8") for n in names}
