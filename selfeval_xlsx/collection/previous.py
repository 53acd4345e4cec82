"""Last year's roll-up: each unit's total, grade and rate, its indicators and the problems found then.

Read from last year's output folder (its ``rollup.json``, else its ``汇总_*.xlsx``), a ``rollup.json``
or a roll-up workbook. Used to show the change since last year, to flag indicators copied word for word
(same indicator, same target, same actual: a box-ticking pattern) and problems that reappear at the same
place. A file that cannot be read is a finding; it never stops a merge.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..findings import Finding, make
from ..limits import DEFAULT_LIMITS, Limits
from ..messages import text

ROLLUP_JSON = "rollup.json"


class _Unreadable(Exception):
    pass


@dataclass(frozen=True)
class PreviousUnit:
    """A unit's figures in last year's roll-up."""

    code: str
    name: str
    year: int | None
    total: Decimal | None
    grade: str
    rate: Decimal | None
    kind: str = "整体"
    project: str = ""


@dataclass(frozen=True)
class PreviousIndicator:
    seq: int
    level3: str
    target: str
    unit: str
    actual: str


@dataclass(frozen=True)
class PreviousProblem:
    finding: str  # the finding code
    title: str
    sheet: str
    cell: str


@dataclass
class Previous:
    """Last year's roll-up as the comparison needs it; empty (with a finding) when unreadable."""

    file: str
    units: dict[tuple[str, str], PreviousUnit] = field(default_factory=dict)  # (code, evaluation) →
    indicators: dict[str, list[PreviousIndicator]] = field(default_factory=dict)  # by unit code
    problems: dict[str, list[PreviousProblem]] = field(default_factory=dict)  # by unit code
    findings: list[Finding] = field(default_factory=list)

    def unit(self, code: str, kind: str = "整体", project: str = "") -> PreviousUnit | None:
        return self.units.get((code, _evaluation(kind, project)))


def _evaluation(kind: str, project: str) -> str:
    return f"项目：{project}" if kind == "项目" else "整体"


