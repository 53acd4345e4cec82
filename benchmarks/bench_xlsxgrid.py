"""How fast the fast reader (``selfeval_xlsx.xlsx.grid.load_grid``) opens a filled workbook, against
``openpyxl.load_workbook``.

```sh
python benchmarks/bench_xlsxgrid.py               # 10 townships' workbooks, 20 rounds
python benchmarks/bench_xlsxgrid.py --repeat 50
```

The workbooks are the seed and the nine fictional townships of ``tests/sampledata.py``, filled from
the real template (``filled_bytes`` of ``tests/openpyxl_fill.py``). Each reader opens every workbook once to warm up,
then ``--repeat`` times; the figure is the mean wall time per workbook. Three readers: ``load_grid`` of
the whole workbook, ``load_grid`` of the data sheets only (what the reader asks for), and openpyxl's
``load_workbook`` (formulas as written, as the fallback reads them).

Speed is measured here, never asserted in the tests (see ``DEVELOPERS.md``; this used to be
``tests/test_xlsxgrid.py::test_timing_against_openpyxl``).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from selfeval_xlsx import layout
from selfeval_xlsx.xlsx.grid import load_grid

# the sample data and the openpyxl filler are the tests' fixtures (tests/), not part of the package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import sampledata
from openpyxl_fill import filled_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="rounds over the workbooks (default 20)")
    args = parser.parse_args()
    books = [filled_bytes(sampledata.seed(), 2023)] + [
        filled_bytes(sampledata.township(i), 2023) for i in range(9)
    ]

    def mean_ms(read: Callable[[bytes], Any]) -> float:
        for data in books:
            read(data)
        start = time.perf_counter()
        for _ in range(args.repeat):
            for data in books:
                read(data)
        return (time.perf_counter() - start) / (args.repeat * len(books)) * 1000

    data_sheets = [s.name for s in layout.WORKBOOK.data_sheets] + [layout.META_SHEET_NAME]
    grid_ms = mean_ms(load_grid)
    some_ms = mean_ms(lambda d: load_grid(d, sheets=data_sheets))
    openpyxl_ms = mean_ms(lambda d: load_workbook(io.BytesIO(d), data_only=False))
    print(f"mean per workbook over {len(books)} townships x{args.repeat}:")
    print(f"  load_grid                   {grid_ms:7.2f} ms")
    print(f"  load_grid (data sheets)     {some_ms:7.2f} ms")
    print(f"  openpyxl load_workbook      {openpyxl_ms:7.2f} ms ({openpyxl_ms / grid_ms:.1f}x load_grid)")


if __name__ == "__main__":
    main()
