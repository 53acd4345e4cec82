"""Every printed total equals the sum of its printed parts, in every output (DOMAIN.md "Rounding").

Each score is rounded once, when it is computed; subtotals and totals are sums of those rounded scores,
so a reader adding the figures in front of them gets the printed total. Checked on what the tool writes:
the completed workbook (评分结果 and 绩效指标), the roll-up workbook (汇总, 指标明细), the .docx report,
rollup.json and ``score --json``, for ``samples/inbox`` and for a generated inbox of many townships,
each read back with openpyxl / python-docx.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import pytest
import sampledata
from click.testing import CliRunner
from openpyxl import load_workbook
from openpyxl_fill import filled_bytes

from selfeval_xlsx import api
from selfeval_xlsx.cli import cli

D = Decimal
SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "inbox"
CATEGORIES = ("产出指标", "效益指标", "满意度指标")
GENERATED = 45


def dec(value: Any) -> Decimal:
    """A printed number exactly as printed (2 places), whatever type openpyxl returns."""
    assert value is not None and value != "", value
    return D(str(value)).quantize(D("0.01"))


def many_townships(folder: Path) -> None:
    """``GENERATED`` townships of the sample county, each with its own code and figures."""
    ranges = {"街道": 1, "镇": 110, "乡": 210}
    for i in range(GENERATED):
        data = sampledata.township(i % len(sampledata.TOWNS), seed_value=1000 + i)
        name = data["identity"]["unit_name"]
        kind = next(k for k in ranges if k in name)
        code = f"130133{ranges[kind] + i:03d}000"
        data = sampledata.variant(
            data,
            **{"identity.division_code": code, "identity.unit_name": name.replace(kind, f"{i}{kind}", 1)},
        )
        (folder / f"t{i:02d}.xlsx").write_bytes(filled_bytes(data, sampledata.YEAR))


@pytest.fixture(scope="module", params=["samples", "generated"])
def merged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp(request.param)
    inbox = base / "inbox"
    if request.param == "samples":
        shutil.copytree(SAMPLES, inbox)
    else:
        inbox.mkdir()
        many_townships(inbox)
    out = base / "out"
    api.merge(inbox, out, reports=True, jobs=1)
    return out


def rollup_workbook(out: Path) -> Path:
    found = sorted(out.glob("汇总_*.xlsx"))
    assert found
    return found[0]


def test_completed_workbooks_add_up(merged: Path) -> None:
    books = sorted((merged / "completed").glob("*.xlsx"))
    assert books
    for path in books:
        wb = load_workbook(path)
        rows = [r for r in wb["评分结果"].iter_rows(values_only=True)]
        head = next(i for i, r in enumerate(rows) if r[0] == "类别")
        end = next(k for k in range(head + 1, len(rows)) if rows[k][0] == "总分")
        shown = {rows[k][0]: dec(rows[k][3]) for k in range(head + 1, end + 1)}
        total, budget = shown.pop("总分"), shown.pop("预算执行")
        assert set(shown) == set(CATEGORIES), path.name
        assert budget + sum(shown.values()) == total, path.name
        # the explanation under the table: "预算执行 a + 产出指标 b + … = t / 100"
        line = next(r[0] for r in rows if isinstance(r[0], str) and r[0].startswith("预算执行 "))
        figures = [D(x) for x in re.findall(r"\d+\.\d{2}", line.split("/")[0])]
        assert sum(figures[:-1]) == figures[-1] == total, line
        # 评分明细 and the indicator sheet: each category's 核定得分 add up to its printed score
        for sheet in ("评分明细", "绩效指标"):
            ws = wb[sheet]
            header = next(r for r in ws.iter_rows(values_only=True) if r[0] == "序号" and "核定得分" in r)
            col = header.index("核定得分")
            again: dict[str, Decimal] = defaultdict(D)
            for r in ws.iter_rows(values_only=True):
                if isinstance(r[0], int) and r[1] in CATEGORIES:
                    again[r[1]] += dec(r[col])
            assert dict(again) == {k: v for k, v in shown.items() if k in again}, (path.name, sheet)


def test_rollup_workbook_adds_up(merged: Path) -> None:
    wb = load_workbook(rollup_workbook(merged))
    ws = wb["汇总"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[1]
    parts = [header.index(h) for h in ("预算执行得分", "产出指标得分", "效益指标得分", "满意度指标得分")]
    total_col = header.index("核定总分")
    budget_of: dict[str, Decimal] = {}
    total_of: dict[str, Decimal] = {}
    checked = 0
    for r in rows[2:]:
        if r[0] == "合计":
            shown = [r[c] for c in parts if r[c] is not None]
            if shown:  # an average row that prints parts must add up too
                assert sum(dec(v) for v in shown) == dec(r[total_col]), r
            break
        assert sum(dec(r[c]) for c in parts) == dec(r[total_col]), r
        # a unit may have several evaluations (整体 and its projects); indicator rows name the unit only
        budget_of[r[1]] = budget_of.get(r[1], D(0)) + dec(r[parts[0]])
        total_of[r[1]] = total_of.get(r[1], D(0)) + dec(r[total_col])
        checked += 1
    assert checked >= len(total_of) > 0
    # 指标明细: each township's indicator scores plus its budget score give its total
    detail = list(wb["指标明细"].iter_rows(values_only=True))
    h = detail[1]
    code_col, score_col = h.index("行政区划代码"), h.index("核定得分")
    sums: dict[str, Decimal] = defaultdict(D)
    for r in detail[2:]:
        if r[code_col] in total_of:
            sums[r[code_col]] += dec(r[score_col])
    for code, total in total_of.items():
        assert budget_of[code] + sums[code] == total, code


def test_rollup_json_adds_up(merged: Path) -> None:
    data = json.loads((merged / "rollup.json").read_text(encoding="utf-8"))
    for roll in data["rollups"]:
        sums: dict[str, Decimal] = defaultdict(D)
        for i in roll["indicators"]:
            sums[i["code"]] += D(i["score"])
        assert roll["townships"]
        per_unit: dict[str, Decimal] = defaultdict(D)
        for t in roll["townships"]:
            parts = [D(t[k]) for k in ("budget_score", "output_score", "benefit_score", "satisfaction_score")]
            assert sum(parts) == D(t["total"]), t["name"]
            per_unit[t["code"]] += D(t["total"]) - D(t["budget_score"])  # a unit's evaluations together
        for code, indicators in per_unit.items():
            assert indicators == sums[code], code


def test_reports_add_up(merged: Path) -> None:
    reports = sorted((merged / "reports").glob("*.docx"))
    assert reports
    for path in reports:
        text = [p.text for p in docx.Document(str(path)).paragraphs]
        budget = [D(m) for p in text for m in re.findall(r"^1\.预算执行得分(\d+\.\d{2})分", p)]
        cats = {
            m[0]: D(m[1])
            for p in text
            for m in re.findall(r"^\d\.(产出指标|效益指标|满意度指标)得分(\d+\.\d{2})分", p)
        }
        total = [D(m) for p in text for m in re.findall(r"评价总得分(\d+\.\d{2})分", p)]
        assert len(budget) == 1 and len(total) == 1, path.name
        assert budget[0] + sum(cats.values()) == total[0], path.name
        # each indicator paragraph's 核定得分, by category, gives the category's figure
        scores = [D(m) for p in text for m in re.findall(r"；分值[\d.]+分，核定得分(\d+\.\d{2})分", p)]
        assert sum(scores) == sum(cats.values()), path.name


def test_score_json_adds_up(tmp_path: Path) -> None:
    files = [SAMPLES / "清水乡2023.xlsx"]
    for i in (3, 5, 7):
        path = tmp_path / f"t{i}.xlsx"
        path.write_bytes(filled_bytes(sampledata.township(i, seed_value=77 + i), sampledata.YEAR))
        files.append(path)
    for path in files:
        result = CliRunner().invoke(
            cli, ["score", str(path), "-o", str(tmp_path / "out.xlsx"), "--json", "--overwrite"]
        )
        out = json.loads(result.output)
        parts = [D(out["budget_score"]), *(D(v) for v in out["subtotals"].values())]
        assert sum(parts) == D(out["total"]), (path.name, out)


def test_sample_township_that_used_to_print_91_79() -> None:
    """清水乡: 9.30 + 46.87 + 25.63 + 10.00 = 91.80 is now the total (it was 91.79, a sum of unrounded
    scores), and the grade follows the rounded total."""
    scored = api.score_workbook(SAMPLES / "清水乡2023.xlsx")
    r = scored.result
    assert [r.budget.shown, *(f.shown for f in r.subtotals.values())] == [
        D("9.30"),
        D("46.87"),
        D("25.63"),
        D("10.00"),
    ]
    assert r.total.shown == D("91.80")
    assert r.grade == "优秀"
