"""``merge``: from a folder of emailed files to the county roll-up(s).

Every file is accounted for (seen = accepted + superseded + rejected + skipped). Workbooks are read,
validated and scored in worker processes; each file's fate depends only on its own bytes (and, for
resubmissions, on which copy is newest). Outputs are written atomically: completed and returned
workbooks are built in a hidden staging folder that replaces the old folders only at the end, and every
single file is written to a temporary name and renamed.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from loguru import logger

from . import rollup as R
from .findings import Finding, make
from .intake import ChangedFile, Intake, Item, collect, safe_name
from .limits import DEFAULT_LIMITS, Limits
from .pipeline import Scored, score_workbook
from .rules import Rules, load_rules
from .signing import NO_KEYS, KeyRing, SigningKey
from .validate import divisions
from .version import __version__

STAGING_PREFIX = ".staging-"


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
    from .rollup_check import check_rollup_workbook
    from .rollup_xlsx import is_rollup_workbook

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
    try:
        write_report(Path(task.staging) / staged, scored, task.report_defaults)
    except Exception:  # a report bug must not reject a valid workbook
        logger.exception("report failed for {}", item.name)
        return ""
    return staged


def _spool(task: _Task, item: Item, rows: tuple[list, list, list]) -> str:
    """Pickle a file's indicator, panel and finding rows into the staging folder; return the name.

    The main process holds only one row per township; each roll-up's rows are read back while its
    workbook is written, so a merge's memory does not grow with the number of files.
    """
    name = f"rows/{item.sha256[:24]}.pkl"
    with open(Path(task.staging) / name, "wb") as fh:
        pickle.dump(rows, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return name


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
    path = Path(task.staging) / staged
    if scored.valid:
        write_completed(path, scored)
    else:
        write_returned(path, scored.doc, scored.report)
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
            method=s.method,
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
    keys: KeyRing = NO_KEYS,
) -> MergeResult:
    """Merge every file under ``inbox`` into roll-ups in ``outdir``. Never modifies the inbox.

    ``keys`` (:func:`selfeval_xlsx.signing.load_keyring`) sign the roll-ups written and verify the
    roll-ups merged as units."""
    inbox, outdir = Path(inbox), Path(outdir)
    rules = rules or load_rules()
    outdir.mkdir(parents=True, exist_ok=True)
    _clean_stale_staging(outdir)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=outdir))
    (staging / "rows").mkdir()
    sink = logger.add(outdir / "merge.log", level="INFO", encoding="utf-8", enqueue=False)
    try:
        options = _Options(jobs, year, completed, reports, report_defaults, limits, progress, keys)
        return _merge(inbox, outdir, staging, rules, options)
    finally:
        logger.remove(sink)
        shutil.rmtree(staging, ignore_errors=True)


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


def _merge(inbox: Path, outdir: Path, staging: Path, rules: Rules, o: _Options) -> MergeResult:
    jobs, limits = o.jobs, o.limits
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
        _Task(item, rules.source, str(staging), o.completed, limits, o.reports, o.report_defaults, o.keys)
        for item in intake.items
    ]
    workers = jobs or os.cpu_count() or 1
    # One pool for scoring and for writing the roll-ups: its workers fork now, while the main process is
    # small, rather than later from a main process that holds every file's results.
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 and len(tasks) > 1 else None
    try:
        return _finish(outdir, staging, rules, o, intake, tasks, pool, started)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _finish(
    outdir: Path,
    staging: Path,
    rules: Rules,
    o: _Options,
    intake: Intake,
    tasks: list[_Task],
    pool: ProcessPoolExecutor | None,
    started: float,
) -> MergeResult:
    """Score every item (in ``pool`` when given), settle resubmissions, write every output."""
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
    accepted = _without_overlaps(accepted, invalid)
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
    outputs = _publish_workbooks(outdir, staging, accepted, invalid, rejected, o.reports)
    spooled = _rollups(accepted, rejected, superseded, skipped, reject_findings, counts, rules, staging)
    for roll, spool in spooled:
        spool.signer = o.keys.signer_for(roll.county_code)
    logger.info("workbooks published, roll-ups built in {:.2f}s", time.perf_counter() - started)
    outputs += _write_rollups(outdir, spooled, pool)
    rollups = [roll for roll, _ in spooled]
    logger.info("counts {} in {:.2f}s", counts, time.perf_counter() - started)
    return MergeResult(outdir, counts, rollups, outputs, accepted, rejected, superseded, skipped)


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
    outdir: Path,
    staging: Path,
    accepted: list[Processed],
    invalid: list[Processed],
    rejected: list[R.FileRow],
    reports: bool = False,
) -> list[Path]:
    """Move staged completed/returned workbooks (and reports) into fresh folders, then swap them in."""
    new_completed, new_returned, new_reports = (
        staging / "completed",
        staging / "returned",
        staging / "reports",
    )
    for folder in (new_completed, new_returned, new_reports):
        folder.mkdir()
    rejected_names = {r.file for r in rejected}
    used: set[str] = set()

    def unique(folder: Path, stem: str, suffix: str = ".xlsx") -> Path:
        name, n = f"{stem}{suffix}", 2
        while name in used:
            name, n = f"{stem}({n}){suffix}", n + 1
        used.add(name)
        return folder / name

    for p in accepted:
        if p.staged:
            stem = safe_name(f"{p.code}_{p.unit_name}_{p.year}_已评分")
            os.replace(staging / p.staged, unique(new_completed, stem))
        if p.report_staged:
            stem = safe_name(f"{p.code}_{p.unit_name}_{p.year}_自评报告")
            os.replace(staging / p.report_staged, unique(new_reports, stem, ".docx"))
    for p in invalid:
        if p.staged and p.name in rejected_names:
            stem = safe_name(f"退回_{Path(p.name.split(' › ')[-1]).stem}")
            os.replace(staging / p.staged, unique(new_returned, stem))
    out = []
    swaps = [(new_completed, outdir / "completed"), (new_returned, outdir / "returned")]
    if reports:  # an earlier run's reports stay unless reports are drafted again
        swaps.append((new_reports, outdir / "reports"))
    for new, final in swaps:
        old = None
        if final.exists():
            old = staging / f"old-{final.name}"
            os.replace(final, old)
        os.replace(new, final)
        out.extend(sorted(final.iterdir()))
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
    signer: SigningKey | None = None  # signs the roll-up's data when set

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


def _without_overlaps(accepted: list[Processed], invalid: list[Processed]) -> list[Processed]:
    """Reject every roll-up holding a unit that another accepted file also holds (issue 13)."""
    from .rollup_check import overlapping

    if not any(p.rollup is not None for p in accepted):
        return accepted
    clashes = overlapping((p.name, p.rollup, p.code, p.year) for p in accepted)
    for p in accepted:
        if p.name in clashes:
            p.valid = False
            p.findings.append(clashes[p.name])
            invalid.append(p)
    return [p for p in accepted if p.name not in clashes]


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
    """Write each roll-up's workbook and its part of ``rollup.json``, one roll-up in memory at a time.

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
    wanted = {t.name for t in out}
    for stale in outdir.glob("汇总_*.xlsx"):  # from an earlier run over other files
        if stale.name not in wanted:
            stale.unlink()
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


def atomic_write(target: Path, write: Callable[[Any], None]) -> None:
    """Write via a temporary file in the same folder, then rename over ``target``."""
    with atomic_file(target) as fh:
        write(fh)


@contextmanager
def atomic_file(target: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at ``target`` (by rename) only if the block completes."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _clean_stale_staging(outdir: Path) -> None:
    """Remove what an interrupted run left behind (staging folders and temporary files)."""
    for p in outdir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in outdir.glob(".*.tmp"):
        p.unlink(missing_ok=True)
