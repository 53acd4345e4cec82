"""Which file counts for each unit: resubmissions (the newest received wins, ties settled by name and
flagged), the tool's own outputs, and the rows of roll-up workbooks merged as units."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from . import messages
from .findings import Finding, make
from .intake import SEP, copy_marked
from .rollup import FileRow

if TYPE_CHECKING:
    from .worker import Processed


#: Received times closer than this are a tie (FAT and zip times have 2-second steps; attachments saved
#: together from one e-mail get the same time).
TIE_SECONDS = 2.0
_NEWER_MARK = re.compile(
    r"修改|更正|改正|修正|修订|最终|终稿|定稿|新(?!建)|(?<![a-z])(?:final|new)(?![a-z])", re.I
)


def received_time(email_date: datetime | None, mtime: float, now: float | None = None) -> float:
    """The e-mail's Date header for a file that came in an e-mail, else the file's modification time;
    a Date in the future (a sender's wrong clock) is not believed: the file's time is used instead."""
    if email_date is not None:
        try:
            stamp = email_date.timestamp()
        except (OverflowError, OSError, ValueError):
            return mtime
        if stamp <= (time.time() if now is None else now) + 600:
            return stamp
    return mtime


def name_rank(name: str) -> int:
    """1 for a name marked as a revision (修改, 更正, 最终, 新…), -1 for a copy (副本, Copy, (1)), else 0;
    a copy of a revision (``自评表(修改) - 副本.xlsx``) is a copy."""
    if copy_marked(name):
        return -1
    stem = name.rsplit(SEP, 1)[-1].rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return 1 if _NEWER_MARK.search(stem) else 0


Unit = tuple[str, int | None, str, str]  # code, year, kind (整体/项目), project


@dataclass
class Settled:
    """What :func:`settle` decided: files accepted, superseded (file rows), rejected (still to be
    described), skipped (the tool's own outputs), roll-up rows not taken (listed, not counted) and
    warnings added to accepted files (for the roll-up's findings)."""

    accepted: list[Processed] = field(default_factory=list)
    superseded: list[FileRow] = field(default_factory=list)
    rejected: list[Processed] = field(default_factory=list)
    skipped: list[FileRow] = field(default_factory=list)
    notes: list[FileRow] = field(default_factory=list)
    findings: list[tuple[str, list[Finding], str, str]] = field(default_factory=list)

    def warn(self, p: Processed, finding: Finding) -> None:
        p.findings.append(finding)
        if p.row is not None:
            p.row.warnings += 1
        self.findings.append((p.name, [finding], p.code, p.unit_name))

    def supersede(self, p: Processed, reason: str, by: str) -> None:
        self.superseded.append(
            FileRow(p.name, "superseded", reason, p.code, p.unit_name, p.sha256, replaced_by=by)
        )


def settle(valid: list[Processed], invalid: list[Processed]) -> Settled:
    """Decide which file counts for each unit (division code and year). The rules (SECURITY.md,
    "Resubmissions and the tool's own outputs"):

    1. A returned copy never saved by another program is the tool's own output, not a reply: skipped.
    2. Among a unit's township workbooks (returned copies edited by the township included), the one
       received last wins (:attr:`Processed.newest_key`); a tie is settled by name and flagged.
       A workbook with errors is superseded when a valid one was received at the same time or later,
       and rejected otherwise.
    3. Roll-up workbooks, newest first, contribute the rows of units not already counted: a unit's own
       accepted workbook wins over a roll-up row, and an earlier-taken roll-up over a later one; the
       rows not taken are listed under the roll-up's name with the reason. A roll-up none of whose
       rows is taken is superseded.
    4. A completed (已评分) workbook is skipped when anything else covers its unit; otherwise the
       newest one stands in for the lost original, with a warning.
    """
    out = Settled()
    primary: dict[Unit, list[Processed]] = {}
    rollups: list[Processed] = []
    completed: list[Processed] = []
    for p in valid + invalid:
        if p.generated == "returned-unedited":
            out.skipped.append(
                FileRow(
                    p.name,
                    "skipped",
                    messages.text("skipped", "returned-unedited"),
                    p.code,
                    p.unit_name,
                    p.sha256,
                )
            )
        elif p.rollup is not None:
            rollups.append(p)
        elif p.generated == "completed":
            completed.append(p)
        else:
            primary.setdefault(p.identity, []).append(p)

    winners: dict[Unit, Processed] = {}
    for unit, files in primary.items():
        good = [p for p in files if p.valid]
        winner = pick(good, out, messages.phrase("file-kind", "submission")) if good else None
        if winner is not None:
            winners[unit] = winner
            out.accepted.append(winner)
        for p in files:
            if p.valid or p is winner:
                continue
            gap = winner.received - p.received if winner is not None else 0.0
            if not p.code or winner is None or gap <= -TIE_SECONDS:
                out.rejected.append(p)  # no valid one, or received after it: the township must know
            elif gap >= TIE_SECONDS:
                out.supersede(
                    p,
                    messages.text("superseded", "newer-valid", unit=p.unit_name, winner=winner.name),
                    winner.name,
                )
            elif name_rank(p.name) < name_rank(winner.name):  # received together: the name says older
                out.supersede(
                    p,
                    messages.text("superseded", "older-by-name", unit=p.unit_name, winner=winner.name),
                    winner.name,
                )
            else:  # received together, nothing says which is newer: returned, to be safe
                out.rejected.append(p)

    taken: dict[Unit, str] = {}
    for p in sorted((r for r in rollups if r.valid), key=lambda r: r.newest_key, reverse=True):
        take_rollup(p, winners, taken, out)
    out.rejected.extend(r for r in rollups if not r.valid)

    covered = {u for u in primary if u[0]} | set(taken)
    spare: dict[Unit, list[Processed]] = {}
    for p in completed:
        unit = p.identity
        if unit in covered or not p.valid:
            by = winners.get(unit)
            reason = (
                messages.text("skipped", "completed-counted", by=by.name)
                if by
                else messages.text("skipped", "completed-covered")
            )
            out.skipped.append(FileRow(p.name, "skipped", reason, p.code, p.unit_name, p.sha256))
        else:
            spare.setdefault(unit, []).append(p)
    for files in spare.values():
        winner = pick(files, out, messages.phrase("file-kind", "completed"))
        out.accepted.append(winner)
        out.warn(winner, make("tool-output", messages.text("tool-output"), file=winner.name))
    out.accepted.sort(key=lambda p: (p.code, p.name))
    order = {p.name: i for i, p in enumerate(valid + invalid)}  # lists in the order files were processed
    out.superseded.sort(key=lambda r: order.get(r.file, len(order)))
    out.rejected.sort(key=lambda p: order.get(p.name, len(order)))
    return out


def pick(files: list[Processed], out: Settled, what: str) -> Processed:
    """The file received last among ``files`` (one unit's); the others are superseded. Files received
    within :data:`TIE_SECONDS` of the latest are a tie: the name decides (:func:`name_rank`, then the
    name), the winner gets a ``resubmission-tie`` warning and the others say the choice must be
    confirmed."""
    latest = max(p.received for p in files)
    close = [p for p in files if latest - p.received < TIE_SECONDS]
    winner = max(close, key=lambda p: (name_rank(p.name), p.received, p.name))
    tie = [p for p in close if p is not winner]
    if tie:
        others = messages.titles([p.name for p in tie[:5]])
        message = messages.text("resubmission-tie", count=len(tie), what=what, others=others)
        out.warn(winner, make("resubmission-tie", message, file=winner.name))
    for p in files:
        if p is winner:
            continue
        reason = messages.text(
            "superseded", "tie" if p in tie else "newer", unit=p.unit_name, what=what, winner=winner.name
        )
        out.supersede(p, reason, winner.name)
    return winner


def take_rollup(p: Processed, winners: dict[Unit, Processed], taken: dict[Unit, str], out: Settled) -> None:
    """Take the rows of roll-up ``p`` whose units nothing else counts; list the others."""
    sub = p.rollup
    assert sub is not None
    excluded: set[str] = set()
    for row in sub.townships:
        unit: Unit = (row.code, row.year, row.kind, row.project)
        own, earlier = winners.get(unit), taken.get(unit)
        if own is not None:
            reason = messages.text(
                "superseded", "rollup-row-own", rollup=p.name, name=row.name, code=row.code, own=own.name
            )
            by = own.name
        elif earlier is not None:
            reason = messages.text(
                "superseded",
                "rollup-row-earlier",
                rollup=p.name,
                name=row.name,
                code=row.code,
                earlier=earlier,
            )
            by = earlier
        else:
            taken[unit] = p.name
            continue
        excluded.add(row.code)
        out.notes.append(
            FileRow(f"{p.name}{SEP}{row.name}", "superseded", reason, row.code, row.name, p.sha256, by)
        )
    p.excluded = frozenset(excluded)
    if sub.townships and len(excluded) == len(sub.townships):
        rows = [n for n in out.notes if n.file.startswith(f"{p.name}{SEP}")]
        out.notes = [n for n in out.notes if n not in rows]
        bys = sorted({n.replaced_by for n in rows})
        named = messages.titles(bys, most=5)
        reason = messages.text("superseded", "rollup-whole", rollup=p.name, count=len(rows), named=named)
        out.supersede(p, reason, bys[0] if len(bys) == 1 else "")
    else:
        out.accepted.append(p)