def _dec(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def read_previous(path: str | Path, *, limits: Limits = DEFAULT_LIMITS) -> Previous:
    """Read last year's output folder, ``rollup.json`` or roll-up workbook; never raises for a bad file."""
    path = Path(path)
    prev = Previous(path.name)
    try:
        rollups = _load(path, limits)
        for raw in rollups:
            _absorb(prev, raw)
    except _Unreadable as exc:
        prev.findings.append(
            make(
                "previous-unreadable",
                text("previous-unreadable", file=path.name, reason=str(exc)),
                file=path.name,
            )
        )
        prev.units.clear()
    except (KeyError, TypeError, ValueError, AttributeError):
        prev.findings.append(
            make(
                "previous-unreadable",
                text(
                    "previous-unreadable",
                    file=path.name,
                    reason="内容不是本工具生成的汇总数据（可能已被改动）。",
                ),
                file=path.name,
            )
        )
        prev.units.clear()
    return prev


def _read(path: Path, limits: Limits) -> bytes:
    try:
        if path.stat().st_size > limits.max_file_bytes:
            raise _Unreadable("文件超出处理上限。")
        return path.read_bytes()
    except OSError as exc:
        raise _Unreadable(f"无法读取（{exc.strerror or type(exc).__name__}）。") from exc


def _load(path: Path, limits: Limits) -> list[dict[str, Any]]:
    if path.is_dir():
        if (path / ROLLUP_JSON).is_file():
            return _load(path / ROLLUP_JSON, limits)
        from ..rollup import ROLLUP_FILE_GLOB

        books = sorted(path.glob(ROLLUP_FILE_GLOB))
        if not books:
            raise _Unreadable(f"文件夹中没有 {ROLLUP_JSON} 或“汇总_*.xlsx”。")
        return [r for b in books for r in _load(b, limits)]
    data = _read(path, limits)
    if data[:4] == b"PK\x03\x04":
        from ..rollup_read import read_rollup

        got = read_rollup(data)
        if got is None:
            raise _Unreadable("不是本工具生成的汇总表，或其隐藏的数据工作表已损坏。")
        return [got[1]]
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Unreadable("不是有效的rollup.json。") from exc
    if isinstance(doc, dict) and isinstance(doc.get("rollups"), list):
        return [r for r in doc["rollups"] if isinstance(r, dict)]
    if isinstance(doc, dict) and "townships" in doc:
        return [doc]
    raise _Unreadable("不是本工具生成的rollup.json。")


def _absorb(prev: Previous, raw: Mapping[str, Any]) -> None:
    year = raw.get("year")
    for t in raw.get("townships") or ():
        key = (str(t["code"]), _evaluation(t.get("kind", "整体"), t.get("project", "")))
        prev.units[key] = PreviousUnit(
            code=key[0],
            name=str(t.get("name", "")),
            year=int(year) if isinstance(year, int) else None,
            total=_dec(t.get("total")),
            grade=str(t.get("grade", "")),
            rate=_dec(t.get("rate")),
            kind=str(t.get("kind", "整体")),
            project=str(t.get("project", "")),
        )
    for i in raw.get("indicators") or ():
        prev.indicators.setdefault(str(i["code"]), []).append(
            PreviousIndicator(
                int(i["seq"]), str(i["level3"]), str(i["target"]), str(i.get("unit", "")), str(i["actual"])
            )
        )
    for f in raw.get("findings") or ():
        if f.get("code") and f.get("severity") in ("error", "warning"):
            prev.problems.setdefault(str(f["code"]), []).append(
                PreviousProblem(
                    str(f["finding"]),
                    str(f.get("title", "")),
                    str(f.get("sheet", "")),
                    str(f.get("cell", "")),
                )
            )


@dataclass(frozen=True)
class Change:
    """A unit's figures now and last year."""

    last: PreviousUnit
    total_change: Decimal | None  # points
    rate_change: Decimal | None  # percentage points


def change(last: PreviousUnit, total: Decimal | None, rate: Decimal | None) -> Change:
    """This year's total and rate against last year's."""
    return Change(
        last,
        None if total is None or last.total is None else total - last.total,
        None if rate is None or last.rate is None else rate - last.rate,
    )


@dataclass(frozen=True)
class Indicator:
    """This year's indicator, as compared (``cell``: where its 实际完成值 is)."""

    seq: int
    level3: str
    target: str
    unit: str
    actual: str
    sheet: str | None = None
    cell: str | None = None


def _same(a: str, b: str) -> bool:
    return a.strip() == b.strip()


#: Indicators are flagged as copied only when more than this share of a unit's indicators (and at least
#: :data:`COPIED_MIN` of them) are last year's word for word: one 100% 合格率 met two years running is
#: common, a whole table copied is the box-ticking pattern.
COPIED_SHARE = Decimal("0.5")
COPIED_MIN = 2


def _copy_key(level3: str, target: str, unit: str, actual: str) -> tuple[str, str, str, str]:
    return (level3.strip(), target.strip(), unit.strip(), actual.strip())


def copied_indicators(
    last: Iterable[PreviousIndicator], now: Iterable[Indicator], file: str
) -> list[Finding]:
    """Indicators copied word for word from last year (the same name, target, unit and actual), when
    they are more than :data:`COPIED_SHARE` of the unit's indicators: one finding at each."""
    seen = {_copy_key(p.level3, p.target, p.unit, p.actual) for p in last if p.actual.strip()}
    now = list(now)
    same = [i for i in now if i.actual.strip() and _copy_key(i.level3, i.target, i.unit, i.actual) in seen]
    if len(same) < COPIED_MIN or len(same) <= COPIED_SHARE * len(now):
        return []
    return [
        make(
            "copied-from-last-year",
            text(
                "copied-from-last-year",
                seq=i.seq,
                indicator=i.level3,
                target=i.target,
                actual=i.actual,
                count=len(same),
                total=len(now),
            ),
            file=file,
            sheet=i.sheet,
            cell=i.cell,
            value=i.actual,
        )
        for i in same
    ]


def recurring_problems(last: Iterable[PreviousProblem], now: Iterable[Finding], file: str) -> list[Finding]:
    """One finding listing this year's problems (errors and warnings) that last year's roll-up found
    too, with the same code at the same sheet and cell; none when there are none."""
    before = {(p.finding, p.sheet, p.cell) for p in last}
    again = [
        f
        for f in now
        if f.severity in ("error", "warning") and (f.code, f.sheet or "", f.cell or "") in before
    ]
    if not again:
        return []
    listed = "；".join(f"“{f.title}”（{f.where or '整个文件'}）" for f in again)
    return [
        make(
            "recurring-problem",
            text("recurring-problem", count=len(again), problems=listed),
            file=file,
            value=len(again),
        )
    ]
