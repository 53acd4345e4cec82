"""What runs in a worker for each file of a merge: read → validate → score one item, write its
completed or returned workbook (and report) into the staging folder, spool its roll-up rows, and send
back a small :class:`Processed`."""

from __future__ import annotations

import errno as _errno
import io
import itertools
import os
import pickle
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import messages
from .errors import StagingWriteError
from .findings import Finding, make
from .intake import ChangedFile, Item, Rejected, generated_by_tool, refused
from .layout import DEFAULT_KIND, KINDS
from .limits import Limits
from .output import (
    os_error_in,
)
from .pipeline import Scored, score_workbook
from .resubmissions import name_rank, received_time
from .rollup import FindingRow, IndicatorRow, PanelRow, Rollup, TownshipRow
from .rules import Rules, load_rules
from .runlog import log_error
from .signing import NO_KEYS, KeyRing


@dataclass
class Processed:
    """What a worker sends back about one candidate file (small: no workbook cells)."""

    name: str
    origin: str
    sha256: str
    mtime: float
    email_date: datetime | None
    valid: bool
    findings: list[Finding]
    code: str = ""
    year: int | None = None
    unit_name: str = ""
    county: str = ""
    filled_on: str = ""
    row: TownshipRow | None = None
    staged: str = ""  # file name of the completed/returned workbook in the staging folder
    report_staged: str = ""  # file name of the drafted 自评报告 in the staging folder
    rollup: Rollup | None = None  # when the file is itself a roll-up workbook (townships and files only)
    rows_file: str = ""  # spooled (indicators, panel, finding rows) in the staging folder's rows/
    generated: str = ""  # intake.generated_by_tool: 'completed' / 'returned' / 'returned-unedited' / ''
    excluded: frozenset[str] = frozenset()  # codes of a roll-up's rows not taken (counted elsewhere)
    kind: str = DEFAULT_KIND  # 评价类型: 整体 / 项目
    project: str = ""  # 项目名称 when kind is 项目
    email_from: str = ""  # From header of the e-mail the file came in ('' when not from an e-mail)
    #: an Item whose kind intake left to the worker (``collect(defer=True)``) and that is no workbook to
    #: read: the entry intake would have rejected, which ``merge`` puts back among intake's rejected
    refused: Rejected | None = None

    @property
    def identity(self) -> tuple[str, int | None, str, str]:
        """What a resubmission replaces: the same unit (code), year, kind and project."""
        return (self.code, self.year, self.kind, self.project)

    @property
    def received(self) -> float:
        """When the bureau received the file: see :func:`received_time`."""
        return received_time(self.email_date, self.mtime)

    @property
    def newest_key(self) -> tuple[float, int, str]:
        """Order of resubmissions: when the file was received, then what its name says (a name marked
        修改/更正/最终/新 before an unmarked one, a 副本/Copy/(1) copy last), then the name. 填报日期 does not
        decide (a typo of 2042 would win forever). Received times within :data:`TIE_SECONDS` are a tie
        that :func:`pick` settles by name and flags for the clerk."""
        return (self.received, name_rank(self.name), self.name)


@dataclass(frozen=True)
class Task:
    item: Item
    rules: str  # the profile's source file: workers load (and cache) it themselves
    staging: str
    completed: bool
    limits: Limits
    reports: bool = False
    report_defaults: Mapping[str, Any] | None = None
    keys: KeyRing = NO_KEYS  # verifies roll-ups merged as a unit (issue 13)


def process(task: Task) -> Processed:
    """Read → validate → score one item; write its completed or returned workbook into staging."""
    item = task.item
    try:
        return _process_unsafe(task)
    except StagingWriteError:  # the output's disk, not the file: the whole run stops, nothing published
        raise
    except Exception as exc:  # a bug must not take the batch down: the file is rejected, not lost
        log_error("unexpected failure on {}", item.name)
        return Processed(
            **_received(item),
            valid=False,
            findings=[
                *item.findings,
                make(
                    "internal-error",
                    messages.text("internal-error", error=type(exc).__name__),
                    file=item.name,
                ),
            ],
        )


def _received(item: Item) -> dict[str, Any]:
    """What a worker reports of an item whatever becomes of it: its name, origin, hash and arrival."""
    return dict(
        name=item.name,
        origin=item.origin,
        sha256=item.sha256,
        mtime=item.mtime,
        email_date=item.email_date,
        email_from=item.email_from,
    )


