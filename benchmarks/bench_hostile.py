"""How fast, and in how much memory, each hostile input of issue 5 is refused (or read).

```sh
python benchmarks/bench_hostile.py                   # every case of tests/hostile.py's catalogue
python benchmarks/bench_hostile.py --only zip-bomb-1gb billion-laughs --repeat 9
python benchmarks/bench_hostile.py --out benchmarks/results/hostile.json
```

Each case is built by ``tests/hostile.py`` (the same generator the tests use) and measured twice, each
time in a fresh Python process so that no case's memory is counted for another:

- **score**: ``selfeval_xlsx.api.score_workbook(path)``, what ``validate`` / ``score`` do with the file;
- **merge**: what ``merge`` does with it short of writing outputs: ``intake.collect`` of a folder holding
  only this file, then ``score_workbook`` of every workbook it accepted.

Before measuring, the child process reads and scores one normal filled workbook (so that every module
is imported and every cache is warm); **ΔRSS** is then how far the process's peak RSS (``VmHWM``, reset
just before) rose above its RSS at that moment while reading the case. **ms** is the median wall time
of ``--repeat`` runs (the first run is the one whose memory is measured).

Speed is measured here, never asserted in the tests (see ``DEVELOPERS.md``).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


# --- child: one case, one mode -------------------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    """``VmRSS`` / ``VmHWM`` of this process from ``/proc/self/status`` (Linux), in KB."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))
    except (OSError, StopIteration):
        return None


def _reset_peak() -> int:
    """Start measuring the peak RSS from now; returns the current RSS in KB.

    On Linux the high-water mark is reset through ``/proc/self/clear_refs`` (``ru_maxrss`` cannot be
    used: it keeps the parent's peak across fork and exec). Elsewhere ``ru_maxrss`` is the fallback.
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    rss = _status_kb("VmRSS")
    return rss if rss is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_kb() -> int:
    hwm = _status_kb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(mode: str, path: Path, normal: Path, repeat: int) -> dict[str, Any]:
    """Measure one case in this (fresh) process, after reading the ``normal`` workbook (alone in its
    folder) both ways; returns the figures as a dict."""
    from loguru import logger

    logger.remove()
    from selfeval_xlsx import api
    from selfeval_xlsx.intake import collect

    rules = api.load_rules()
    assert api.score_workbook(normal, rules=rules).valid
    for item in collect(normal.parent).items:
        api.score_workbook(item.data, name=item.name, rules=rules)

    def once() -> str:
        if mode == "score":
            scored = api.score_workbook(path, rules=rules)
            codes = sorted({f.code for f in scored.report.errors})
            return ("拒绝 " + ",".join(codes)) if codes else "接受"
        got = collect(path.parent)
        verdicts = []
        for item in got.items:
            scored = api.score_workbook(item.data, name=item.name, rules=rules)
            verdicts.append("接受" if scored.valid else "退回")
        verdicts += ["退回"] * len(got.rejected) + ["跳过"] * len(got.skipped)
        return " ".join(f"{v}{verdicts.count(v)}" for v in ("接受", "退回", "跳过") if v in verdicts)

    base = _reset_peak()
    started = time.perf_counter()
    verdict = once()
    first = time.perf_counter() - started
    peak = _peak_kb()
    times = [first]
    for _ in range(repeat - 1):
        started = time.perf_counter()
        once()
        times.append(time.perf_counter() - started)
    return {
        "verdict": verdict,
        "ms": statistics.median(times) * 1000,
        "ms_first": first * 1000,
        "base_rss_mb": base / 1024,
        "delta_rss_mb": (peak - base) / 1024,
    }


# --- parent: build the cases, run a child per case and mode ------------------------------------------


def measure(mode: str, path: Path, normal: Path, repeat: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, str(path), str(normal), "--repeat", str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        return {
            "error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else str(proc.returncode)
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    """The same machine description as the merge benchmark's (CPU, memory, versions, git commit)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_merge import machine as merge_machine

    return merge_machine()


def run(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tests"))
    import hostile

    cases = [c for c in hostile.catalogue() if not args.only or c.id in args.only]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        normal = Path(tmp) / "normal" / "元氏0镇2023自评表.xlsx"
        normal.parent.mkdir()
        normal.write_bytes(hostile.template_bytes(index=0))
        print(
            f"{'case':28} {'size':>9}  {'score: verdict':30} {'ms':>8} {'ΔRSS MB':>8}   "
            f"{'merge: verdict':18} {'ms':>8} {'ΔRSS MB':>8}"
        )
        for case in cases:
            folder = Path(tmp) / case.id / "inbox"
            folder.mkdir(parents=True)
            path = case.build(folder)
            if path is None:
                continue
            size = path.stat().st_size
            row: dict[str, Any] = {
                "case": case.id,
                "category": case.category,
                "file": case.name,
                "bytes": size,
            }
            for mode in ("score", "merge"):
                row[mode] = measure(mode, path, normal, args.repeat)
            rows.append(row)
            s, m = row["score"], row["merge"]
            print(
                f"{case.id:28} {size / 1024:8.0f}K  {s.get('verdict', s.get('error', '?'))[:30]:30} "
                f"{s.get('ms', float('nan')):8.1f} {s.get('delta_rss_mb', float('nan')):8.1f}   "
                f"{m.get('verdict', m.get('error', '?'))[:18]:18} {m.get('ms', float('nan')):8.1f} "
                f"{m.get('delta_rss_mb', float('nan')):8.1f}",
                flush=True,
            )
    base = [r[m]["base_rss_mb"] for r in rows for m in ("score", "merge") if "base_rss_mb" in r[m]]
    if base:
        print(f"\nbaseline: RSS {statistics.median(base):.1f} MB after reading one normal workbook")
    return {"machine": machine(), "repeat": args.repeat, "rows": rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", nargs="*", default=[], metavar="ID", help="case ids (default: all)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case and mode (median time)")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "NORMAL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, path, normal = args.child
        print(json.dumps(child(mode, Path(path), Path(normal), max(1, args.repeat))))
        return
    result = run(args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"written: {args.out}")


if __name__ == "__main__":
    main()
