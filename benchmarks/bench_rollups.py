"""CPU time of writing the county roll-ups (``publishing.write_rollups``: workbooks and rollup.json),
per township, on the first files of the cached benchmark inboxes (issue 18).

A merge (``--no-completed``, one process) is run on a copy of the first ``--n`` files of each inbox; at
the point where the merge writes its roll-ups, the roll-ups are written ``--runs`` times into a scratch
folder, serially (``pool=None``) and timed with ``time.process_time()``; the min is reported. Then the
merge goes on as usual. Usage::

    PYTHONPATH=$PWD python benchmarks/bench_rollups.py [--n 300] [--runs 3] [--profile out.prof]
        [--digest out.json | --compare before.json]

``--digest`` writes the SHA-256 of every zip member of each roll-up workbook (but ``docProps/core.xml``,
which holds the time of writing) and of ``rollup.json``, the roll-ups' time stamp set to a fixed one, so
that two commits' outputs can be proved byte for byte the same; ``--compare`` checks them against such a
file and names every member that differs.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from selfeval_xlsx import api, publishing
from selfeval_xlsx import merge as merge_module

WORK = Path("/work/main/benchmarks/work")
INBOXES = ("inbox-n1000-c399-b54-g1", "inbox-n1000-c399-b54-g1-office")


FIXED_TIME = "2026-01-01T00:00:00+08:00"  # the roll-ups' time stamp when their digests are taken


def digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every zip member of the roll-up workbooks in ``folder`` (but docProps/core.xml) and of
    its rollup.json."""
    out = {"rollup.json": hashlib.sha256((folder / "rollup.json").read_bytes()).hexdigest()}
    for book in sorted(folder.glob("*.xlsx")):
        with zipfile.ZipFile(book) as zf:
            for name in zf.namelist():
                if name != "docProps/core.xml":
                    out[f"{book.name}:{name}"] = hashlib.sha256(zf.read(name)).hexdigest()
    return out


def measure(
    inbox: Path, n: int, runs: int, profile: str | None, fixed: bool = False
) -> tuple[int, float, dict[str, str]]:
    """(townships, min CPU seconds of write_rollups, digests of the first run's outputs when ``fixed``:
    the roll-ups' time stamp set to :data:`FIXED_TIME`) on the first ``n`` files of ``inbox``."""
    timings: list[float] = []
    townships = 0
    sums: dict[str, str] = {}
    real = publishing.write_rollups

    def timed(outdir, spooled, pool=None, workers=1):  # type: ignore[no-untyped-def]
        nonlocal townships, sums
        townships = sum(len(roll.townships) for roll, _ in spooled)
        if fixed:
            for roll, _ in spooled:
                roll.generated = FIXED_TIME
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
                if fixed and i == 0:
                    sums = digests(target)
        return real(outdir, spooled, pool, workers)

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
    return townships, min(times), sums


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", help="cProfile the first run of the generated inbox into this file")
    ap.add_argument("--digest", help="write the outputs' member digests (fixed time stamp) to this file")
    ap.add_argument("--compare", help="check the outputs' member digests against this --digest file")
    args = ap.parse_args()
    fixed = bool(args.digest or args.compare)
    found: dict[str, str] = {}
    for k, name in enumerate(INBOXES):
        prof = args.profile if k == 0 else None
        towns, cpu, sums = measure(WORK / name, args.n, args.runs + (1 if prof else 0), prof, fixed)
        found.update({f"{name}/{key}": value for key, value in sums.items()})
        print(
            f"{name}: {towns} townships, write_rollups {cpu * 1000:.0f} ms CPU, "
            f"{cpu / towns * 1000:.2f} ms per township"
        )
    if args.digest:
        Path(args.digest).write_text(json.dumps(found, indent=1, sort_keys=True))
        print(f"{len(found)} digests written to {args.digest}")
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        differ = sorted(k for k in before.keys() | found.keys() if before.get(k) != found.get(k))
        print(
            f"{len(found)} members compared: " + ("all identical" if not differ else f"{len(differ)} differ")
        )
        for key in differ:
            print("  differs:", key)
        if differ:
            sys.exit(1)


if __name__ == "__main__":
    main()