def _process_unsafe(task: Task) -> Processed:
    from .rollup_check import check_rollup_workbook
    from .rollup_read import is_rollup_workbook

    item = task.item
    base = _received(item)
    try:
        data = item.data
    except ChangedFile:
        message = messages.text("file-changed")
        return Processed(
            **base, valid=False, findings=[*item.findings, make("file-changed", message, file=item.name)]
        )
    scored = score_workbook(data, name=item.name, rules=_rules(task.rules), limits=task.limits)
    # An Item intake did not sniff (kind DEFERRED) that is no .xlsx/.xlsm package: the reader's package
    # check sniffs it first and refuses it before reading a cell, so only a document left empty needs
    # the sniff again (refused() is exact either way).
    refusal = None if scored.doc.data else refused(item, data, task.limits)
    if refusal is not None:
        return Processed(**base, valid=False, findings=list(refusal.findings), refused=refusal)
    generated = generated_by_tool(data)
    # A roll-up workbook (merged as a unit) is never a valid township workbook: it is looked for only
    # among the invalid ones, which spares every valid file a second opening of its zip.
    if not scored.valid and is_rollup_workbook(data):
        sub, checked = check_rollup_workbook(data, item.name, _rules(task.rules), task.keys)
        if sub is None or any(f.severity == "error" for f in checked):  # rejected whole, never in part
            rejected = Processed(**base, valid=False, findings=[*item.findings, *checked])
            if sub is not None:
                rejected.code, rejected.year, rejected.unit_name = sub.county_code, sub.year, sub.county
            return rejected
        if sub is not None:
            rows = (
                sub.indicators,
                sub.panel,
                [*sub.findings, *finding_rows(item.name, checked, "", sub.county)],
            )
            sub.indicators, sub.panel, sub.findings = [], [], []
            return Processed(
                **base,
                valid=True,
                findings=[*item.findings, *checked],
                rollup=sub,
                code=sub.county_code,
                year=sub.year,
                county=sub.county,
                unit_name=sub.county,
                rows_file=_spool(task, item, rows),
            )
    ident = scored.doc.data.get("identity", {}) if isinstance(scored.doc.data, dict) else {}
    scored.report.extend(_date_findings(item, ident.get("filled_on"), scored))
    findings = [*item.findings, *scored.report.findings]
    out = Processed(
        **base,
        generated=generated,
        valid=scored.valid,
        findings=findings,
        code=str(ident.get("division_code") or ident.get("credit_code") or ""),
        kind=ident.get("kind") if ident.get("kind") in KINDS else DEFAULT_KIND,
        project=str(ident.get("project_name") or "") if ident.get("kind") == "项目" else "",
        year=ident.get("year") if isinstance(ident.get("year"), int) else None,
        unit_name=str(ident.get("unit_name") or ""),
        county=str(ident.get("county") or ""),
        filled_on=str(ident.get("filled_on") or ""),
    )
    if scored.valid and scored.submission and scored.result:
        out.row, indicators, panel = _rows(scored, item)
        found = finding_rows(item.name, findings, out.code, out.unit_name)
        out.rows_file = _spool(task, item, (indicators, panel, found))
    if task.completed or not scored.valid:
        out.staged = _stage(scored, task, item)
    if task.reports and scored.valid and scored.result is not None:
        out.report_staged = _stage_report(scored, task, item)
    return out


def _date_findings(item: Item, filled_on: Any, scored: Scored) -> list[Finding]:
    """Warnings for a 填报日期 after the day the file was received (or after today), and for an e-mail
    Date header in the future; both at the 填报日期 cell, where the clerk checks the dates."""
    now = time.time()
    where = scored.doc.where("/identity/filled_on")
    where["file"] = item.name
    out = []
    if item.email_date is not None and _stamp(item) > now + 600:  # received_time() does not believe it
        out.append(
            make(
                "future-date",
                messages.text("future-date", "email", sent=item.email_date),
                value=item.email_date.isoformat(),
                **where,
            )
        )
    if any(f.severity == "error" and f.cell and f.cell == where["cell"] for f in scored.report.findings):
        return out  # the date is already an error there (9999-12-31): one finding is enough
    try:
        filled = date.fromisoformat(str(filled_on)[:10])
    except ValueError:
        return out
    received = date.fromtimestamp(min(received_time(item.email_date, item.mtime, now), now))  # local day
    if filled > received:
        out.append(
            make(
                "future-date",
                messages.text(
                    "future-date", "filled-on", filled=filled.isoformat(), received=received.isoformat()
                ),
                value=str(filled_on),
                **where,
            )
        )
    return out


