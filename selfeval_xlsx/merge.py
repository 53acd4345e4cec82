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
import os
import pickle
import shutil
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from loguru import logger

from . import rollup as R
from .errors import StagingWriteError
from .findings import Finding, make
from .intake import ChangedFile, Intake, Item, collect, safe_name
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
from .validate import divisions
from .version import __version__

__all__ = ["STAGING_PREFIX", "MergeResult", "Processed", "atomic_file", "atomic_write", "merge"]


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

    @property
    def newest_key(self) -> tuple[str, float, float, str]:
        """Order of resubmissions: 填报日期, then the email's date, then the file's time."""
        email = self.email_date.timestamp() if self.email_date else 0.0
        return (self.filled_on, email, self.mtime, self.name)


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


def _process(task: _Task) -> Processed:
    """Read → validate → score one item; write its completed or returned workbook into staging."""
    item = task.item
    try:
        return _process_unsafe(task)
    except StagingWriteError:  # the output's disk, not the file: the whole run stops, nothing published
        raise
    except Exception as exc:  # a bug must not take the batch down: the file is rejected, not lost
        logger.exception("unexpected failure on {}", item.name)
        return Processed(
            name=item.name,
            origin=item.origin,
            sha256=item.sha256,
            mtime=item.mtime,
            email_date=item.email_date,
            valid=False,
            findings=[
                *item.findings,
                make(
                    "corrupt-workbook",
                    f"处理该文件时发生内部错误（{type(exc).__name__}），请将文件转交技术人员。",
                    file=item.name,
                ),
            ],
        )


