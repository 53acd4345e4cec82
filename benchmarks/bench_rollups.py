"""CPU time of writing the county roll-ups (``publishing.write_rollups``: workbooks and rollup.json),
per township, on the first files of the cached benchmark inboxes (issue 18).

A merge (``--no-completed``, one process) is run on a copy of the first ``--n`` files of each inbox; at
the point where the merge writes its roll-ups, the roll-ups are written ``--runs`` times into a scratch
folder, serially (``pool=None``) and timed with ``time.process_time()``; the min is reported. Then the
merge goes on as usual. Usage::

    PYTHONPATH=$PWD python benchmarks/bench_rollups.py [--n 300] [--runs 3] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import shutil
import tempfile
import time
from pathlib import Path

from selfeval_xlsx import api, publishing
from selfeval_xlsx import merge as merge_module

WORK = Path("/work/main/benchmarks/work")
INBOXES = ("inbox-n1000-c399-b54-g1", "inbox-n1000-c399-b54-g1-office")


def measure(inbox: Path, n: int, runs: int, profile: str | None) -> tuple[int, float]:
    """(townships, min CPU seconds of write_rollups) on the first ``n`` files of ``inbox``."""
    timings: list[float] = []
    townships = 0
    real = publishing.write_rollups

    def timed(outdir, spooled, pool=None):  # type: ignore[no-untyped-def]
        nonlocal townships
        townships = sum(len(roll.townships) for roll, _ in spooled)
        with tempfile.TemporaryDirectory() as scratch:
            for i in range(runs):
                target = Path(scratch) / f"run{i}"
                target.mkdir()
                prof = cProfile.Profile() if profile and i == 0 else None
                start = time.process_time()
                if prof is not None:
                    prof.enable()
                real(target, spooled, None)
                if prof is not None:
                    prof.disable()
                    prof.dump_stats(profile)
                timings.append(time.process_time() - start)
        return real(outdir, spooled, pool)

    with tempfile.TemporaryDirectory() as tmp:
        box = Path(tmp) / "inbox"
        box.mkdir()
        for f in sorted(inbox.glob("*.xlsx"))[:n]:
            shutil.copyfile(f, box / f.name)
        merge_module.write_rollups = timed  # type: ignore[assignment]
        try:
            api.merge(box, Path(tmp) / "out", jobs=1, completed=False)
        finally:
            merge_module.write_rollups = real
    times = timings[1:] if profile else timings
    return townships, min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", help="cProfile the first run of the generated inbox into this file")
    args = ap.parse_args()
    for k, name in enumerate(INBOXES):
        prof = args.profile if k == 0 else None
        towns, cpu = measure(WORK / name, args.n, args.runs + (1 if prof else 0), prof)
        print(
            f"{name}: {towns} townships, write_rollups {cpu * 1000:.0f} ms CPU, "
            f"{cpu / towns * 1000:.2f} ms per township"
        )


if __name__ == "__main__":
    main()