def _stamp(item: Item) -> float:
    try:
        return item.email_date.timestamp() if item.email_date else item.mtime
    except (OverflowError, OSError, ValueError):
        return item.mtime


def _stage_report(scored: Scored, task: Task, item: Item) -> str:
    from .report import write_report

    staged = f"{item.sha256[:16]}.docx"
    buffer = io.BytesIO()
    try:
        write_report(buffer, scored, task.report_defaults)
    except Exception:  # a report bug must not reject a valid workbook
        log_error("report failed for {}", item.name)
        return ""
    with _staging_writes(), open(Path(task.staging) / staged, "wb") as fh:
        fh.write(buffer.getbuffer())
    return staged


def _spool(task: Task, item: Item, rows: tuple[list, list, list]) -> str:
    """Append a file's indicator, panel and finding rows to this process's spool file in the staging
    folder; return where they are (``rows/<file>.pkl#<offset>``, one pickle at that offset).

    The main process holds only one row per township; each roll-up's rows are read back while its
    workbook is written, so a merge's memory does not grow with the number of files. One spool file per
    process (not one per workbook) spares a file's creation and removal for every workbook.
    """
    data = pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)
    with _staging_writes():
        return _row_spool(Path(task.staging)).append(data)


class _RowSpool:
    """This process's spool file in one staging folder's ``rows/``: each workbook's rows appended as one
    pickle, flushed at once, so that the main process (or a worker writing a roll-up) can read any record
    written before. A failed write gives the file up: the next record starts a new file, so an offset
    handed out always points at a whole record."""

    def __init__(self, staging: Path, number: int) -> None:
        self.staging, self.pid = staging, os.getpid()
        self.name = f"rows/{self.pid}-{number}.pkl"
        self.fh = open(staging / self.name, "xb")  # noqa: SIM115 (kept open across files, closed by close())
        self.size = 0

    def append(self, data: bytes) -> str:
        """Write one record; return its ``name#offset``."""
        try:
            self.fh.write(data)
            self.fh.flush()
        except BaseException:
            _close_spool()
            raise
        where = f"{self.name}#{self.size}"
        self.size += len(data)
        return where

    def close(self) -> None:
        if self.pid == os.getpid():  # a forked worker leaves the main process's file alone
            self.fh.close()


_SPOOL: list[_RowSpool] = []  # at most one: this process's open spool file
_SPOOL_FILES = itertools.count()


def _row_spool(staging: Path) -> _RowSpool:
    """This process's spool file in ``staging``, opened on first use (a forked worker, or a new staging
    folder, opens its own)."""
    if _SPOOL and (_SPOOL[0].pid != os.getpid() or _SPOOL[0].staging != staging):
        _close_spool()
    if not _SPOOL:
        _SPOOL.append(_RowSpool(staging, next(_SPOOL_FILES)))
    return _SPOOL[0]


def _close_spool() -> None:
    while _SPOOL:
        _SPOOL.pop().close()


def close_spool() -> None:
    """Close this process's spool file (the main process, once every file is processed: a staging folder
    with an open file in it cannot be removed on Windows). Workers' files close when they exit."""
    _close_spool()


OUTPUT_ERRNOS = {
    _errno.ENOSPC,
    getattr(_errno, "EDQUOT", _errno.ENOSPC),
    _errno.EROFS,
    _errno.EACCES,
    _errno.EPERM,
}


class _staging_writes:
    """Writing into the staging folder: a full or unwritable disk stops the run (it is not the file's
    fault), so it crosses the process boundary as a :class:`StagingWriteError`."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        error = os_error_in(exc)
        if error is not None and error.errno is not None and error.errno in OUTPUT_ERRNOS:
            raise StagingWriteError(error.errno, str(error)) from None


_RULES: dict[str, Rules] = {}


def _rules(source: str) -> Rules:
    """The rules profile, loaded once per worker process."""
    if source not in _RULES:
        _RULES[source] = load_rules(Path(source))
    return _RULES[source]


def remember_rules(rules: Rules) -> None:
    """Give this process's workers (forked, or the main process itself) ``rules`` without reloading it."""
    _RULES[rules.source] = rules