def _process_unsafe(task: _Task) -> Processed:
    from .rollup_xlsx import is_rollup_workbook, read_rollup_workbook

    item = task.item
    base = dict(
        name=item.name, origin=item.origin, sha256=item.sha256, mtime=item.mtime, email_date=item.email_date
    )
    try:
        data = item.data
    except ChangedFile:
        message = "该文件在汇总过程中被修改、替换或删除，未处理。请确认文件无误后重新运行汇总。"
        return Processed(
            **base, valid=False, findings=[*item.findings, make("file-changed", message, file=item.name)]
        )
    scored = score_workbook(data, name=item.name, rules=_rules(task.rules), limits=task.limits)
    # A roll-up workbook (merged as a unit) is never a valid township workbook: it is looked for only
    # among the invalid ones, which spares every valid file a second opening of its zip.
    if not scored.valid and is_rollup_workbook(data):
        sub = read_rollup_workbook(data)
        if sub is not None:
            rows = (sub.indicators, sub.panel, sub.findings)
            sub.indicators, sub.panel, sub.findings = [], [], []
            return Processed(
                **base,
                valid=True,
                findings=list(item.findings),
                rollup=sub,
                code=sub.county_code,
                year=sub.year,
                county=sub.county,
                unit_name=sub.county,
                rows_file=_spool(task, item, rows),
            )
    findings = [*item.findings, *scored.report.findings]
    ident = scored.doc.data.get("identity", {}) if isinstance(scored.doc.data, dict) else {}
    out = Processed(
        **base,
        valid=scored.valid,
        findings=findings,
        code=str(ident.get("division_code") or ""),
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


def _stage_report(scored: Scored, task: _Task, item: Item) -> str:
    from .report import write_report

    staged = f"{item.sha256[:16]}.docx"
    buffer = io.BytesIO()
    try:
        write_report(buffer, scored, task.report_defaults)
    except Exception:  # a report bug must not reject a valid workbook
        logger.exception("report failed for {}", item.name)
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
        code=sub.division_code,
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
    )
    indicators = [
        R.IndicatorRow(
            code=sub.division_code,
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
            code=sub.division_code,
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
) -> MergeResult:
    """Merge every file under ``inbox`` into roll-ups in ``outdir``. Never modifies the inbox.

    ``outdir`` changes only when the run succeeds, all at once (see :mod:`selfeval_xlsx.output`).
    Raises :class:`~selfeval_xlsx.errors.FolderError` when the folders overlap,
    :class:`~selfeval_xlsx.errors.OutputBusy` when another merge is writing into ``outdir``,
    :class:`~selfeval_xlsx.errors.DiskFull` / :class:`~selfeval_xlsx.errors.OutputError` when the outputs
    cannot be written, and ``KeyboardInterrupt`` (after cleaning up) when interrupted; in every one of these
    cases ``outdir`` is left as it was.
    """
    inbox, outdir = Path(inbox), Path(outdir)
    rules = rules or load_rules()
    check_folders(inbox, outdir)
    tracker = _Progress(progress)
    options = _Options(jobs, year, completed, reports, report_defaults, limits, tracker)
    with workspace(outdir) as ws:
        (ws.staging / "rows").mkdir()
        # one run's log, published with its outputs (merge.log does not grow from run to run)
        sink = ws.log_sink = logger.add(LogFile(ws.log), level="INFO", enqueue=False)
        try:
            return _merge(inbox, ws, rules, options)
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


def _failed(ws: Workspace, sink: int, error: Exception) -> Exception:
    """The run stops: its log goes with its staging folder (OUT stays exactly as it was)."""
    _remove_sink(sink)
    return error


def _remove_sink(sink: int) -> None:
    with suppress(ValueError):  # already removed
        logger.remove(sink)


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


def _merge(inbox: Path, ws: Workspace, rules: Rules, o: _Options) -> MergeResult:
    jobs, limits = o.jobs, o.limits
    outdir, staging = ws.outdir, ws.staging
    started = time.perf_counter()
    logger.info("merge {} → {} (rules {}, jobs {})", inbox, outdir, rules.name, jobs or os.cpu_count())
    intake: Intake = collect(inbox, limits, check=False)  # workers check each package as they read it
    logger.info(
        "intake: {} items, {} rejected, {} skipped",
        len(intake.items),
        len(intake.rejected),
        len(intake.skipped),
    )
    _RULES[rules.source] = rules
    tasks = [
        _Task(item, rules.source, str(staging), o.completed, limits, o.reports, o.report_defaults)
        for item in intake.items
    ]
    workers = jobs or os.cpu_count() or 1
    # One pool for scoring and for writing the roll-ups: its workers fork now, while the main process is
    # small, rather than later from a main process that holds every file's results.
    pool = (
        ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)
        if workers > 1 and len(tasks) > 1
        else None
    )
    try:
        return _finish(ws, rules, o, intake, tasks, pool, started)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _worker_init() -> None:
    """Workers leave Ctrl-C to the main process, which stops the pool and cleans up: one message, not a
    traceback per worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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
    logger.info("processed {} items in {:.2f}s", len(processed), time.perf_counter() - started)

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
                    f"评价年度为{p.year}，本次汇总的是{year}年度，请核对后按{year}年度重新填报。",
                    severity="error",
                    file=p.name,
                )
            )
        (valid if p.valid else invalid).append(p)

    # resubmissions: newest per (code, year) wins
    winners: dict[tuple[str, int | None], Processed] = {}
    for p in sorted(valid, key=lambda p: p.newest_key):
        winners[(p.code, p.year)] = p  # later (newer) ones overwrite
    superseded = [
        R.FileRow(
            p.name,
            "superseded",
            f"{p.unit_name}的此份报送已被更新的报送《{winners[(p.code, p.year)].name}》替代。",
            code=p.code,
            name=p.unit_name,
            sha256=p.sha256,
            replaced_by=winners[(p.code, p.year)].name,
        )
        for p in valid
        if winners[(p.code, p.year)] is not p
    ]
    accepted = sorted(winners.values(), key=lambda p: (p.code, p.name))
    for p in invalid:
        newer = winners.get((p.code, p.year))
        if p.code and newer is not None and newer.newest_key > p.newest_key:
            superseded.append(
                R.FileRow(
                    p.name,
                    "superseded",
                    f"{p.unit_name}的此份报送有错误，但已有更新的报送《{newer.name}》通过审核，无需退回。",
                    code=p.code,
                    name=p.unit_name,
                    sha256=p.sha256,
                    replaced_by=newer.name,
                )
            )
            continue
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
    _publish_workbooks(ws.new, staging, accepted, invalid, rejected, o.reports, o.completed)
    spooled = _rollups(accepted, rejected, superseded, skipped, reject_findings, counts, rules, staging)
    logger.info("workbooks staged, roll-ups built in {:.2f}s", time.perf_counter() - started)
    tops = _write_rollups(ws.new, spooled, pool)
    rollups = [roll for roll, _ in spooled]
    logger.info("counts {} in {:.2f}s; publishing", counts, time.perf_counter() - started)
    if ws.log_sink is not None:  # merge.log is complete: it is published with the outputs
        logger.remove(ws.log_sink)
        ws.log_sink = None
    folders = [f for f in FOLDERS if (ws.new / f).is_dir()]
    done = publish(ws, [*folders, *(t.name for t in tops), LOG_NAME])
    result = MergeResult(outdir, counts, rollups, done.outputs, accepted, rejected, superseded, skipped)
    result.kept = done.kept
    return result


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
    """The findings of a rejected file in words a clerk can paste into a reply email."""
    errors = [f for f in findings if f.severity == "error"] or findings
    lines = []
    for i, f in enumerate(errors[:20], 1):
        where = (
            f"（{f.sheet}工作表{f.cell}单元格）"
            if f.sheet and f.cell
            else f"（{f.sheet}工作表）"
            if f.sheet
            else ""
        )
        lines.append(f"{i}. {f.message}{where}")
    more = f"\n另有{len(errors) - 20}处问题，详见退回文件中的批注。" if len(errors) > 20 else ""
    return f"您单位报送的《{name}》未通过审核，请修改以下问题后重新报送：\n" + "\n".join(lines) + more


def _publish_workbooks(
    new: Path,
    staging: Path,
    accepted: list[Processed],
    invalid: list[Processed],
    rejected: list[R.FileRow],
    reports: bool = False,
    completed: bool = True,
) -> None:
    """Move the workers' completed/returned workbooks (and reports) into their folders under ``new``
    (what :func:`~selfeval_xlsx.output.publish` makes OUT's content). Without ``completed`` (or
    ``reports``) that folder is not rebuilt, and the previous run's stays as it is."""
    new_completed, new_returned, new_reports = (new / "completed", new / "returned", new / "reports")
    new_returned.mkdir()
    if completed:
        new_completed.mkdir()
    if reports:
        new_reports.mkdir()
    rejected_names = {r.file for r in rejected}
    used: set[str] = set()

    def unique(folder: Path, stem: str, suffix: str = ".xlsx") -> Path:
        name, n = f"{stem}{suffix}", 2
        while name in used:
            name, n = f"{stem}({n}){suffix}", n + 1
        used.add(name)
        return folder / name

    for p in accepted:
        if p.staged and completed:
            stem = safe_name(f"{p.code}_{p.unit_name}_{p.year}_已评分")
            os.replace(staging / p.staged, unique(new_completed, stem))
        if p.report_staged and reports:
            stem = safe_name(f"{p.code}_{p.unit_name}_{p.year}_自评报告")
            os.replace(staging / p.report_staged, unique(new_reports, stem, ".docx"))
    for p in invalid:
        if p.staged and p.name in rejected_names:
            stem = safe_name(f"退回_{Path(p.name.split(' › ')[-1]).stem}")
            os.replace(staging / p.staged, unique(new_returned, stem))


