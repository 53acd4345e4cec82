"""What writing one completed (or returned) workbook costs: ``completed.write_completed`` for a valid
file, ``completed.write_returned`` for a rejected one, as ``worker._stage`` calls them, on the first
files of both benchmark inboxes.

Usage::

    python benchmarks/bench_completed.py [--n 1000] [--files 300] [--repeat 3] [--digest OUT.json]
        [--compare OLD.json] [--profile OUT.prof] [--phases] [--work benchmarks/work]

It reads the inboxes ``bench_merge.py`` caches (run that first for the ``--n`` wanted). Every file is
read and scored once, untimed; then each pass writes every file's workbook into memory. Figures are the
best of ``--repeat`` passes in CPU time (``time.process_time``), ms per file, and the mean size of the
written workbooks.

``--digest``: a SHA-256 of every member of every written workbook, the clock frozen (the 评分结果
stamp and the document properties hold the time), saved as JSON; ``--compare``: such a file from
another commit, checked member by member (speed work must not change what a clerk receives).

``--phases``: one more pass per inbox with the main steps timed apart (CPU ms per file; the timing
wrappers add a little): the standard sheets (``write_standard``, and in it ``overlay`` and
``flush_over``), the 评分结果 and 评分明细 sheets, and the package (``write_package``, and in it the
rows' XML and the deflating).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import sys
import time
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from cached_inboxes import cached_inboxes  # this folder, first on sys.path when a script runs

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from selfeval_xlsx import completed, template, writeback  # noqa: E402
from selfeval_xlsx.pipeline import Scored, score_workbook  # noqa: E402
from selfeval_xlsx.rules import load_rules  # noqa: E402
from selfeval_xlsx.xlsx import bookparts  # noqa: E402


def write(scored: Scored, rules: Any) -> bytes:
    """The workbook ``worker._stage`` writes for a scored file."""
    buffer = io.BytesIO()
    if scored.valid:
        completed.write_completed(buffer, scored)
    else:
        completed.write_returned(buffer, scored.doc, scored.report, rules=rules)
    return buffer.getvalue()


def best_ms(scored: list[Scored], rules: Any, repeat: int) -> tuple[float, float]:
    """Best of ``repeat`` passes in CPU ms per file, and the mean size in KB."""
    best, size = float("inf"), 0
    for _ in range(repeat):
        started = time.process_time()
        size = sum(len(write(s, rules)) for s in scored)
        best = min(best, time.process_time() - started)
    return 1000 * best / len(scored), size / 1024 / len(scored)


class _Frozen(datetime):
    """A clock stopped at one moment, for digests that do not depend on when they were taken."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime(2026, 1, 2, 3, 4, 5, tzinfo=tz)


def digests(scored: list[tuple[str, Scored]], rules: Any) -> dict[str, dict[str, str]]:
    """Per file, per member: the SHA-256 of what is written, the clock frozen."""
    saved = completed.datetime, bookparts.datetime
    completed.datetime = bookparts.datetime = _Frozen  # type: ignore[misc]
    try:
        out = {}
        for name, s in scored:
            with zipfile.ZipFile(io.BytesIO(write(s, rules))) as z:
                out[name] = {m: hashlib.sha256(z.read(m)).hexdigest() for m in z.namelist()}
        return out
    finally:
        completed.datetime, bookparts.datetime = saved


#: (module, function, label) of the steps ``--phases`` times
_PHASES = (
    (completed, "write_standard", "standard sheets"),
    (writeback, "overlay", "  overlay (values → canvases)"),
    (template, "flush_over", "  flush_over (canvases → sheets)"),
    (completed, "_result_sheet", "result sheet"),
    (completed, "_detail_sheet", "detail sheet"),
    (bookparts, "write_package", "package"),
    (bookparts, "_sheet_data", "  rows' XML"),
    (bookparts, "_zip", "  zip (deflate)"),
)


def phases(scored: list[Scored], rules: Any) -> dict[str, float]:
    """CPU ms per file spent in each of :data:`_PHASES` over one pass."""
    spent = dict.fromkeys((label for *_, label in _PHASES), 0.0)
    saved = [(mod, name, getattr(mod, name)) for mod, name, _ in _PHASES]

    def timed(fn: Any, label: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - started

        return call

    for (mod, name, label), (_, _, fn) in zip(_PHASES, saved, strict=True):
        setattr(mod, name, timed(fn, label))
    try:
        for s in scored:
            write(s, rules)
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)
    return {label: 1000 * t / len(scored) for label, t in spent.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="the bench_merge inbox size to read (default 1000)")
    p.add_argument("--files", type=int, default=300, help="files written per pass (default 300)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--work", type=Path, default=HERE / "work", help="where bench_merge.py cached its inboxes")
    p.add_argument("--digest", type=Path, help="save every written member's SHA-256 here (JSON)")
    p.add_argument("--compare", type=Path, help="check against digests saved by --digest")
    p.add_argument("--profile", type=Path, help="cProfile one pass over the generated inbox into this file")
    p.add_argument("--phases", action="store_true", help="time the main steps apart (one more pass)")
    args = p.parse_args()
    inboxes = cached_inboxes(args.work, args.n)
    if not inboxes:
        sys.exit(f"no cached inbox for --n {args.n}: run bench_merge.py first")
    rules = load_rules()
    all_scored: list[tuple[str, Scored]] = []
    print(f"{'inbox':<14} {'files':>5} {'valid':>5} {'ms/file (CPU)':>14} {'KB/file':>8}")
    for kind, folder in inboxes.items():
        files = sorted(folder.glob("*.xlsx"))[: args.files]
        scored = [score_workbook(f.read_bytes(), name=f.name, rules=rules) for f in files]
        all_scored += [(f"{kind}/{f.name}", s) for f, s in zip(files, scored, strict=True)]
        write(scored[0], rules)  # frames drawn, caches warm: what a worker pays once
        ms, kb = best_ms(scored, rules, args.repeat)
        valid = sum(s.valid for s in scored)
        print(f"{kind:<14} {len(scored):>5} {valid:>5} {ms:>14.2f} {kb:>8.1f}")
        if args.phases:
            for label, step in phases(scored, rules).items():
                print(f"    {label:<34} {step:>6.2f}")
        if args.profile and kind == "generated":
            prof = cProfile.Profile()
            prof.runcall(lambda scored=scored: [write(s, rules) for s in scored])
            prof.dump_stats(args.profile)
    if args.digest or args.compare:
        found = digests(all_scored, rules)
        if args.digest:
            args.digest.write_text(json.dumps(found, indent=0, sort_keys=True), encoding="utf-8")
        if args.compare:
            old = json.loads(args.compare.read_text(encoding="utf-8"))
            diff = [
                f"{name}: {m}"
                for name in sorted(old.keys() | found.keys())
                for m in sorted(old.get(name, {}).keys() | found.get(name, {}).keys())
                if old.get(name, {}).get(m) != found.get(name, {}).get(m)
            ]
            print(f"digests: {len(found)} workbooks, {len(diff)} members differ")
            for line in diff[:20]:
                print("  ", line)


if __name__ == "__main__":
    main()
