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
    """Stands in for ``write_rollup``: records which process wrote which roll-up, in the order written
    (a second write of one roll-up fails: the file is opened with "x")."""
    if roll.name == "坏":
        raise OSError("磁盘已满")
    with (outdir / f"{roll.name}.txt").open("x", encoding="utf-8") as fh:
        fh.write(str(os.getpid()))
    with (outdir / "order.log").open("a", encoding="utf-8") as fh:
        fh.write(roll.name + "\n")
    return outdir / roll.name, outdir / f"{roll.name}.json"


def wait_for(path: Path) -> None:
    """Keeps the pool's only worker busy until ``path`` exists (at most 30 s)."""
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def spooled(names_sizes: list[tuple[str, int]]) -> list[tuple[SimpleNamespace, SimpleNamespace]]:
    return [(SimpleNamespace(name=n), SimpleNamespace(files=["x"] * size)) for n, size in names_sizes]


def writers(folder: Path, names: str) -> dict[str, str]:
    return {n: (folder / f"{n}.txt").read_text(encoding="utf-8") for n in names}


def test_each_rollup_written_once_in_the_given_order_and_the_smallest_by_the_main_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publishing, "write_rollup", fake_write)
    tasks = spooled([("甲", 1), ("乙", 9), ("丙", 5), ("丁", 2)])
    with ProcessPoolExecutor(max_workers=1) as pool:
        busy = pool.submit(wait_for, tmp_path / "甲.txt")  # the worker is busy until 甲 is written here
        done = publishing._shared_out(tmp_path, tasks, pool)  # type: ignore[arg-type]
        busy.result()
    assert [p.name for p, _ in done] == ["甲", "乙", "丙", "丁"]
    by = writers(tmp_path, "甲乙丙丁")
    me = str(os.getpid())
    assert by["甲"] == me  # the smallest, written here while the worker was busy
    # whatever the worker took, it took the largest first; this process the rest, smallest first
    largest_first = ["乙", "丙", "丁", "甲"]
    theirs = [n for n in largest_first if by[n] != me]
    assert theirs == largest_first[: len(theirs)]
    mine = (tmp_path / "order.log").read_text(encoding="utf-8").split()
    assert [n for n in mine if by[n] == me] == largest_first[len(theirs) :][::-1]


def test_without_sharing_the_workers_write_every_rollup_largest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publishing, "write_rollup", fake_write)
    names = "甲乙丙丁戊己"
    tasks = spooled([(n, size) for n, size in zip(names, [3, 1, 6, 2, 5, 4], strict=True)])
    with ProcessPoolExecutor(max_workers=1) as pool:
        done = publishing._shared_out(tmp_path, tasks, pool, share=False)  # type: ignore[arg-type]
    assert [p.name for p, _ in done] == list(names)
    assert str(os.getpid()) not in writers(tmp_path, names).values()
    assert (tmp_path / "order.log").read_text(encoding="utf-8").split() == list("丙戊己甲丁乙")


def test_a_failing_rollup_is_raised_not_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publishing, "write_rollup", fake_write)
    for i, sizes in enumerate(
        ([("甲", 9), ("坏", 1)], [("坏", 9), ("甲", 1)])
    ):  # the bad one smallest, largest
        (tmp_path / str(i)).mkdir()
        with ProcessPoolExecutor(max_workers=1) as pool, pytest.raises(OSError, match="磁盘已满"):
            publishing._shared_out(tmp_path / str(i), spooled(sizes), pool)  # type: ignore[arg-type]


def test_rollup_json_lists_the_counties_in_the_same_order_whatever_the_jobs(tmp_path: Path) -> None:
    api.merge(SAMPLES, tmp_path / "one", jobs=1)
    api.merge(SAMPLES, tmp_path / "two", jobs=2)

    def years(folder: str) -> list[object]:
        data = json.loads((tmp_path / folder / "rollup.json").read_text(encoding="utf-8"))
        return [(r["county"], r["year"], len(r["townships"])) for r in data["rollups"]]

    assert years("one") == years("two") and len(years("one")) == 2