def _rollups(
    accepted: list[Processed],
    rejected: list[R.FileRow],
    superseded: list[R.FileRow],
    skipped: list[R.FileRow],
    reject_findings: list[tuple[str, list[Finding], str, str]],
    counts: dict[str, int],
    rules: Rules,
    staging: Path,
) -> list[tuple[R.Rollup, _Spool]]:
    """One roll-up per area and year: the county, or one level up when roll-ups are merged.

    The roll-ups hold their townships; their other rows wait in the returned spools."""
    level = _level(accepted)
    groups: dict[tuple[str, int | None], list[Processed]] = {}
    for p in accepted:
        groups.setdefault((_area(p.code, level), p.year), []).append(p)
    if not groups:
        years = {p.year for p in accepted} or {None}
        groups = {("000000", y): [] for y in years}
    now = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    names = divisions()
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

    def fill(self, roll: R.Rollup) -> None:
        """Load the rows into ``roll``."""
        for name in self.files:
            if not name:
                continue
            with open(self.staging / name, "rb") as fh:
                indicators, panel, findings = pickle.load(fh)
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
        row.source_rollup = p.name
    roll.townships.extend(sub.townships)


def _level(accepted: list[Processed]) -> int:
    """Digits of the code that name the roll-up area: 6 (county), 4 (city), 2 (province), 0."""
    level = 6
    for p in accepted:
        if p.rollup is not None:
            code = p.rollup.county_code
            sub_level = 6 if code[4:6] != "00" else 4 if code[2:4] != "00" else 2 if code[:2] != "00" else 0
            level = min(level, max(0, sub_level - 2))
    return level


def _area(code: str, level: int) -> str:
    return (code[:level] + "0" * 6)[:6] if code else "000000"


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
        target = outdir / safe_name(f"汇总_{roll.county}_{roll.year or '未知年度'}.xlsx")
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
