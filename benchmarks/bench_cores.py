"""How merge would scale past this machine's cores: the main process's time per file against the workers'.

Usage::

    python benchmarks/bench_cores.py INBOX [--jobs 2] [--no-completed]

Runs ``selfeval_xlsx.api.merge(INBOX, OUT, jobs=J)`` in this process and reads, after it returns (the pool
shut down, its workers reaped): the main process's own CPU time (``getrusage(RUSAGE_SELF)``), the workers'
(``RUSAGE_CHILDREN``), the wall time, and from ``merge.log`` how long intake took before any worker
started. The main process works serially, so it bounds the speed-up whatever the number of cores:

    wall(P) ≈ start-up + intake + N × max(main per file, workers' CPU per file / P)

and P* = workers' CPU per file / main per file is where more cores stop helping. (The main process's
CPU includes intake; merge.log's intake line is written when intake ends, so "intake" is what the log
shows between the run's first line and it, often nothing.) Printed for 16 and 64
cores (and the measured J), as ms per file and as the time for 41,000 workbooks.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

ESTIMATE_FILES = 41_000


def _stamp(line: str) -> float:
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("inbox", type=Path)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--no-completed", action="store_true")
    args = p.parse_args()

    from loguru import logger

    from selfeval_xlsx.api import merge

    logger.remove()
    n = sum(1 for _ in args.inbox.iterdir())
    out = Path(tempfile.mkdtemp(prefix="bench-cores-")) / "out"
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    merge(args.inbox, out, jobs=args.jobs, completed=not args.no_completed)
    wall = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    main_cpu = (
        own.ru_utime + own.ru_stime - before.ru_utime - before.ru_stime
    )  # this process's imports left out
    workers_cpu = kids.ru_utime + kids.ru_stime
    lines = (out / "merge.log").read_text(encoding="utf-8").splitlines()
    first = _stamp(lines[0])
    intake = next((_stamp(x) - first for x in lines if re.search(r"\bintake: ", x)), 0.0)
    shutil.rmtree(out.parent, ignore_errors=True)

    # the main process's CPU includes its imports and intake; per file after intake:
    main_per = max(0.0, main_cpu - intake) / n
    worker_per = workers_cpu / n
    intake_per = intake / n
    ceiling = worker_per / main_per if main_per else float("inf")
    model = {}
    for cores in (args.jobs, 16, 64):
        per = intake_per + max(main_per, worker_per / cores)
        model[cores] = {
            "ms_per_file": round(1000 * per, 3),
            "minutes_41000": round(ESTIMATE_FILES * per / 60, 2),
        }
    result = {
        "files": n,
        "jobs": args.jobs,
        "completed": not args.no_completed,
        "wall_s": round(wall, 2),
        "main_cpu_s": round(main_cpu, 2),
        "workers_cpu_s": round(workers_cpu, 2),
        "intake_s": round(intake, 3),
        "ms_per_file": {
            "intake (main, before workers)": round(1000 * intake_per, 3),
            "main after intake": round(1000 * main_per, 3),
            "workers (CPU)": round(1000 * worker_per, 3),
        },
        "cores_where_main_bounds": round(ceiling, 1),
        "model": model,
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
