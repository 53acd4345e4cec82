"""What one township workbook costs from the document read to the scored result, stage by stage: the
schema and cross-field rules (``validate.validate_document``), the typed submission
(``model.Submission.from_document``), scoring (``scoring.score_submission``) and the audit.

Usage::

    python benchmarks/bench_score.py [--workdir benchmarks/work] [--n 1000] [--files 300] [--repeat 3]

It reads the inboxes ``bench_merge.py`` caches (run that first for the ``--n`` wanted), reads the first
``--files`` files of each once with ``reader.read_workbook`` (not timed), then times each stage over those
documents. Every figure is the best of ``--repeat`` passes, in ms of CPU time (``time.process_time``) per
file, one process, after one warm-up pass (schema compiled, rules loaded).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cached_inboxes import cached_inboxes  # this folder, first on sys.path when a script runs

HERE = Path(__file__).resolve().parent


def best_ms(fn: Callable[[Any], Any], items: list[Any], repeat: int) -> float:
    """Best of ``repeat`` passes of ``fn`` over ``items``, ms of CPU per item."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - started)
    return 1000 * best / len(items)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", type=Path, default=HERE / "work", help="where bench_merge caches its inboxes")
    p.add_argument("--n", type=int, default=1000, help="the bench_merge inbox size to read (default 1000)")
    p.add_argument("--files", type=int, default=300, help="documents per pass (default 300)")
    p.add_argument("--repeat", type=int, default=3, help="passes; the best is kept (default 3)")
    args = p.parse_args()

    sys.path.insert(0, str(HERE.parent))
    from selfeval_xlsx.audit import audit
    from selfeval_xlsx.model import Submission
    from selfeval_xlsx.pipeline import score_document
    from selfeval_xlsx.reader import read_workbook
    from selfeval_xlsx.rules import load_rules
    from selfeval_xlsx.scoring import score_submission
    from selfeval_xlsx.validate import validate_document

    rules = load_rules()
    inboxes = cached_inboxes(args.workdir, args.n)
    if not inboxes:
        raise SystemExit(f"no cached inbox for --n {args.n} in {args.workdir}: run bench_merge.py first")
    print(f"{'inbox':<14}{'stage':<34}{'ms/file':>9}")
    for kind, folder in inboxes.items():
        files = sorted(folder.glob("*.xlsx"))[: args.files]
        docs = [read_workbook(f.read_bytes(), name=f.name) for f in files]
        reports = [validate_document(d, rules) for d in docs]
        valid = [d for d, r in zip(docs, reports, strict=True) if r.valid]
        subs = [Submission.from_document(d) for d in valid]
        results = [score_submission(s, rules) for s in subs]
        scored = list(zip(valid, subs, results, strict=True))
        for d in docs:  # warm-up: every cache built, as in a worker after its first file
            score_document(d, validate_document(d, rules), rules)
        rows = {
            "validate_document": (lambda d: validate_document(d, rules), docs),
            "Submission.from_document": (Submission.from_document, valid),
            "score_submission": (lambda s: score_submission(s, rules), subs),
            "audit": (lambda t: audit(t[1], t[2], rules, t[0].where), scored),
            "validate + score_document": (
                lambda d: score_document(d, validate_document(d, rules), rules),
                docs,
            ),
        }
        for stage, (fn, items) in rows.items():
            ms = best_ms(fn, items, args.repeat) * len(items) / len(docs)
            print(f"{kind:<14}{stage:<34}{ms:>9.3f}")
        print(f"{kind:<14}{'(documents, valid)':<34}{len(docs):>5} {len(valid)}")


if __name__ == "__main__":
    main()
