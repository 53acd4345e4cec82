"""``merge``: from a folder of emailed files to the county roll-up(s).

Every file is accounted for (seen = accepted + superseded + rejected + skipped). Workbooks are read,
validated and scored in worker processes; each file's fate depends only on its own bytes (and, for
resubmissions, on which copy is newest). Outputs are built in a hidden staging folder of the locked
output folder and published together at the end (see :mod:`selfeval_xlsx.output`): a failed, interrupted
or concurrent run leaves the previous output whole.
"""

from __future__ import annotations

import errno as _errno
import io
import logging
import multiprocessing
import os
import pickle
import re
import shutil
import signal
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from loguru import logger

from . import rollup as R
from .drafts import DRAFTS, reply_draft
from .errors import NothingToMerge, StagingWriteError
from .findings import Finding, make
from .intake import SEP, ChangedFile, Intake, Item, collect, copy_marked, generated_by_tool, safe_name
from .layout import DEFAULT_KIND, KINDS
from .limits import DEFAULT_LIMITS, Limits
from .output import (
    FOLDERS,
    LOG_NAME,
    STAGING_PREFIX,
    LogFile,
    Workspace,
    atomic_file,
    atomic_write,
    check_folders,
    os_error_in,
    output_error,
    publish,
    staged_bytes,
    workspace,
)
from .pipeline import Scored, score_workbook
from .rules import Rules, load_rules
from .signing import NO_KEYS, KeyRing, SigningKey
from .validate import divisions
from .version import __version__

#: merge.log's own logger. The library's loguru records stay off (``logger.disable("selfeval_xlsx")`` in
#: the package) until the caller enables them, and loguru has one set of handlers for the whole process:
#: a merge.log sink added there also sent every run line to the caller's stderr handler, and loguru's
#: recipe for an independent logger (``copy.deepcopy(logger)``) raises on the default stderr handler
#: ("cannot pickle '_io.TextIOWrapper'", measured with loguru 0.7.3). So the run's log is a stdlib logger
#: that never propagates: its lines reach merge.log and nothing else.
_RUN_LOG = logging.getLogger("selfeval_xlsx.merge.run")
_RUN_LOG.propagate = False
_RUN_LOG.setLevel(logging.INFO)
_RUN_LOG.addHandler(logging.NullHandler())  # outside a run: nothing, not logging's last-resort stderr
# intake knows a merge.log in an inbox by the logger's name in its lines (intake._tool_text)
_RUN_FORMAT = "%(asctime)s | %(levelname)-8s | %(name)s:%(process)d - %(message)s"


def _log_to(path: Path) -> logging.Handler:
    """Add a handler writing this run's records to ``path`` (merge.log)."""
    handler = logging.StreamHandler(LogFile(path))
    handler.setFormatter(logging.Formatter(_RUN_FORMAT))
    _RUN_LOG.addHandler(handler)
    return handler


def _stop_log(handler: logging.Handler) -> None:
    _RUN_LOG.removeHandler(handler)  # no error when already removed
    stream = getattr(handler, "stream", None)
    if isinstance(stream, LogFile):
        stream.stop()


def _error(message: str, *args: Any) -> None:
    """An unexpected failure with its traceback: in merge.log, and through loguru for a caller (the CLI)
    that enabled the library's logging."""
    _RUN_LOG.exception(message.replace("{}", "%s"), *args)
    logger.opt(exception=True).error(message, *args)


__all__ = ["STAGING_PREFIX", "MergeResult", "Processed", "atomic_file", "atomic_write", "merge"]
#: Received times closer than this are a tie (FAT and zip times have 2-second steps; attachments saved
#: together from one e-mail get the same time).
TIE_SECONDS = 2.0
_NEWER_MARK = re.compile(
    r"修改|更正|改正|修正|修订|最终|终稿|定稿|新(?!建)|(?<![a-z])(?:final|new)(?![a-z])", re.I
)


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
    row: R.TownshipRow | None = None
    staged: str = ""  # file name of the completed/returned workbook in the staging folder
    report_staged: str = ""  # file name of the drafted 自评报告 in the staging folder
    rollup: R.Rollup | None = None  # when the file is itself a roll-up workbook (townships and files only)
    rows_file: str = ""  # spooled (indicators, panel, finding rows) in the staging folder's rows/
    generated: str = ""  # intake.generated_by_tool: 'completed' / 'returned' / 'returned-unedited' / ''
    excluded: frozenset[str] = frozenset()  # codes of a roll-up's rows not taken (counted elsewhere)
    kind: str = DEFAULT_KIND  # 评价类型: 整体 / 项目
    project: str = ""  # 项目名称 when kind is 项目
    email_from: str = ""  # From header of the e-mail the file came in ('' when not from an e-mail)

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
        that :func:`_pick` settles by name and flags for the clerk."""
        return (self.received, name_rank(self.name), self.name)


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


@dataclass
class MergeResult:
    """The outcome of a merge: counts, roll-ups and where the outputs are.

    ``rollups`` hold each roll-up's townships, files, counts and totals. Their indicator, panel and
    finding rows are released once written, so that memory stays flat however large the inbox: read
    them from ``rollup.json`` or with :func:`selfeval_xlsx.rollup_xlsx.read_rollup_workbook`.
    """

    outdir: Path
    counts: dict[str, int]
    rollups: list[R.Rollup]
    outputs: list[Path]
    accepted: list[Processed]
    rejected: list[R.FileRow]
    superseded: list[R.FileRow]
    skipped: list[R.FileRow]
    #: files found in OUT that this tool did not write (or that were edited since): kept, never deleted
    kept: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no workbook was rejected."""
        return not self.rejected

    def to_dict(self) -> dict[str, Any]:
        """Counts, outputs and each roll-up's townships and files (the full rows are in rollup.json)."""
        rollups = []
        for r in self.rollups:
            d = r.to_dict()
            for key in ("indicators", "panel", "findings"):
                d.pop(key, None)
            rollups.append(d)
        return {
            "outdir": str(self.outdir),
            "counts": self.counts,
            "outputs": [str(p) for p in self.outputs],
            "rollups": rollups,
        }