def _stage(scored: Scored, task: Task, item: Item) -> str:
    from .completed import write_completed, write_returned

    if not scored.doc.data:  # unreadable: nothing to annotate
        return ""
    staged = f"{item.sha256[:16]}.xlsx"
    buffer = io.BytesIO()  # built in memory, then written in one go: a full disk leaves no open zip behind
    if scored.valid:
        write_completed(buffer, scored)
    else:
        write_returned(buffer, scored.doc, scored.report, rules=_rules(task.rules))
    with _staging_writes(), open(Path(task.staging) / staged, "wb") as fh:
        fh.write(buffer.getbuffer())
    return staged


def _rows(scored: Scored, item: Item) -> tuple[TownshipRow, list[IndicatorRow], list[PanelRow]]:
    sub, res = scored.submission, scored.result
    assert sub is not None and res is not None
    total = sub.budget.get("total")
    sub_scores = {k: v.shown for k, v in res.subtotals.items()}
    row = TownshipRow(
        code=sub.unit_code,
        name=sub.unit_name,
        county=sub.county,
        year=sub.year,
        initial=total.initial if total else None,
        adjusted=total.adjusted if total else None,
        executed=total.executed if total else None,
        rate=res.execution_rate_shown,
        budget_score=res.budget.shown,
        output_score=sub_scores.get("产出指标", Decimal(0)),
        benefit_score=sub_scores.get("效益指标", Decimal(0)),
        satisfaction_score=sub_scores.get("满意度指标", Decimal(0)),
        total=res.total.shown,
        grade=res.grade,
        self_total=sub.self_total,
        self_grade=sub.self_grade,
        errors=len(scored.report.errors),
        warnings=len(scored.report.warnings),
        file=item.name,
        sha256=item.sha256,
        filled_on=sub.filled_on,
        kind=sub.kind,
        project=sub.project,
        basic_rate=_rate_shown(sub.budget.get("basic"), res.rules),
        project_rate=_rate_shown(sub.budget.get("project"), res.rules),
    )
    indicators = [
        IndicatorRow(
            code=sub.unit_code,
            name=sub.unit_name,
            seq=s.indicator.seq,
            level1=s.indicator.level1,
            level2=s.indicator.level2,
            level3=s.indicator.level3,
            nature=s.indicator.nature,
            target=_text(s.indicator.target),
            unit=s.indicator.unit,
            actual=_text(s.indicator.actual),
            completion=s.indicator.completion or "",
            weight=s.indicator.weight,
            self_score=s.indicator.self_score,
            score=s.figure.shown,
            method=s.method_label,
            reason=s.indicator.reason,
        )
        for s in res.indicators
    ]
    names = {m.seq: m for m in sub.members}
    level3 = {i.seq: i.level3 for i in sub.indicators}
    panel = [
        PanelRow(
            code=sub.unit_code,
            name=sub.unit_name,
            indicator=p.indicator,
            level3=level3.get(p.indicator, ""),
            member=p.member,
            member_name=names[p.member].name if p.member in names else "",
            post=names[p.member].post if p.member in names else "",
            score=p.score,
        )
        for p in sub.scores
    ]
    return row, indicators, panel


def _rate_shown(row: Any, rules: Rules) -> Decimal | None:
    """A budget row's execution rate in percent as shown (88.28), or None when the row is blank."""
    rate = row.rate if row is not None else None
    return None if rate is None else rules.quantize(rate * 100)


def _text(value: Any) -> str:
    return f"{value:f}" if isinstance(value, Decimal) else str(value)


def finding_rows(file: str, findings: list[Finding], code: str, name: str) -> list[FindingRow]:
    return [
        FindingRow(
            file=file,
            code=code,
            name=name,
            severity=f.severity,
            finding=f.code,
            title=f.title,
            sheet=f.sheet or "",
            cell=f.cell or "",
            message=f.message,
            value="" if f.value is None else str(f.value),
        )
        for f in findings
    ]
