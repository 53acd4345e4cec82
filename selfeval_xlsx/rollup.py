"""The county roll-up as data: one row per township plus every indicator, panel score and finding.

Built from small per-file summaries (never from whole workbooks), so it stays small however many files
are merged. Rendered to ``汇总_<county>_<year>.xlsx`` by :mod:`selfeval_xlsx.rollup_write` and to
``rollup.json`` by :meth:`Rollup.to_dict`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from .collection.status import PASSED, UnitStatus
from .decimals import HUNDRED, ZERO, q2
from .jsoncodec import decimal_text, plain

#: The amounts (万元) of a township row: kept as typed in memory (totals and rates are computed from
#: them), stored in rollup.json rounded half-up to 2 places (DOMAIN.md: money is rounded when stored).
AMOUNTS = ("initial", "adjusted", "executed")


@dataclass
class TownshipRow:
    """One accepted township (a row of 汇总)."""

    code: str
    name: str
    county: str
    year: int
    initial: Decimal | None
    adjusted: Decimal | None
    executed: Decimal | None
    rate: Decimal | None  # percent, shown (88.28)
    budget_score: Decimal
    output_score: Decimal  # 产出指标 subtotal
    benefit_score: Decimal  # 效益指标
    satisfaction_score: Decimal  # 满意度指标
    total: Decimal
    grade: str
    self_total: Decimal | None
    self_grade: str
    errors: int
    warnings: int
    file: str
    sha256: str
    filled_on: str = ""
    rank: int = 0
    source_rollup: str = ""  # when the row came from a roll-up workbook merged as a unit
    kind: str = "整体"  # 评价类型: 整体 / 项目
    project: str = ""  # 项目名称 when kind is 项目
    basic_rate: Decimal | None = None  # 基本支出 execution rate, percent shown, when the split is filled
    project_rate: Decimal | None = None  # 项目支出 execution rate
    # the round (merge --ledger / --previous): the ledger's execution rate, last year's figures
    ledger_rate: Decimal | None = None  # percent, from the bureau's ledger
    last_total: Decimal | None = None
    last_grade: str = ""
    last_rate: Decimal | None = None

    @property
    def total_change(self) -> Decimal | None:
        """This year's total minus last year's (points)."""
        return None if self.last_total is None else self.total - self.last_total

    @property
    def rate_change(self) -> Decimal | None:
        """This year's execution rate minus last year's (percentage points)."""
        return None if self.last_rate is None or self.rate is None else self.rate - self.last_rate

    @property
    def evaluation(self) -> str:
        """What was evaluated: 整体, or 项目：<name>."""
        return f"项目：{self.project}" if self.kind == "项目" else self.kind

    @property
    def difference(self) -> Decimal | None:
        """Self-reported minus computed total."""
        return None if self.self_total is None else self.self_total - self.total


@dataclass
class IndicatorRow:
    code: str
    name: str
    seq: int
    level1: str
    level2: str
    level3: str
    nature: str
    target: str
    unit: str
    actual: str
    completion: str
    weight: Decimal
    self_score: Decimal | None
    score: Decimal
    method: str
    reason: str


@dataclass
class PanelRow:
    code: str
    name: str
    indicator: int
    level3: str
    member: int
    member_name: str
    post: str
    score: Decimal


@dataclass
class FindingRow:
    file: str
    code: str  # township code ('' when unknown)
    name: str  # township name
    severity: str
    finding: str  # finding code
    title: str
    sheet: str
    cell: str
    message: str
    value: str = ""


@dataclass
class FileRow:
    """A file that was rejected, superseded or skipped, and why (in words a clerk can paste)."""

    file: str
    status: str  # rejected / superseded / skipped / duplicate
    reason: str
    code: str = ""
    name: str = ""
    sha256: str = ""
    replaced_by: str = ""


@dataclass
class Rollup:
    """Everything one roll-up workbook shows."""

    county_code: str
    county: str
    year: int | None
    rules: str
    tool_version: str
    generated: str  # ISO timestamp
    townships: list[TownshipRow] = field(default_factory=list)
    indicators: list[IndicatorRow] = field(default_factory=list)
    panel: list[PanelRow] = field(default_factory=list)
    findings: list[FindingRow] = field(default_factory=list)
    files: list[FileRow] = field(default_factory=list)  # rejected / superseded / skipped
    counts: dict[str, int] = field(default_factory=dict)  # seen / accepted / superseded / rejected / skipped
    grades: tuple[str, ...] = ()  # the profile's grade names, best first
    #: 报送情况 (merge --roster): every roster unit's status, then the units not on the roster
    status: list[UnitStatus] = field(default_factory=list)

    def rank(self) -> None:
        """Rank the units' overall (整体) evaluations by total (desc), then code; ties share a rank.

        Project evaluations (评价类型 项目) are a different exercise on part of a unit's budget: they follow
        the ranking, by code and project, with rank 0 (not ranked), and stay out of its figures."""
        whole = sorted((r for r in self.townships if r.kind != "项目"), key=lambda r: (-r.total, r.code))
        projects = sorted((r for r in self.townships if r.kind == "项目"), key=lambda r: (r.code, r.project))
        self.townships[:] = whole + projects
        prev, rank = None, 0
        for i, row in enumerate(whole, start=1):
            if row.total != prev:
                rank, prev = i, row.total
            row.rank = rank
        for row in projects:
            row.rank = 0

    @property
    def ranked(self) -> list[TownshipRow]:
        """The rows of the ranking: every unit's overall (整体) evaluation, not the project evaluations."""
        return [r for r in self.townships if r.kind != "项目"]

    @property
    def rejected(self) -> list[FileRow]:
        return [f for f in self.files if f.status == "rejected"]

    def totals(self) -> dict[str, Any]:
        """County figures: budget sums, budget-weighted execution rate, mean score, grade distribution."""
        # a project's budget is part of its unit's (整体) budget: summing both would count it twice, and
        # its score is not comparable with the units' overall scores, so the figures are of 整体 rows
        rows = whole = self.ranked
        projects = len(self.townships) - len(whole)
        initial = sum((r.initial or ZERO for r in whole), ZERO)
        adjusted = sum((r.adjusted or ZERO for r in whole), ZERO)
        executed = sum((r.executed or ZERO for r in whole), ZERO)
        rate = q2(executed / adjusted * HUNDRED) if adjusted else None
        mean = q2(sum((r.total for r in rows), ZERO) / len(rows)) if rows else None
        dist = Counter(r.grade for r in rows)
        return {
            "townships": len(rows),
            "initial": q2(initial),
            "adjusted": q2(adjusted),
            "executed": q2(executed),
            "rate": rate,
            "mean_total": mean,
            "max_total": max((r.total for r in rows), default=None),
            "min_total": min((r.total for r in rows), default=None),
            "grades": {g: dist.get(g, 0) for g in (self.grades or tuple(sorted(dist)))},
            **({"projects": projects} if projects else {}),
            **self._coverage(),
        }

    def _coverage(self) -> dict[str, Any]:
        """With a roster: how many of the expected units the figures cover (those 已通过)."""
        expected = [s for s in self.status if s.on_roster]
        if not expected:
            return {}
        return {"expected": len(expected), "covered": sum(1 for s in expected if s.status == PASSED)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (Decimals as strings, exact)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                out[f.name] = [_row(v) for v in value]
            else:
                out[f.name] = plain(value)
        out["totals"] = plain(self.totals())
        # the round's keys only when the merge had a roster / ledger / last year (a plain roll-up's
        # rollup.json is as before)
        if not self.status:
            del out["status"]
        unused = [
            key
            for key, used in (
                ("ledger_rate", any(t.ledger_rate is not None for t in self.townships)),
                ("last_total", any(t.last_total is not None for t in self.townships)),
            )
            if not used
        ]
        if "last_total" in unused:
            unused += ["last_grade", "last_rate"]
        for row, src in zip(out["townships"], self.townships, strict=True):
            row["difference"] = plain(src.difference)
            for key in unused:
                del row[key]
            if src.last_total is not None:
                row["total_change"] = plain(src.total_change)
                row["rate_change"] = plain(src.rate_change)
            for key in AMOUNTS:  # stored: 2 places, half-up, whatever was typed (5012.49000000000001)
                value = getattr(src, key)
                if value is not None:
                    row[key] = decimal_text(q2(value))
        return out


def _row(row: Any) -> dict[str, Any]:
    """A flat row dataclass as a JSON-ready dict (faster than ``asdict``: no deep copies)."""
    names = _FIELD_NAMES.get(type(row))
    if names is None:
        names = _FIELD_NAMES[type(row)] = tuple(f.name for f in fields(row))
    out = {}
    for name in names:
        value = getattr(row, name)
        out[name] = decimal_text(value) if isinstance(value, Decimal) else value
    return out


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


ROLLUP_FILE_GLOB = "汇总_*.xlsx"


def rollup_file_name(county: str, year: int | None) -> str:
    """The roll-up workbook's file name: ``汇总_<县>_<年度>.xlsx`` (made safe for any file system)."""
    from .intake import safe_name

    return safe_name(f"汇总_{county}_{year or '未知年度'}.xlsx")