# --- worker side -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    item: Item
    rules: str  # the profile's source file: workers load (and cache) it themselves
    staging: str
    completed: bool
    limits: Limits
    reports: bool = False
    report_defaults: Mapping[str, Any] | None = None
    keys: KeyRing = NO_KEYS  # verifies roll-ups merged as a unit (issue 13)


def _process(task: _Task) -> Processed:
    """Read → validate → score one item; write its completed or returned workbook into staging."""
    item = task.item
    try:
        return _process_unsafe(task)
    except StagingWriteError:  # the output's disk, not the file: the whole run stops, nothing published
        raise
    except Exception as exc:  # a bug must not take the batch down: the file is rejected, not lost
        _error("unexpected failure on {}", item.name)
        return Processed(
            **_received(item),
            valid=False,
            findings=[
                *item.findings,
                make(
                    "internal-error",
                    f"本工具处理该文件时出错（{type(exc).__name__}），这不是文件本身的问题，请勿退回乡镇："
                    "请将该文件和输出目录中的 merge.log 转交技术人员。",
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


def _process_unsafe(task: _Task) -> Processed:
    from .rollup_check import check_rollup_workbook
    from .rollup_xlsx import is_rollup_workbook

    item = task.item
    base = _received(item)
    try:
        data = item.data
    except ChangedFile:
        message = "该文件在汇总过程中被修改、替换或删除，未处理。请确认文件无误后重新运行汇总。"
        return Processed(
            **base, valid=False, findings=[*item.findings, make("file-changed", message, file=item.name)]
        )
    scored = score_workbook(data, name=item.name, rules=_rules(task.rules), limits=task.limits)
    generated = generated_by_tool(data)
    # A roll-up workbook (merged as a unit) is never a valid township workbook: it is looked for only
    # among the invalid ones, which spares every valid file a second opening of its zip.
    if not scored.valid and is_rollup_workbook(data):
        sub, checked = check_rollup_workbook(data, item.name, _rules(task.rules), task.keys)
        if sub is None or any(f.severity == "error" for f in checked):  # rejected whole, never in part
            ident = (
                {} if sub is None else {"code": sub.county_code, "year": sub.year, "unit_name": sub.county}
            )
            return Processed(**base, valid=False, findings=[*item.findings, *checked], **ident)
        if sub is not None:
            rows = (
                sub.indicators,
                sub.panel,
                [*sub.findings, *_finding_rows(item.name, checked, "", sub.county)],
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
        finding_rows = _finding_rows(item.name, findings, out.code, out.unit_name)
        out.rows_file = _spool(task, item, (indicators, panel, finding_rows))
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
                f"该文件所在邮件的发送日期为{item.email_date:%Y-%m-%d %H:%M}，晚于当前时间，可能是发件电脑的"
                "时钟有误；判断先后报送时改按文件保存时间，请核对。",
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
                f"填报日期为{filled.isoformat()}，晚于收到该文件的日期（{received.isoformat()}），请核对填报日期。"
                "填报日期不影响先后报送的判断（以收到时间为准）。",
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


def _stage_report(scored: Scored, task: _Task, item: Item) -> str:
    from .report import write_report

    staged = f"{item.sha256[:16]}.docx"
    buffer = io.BytesIO()
    try:
        write_report(buffer, scored, task.report_defaults)
    except Exception:  # a report bug must not reject a valid workbook
        _error("report failed for {}", item.name)
        return ""
    with _staging_writes(), open(Path(task.staging) / staged, "wb") as fh:
        fh.write(buffer.getbuffer())
    return staged


def _spool(task: _Task, item: Item, rows: tuple[list, list, list]) -> str:
    """Pickle a file's indicator, panel and finding rows into the staging folder; return the name.

    The main process holds only one row per township; each roll-up's rows are read back while its
    workbook is written, so a merge's memory does not grow with the number of files.
    """
    name = f"rows/{item.sha256[:24]}.pkl"
    with _staging_writes(), open(Path(task.staging) / name, "wb") as fh:
        pickle.dump(rows, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return name


_OUTPUT_ERRNOS = {
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
        if error is not None and error.errno in _OUTPUT_ERRNOS:
            raise StagingWriteError(error.errno, str(error)) from None


_RULES: dict[str, Rules] = {}


def _rules(source: str) -> Rules:
    """The rules profile, loaded once per worker process."""
    if source not in _RULES:
        _RULES[source] = load_rules(Path(source))
    return _RULES[source]


def _stage(scored: Scored, task: _Task, item: Item) -> str:
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


def _rows(scored: Scored, item: Item) -> tuple[R.TownshipRow, list[R.IndicatorRow], list[R.PanelRow]]:
    sub, res = scored.submission, scored.result
    assert sub is not None and res is not None
    total = sub.budget.get("total")
    sub_scores = {k: v.shown for k, v in res.subtotals.items()}
    row = R.TownshipRow(
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
        R.IndicatorRow(
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
        R.PanelRow(
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


# --- main side -------------------------------------------------------------------------------------


def merge(
    inbox: str | Path,
    outdir: str | Path = "out",
    *,
    rules: Rules | None = None,
    jobs: int | None = None,
    year: int | None = None,
    completed: bool = True,
    reports: bool = False,
    report_defaults: Mapping[str, Any] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[int, int], None] | None = None,
    keys: KeyRing = NO_KEYS,
) -> MergeResult:
    """Merge every file under ``inbox`` into roll-ups in ``outdir``. Never modifies the inbox.

    ``outdir`` changes only when the run succeeds, all at once (see :mod:`selfeval_xlsx.output`).
    Raises :class:`~selfeval_xlsx.errors.FolderError` when the folders overlap,
    :class:`~selfeval_xlsx.errors.OutputBusy` when another merge is writing into ``outdir``,
    :class:`~selfeval_xlsx.errors.DiskFull` / :class:`~selfeval_xlsx.errors.OutputError` when the outputs
    cannot be written, and ``KeyboardInterrupt`` (after cleaning up) when interrupted; in every one of these
    cases ``outdir`` is left as it was. ``keys`` (:func:`selfeval_xlsx.signing.load_keyring`) sign the
    roll-ups written and verify the roll-ups merged as units.
    """
    inbox, outdir = Path(inbox), Path(outdir)
    rules = rules or load_rules()
    check_folders(inbox, outdir)
    intake: Intake = collect(inbox, limits, check=False)  # workers check each package as they read it
    if not intake.items and not intake.rejected:
        raise NothingToMerge(_nothing_to_merge(inbox, intake))
    tracker = _Progress(progress)
    options = _Options(jobs, year, completed, reports, report_defaults, limits, tracker, keys)
    with workspace(outdir) as ws:
        (ws.staging / "rows").mkdir()
        # one run's log, published with its outputs (merge.log does not grow from run to run)
        sink = ws.log_sink = _log_to(ws.log)
        try:
            return _merge(inbox, ws, rules, options, intake)
        except StagingWriteError as exc:
            error = OSError(exc.errno, os.strerror(exc.errno))
            raise _failed(ws, sink, _output_error(error, ws, tracker)) from None
        except Exception as exc:
            error = os_error_in(exc)
            if error is None or error.errno not in _OUTPUT_ERRNOS:
                raise
            raise _failed(ws, sink, _output_error(error, ws, tracker)) from exc
        except BaseException:
            _remove_sink(sink)
            raise
        finally:
            _remove_sink(sink)


def _failed(ws: Workspace, sink: logging.Handler, error: Exception) -> Exception:
    """The run stops: its log goes with its staging folder (OUT stays exactly as it was)."""
    _remove_sink(sink)
    return error


def _remove_sink(sink: logging.Handler) -> None:
    _stop_log(sink)


class _Progress:
    """Counts processed files for the caller's progress callback and for the space estimate."""

    def __init__(self, callback: Callable[[int, int], None] | None) -> None:
        self.callback = callback
        self.done = 0
        self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self.callback is not None:
            self.callback(done, total)


def _output_error(error: OSError, ws: Workspace, tracker: _Progress) -> Exception:
    """The Chinese error, with the space this run would need: what it wrote so far, scaled to every
    file, plus a tenth."""
    written = staged_bytes(ws)
    needed = None
    if tracker.total and written:
        needed = int(written * max(1.0, tracker.total / max(tracker.done, 1)) * 1.1)
    return output_error(error, ws.outdir, needed, releasing=written)


@dataclass(frozen=True)
class _Options:
    jobs: int | None
    year: int | None
    completed: bool
    reports: bool
    report_defaults: Mapping[str, Any] | None
    limits: Limits
    progress: Callable[[int, int], None] | None
    keys: KeyRing = NO_KEYS


def _nothing_to_merge(inbox: Path, intake: Intake) -> str:
    if not intake.skipped:
        return f"文件夹“{inbox}”中没有任何文件，没有可汇总的内容，未生成汇总表。请把各单位报送的文件放入该文件夹后重试。"
    listed = "、".join(f"{s.name}（{s.reason}）" for s in intake.skipped[:5])
    more = f"等{len(intake.skipped)}个文件" if len(intake.skipped) > 5 else ""
    return (
        f"文件夹“{inbox}”中没有自评表工作簿（.xlsx/.xlsm，或含有工作簿的 .zip/.eml），没有可汇总的内容，"
        f"未生成汇总表。其中的{listed}{more}均不是报送文件。"
    )


def _merge(inbox: Path, ws: Workspace, rules: Rules, o: _Options, intake: Intake) -> MergeResult:
    jobs, limits = o.jobs, o.limits
    outdir, staging = ws.outdir, ws.staging
    started = time.perf_counter()
    _RUN_LOG.info("merge %s → %s (rules %s, jobs %s)", inbox, outdir, rules.name, jobs or os.cpu_count())
    _RUN_LOG.info(
        "intake: %s items, %s rejected, %s skipped",
        len(intake.items),
        len(intake.rejected),
        len(intake.skipped),
    )
    _RULES[rules.source] = rules
    tasks = [
        _Task(item, rules.source, str(staging), o.completed, limits, o.reports, o.report_defaults, o.keys)
        for item in intake.items
    ]
    workers = jobs or os.cpu_count() or 1
    # One pool for scoring and for writing the roll-ups: its workers start now, while the main process is
    # small, rather than later from a main process that holds every file's results.
    pool = (
        ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(start_method()),
            initializer=_worker_init,
            initargs=(str(ws.log), start_method()),
        )
        if workers > 1 and len(tasks) > 1
        else None
    )
    try:
        return _finish(ws, rules, o, intake, tasks, pool, started)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


#: How the worker pool starts its processes; None chooses (:func:`start_method`). Tests set it.
START_METHOD: str | None = None
START_METHOD_ENV = "SELFEVAL_XLSX_START_METHOD"


def start_method() -> str:
    """The pool's start method: ``$SELFEVAL_XLSX_START_METHOD``, else :data:`START_METHOD`, else ``fork``
    on Linux (a worker is ready at once, with the rules already loaded) and ``spawn`` elsewhere (Windows
    has nothing else, macOS' fork is unsafe; Python 3.14 would pick forkserver on Linux). Workers need
    neither: they load the rules from ``Rules.source`` and open merge.log themselves (:func:`_worker_init`)."""
    chosen = os.environ.get(START_METHOD_ENV) or START_METHOD
    if chosen:
        return chosen
    fork = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
    return "fork" if fork else "spawn"


def _worker_init(log: str, method: str) -> None:
    """Workers leave Ctrl-C to the main process, which stops the pool and cleans up: one message, not a
    traceback per worker. Each writes its lines to the run's merge.log (``log``) with a handler of its own:
    a spawned worker has none, a forked one drops the copy of the main process's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for handler in list(_RUN_LOG.handlers):
        if not isinstance(handler, logging.NullHandler):
            _RUN_LOG.removeHandler(handler)  # the main process's file object: not closed here
    _log_to(Path(log))
    _RUN_LOG.info("worker %s started (%s)", os.getpid(), method)


def _finish(
    ws: Workspace,
    rules: Rules,
    o: _Options,
    intake: Intake,
    tasks: list[_Task],
    pool: ProcessPoolExecutor | None,
    started: float,
) -> MergeResult:
    """Score every item (in ``pool`` when given), settle resubmissions, write every output."""
    outdir, staging = ws.outdir, ws.staging
    year = o.year
    processed = list(_run(tasks, pool, o.jobs, o.progress))
    _RUN_LOG.info("processed %s items in %.2fs", len(processed), time.perf_counter() - started)

    rejected: list[R.FileRow] = [
        R.FileRow(r.name, "rejected", _reason(r.name, list(r.findings)), sha256=r.sha256)
        for r in intake.rejected
    ]
    reject_findings: list[tuple[str, list[Finding], str, str]] = [
        (r.name, list(r.findings), "", "") for r in intake.rejected
    ]
    skipped = [R.FileRow(s.name, "skipped", s.reason) for s in intake.skipped]
    valid: list[Processed] = []
    invalid: list[Processed] = []
    for p in processed:
        if p.valid and year is not None and p.year is not None and p.year != year:
            p.valid = False
            p.findings.append(
                make(
                    "year-mismatch",
                    f"文件为{p.year}年度，本次汇总为{year}年度。如报送有误，请按{year}年度重新填报。",
                    severity="error",
                    file=p.name,
                )
            )
        (valid if p.valid else invalid).append(p)

    # resubmissions, the tool's own outputs and roll-up rows: see _settle
    settled = _settle(valid, invalid)
    accepted, superseded = settled.accepted, settled.superseded
    skipped.extend(settled.skipped)
    reject_findings.extend(settled.findings)
    for p in settled.rejected:
        rejected.append(
            R.FileRow(p.name, "rejected", _reason(p.name, p.findings), p.code, p.unit_name, p.sha256)
        )
        reject_findings.append((p.name, p.findings, p.code, p.unit_name))

    counts = {
        "seen": len(intake.items) + len(intake.rejected) + len(intake.skipped),
        "accepted": len(accepted),
        "superseded": len(superseded),
        "rejected": len(rejected),
        "skipped": len(skipped),
    }
    moved = _publish_workbooks(ws.new, staging, accepted, invalid, rejected, o.reports, o.completed)
    senders = {r.name: (r.email_from, None) for r in intake.rejected}
    senders.update({p.name: (p.email_from, p.year) for p in settled.rejected})
    _write_drafts(ws.new / DRAFTS, rejected, senders, moved)
    listed = [*superseded, *settled.notes]  # roll-up rows not taken are listed, not counted (not files)
    spooled = _rollups(accepted, rejected, listed, skipped, reject_findings, counts, rules, staging, year)
    _RUN_LOG.info("workbooks staged, roll-ups built in %.2fs", time.perf_counter() - started)
    for roll, spool in spooled:
        spool.signer = o.keys.signer_for(roll.county_code)
    tops = _write_rollups(ws.new, spooled, pool)
    rollups = [roll for roll, _ in spooled]
    _RUN_LOG.info("counts %s in %.2fs; publishing", counts, time.perf_counter() - started)
    if ws.log_sink is not None:  # merge.log is complete: it is published with the outputs
        _stop_log(ws.log_sink)
        ws.log_sink = None
    folders = [f for f in FOLDERS if (ws.new / f).is_dir()]
    done = publish(ws, [*folders, *(t.name for t in tops), LOG_NAME])
    result = MergeResult(outdir, counts, rollups, done.outputs, accepted, rejected, superseded, skipped)
    result.kept = done.kept
    return result


Unit = tuple[str, int | None, str, str]  # code, year, kind (整体/项目), project


@dataclass
class _Settled:
    """What :func:`_settle` decided: files accepted, superseded (file rows), rejected (still to be
    described), skipped (the tool's own outputs), roll-up rows not taken (listed, not counted) and
    warnings added to accepted files (for the roll-up's findings)."""

    accepted: list[Processed] = field(default_factory=list)
    superseded: list[R.FileRow] = field(default_factory=list)
    rejected: list[Processed] = field(default_factory=list)
    skipped: list[R.FileRow] = field(default_factory=list)
    notes: list[R.FileRow] = field(default_factory=list)
    findings: list[tuple[str, list[Finding], str, str]] = field(default_factory=list)

    def warn(self, p: Processed, finding: Finding) -> None:
        p.findings.append(finding)
        if p.row is not None:
            p.row.warnings += 1
        self.findings.append((p.name, [finding], p.code, p.unit_name))

    def supersede(self, p: Processed, reason: str, by: str) -> None:
        self.superseded.append(
            R.FileRow(p.name, "superseded", reason, p.code, p.unit_name, p.sha256, replaced_by=by)
        )


def _settle(valid: list[Processed], invalid: list[Processed]) -> _Settled:
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
    out = _Settled()
    primary: dict[Unit, list[Processed]] = {}
    rollups: list[Processed] = []
    completed: list[Processed] = []
    for p in valid + invalid:
        if p.generated == "returned-unedited":
            out.skipped.append(
                R.FileRow(
                    p.name,
                    "skipped",
                    "本工具生成的退回副本，尚未经乡镇修改（不是新的报送），不计入。",
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
        winner = _pick(good, out, "报送") if good else None
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
                    f"{p.unit_name}的此份报送有错误，但已有更新的报送《{winner.name}》通过审核，无需退回。",
                    winner.name,
                )
            elif name_rank(p.name) < name_rank(winner.name):  # received together: the name says older
                out.supersede(
                    p,
                    f"{p.unit_name}的此份报送有错误，与通过审核的《{winner.name}》收到时间相同，按文件名"
                    f"（标有“修改、更正、最终、新”的优先，标有“副本、Copy、(1)”的不优先）视为旧版，无需退回；"
                    "请确认选用无误。",
                    winner.name,
                )
            else:  # received together, nothing says which is newer: returned, to be safe
                out.rejected.append(p)

    taken: dict[Unit, str] = {}
    for p in sorted((r for r in rollups if r.valid), key=lambda r: r.newest_key, reverse=True):
        _take_rollup(p, winners, taken, out)
    out.rejected.extend(r for r in rollups if not r.valid)

    covered = {u for u in primary if u[0]} | set(taken)
    spare: dict[Unit, list[Processed]] = {}
    for p in completed:
        unit = p.identity
        if unit in covered or not p.valid:
            by = winners.get(unit)
            where = f"该单位已有报送《{by.name}》计入" if by else "该单位已有其他报送或汇总表"
            reason = f"本工具生成的评分结果（已评分副本），{where}，不重复计入。"
            out.skipped.append(R.FileRow(p.name, "skipped", reason, p.code, p.unit_name, p.sha256))
        else:
            spare.setdefault(unit, []).append(p)
    for files in spare.values():
        winner = _pick(files, out, "评分结果")
        out.accepted.append(winner)
        message = (
            "本文件是本工具生成的评分结果（已评分副本），收件箱中没有该单位的原始报送，"
            "已按其中的填报内容计入汇总。请确认原始报送确已遗失或未收到。"
        )
        out.warn(winner, make("tool-output", message, file=winner.name))
    out.accepted.sort(key=lambda p: (p.code, p.name))
    order = {p.name: i for i, p in enumerate(valid + invalid)}  # lists in the order files were processed
    out.superseded.sort(key=lambda r: order.get(r.file, len(order)))
    out.rejected.sort(key=lambda p: order.get(p.name, len(order)))
    return out


def _pick(files: list[Processed], out: _Settled, what: str) -> Processed:
    """The file received last among ``files`` (one unit's); the others are superseded. Files received
    within :data:`TIE_SECONDS` of the latest are a tie: the name decides (:func:`name_rank`, then the
    name), the winner gets a ``resubmission-tie`` warning and the others say the choice must be
    confirmed."""
    latest = max(p.received for p in files)
    close = [p for p in files if latest - p.received < TIE_SECONDS]
    winner = max(close, key=lambda p: (name_rank(p.name), p.received, p.name))
    tie = [p for p in close if p is not winner]
    if tie:
        others = "".join(f"《{p.name}》" for p in tie[:5])
        message = (
            f"该单位另有{len(tie)}份同时收到、内容不同的{what}（{others}，如同一封邮件的多个附件），"
            "无法按收到时间判断先后，已按文件名选用本文件（标有“修改、更正、最终、新”的优先，"
            "标有“副本、Copy、(1)”的不优先）。请核对确认选用无误。"
        )
        out.warn(winner, make("resubmission-tie", message, file=winner.name))
    for p in files:
        if p is winner:
            continue
        reason = f"{p.unit_name}的此份{what}已被更新的{what}《{winner.name}》替代。"
        if p in tie:
            reason = (
                f"{p.unit_name}的此份{what}与《{winner.name}》收到时间相同、内容不同，已按文件名选用"
                f"《{winner.name}》（标有“修改、更正、最终、新”的优先，标有“副本、Copy、(1)”的不优先），"
                "请确认选用无误；如应采用本文件，请删除另一份后重新汇总。"
            )
        out.supersede(p, reason, winner.name)
    return winner


def _take_rollup(p: Processed, winners: dict[Unit, Processed], taken: dict[Unit, str], out: _Settled) -> None:
    """Take the rows of roll-up ``p`` whose units nothing else counts; list the others."""
    sub = p.rollup
    assert sub is not None
    excluded: set[str] = set()
    for row in sub.townships:
        unit: Unit = (row.code, row.year, row.kind, row.project)
        own, earlier = winners.get(unit), taken.get(unit)
        if own is not None:
            reason = (
                f"汇总表《{p.name}》中{row.name}（{row.code}）一行未计入：收件箱中有该单位自己的报送"
                f"《{own.name}》，原始报送优先于汇总表中的行。"
            )
            by = own.name
        elif earlier is not None:
            reason = (
                f"汇总表《{p.name}》中{row.name}（{row.code}）一行未计入：该单位已按较新的汇总表"
                f"《{earlier}》计入，同一单位只计一次。"
            )
            by = earlier
        else:
            taken[unit] = p.name
            continue
        excluded.add(row.code)
        out.notes.append(
            R.FileRow(f"{p.name}{SEP}{row.name}", "superseded", reason, row.code, row.name, p.sha256, by)
        )
    p.excluded = frozenset(excluded)
    if sub.townships and len(excluded) == len(sub.townships):
        rows = [n for n in out.notes if n.file.startswith(f"{p.name}{SEP}")]
        out.notes = [n for n in out.notes if n not in rows]
        bys = sorted({n.replaced_by for n in rows})
        named = "".join(f"《{b}》" for b in bys[:5]) + ("等" if len(bys) > 5 else "")
        reason = (
            f"汇总表《{p.name}》中的{len(rows)}个单位均已按{named}计入（单位自己的报送优先于汇总表，"
            "同一单位只计一次），本汇总表不再重复计入。"
        )
        out.supersede(p, reason, bys[0] if len(bys) == 1 else "")
    else:
        out.accepted.append(p)


def _run(
    tasks: list[_Task],
    pool: ProcessPoolExecutor | None,
    jobs: int | None,
    progress: Callable[[int, int], None] | None,
) -> Iterator[Processed]:
    total = len(tasks)
    if pool is None:
        results: Iterable[Processed] = map(_process, tasks)
    else:
        workers = jobs or os.cpu_count() or 1
        # chunks of at most 16 files: a worker left alone at the end waits for at most one chunk (with
        # 64, 0.08-0.25 s of one core idle at the end of 1,000 files; with 16, 0.04-0.07 s)
        chunk = max(1, min(16, total // (workers * 4) or 1))
        results = pool.map(_process, tasks, chunksize=chunk)
    for i, r in enumerate(results, 1):
        if progress:
            progress(i, total)
        yield r


def _reason(name: str, findings: list[Finding]) -> str:
    """The findings of a rejected file in words a clerk can paste into a reply email; a file this tool failed
    on (``internal-error``) is not the township's to fix, and its reason says so, not "please correct"."""
    if any(f.code == "internal-error" for f in findings):
        return (
            f"《{name}》因本工具内部错误未能审核，这不是文件本身的问题，请勿退回乡镇："
            "请将该文件和输出目录中的 merge.log 转交技术人员。"
        )
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity == "warning"]
    if not errors:
        errors, warnings = findings, []

    def where(f: Finding) -> str:
        if f.sheet and f.cell:
            return f"（{f.sheet}工作表{f.cell}单元格）"
        return f"（{f.sheet}工作表）" if f.sheet else ""

    lines = [f"{i}. {f.message}{where(f)}" for i, f in enumerate(errors[:20], 1)]
    if len(errors) > 20:
        lines.append(f"另有{len(errors) - 20}处问题，详见退回文件中的批注。")
    if warnings:  # e.g. merged cells, whose lost values are often what caused the errors above
        lines.append("另请注意以下问题（不单独导致退回，但请一并核对修改）：")
        lines += [f"{i}. {f.message}{where(f)}" for i, f in enumerate(warnings[:10], len(errors[:20]) + 1)]
        if len(warnings) > 10:
            lines.append(f"另有{len(warnings) - 10}处提示，详见退回文件中的批注。")
    return f"您单位报送的《{name}》未通过审核，请修改以下问题后重新报送：\n" + "\n".join(lines)


def _publish_workbooks(
    new: Path,
    staging: Path,
    accepted: list[Processed],
    invalid: list[Processed],
    rejected: list[R.FileRow],
    reports: bool = False,
    completed: bool = True,
) -> dict[str, Path]:
    """Move the workers' completed/returned workbooks (and reports) into their folders under ``new``
    (what :func:`~selfeval_xlsx.output.publish` makes OUT's content). Without ``completed`` (or
    ``reports``) that folder is not rebuilt, and the previous run's stays as it is."""
    new_completed, new_returned, new_reports = (new / "completed", new / "returned", new / "reports")
    new_returned.mkdir()
    if completed:
        new_completed.mkdir()
    if reports:
        new_reports.mkdir()
    rows = {r.file: r for r in rejected}
    used: set[str] = set()

    def unique(folder: Path, stem: str, suffix: str = ".xlsx") -> Path:
        """A name no other output has, compared as a case-insensitive, NFC-normalising disk would."""
        name, n = f"{stem}{suffix}", 2
        while _fold(name) in used:
            name, n = f"{stem}({n}){suffix}", n + 1
        used.add(_fold(name))
        return folder / name

    for p in accepted:
        if p.staged and completed:
            stem = safe_name(f"{p.code}_{p.unit_name}_{p.year}{_project(p)}_已评分")
            os.replace(staging / p.staged, unique(new_completed, stem))
        if p.report_staged and reports:
            stem = safe_name(f"{p.code}_{p.unit_name}_{p.year}{_project(p)}_自评报告")
            os.replace(staging / p.report_staged, unique(new_reports, stem, ".docx"))
    returned = [p for p in invalid if p.staged and p.name in rows]
    moved: dict[str, Path] = {}
    for p, stem in zip(returned, _returned_stems([p.name for p in returned]), strict=True):
        target = unique(new_returned, stem)
        os.replace(staging / p.staged, target)
        rows[p.name].reason += f"\n退回文件：returned/{target.name}（请随回复邮件发送）"
        moved[p.name] = target
    return moved


def _write_drafts(
    folder: Path,
    rejected: list[R.FileRow],
    senders: dict[str, tuple[str, int | None]],
    moved: dict[str, Path],
) -> None:
    """A reply draft per rejected file (:mod:`selfeval_xlsx.drafts`), named like its returned copy, with
    the returned copy attached; to the sender when the file came in an e-mail."""
    folder.mkdir()
    used: set[str] = set()
    stems = _returned_stems([r.file for r in rejected])
    for row, stem in zip(rejected, stems, strict=True):
        returned = moved.get(row.file)
        stem = returned.stem if returned is not None else stem
        name, n = f"{stem}.eml", 2
        while _fold(name) in used:
            name, n = f"{stem}({n}).eml", n + 1
        used.add(_fold(name))
        sender, year = senders.get(row.file, ("", None))
        draft = reply_draft(
            file=row.file,
            reason=row.reason,
            to=sender,
            unit=row.name,
            year=year,
            attachment=returned.read_bytes() if returned is not None else None,
            attachment_name=returned.name if returned is not None else "",
        )
        (folder / name).write_bytes(draft)


def _fold(name: str) -> str:
    """A file name as a case-insensitive disk that normalises Unicode compares it."""
    return unicodedata.normalize("NFC", name).casefold()


def _returned_stems(names: list[str]) -> list[str]:
    """Stems of the returned copies of files shown as ``names``: ``退回_`` and the file's own stem
    (a returned copy sent back again is not named 退回_退回_…); when two would be the same on a
    case-insensitive disk, each is named from the whole shown path (sub-folders, container, escaped
    invisible characters), which the roll-up's file list and the terminal also show."""

    def short(name: str) -> str:
        stem = name.rsplit(SEP, 1)[-1].rsplit("/", 1)[-1]
        stem = stem.rsplit(".", 1)[0] if "." in stem.lstrip(".") else stem
        return safe_name(f"退回_{stem.removeprefix('退回_')}")

    stems = [short(n) for n in names]
    count: dict[str, int] = {}
    for stem in stems:
        count[_fold(stem)] = count.get(_fold(stem), 0) + 1
    out = []
    for name, stem in zip(names, stems, strict=True):
        if count[_fold(stem)] > 1:
            path = name.rsplit(".", 1)[0] if "." in name.rsplit("/", 1)[-1] else name
            stem = safe_name("退回_" + path.replace(SEP, "_").replace("\\", "_"))
        out.append(stem)
    return out


def _rollups(
    accepted: list[Processed],
    rejected: list[R.FileRow],
    superseded: list[R.FileRow],
    skipped: list[R.FileRow],
    reject_findings: list[tuple[str, list[Finding], str, str]],
    counts: dict[str, int],
    rules: Rules,
    staging: Path,
    year: int | None = None,
) -> list[tuple[R.Rollup, _Spool]]:
    """One roll-up per area and year: the county, or one level up when roll-ups are merged.

    The roll-ups hold their townships; their other rows wait in the returned spools."""
    level = _level(accepted)
    groups: dict[tuple[str, int | None], list[Processed]] = {}
    for p in accepted:
        groups.setdefault((_area(p.code, level), p.year), []).append(p)
    names = divisions()
    if not groups:  # nothing accepted: named by the requested year and the county the files name
        known = [a for _, _, c, _ in reject_findings if c and (a := _area(c, level)) in names]
        area = max(sorted(set(known)), key=known.count) if known else "000000"
        groups = {(area, year): []}
    now = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    areas = {a for a, _ in groups}
    out = []
    for (area, year), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        county = names.get(area) or next((p.county for p in members if p.county), "") or "未知地区"
        roll = R.Rollup(
            county_code=area,
            county=county,
            year=year,
            rules=rules.name,
            tool_version=__version__,
            generated=now,
            grades=rules.grades,
        )
        spool = _Spool(staging)
        for p in members:
            spool.files.append(p.rows_file)
            if p.excluded:
                spool.excluded[p.rows_file] = p.excluded
            if p.rollup is not None:
                _absorb(roll, p)
                continue
            assert p.row is not None
            roll.townships.append(p.row)

        def here(code: str, area: str = area) -> bool:
            """Whether a rejected/superseded/skipped file belongs in this roll-up: its own area's, or
            every roll-up when its code is missing or names an area with no accepted township (so that
            no file is left out of every roll-up)."""
            own = _area(code, level) if code else ""
            return len(groups) == 1 or not code or own == area or own not in areas

        for name, findings, code, unit in reject_findings:
            if here(code):
                spool.findings.extend(_finding_rows(name, findings, code, unit))
        roll.files = [f for f in (*rejected, *superseded, *skipped) if here(f.code)]
        roll.counts = dict(counts)
        roll.rank()
        out.append((roll, spool))
    return out


@dataclass
class _Spool:
    """Where a roll-up's rows wait until its workbook is written: the members' spool files, in order,
    then the findings of rejected files (held in memory: there are few of them)."""

    staging: Path
    files: list[str] = field(default_factory=list)
    findings: list[R.FindingRow] = field(default_factory=list)
    excluded: dict[str, frozenset[str]] = field(default_factory=dict)  # spool file → codes left out
    signer: SigningKey | None = None  # signs the roll-up's data when set

    def fill(self, roll: R.Rollup) -> None:
        """Load the rows into ``roll``."""
        for name in self.files:
            if not name:
                continue
            with open(self.staging / name, "rb") as fh:
                indicators, panel, findings = pickle.load(fh)
            drop = self.excluded.get(name)
            if drop:  # a roll-up's rows of units counted from another file
                indicators = [r for r in indicators if r.code not in drop]
                panel = [r for r in panel if r.code not in drop]
                findings = [r for r in findings if r.code not in drop]
            roll.indicators.extend(indicators)
            roll.panel.extend(panel)
            roll.findings.extend(findings)
        roll.findings.extend(self.findings)

    @staticmethod
    def release(roll: R.Rollup) -> None:
        """Drop ``roll``'s rows once written (see :class:`MergeResult`)."""
        roll.indicators, roll.panel, roll.findings = [], [], []


def _absorb(roll: R.Rollup, p: Processed) -> None:
    sub = p.rollup
    assert sub is not None
    for row in sub.townships:
        if row.code in p.excluded:
            continue  # counted from another file (see _settle)
        row.source_rollup = p.name
        roll.townships.append(row)


def _level(accepted: list[Processed]) -> int:
    """Digits of the code that name the roll-up area: 6 (county), 4 (city), 2 (province), 0."""
    level = 6
    own = {(p.code[2:8] if len(p.code) == 18 else p.code) for p in accepted if p.rollup is None and p.code}
    for p in accepted:
        if p.rollup is not None:
            code = p.rollup.county_code
            sub_level = 6 if code[4:6] != "00" else 4 if code[2:4] != "00" else 2 if code[:2] != "00" else 0
            if any(c[:sub_level] == code[:sub_level] for c in own):
                continue  # the roll-up of an area merged here from its own workbooks: no level up
            level = min(level, max(0, sub_level - 2))
    return level


def _area(code: str, level: int) -> str:
    if len(code) == 18:  # 统一社会信用代码: its 3rd-8th characters are the division code
        code = code[2:8]
    return (code[:level] + "0" * 6)[:6] if code else "000000"


def _project(p: Processed) -> str:
    """The part of an output's name that tells a project's evaluation from the unit's (整体) one."""
    return f"_{p.project}" if p.kind == "项目" and p.project else ""


def _finding_rows(file: str, findings: list[Finding], code: str, name: str) -> list[R.FindingRow]:
    return [
        R.FindingRow(
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


def _write_rollups(
    outdir: Path, spooled: list[tuple[R.Rollup, _Spool]], pool: ProcessPoolExecutor | None = None
) -> list[Path]:
    """Write each roll-up's workbook and its part of ``rollup.json`` into ``outdir`` (the staging
    folder's ``new/``), one roll-up in memory at a time; return the paths written.

    With several roll-ups (counties) and jobs, the workbooks are written in worker processes."""
    import json

    out = []
    target_json = outdir / "rollup.json"
    with atomic_file(target_json) as fh:
        fh.write(b'{\n  "tool_version": ' + json.dumps(__version__).encode() + b',\n  "rollups": [')
        done: Iterable[tuple[Path, str]]
        if pool is not None and len(spooled) > 1:
            done = pool.map(_write_rollup, [outdir] * len(spooled), *zip(*spooled, strict=True))
        else:
            done = (_write_rollup(outdir, roll, spool) for roll, spool in spooled)
        for i, (target, part) in enumerate(done):
            out.append(target)
            fh.write(b",\n    " if i else b"\n    ")
            with open(part, "rb") as src:  # megabytes per county: copied, never held by this process
                shutil.copyfileobj(src, fh, 1 << 20)
            part.unlink()
        fh.write(b"\n  ]\n}" if spooled else b"]\n}")
    out.append(target_json)
    return out


def _write_rollup(outdir: Path, roll: R.Rollup, spool: _Spool) -> tuple[Path, Path]:
    """Load one roll-up's rows, write its workbook; return its path and that of its ``rollup.json`` text
    (UTF-8, in the staging folder: a worker would otherwise send megabytes back to the main process)."""
    from .rollup_xlsx import paused_gc, write_rollup_workbook

    with paused_gc():
        spool.fill(roll)
        roll.rank()
        data = roll.to_dict()  # once, for the workbook's _rollup sheet and for rollup.json
        if spool.signer is not None:
            from .signing import sign_rollup_data

            sign_rollup_data(data, spool.signer)
        target = outdir / R.rollup_file_name(roll.county, roll.year)
        atomic_write(target, lambda w: write_rollup_workbook(w, roll, data))
        part = spool.staging / f"rollup-{roll.county_code}-{roll.year or 0}.json"
        part.write_bytes(_json_text(data, "    ").encode("utf-8"))
        spool.release(roll)
    return target, part


def _json_text(data: dict[str, Any], indent: str = "") -> str:
    """Pretty JSON with one line per row of the row lists (``json.dumps(indent=…)`` is many times
    slower: it cannot use the C encoder)."""
    import json

    dump = json.JSONEncoder(ensure_ascii=False).encode  # one encoder: json.dumps makes one per call
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            rows = f",\n{indent}    ".join(map(dump, value))
            parts.append(f"{indent}  {dump(key)}: [\n{indent}    {rows}\n{indent}  ]")
        else:
            parts.append(f"{indent}  {dump(key)}: {dump(value)}")
    return "{\n" + ",\n".join(parts) + f"\n{indent}}}"
