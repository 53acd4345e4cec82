"""The round applied to a roll-up: who has reported (roster), the ledger's figures, last year's.

:class:`RoundInputs` loads the roster, ledger and last year's roll-up a merge was given (each file's own
problems are findings, never exceptions: a bad one is left out and the merge goes on).
:func:`apply_round` sets the roll-up's 报送情况 rows and each unit's ledger rate and last year's figures,
and returns the ledger's findings; :func:`apply_rows`, once the indicator and finding rows are loaded,
returns the indicators copied from last year and the problems that reappear.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from .. import layout
from ..findings import Finding, make
from ..limits import DEFAULT_LIMITS, Limits
from ..messages import text
from ..rollup import FindingRow, IndicatorRow, Rollup, TownshipRow
from ..xlsx.cells import a1
from .ledger import DEFAULT_TOLERANCE, Ledger, Reported, check_ledger, read_ledger
from .previous import Indicator, Previous, copied_indicators, read_previous, recurring_problems
from .roster import Roster, county_of, read_roster
from .status import MISSING, Receipt, RoundStatus, round_status


class FileRowLike(Protocol):
    """What a receipt is made from (a :class:`~selfeval_xlsx.rollup.FileRow`, or an accepted row)."""

    file: str
    code: str
    name: str
    reason: str


@dataclass
class RoundInputs:
    """What a merge was given beyond its inbox (each part optional)."""

    roster: Roster | None = None
    ledger: Ledger | None = None
    previous: Previous | None = None
    tolerance: Decimal = DEFAULT_TOLERANCE

    @classmethod
    def load(
        cls,
        roster: str | Path | None = None,
        ledger: str | Path | None = None,
        previous: str | Path | None = None,
        *,
        ledger_unit: str | None = None,
        rules: Any = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> RoundInputs:
        """Read the given files (never raises for a bad one: see :attr:`findings`)."""
        return cls(
            roster=None if roster is None else read_roster(roster, limits=limits),
            ledger=None if ledger is None else read_ledger(ledger, unit=ledger_unit, limits=limits),
            previous=None if previous is None else read_previous(previous, limits=limits),
            tolerance=getattr(rules, "ledger_tolerance", DEFAULT_TOLERANCE),
        )

    def __bool__(self) -> bool:
        return any(x is not None for x in (self.roster, self.ledger, self.previous))

    @property
    def findings(self) -> list[Finding]:
        """The problems of the roster, ledger and last year's files themselves."""
        return [
            f for part in (self.roster, self.ledger, self.previous) if part is not None for f in part.findings
        ]


def _is_whole(t: TownshipRow) -> bool:
    return t.kind != "项目"


def apply_round(
    roll: Rollup, inputs: RoundInputs, receipts: Iterable[Receipt], *, only_roll: bool = True
) -> tuple[RoundStatus | None, list[Finding]]:
    """Set ``roll``'s 报送情况 rows, its units' ledger rates and last year's figures; return the status
    (``None`` without a usable roster) and the findings to list in the roll-up (the round files' own
    problems and the ledger's). ``only_roll``: this is the merge's only roll-up (else the roster's
    units and the receipts of other areas are left to their own roll-ups)."""
    found: list[Finding] = list(inputs.findings)
    status = None
    roster = inputs.roster
    if roster is not None and roster.usable:
        if not only_roll:
            mine = [u for u in roster.units if county_of(u.code) in ("", roll.county_code)]
            roster = Roster(roster.file, mine)
            receipts = [r for r in receipts if county_of(r.code) in ("", roll.county_code)]
        status = round_status(roster, receipts)
        roll.status = status.units
        for u in status.extra:
            first = u.files.split("\n")[0]
            message = text("not-on-roster", name=u.name or "（未填单位名称）", code=u.code or "无代码")
            found.append(make("not-on-roster", message, file=first, value=u.code))
    if inputs.ledger is not None:
        whole = [t for t in roll.townships if _is_whole(t) and not t.source_rollup]
        reported = [Reported(t.code, t.name, t.file, t.initial, t.adjusted, t.executed) for t in whole]
        matched, ledger_found = check_ledger(inputs.ledger, reported, tolerance=inputs.tolerance)
        found += ledger_found
        for t in whole:
            row = matched.get(t.code or t.name)
            t.ledger_rate = None if row is None else row.rate
    if inputs.previous is not None:
        for t in roll.townships:
            last = inputs.previous.unit(t.code, t.kind, t.project)
            if last is not None:
                t.last_total, t.last_grade, t.last_rate = last.total, last.grade, last.rate
    return status, found


