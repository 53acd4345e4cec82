"""``merge``: from a folder of emailed files to the county roll-up(s).

Every file is accounted for (seen = accepted + superseded + rejected + skipped). Workbooks are read,
validated and scored in worker processes; each file's fate depends only on its own bytes (and, for
resubmissions, on which copy is newest). Outputs are built in a hidden staging folder of the locked
output folder and published together at the end (see :mod:`selfeval_xlsx.output`): a failed, interrupted
or concurrent run leaves the previous output whole.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import messages
from .collection.apply import RoundInputs, apply_round, receipts_of, round_finding_rows, write_reminders
from .collection.status import RoundStatus
from .drafts import DRAFTS
from .errors import NothingToMerge, StagingWriteError
from .findings import Finding, make
from .intake import Intake, collect
from .limits import DEFAULT_LIMITS, Limits
from .output import (
    FOLDERS,
    LOG_NAME,
    STAGING_PREFIX,
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
from .publishing import (
    Spool,
    build_rollups,
    publish_workbooks,
    rejection_reason,
    write_drafts,
    write_rollups,
)
from .resubmissions import name_rank, settle
from .rollup import FileRow, Rollup
from .rules import Rules, load_rules
from .runlog import RUN_LOG, log_to, stop_log
from .signing import NO_KEYS, KeyRing
from .worker import OUTPUT_ERRNOS, Processed, Task, close_spool, process, remember_rules

__all__ = ["STAGING_PREFIX", "MergeResult", "Processed", "atomic_file", "atomic_write", "merge", "name_rank"]


@dataclass
class MergeResult:
    """The outcome of a merge: counts, roll-ups and where the outputs are.

    ``rollups`` hold each roll-up's townships, files, counts and totals. Their indicator, panel and
    finding rows are released once written, so that memory stays flat however large the inbox: read
    them from ``rollup.json`` or with :func:`selfeval_xlsx.rollup_read.read_rollup_workbook`.
    """

    outdir: Path
    counts: dict[str, int]
    rollups: list[Rollup]
    outputs: list[Path]
    accepted: list[Processed]
    rejected: list[FileRow]
    superseded: list[FileRow]
    skipped: list[FileRow]
    #: files found in OUT that this tool did not write (or that were edited since): kept, never deleted
    kept: list[Path] = field(default_factory=list)
    #: with a roster: who has reported, per roll-up
    statuses: list[RoundStatus] = field(default_factory=list)
    #: the problems of the roster, ledger and last year's files themselves (also in the roll-up)
    round_findings: list[Finding] = field(default_factory=list)
    #: reminder drafts written (drafts/催报_*.eml)
    reminders: list[Path] = field(default_factory=list)
    #: what the ledger check found (reported figures that differ, units missing on either side)
    ledger_findings: list[Finding] = field(default_factory=list)

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
    roster: str | Path | None = None,
    ledger: str | Path | None = None,
    previous: str | Path | None = None,
    ledger_unit: str | None = None,
) -> MergeResult:
    """Merge every file under ``inbox`` into roll-ups in ``outdir``. Never modifies the inbox.

    The round (:mod:`selfeval_xlsx.collection.apply`): ``roster`` (.xlsx/.csv of the units expected) adds the
    报送情况 rows and reminder drafts for units that sent nothing; ``ledger`` (the bureau's budget-system
    export; ``ledger_unit`` 元/万元 when the file does not say) checks each unit's reported figures;
    ``previous`` (last year's output folder, rollup.json or roll-up workbook) adds last year's figures,
    copied indicators and recurring problems. A bad one of these files is a finding in the roll-up and
    ``MergeResult.round_findings``; it never stops the merge.

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
    # workers check each package as they read it, and sniff the files intake left to them
    intake: Intake = collect(inbox, limits, check=False, defer=True)
    if not intake.items and not intake.rejected:
        raise NothingToMerge(_nothing_to_merge(inbox, intake))
    tracker = _Progress(progress)
    inputs = RoundInputs.load(roster, ledger, previous, ledger_unit=ledger_unit, rules=rules, limits=limits)
    options = _Options(jobs, year, completed, reports, report_defaults, limits, tracker, keys, inputs)
    with workspace(outdir) as ws:
        (ws.staging / "rows").mkdir()
        # one run's log, published with its outputs (merge.log does not grow from run to run)
        sink = ws.log_sink = log_to(ws.log)
        try:
            return _merge(inbox, ws, rules, options, intake)
        except StagingWriteError as exc:
            error = OSError(exc.errno, os.strerror(exc.errno))
            raise _failed(ws, sink, _output_error(error, ws, tracker)) from None
        except Exception as exc:
            found = os_error_in(exc)
            if found is None or found.errno not in OUTPUT_ERRNOS:
                raise
            raise _failed(ws, sink, _output_error(found, ws, tracker)) from exc
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
    stop_log(sink)


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
    round_inputs: RoundInputs = field(default_factory=RoundInputs)


def _nothing_to_merge(inbox: Path, intake: Intake) -> str:
    if not intake.skipped:
        return messages.phrase("nothing-to-merge", "empty", inbox=inbox)
    listed = "、".join(
        messages.phrase("nothing-to-merge", "item", name=s.name, reason=s.reason) for s in intake.skipped[:5]
    )
    count = len(intake.skipped)
    more = messages.phrase("nothing-to-merge", "more", count=count) if count > 5 else ""
    return messages.phrase("nothing-to-merge", "no-workbooks", inbox=inbox, listed=listed, more=more)


def _merge(inbox: Path, ws: Workspace, rules: Rules, o: _Options, intake: Intake) -> MergeResult:
    jobs, limits = o.jobs, o.limits
    outdir, staging = ws.outdir, ws.staging
    started = time.perf_counter()
    RUN_LOG.info("merge %s → %s (rules %s, jobs %s)", inbox, outdir, rules.name, _workers(jobs))
    RUN_LOG.info(
        "intake: %s items, %s rejected, %s skipped",
        len(intake.items),
        len(intake.rejected),
        len(intake.skipped),
    )
    remember_rules(rules)
    tasks = [
        Task(item, rules.source, str(staging), o.completed, limits, o.reports, o.report_defaults, o.keys)
        for item in intake.items
    ]
    workers = _workers(jobs)
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
    for handler in list(RUN_LOG.handlers):
        if not isinstance(handler, logging.NullHandler):
            RUN_LOG.removeHandler(handler)  # the main process's file object: not closed here
    log_to(Path(log))
    RUN_LOG.info("worker %s started (%s)", os.getpid(), method)


def _workers(jobs: int | None) -> int:
    """The pool's worker processes: ``jobs``, or one per core."""
    return jobs or os.cpu_count() or 1


def _finish(
    ws: Workspace,
    rules: Rules,
    o: _Options,
    intake: Intake,
    tasks: list[Task],
    pool: ProcessPoolExecutor | None,
    started: float,
) -> MergeResult:
    """Score every item (in ``pool`` when given), settle resubmissions, write every output."""
    outdir, staging = ws.outdir, ws.staging
    year = o.year
    try:
        processed = list(_run(tasks, pool, o.jobs, o.progress))
    finally:
        close_spool()  # the rows this process spooled (the first file, or all of them with one job)
    processed = _refused_at_intake(intake, processed)
    RUN_LOG.info("processed %s items in %.2fs", len(processed), time.perf_counter() - started)

    rejected: list[FileRow] = [
        FileRow(r.name, "rejected", rejection_reason(r.name, list(r.findings)), sha256=r.sha256)
        for r in intake.rejected
    ]
    reject_findings: list[tuple[str, list[Finding], str, str]] = [
        (r.name, list(r.findings), "", "") for r in intake.rejected
    ]
    skipped = [FileRow(s.name, "skipped", s.reason) for s in intake.skipped]
    valid: list[Processed] = []
    invalid: list[Processed] = []
    for p in processed:
        if p.valid and year is not None and p.year is not None and p.year != year:
            p.valid = False
            p.findings.append(
                make(
                    "year-mismatch",
                    messages.text("year-mismatch", "merge", year=p.year, wanted=year),
                    severity="error",
                    file=p.name,
                )
            )
        (valid if p.valid else invalid).append(p)

    # resubmissions, the tool's own outputs and roll-up rows: see settle
    settled = settle(valid, invalid)
    accepted, superseded = settled.accepted, settled.superseded
    skipped.extend(settled.skipped)
    reject_findings.extend(settled.findings)
    for p in settled.rejected:
        rejected.append(
            FileRow(p.name, "rejected", rejection_reason(p.name, p.findings), p.code, p.unit_name, p.sha256)
        )
        reject_findings.append((p.name, p.findings, p.code, p.unit_name))

    counts = {
        "seen": len(intake.items) + len(intake.rejected) + len(intake.skipped),
        "accepted": len(accepted),
        "superseded": len(superseded),
        "rejected": len(rejected),
        "skipped": len(skipped),
    }
    moved = publish_workbooks(ws.new, staging, accepted, invalid, rejected, o.reports, o.completed)
    senders: dict[str, tuple[str, int | None]] = {r.name: (r.email_from, None) for r in intake.rejected}
    senders.update({p.name: (p.email_from, p.year) for p in settled.rejected})
    write_drafts(ws.new / DRAFTS, rejected, senders, moved)
    listed = [*superseded, *settled.notes]  # roll-up rows not taken are listed, not counted (not files)
    spooled = build_rollups(
        accepted, rejected, listed, skipped, reject_findings, counts, rules, staging, year
    )
    RUN_LOG.info("workbooks staged, roll-ups built in %.2fs", time.perf_counter() - started)
    statuses, reminders, ledger_found = _apply_round(
        o.round_inputs, spooled, processed, accepted, rejected, superseded, ws.new, rules
    )
    for roll, spool in spooled:
        spool.signer = o.keys.signer_for(roll.county_code)
    tops = write_rollups(ws.new, spooled, pool, _workers(o.jobs))
    rollups = [roll for roll, _ in spooled]
    RUN_LOG.info("counts %s in %.2fs; publishing", counts, time.perf_counter() - started)
    if ws.log_sink is not None:  # merge.log is complete: it is published with the outputs
        stop_log(ws.log_sink)
        ws.log_sink = None
    folders = [f for f in FOLDERS if (ws.new / f).is_dir()]
    done = publish(ws, [*folders, *(t.name for t in tops), LOG_NAME])
    result = MergeResult(outdir, counts, rollups, done.outputs, accepted, rejected, superseded, skipped)
    result.kept = done.kept
    result.statuses, result.round_findings = statuses, o.round_inputs.findings
    result.reminders = [ws.outdir / DRAFTS / p.name for p in reminders]
    result.ledger_findings = ledger_found
    return result


def _refused_at_intake(intake: Intake, processed: list[Processed]) -> list[Processed]:
    """Put the files a worker found intake would have rejected (``collect(defer=True)``, see
    :func:`selfeval_xlsx.intake.refused`) back among intake's rejected entries, in intake's order, as if
    intake had sniffed them itself; return the other results."""
    refused = [p.refused for p in processed if p.refused is not None]
    if not refused:
        return processed
    gone = {(r.origin, r.name) for r in refused}
    intake.items = [i for i in intake.items if (i.origin, i.name) not in gone]
    intake.rejected = sorted([*intake.rejected, *refused], key=lambda r: (r.origin, r.name))
    return [p for p in processed if p.refused is None]


def _apply_round(
    inputs: RoundInputs,
    spooled: list[tuple[Rollup, Spool]],
    processed: list[Processed],
    accepted: list[Processed],
    rejected: list[FileRow],
    superseded: list[FileRow],
    new: Path,
    rules: Rules,
) -> tuple[list[RoundStatus], list[Path], list[Finding]]:
    """The roster, ledger and last year's roll-up applied to each roll-up (:mod:`selfeval_xlsx.collection.apply`);
    reminder drafts for the units that sent nothing. Returns the statuses, the drafts and the ledger's
    findings."""
    if not inputs:
        return [], [], []
    received = {p.name: p.received for p in processed}
    outcomes = [
        *(
            ("accepted", FileRow(p.name, "accepted", "", p.code, p.unit_name))
            for p in accepted
            if p.rollup is None
        ),
        *(("rejected", row) for row in rejected),
        *(("superseded", row) for row in superseded),
    ]
    receipts = receipts_of(outcomes, received)
    statuses, reminders, ledger_found = [], [], []
    for roll, spool in spooled:
        status, found = apply_round(roll, inputs, receipts, only_roll=len(spooled) == 1)
        spool.findings.extend(round_finding_rows(roll, found))
        ledger_found += [f for f in found if f.code.startswith("ledger-") and f not in inputs.findings]
        spool.previous = inputs.previous
        if status is not None:
            statuses.append(status)
            reminders += write_reminders(new / DRAFTS, roll, rules=rules)
    return statuses, reminders, ledger_found


def _run(
    tasks: list[Task],
    pool: ProcessPoolExecutor | None,
    jobs: int | None,
    progress: Callable[[int, int], None] | None,
) -> Iterator[Processed]:
    total = len(tasks)
    if pool is None:
        results: Iterable[Processed] = map(process, tasks)
    else:
        workers = _workers(jobs)
        # Forked workers inherit this process's memory: processing the first file here, before the pool
        # forks them, fills the per-process caches (the compiled schema, the template's frames, the
        # prompts) once instead of once per worker (≈ 0.15 s of CPU each; the wall time is the same,
        # since every worker would otherwise spend it at the same moment). The pool is new: nothing has
        # been submitted to it, so its workers have not been forked yet.
        warm = start_method() == "fork"
        first = [process(tasks[0])] if warm else []
        # chunks of at most 16 files: a worker left alone at the end waits for at most one chunk (with
        # 64, 0.08-0.25 s of one core idle at the end of 1,000 files; with 16, 0.04-0.07 s)
        chunk = max(1, min(16, total // (workers * 4) or 1))
        results = itertools.chain(first, pool.map(process, tasks[len(first) :], chunksize=chunk))
    for i, r in enumerate(results, 1):
        if progress:
            progress(i, total)
        yield r
