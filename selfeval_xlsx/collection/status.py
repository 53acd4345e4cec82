"""Who has reported: each roster unit's status this round (已通过 / 已退回 / 未报送), and who reported
without being on the roster. Pure functions over what the merge received; the roll-up's 报送情况 sheet,
rollup.json and the terminal summary show what they compute."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from .roster import Roster, RosterUnit

PASSED, RETURNED, MISSING = "已通过", "已退回", "未报送"
STATUSES = (PASSED, RETURNED, MISSING)
_SUFFIXES = ("人民政府", "办事处")


@dataclass(frozen=True)
class Receipt:
    """One file the merge received for a unit: ``outcome`` is ``accepted``, ``rejected``, ``superseded``
    or ``duplicate``; ``received`` an ISO date or date-time ('' when unknown)."""

    code: str
    name: str
    outcome: str
    file: str
    received: str = ""
    reason: str = ""


@dataclass
class UnitStatus:
    """One row of 报送情况 (flat, as every roll-up row: stored in rollup.json and the roll-up workbook)."""

    code: str
    name: str
    status: str  # 已通过 / 已退回 / 未报送
    roster_row: int = 0  # the unit's row in the roster; 0: not on the roster
    contact: str = ""
    phone: str = ""
    email: str = ""
    first_received: str = ""
    last_received: str = ""
    returned: int = 0  # how many of its files were returned
    reason: str = ""  # why the latest returned file was returned (已退回)
    files: str = ""  # the files received, one a line

    @property
    def on_roster(self) -> bool:
        return self.roster_row > 0

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class RoundStatus:
    """The status of every roster unit (roster order), then the units not on the roster."""

    roster_file: str
    units: list[UnitStatus] = field(default_factory=list)

    @property
    def expected(self) -> list[UnitStatus]:
        return [u for u in self.units if u.on_roster]

    @property
    def extra(self) -> list[UnitStatus]:
        return [u for u in self.units if not u.on_roster]

    def count(self, status: str) -> int:
        """Roster units with this status."""
        return sum(1 for u in self.expected if u.status == status)

    def counts(self) -> dict[str, int]:
        return {
            "expected": len(self.expected),
            "passed": self.count(PASSED),
            "returned": self.count(RETURNED),
            "missing": self.count(MISSING),
            "not_on_roster": len(self.extra),
        }

    def summary(self) -> str:
        """``应报 12 个单位，已通过 9，已退回 1，未报送 2`` (and those not on the roster)."""
        c = self.counts()
        text = f"应报 {c['expected']} 个单位，已通过 {c['passed']}，已退回 {c['returned']}，未报送 {c['missing']}"
        if c["not_on_roster"]:
            text += f"；名单外报送 {c['not_on_roster']} 个单位"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "roster": self.roster_file,
            "counts": self.counts(),
            "summary": self.summary(),
            "units": [u.to_dict() for u in self.units],
        }


def short_name(name: str) -> str:
    """A unit name as compared: no spaces, without a trailing 人民政府 / 办事处."""
    name = re.sub(r"\s+", "", name)
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _match(roster: Roster, r: Receipt) -> RosterUnit | None:
    for unit in roster.units:
        if r.code and unit.code == r.code:
            return unit
    wanted = short_name(r.name)
    for unit in roster.units:
        if wanted and short_name(unit.name) == wanted:
            return unit
    return None


def _status(rs: list[Receipt]) -> tuple[str, int, str]:
    returned = [r for r in rs if r.outcome == "rejected"]
    if any(r.outcome == "accepted" for r in rs):
        return PASSED, len(returned), ""
    if returned:
        latest = max(returned, key=lambda r: r.received)
        return RETURNED, len(returned), latest.reason
    return MISSING, 0, ""


def _fill(s: UnitStatus, rs: list[Receipt]) -> UnitStatus:
    s.status, s.returned, s.reason = _status(rs)
    dates = sorted(r.received for r in rs if r.received)
    s.first_received, s.last_received = (dates[0], dates[-1]) if dates else ("", "")
    s.files = "\n".join(r.file for r in rs)
    return s


def round_status(roster: Roster, receipts: Iterable[Receipt]) -> RoundStatus:
    """Each roster unit's status from the files received (matched by code, else by name), then the
    units that reported without being on the roster (one row per code, or name when there is none).
    Skipped files (not workbooks) have no unit and are not receipts."""
    by_unit: dict[int, list[Receipt]] = {u.row: [] for u in roster.units}
    extra: dict[str, list[Receipt]] = {}
    for r in receipts:
        unit = _match(roster, r)
        if unit is not None:
            by_unit[unit.row].append(r)
        elif r.code or r.name:
            extra.setdefault(r.code or short_name(r.name), []).append(r)
    out = RoundStatus(roster.file)
    for u in roster.units:
        s = UnitStatus(u.code, u.name, MISSING, u.row, u.contact, u.phone, u.email)
        out.units.append(_fill(s, by_unit[u.row]))
    for rs in extra.values():
        named = next((r for r in rs if r.outcome == "accepted"), rs[0])
        out.units.append(_fill(UnitStatus(named.code, named.name, MISSING), rs))
    return out
