"""How merge would scale past this machine's cores: the main process's time per file against the workers'.

Usage::

    python benchmarks/bench_cores.py INBOX [--jobs 2] [--no-completed] [--phases]
    python benchmarks/bench_cores.py INBOX --worker [--files 300] [--repeat 3] [--no-completed]

Runs ``selfeval_xlsx.api.merge(INBOX, OUT, jobs=J)`` in this process and reads, after it returns (the pool
shut down, its workers reaped): the main process's own CPU time (``getrusage(RUSAGE_SELF)``), the workers'
(``RUSAGE_CHILDREN``), the wall time, and from ``merge.log`` how long intake took before any worker
started. The main process works serially, so it bounds the speed-up whatever the number of cores:

    wall(P) ≈ start-up + intake + N × max(main per file, workers' CPU per file / P)

and P* = workers' CPU per file / main per file is where more cores stop helping. (The main process's
CPU includes intake; merge.log's intake line is written when intake ends, so "intake" is what the log
shows between the run's first line and it, often nothing.) Printed for 16 and 64
cores (and the measured J), as ms per file and as the time for 41,000 workbooks.

``--phases`` also prints the main process's CPU between the steps of ``merge._finish`` (intake, the
pool's start, the first file processed before the pool forks, collecting the results, settling,
staging, the roll-ups, publishing), each in ms per file: the steps are wrapped by name in
``selfeval_xlsx.merge`` for this run only.

``--worker`` runs no merge: it times, in this process, what a worker spends on the first ``--files``
files besides reading, scoring and the completed workbook (``worker.process`` against
``pipeline.score_workbook`` and ``worker._stage``, then each piece of the wrapper alone), and the size
and cost of the :class:`~selfeval_xlsx.worker.Processed` sent back. Best of ``--repeat`` passes, ms of
CPU per file.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

ESTIMATE_FILES = 41_000


def _stamp(line: str) -> float:
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


#: The steps of ``merge._finish`` (and before it) that ``--phases`` stamps, by their names in ``merge``.
PHASES = ("collect", "settle", "publish_workbooks", "build_rollups", "write_rollups", "publish")


def _stamped(stamps: list[tuple[str, float]]) -> None:
    """Wrap the steps of :data:`PHASES` and ``merge._run`` to record the CPU time at each boundary."""
    from selfeval_xlsx import merge as merge_module

    def wrap(name: str) -> None:
        real = getattr(merge_module, name)

        def stamped(*args: Any, **kwargs: Any) -> Any:
            stamps.append((f"before {name}", time.process_time()))
            out = real(*args, **kwargs)
            stamps.append((name, time.process_time()))
            return out

        setattr(merge_module, name, stamped)

    for name in PHASES:
        wrap(name)
    real_run = merge_module._run

    def run(*args: Any, **kwargs: Any) -> Iterator[Any]:
        stamps.append(("pool started", time.process_time()))
        for i, r in enumerate(real_run(*args, **kwargs)):
            if i == 0:
                stamps.append(("first file (before the pool forks)", time.process_time()))
            yield r
        stamps.append(("results collected", time.process_time()))

    merge_module._run = run


def _phases(stamps: list[tuple[str, float]], started: float, ended: float, n: int) -> dict[str, float]:
    """CPU between consecutive stamps, ms per file, each labelled by the step it ends."""
    out, last = {}, started
    for label, at in [*stamps, ("the rest", ended)]:
        out[label] = round(1000 * (at - last) / n, 4)
        last = at
    return out


def _best_ms(fn: Callable[[], Any], n: int, repeat: int, setup: Callable[[], Any] | None = None) -> float:
    """Best of ``repeat`` calls of ``fn`` (``setup`` untimed before each), ms of CPU per file."""
    best = float("inf")
    for _ in range(repeat):
        if setup is not None:
            setup()
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return round(1000 * best / n, 4)


def worker_parts(inbox: Path, files: int, repeat: int, completed: bool) -> dict[str, Any]:
    """What a worker spends per file outside reading, scoring and the completed workbook (see --worker)."""
    from selfeval_xlsx import worker
    from selfeval_xlsx.intake import collect, generated_by_tool
    from selfeval_xlsx.limits import DEFAULT_LIMITS
    from selfeval_xlsx.pipeline import score_workbook
    from selfeval_xlsx.rules import load_rules

    tmp = Path(tempfile.mkdtemp(prefix="bench-cores-worker-"))
    try:
        sub = tmp / "inbox"
        sub.mkdir()
        for f in sorted(inbox.iterdir())[:files]:
            shutil.copy2(f, sub / f.name)
        rules = load_rules()
        worker.remember_rules(rules)
        items = collect(sub, DEFAULT_LIMITS, check=False).items
        n = len(items)
        staging = tmp / "staging"
        (staging / "rows").mkdir(parents=True)
        tasks = [worker.Task(i, rules.source, str(staging), completed, DEFAULT_LIMITS) for i in items]
        worker.process(tasks[0])  # warm: every per-process cache built
        datas = [i.data for i in items]
        scored = [
            score_workbook(d, name=i.name, rules=rules, limits=DEFAULT_LIMITS)
            for d, i in zip(datas, items, strict=True)
        ]
        valid = [(s, i, t) for s, i, t in zip(scored, items, tasks, strict=True) if s.valid]
        rows = [worker._rows(s, i) for s, i, _ in valid]
        found = [worker.finding_rows(i.name, s.report.findings, "", "") for s, i, _ in valid]
        results = [worker.process(t) for t in tasks]
        sent = [pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL) for r in results]

        def fresh_rows() -> None:
            worker.close_spool()
            shutil.rmtree(staging / "rows")
            (staging / "rows").mkdir()

        def stage() -> None:
            for s, i, t in zip(scored, items, tasks, strict=True):
                if completed or not s.valid:
                    worker._stage(s, t, i)

        parts = {
            "process (all of it)": _best_ms(lambda: [worker.process(t) for t in tasks], n, repeat),
            "score_workbook": _best_ms(
                lambda: [
                    score_workbook(d, name=i.name, rules=rules, limits=DEFAULT_LIMITS)
                    for d, i in zip(datas, items, strict=True)
                ],
                n,
                repeat,
            ),
            "_stage": _best_ms(stage, n, repeat),
            "Item.data (read again, hash)": _best_ms(lambda: [i.data for i in items], n, repeat),
            "generated_by_tool": _best_ms(lambda: [generated_by_tool(d) for d in datas], n, repeat),
            "_rows": _best_ms(lambda: [worker._rows(s, i) for s, i, _ in valid], n, repeat),
            "finding_rows": _best_ms(
                lambda: [worker.finding_rows(i.name, s.report.findings, "", "") for s, i, _ in valid],
                n,
                repeat,
            ),
            "_spool": _best_ms(
                lambda: [
                    worker._spool(t, i, (r[1], r[2], f))
                    for (_, i, t), r, f in zip(valid, rows, found, strict=True)
                ],
                n,
                repeat,
                setup=fresh_rows,  # a merge's spool files are new ones, not files overwritten
            ),
            "Processed pickled": _best_ms(
                lambda: [pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL) for r in results], n, repeat
            ),
            "Processed unpickled (main process)": _best_ms(
                lambda: [pickle.loads(b) for b in sent], n, repeat
            ),
        }
        parts["wrapper (process - score_workbook - _stage)"] = round(
            parts["process (all of it)"] - parts["score_workbook"] - parts["_stage"], 4
        )
        return {
            "files": n,
            "completed": completed,
            "ms_per_file": parts,
            "Processed bytes per file": round(sum(map(len, sent)) / n),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_MAIN_ROLLUPS = [0.0]  # CPU seconds the main process spent writing roll-ups beside the workers


def _timed_rollup(*args: Any) -> Any:
    """``publishing.write_rollup``, its CPU counted when it runs in the main process (module-level: the
    pool pickles it by name; a forked worker counts into its own copy, never read)."""
    from selfeval_xlsx import publishing

    started = time.process_time()
    try:
        return publishing._real_write_rollup(*args)  # type: ignore[attr-defined]
    finally:
        _MAIN_ROLLUPS[0] += time.process_time() - started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("inbox", type=Path)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--no-completed", action="store_true")
    p.add_argument("--phases", action="store_true", help="the main process's CPU per step of the merge")
    p.add_argument("--worker", action="store_true", help="no merge: a worker's wrapper, piece by piece")
    p.add_argument("--files", type=int, default=300, help="files for --worker (default 300)")
    p.add_argument("--repeat", type=int, default=3, help="passes for --worker; the best is kept")
    args = p.parse_args()

    from loguru import logger

    logger.remove()
    if args.worker:
        result = worker_parts(args.inbox, args.files, args.repeat, not args.no_completed)
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return

    from selfeval_xlsx import publishing
    from selfeval_xlsx.api import merge

    # the main process writes roll-ups no worker has started (publishing._shared_out): parallel work,
    # counted with the workers', not as the main process's serial share
    publishing._real_write_rollup = publishing.write_rollup  # type: ignore[attr-defined]
    publishing.write_rollup = _timed_rollup  # type: ignore[assignment]
    stamps: list[tuple[str, float]] = []
    if args.phases:
        _stamped(stamps)
    n = sum(1 for _ in args.inbox.iterdir())
    out = Path(tempfile.mkdtemp(prefix="bench-cores-")) / "out"
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    cpu_started = time.process_time()
    merge(args.inbox, out, jobs=args.jobs, completed=not args.no_completed)
    cpu_ended = time.process_time()
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
    main_per = max(0.0, main_cpu - intake - _MAIN_ROLLUPS[0]) / n
    worker_per = (workers_cpu + _MAIN_ROLLUPS[0]) / n
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
        "main_rollups_cpu_s": round(_MAIN_ROLLUPS[0], 2),
        "intake_s": round(intake, 3),
        "ms_per_file": {
            "intake (main, before workers)": round(1000 * intake_per, 3),
            "main after intake": round(1000 * main_per, 3),
            "workers (CPU), with roll-ups the main process wrote": round(1000 * worker_per, 3),
        },
        "cores_where_main_bounds": round(ceiling, 1),
        "model": model,
    }
    if args.phases:
        result["main process, ms of CPU per file, by step"] = _phases(stamps, cpu_started, cpu_ended, n)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
