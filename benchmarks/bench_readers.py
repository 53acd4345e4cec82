"""What reading one township workbook costs, stage by stage, on the same files: the project's safety
check and expat grid reader against python-calamine (a compiled reader), on both benchmark inboxes.

Usage::

    python benchmarks/bench_readers.py [--n 1000] [--files 300] [--repeat 3]

It reads the inboxes ``bench_merge.py`` caches (run that first for the ``--n`` wanted). python-calamine
is optional: without it its rows are skipped. Every figure is the best of ``--repeat`` passes over the
first ``--files`` files of each inbox, in ms per file, one process, files already in memory.

Rows:

- ``zip floor``: open the zip and inflate every member (bench_merge's step (a), per file);
- ``safety check``: ``safety.check_workbook`` (bounds, CRC, ratio, DOCTYPE scan) keeping the parts;
- ``grid (parts reused)``: ``xlsx.grid.load_grid`` of the sheets the reader asks for, given those parts;
- ``reader total``: ``reader.read_workbook``-equivalent path (check + grid), what merge pays to read;
- ``calamine …``: ``CalamineWorkbook.from_filelike`` then, for the same sheets, ``to_python`` and the
  merged ranges and visibility (what the grid reader extracts, minus formulas, errors and hidden rows).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cached_inboxes import cached_inboxes  # this folder, first on sys.path when a script runs

HERE = Path(__file__).resolve().parent


def best_ms(fn: Callable[[bytes], Any], blobs: list[bytes], repeat: int) -> float:
    """Best of ``repeat`` passes over ``blobs``, ms per file."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for b in blobs:
            fn(b)
        best = min(best, time.perf_counter() - started)
    return 1000 * best / len(blobs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="the bench_merge inbox size to read (default 1000)")
    p.add_argument("--files", type=int, default=300, help="files read per pass (default 300)")
    p.add_argument("--repeat", type=int, default=3, help="passes, the best kept (default 3)")
    p.add_argument("--workdir", type=Path, default=HERE / "work")
    args = p.parse_args()

    from selfeval_xlsx.limits import DEFAULT_LIMITS
    from selfeval_xlsx.reader import _READ_SHEETS
    from selfeval_xlsx.safety import check_workbook
    from selfeval_xlsx.xlsx.grid import load_grid

    try:
        from python_calamine import CalamineWorkbook
    except ImportError:
        CalamineWorkbook = None
        print("python-calamine not installed: its rows are skipped", file=sys.stderr)
    wanted = set(_READ_SHEETS)

    def floor(b: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(b)) as z:
            for info in z.infolist():
                z.read(info)

    def check(b: bytes) -> dict[str, bytes]:
        parts: dict[str, bytes] = {}
        problems = check_workbook(b, "x.xlsx", DEFAULT_LIMITS, parts=parts)
        assert not any(f.severity == "error" for f in problems), problems
        return parts

    def reader(b: bytes) -> None:
        load_grid(b, DEFAULT_LIMITS, sheets=_READ_SHEETS, parts=check(b))

    def calamine(b: bytes) -> None:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(b))
        for meta in wb.sheets_metadata:
            _ = meta.visible
            if meta.name in wanted:
                sheet = wb.get_sheet_by_name(meta.name)
                sheet.to_python(skip_empty_area=False)
                _ = sheet.merged_cell_ranges
        wb.close()

    print(f"{'inbox':<14}{'stage':<34}{'ms/file':>10}")
    for kind, inbox in cached_inboxes(args.workdir, args.n).items():
        blobs = [f.read_bytes() for f in sorted(inbox.iterdir())[: args.files]]
        parts = {id(b): check(b) for b in blobs}
        rows = [
            ("zip floor (inflate all)", best_ms(floor, blobs, args.repeat)),
            ("safety check (keeps parts)", best_ms(check, blobs, args.repeat)),
        ]
        grid_ms = best_ms(
            lambda b, parts=parts: load_grid(b, DEFAULT_LIMITS, sheets=_READ_SHEETS, parts=parts[id(b)]),
            blobs,
            args.repeat,
        )
        rows.append(("grid reader (parts reused)", grid_ms))
        rows.append(("reader total (check + grid)", best_ms(reader, blobs, args.repeat)))
        if CalamineWorkbook is not None:
            rows.append(("calamine (same sheets)", best_ms(calamine, blobs, args.repeat)))
        for stage, ms in rows:
            print(f"{kind:<14}{stage:<34}{ms:>10.2f}")


if __name__ == "__main__":
    main()