def _indicator_cell(index: int, key: str) -> tuple[str, str]:
    """Where an indicator's value is, when the table was read without blank rows in between."""
    p = layout.INDICATOR_SHEET.find("indicators")
    return layout.INDICATOR_SHEET.name, a1(layout.table_row(p, index), layout.table_col(p, key))


def apply_rows(roll: Rollup, previous: Previous | None) -> list[Finding]:
    """Once ``roll``'s rows are loaded: indicators copied word for word from last year, and last year's
    problems found again (one finding per unit listing them)."""
    if previous is None or not previous.units:
        return []
    files = {t.code: t.file for t in roll.townships if _is_whole(t) and not t.source_rollup}
    by_unit: dict[str, list[IndicatorRow]] = {}
    for i in roll.indicators:
        if i.code in files:
            by_unit.setdefault(i.code, []).append(i)
    out: list[Finding] = []
    for code, rows in by_unit.items():
        now = [
            Indicator(r.seq, r.level3, r.target, r.unit, r.actual, *_indicator_cell(n, "actual"))
            for n, r in enumerate(rows[: len(rows)])
        ]
        out += copied_indicators(previous.indicators.get(code, []), now, files[code])
    problems: dict[str, list[Finding]] = {}
    for f in roll.findings:
        if f.code in files and f.file == files[f.code]:
            problems.setdefault(f.code, []).append(
                Finding(f.finding, f.message, f.severity, f.file, f.sheet or None, f.cell or None)  # type: ignore[arg-type]
            )
    for code, now_found in problems.items():
        out += recurring_problems(previous.problems.get(code, []), now_found, files[code])
    return out


def round_finding_rows(roll: Rollup, findings: Iterable[Finding]) -> list[FindingRow]:
    """Findings as the roll-up lists them: named by the unit whose file they are about ('' for the round
    files' own problems)."""
    from ..worker import finding_rows  # the rows a worker makes of a file's findings

    units = {t.file: (t.code, t.name) for t in roll.townships}
    rows: list[FindingRow] = []
    for f in findings:
        code, name = units.get(f.file or "", ("", ""))
        rows += finding_rows(f.file or "", [f], code, name)
    return rows


def _day(stamp: float | None) -> str:
    if stamp is None:
        return ""
    try:
        return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return ""


def _first_problem(reason: str) -> str:
    """A rejection's reason in one line: its first numbered problem (and how many more), else its first
    line."""
    lines = [line.strip() for line in reason.splitlines() if line.strip()]
    numbered = [line.partition(". ")[2] for line in lines if line.partition(". ")[0].isdigit()]
    if numbered:
        return numbered[0] + (f"（另有{len(numbered) - 1}处问题）" if len(numbered) > 1 else "")
    return lines[0] if lines else ""


def receipts_of(outcomes: Iterable[tuple[str, FileRowLike]], received: Mapping[str, float]) -> list[Receipt]:
    """Receipts from the merge's file rows (``outcome``, row with ``file``, ``code``, ``name``,
    ``reason``) and when each file was received (by file name, a timestamp)."""
    return [
        Receipt(
            row.code,
            row.name,
            outcome,
            row.file,
            _day(received.get(row.file)),
            _first_problem(row.reason) if outcome == "rejected" else "",
        )
        for outcome, row in outcomes
        if row.code or row.name
    ]


def write_reminders(
    folder: Path, roll: Rollup, *, now: datetime | None = None, rules: Any = None
) -> list[Path]:
    """A reminder draft (``催报_<单位>.eml``) in ``folder`` for each roster unit 未报送 with an e-mail, with
    the unit's prefilled workbook attached (:mod:`selfeval_xlsx.collection.prefill`; its grades from ``rules``)."""
    import io

    from .prefill import prefilled_file_name, write_prefilled
    from .reminders import reminder_draft, reminder_file_name
    from .roster import RosterUnit

    out = []
    for s in roll.status:
        if s.on_roster and s.status == MISSING and s.email:
            path = folder / reminder_file_name(s.name)
            unit = RosterUnit(
                row=s.roster_row or 0, code=s.code, name=s.name, contact=s.contact, email=s.email
            )
            workbook = io.BytesIO()
            write_prefilled(workbook, unit, year=roll.year, county=roll.county, rules=rules)
            data = reminder_draft(
                unit=s.name,
                email=s.email,
                contact=s.contact,
                year=roll.year,
                county=roll.county,
                now=now,
                attachment=workbook.getvalue(),
                attachment_name=prefilled_file_name(s.name, roll.year),
            )
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            out.append(path)
    return out
