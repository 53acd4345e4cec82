"""Writing a merge's outputs into the staging folder: completed/returned workbooks and reports moved
into their folders, reply drafts, the roll-ups (one per area and year) with their workbooks and
``rollup.json``."""

from __future__ import annotations

import os
import pickle
import shutil
import unicodedata
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .collection.previous import Previous
from .drafts import reply_draft
from .findings import Finding
from .intake import SEP, safe_name
from .jsoncodec import ascii_text, rows_text
from .output import (
    atomic_file,
    atomic_write,
)
from .rollup import FileRow, FindingRow, Rollup, rollup_file_name
from .rules import Rules
from .signing import SigningKey
from .validate import divisions
from .version import __version__
from .worker import Processed, finding_rows


def rejection_reason(name: str, findings: list[Finding]) -> str:
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


def publish_workbooks(
    new: Path,
    staging: Path,
    accepted: list[Processed],
    invalid: list[Processed],
    rejected: list[FileRow],
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


def write_drafts(
    folder: Path,
    rejected: list[FileRow],
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


def build_rollups(
    accepted: list[Processed],
    rejected: list[FileRow],
    superseded: list[FileRow],
    skipped: list[FileRow],
    reject_findings: list[tuple[str, list[Finding], str, str]],
    counts: dict[str, int],
    rules: Rules,
    staging: Path,
    year: int | None = None,
) -> list[tuple[Rollup, Spool]]:
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
        roll = Rollup(
            county_code=area,
            county=county,
            year=year,
            rules=rules.name,
            tool_version=__version__,
            generated=now,
            grades=rules.grades,
        )
        spool = Spool(staging)
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
                spool.findings.extend(finding_rows(name, findings, code, unit))
        roll.files = [f for f in (*rejected, *superseded, *skipped) if here(f.code)]
        roll.counts = dict(counts)
        roll.rank()
        out.append((roll, spool))
    return out


@dataclass
class Spool:
    """Where a roll-up's rows wait until its workbook is written: the members' spool files, in order,
    then the findings of rejected files (held in memory: there are few of them)."""

    staging: Path
    files: list[str] = field(default_factory=list)
    findings: list[FindingRow] = field(default_factory=list)
    excluded: dict[str, frozenset[str]] = field(default_factory=dict)  # spool file → codes left out
    signer: SigningKey | None = None  # signs the roll-up's data when set
    previous: Previous | None = None  # last year's roll-up (merge --previous), compared once rows are loaded

    def fill(self, roll: Rollup) -> None:
        """Load the rows into ``roll``."""
        for name in self.files:
            if not name:
                continue
            path, _, offset = name.partition("#")  # worker._spool: 'rows/<file>.pkl#<offset>'
            with open(self.staging / path, "rb") as fh:
                fh.seek(int(offset or 0))
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
        if self.previous is not None:  # copied indicators, recurring problems: need the rows
            from .collection.apply import apply_rows, round_finding_rows

            roll.findings.extend(round_finding_rows(roll, apply_rows(roll, self.previous)))

    @staticmethod
    def release(roll: Rollup) -> None:
        """Drop ``roll``'s rows once written (see :class:`MergeResult`)."""
        roll.indicators, roll.panel, roll.findings = [], [], []


def _absorb(roll: Rollup, p: Processed) -> None:
    sub = p.rollup
    assert sub is not None
    for row in sub.townships:
        if row.code in p.excluded:
            continue  # counted from another file (see settle)
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


#: With at most this many roll-ups per worker, the main process writes some too (see :func:`_shared_out`).
SHARE_PER_WORKER = 3


def write_rollups(
    outdir: Path,
    spooled: list[tuple[Rollup, Spool]],
    pool: ProcessPoolExecutor | None = None,
    workers: int = 1,
) -> list[Path]:
    """Write each roll-up's workbook and its part of ``rollup.json`` into ``outdir`` (the staging
    folder's ``new/``), one roll-up in memory at a time; return the paths written.

    With several roll-ups (counties) and a pool of ``workers``, the workbooks are written in the worker
    processes, largest first. With few roll-ups per worker (≤ :data:`SHARE_PER_WORKER`), one worker
    would be left writing the last county alone: the main process then takes the smallest ones no worker
    has started. With more, largest-first balances the workers, and the main process, which holds every
    file's result, does not add a roll-up's memory to its own (measured at 10,000 files in 26 counties:
    no faster, peak 172 → 221 MB)."""

    out = []
    target_json = outdir / "rollup.json"
    with atomic_file(target_json) as fh:
        fh.write(b'{\n  "tool_version": ' + ascii_text(__version__).encode() + b',\n  "rollups": [')
        done: Iterable[tuple[Path, Path]]  # (workbook, its spooled part of rollup.json)
        if pool is not None and len(spooled) > 1:
            done = _shared_out(outdir, spooled, pool, len(spooled) <= SHARE_PER_WORKER * workers)
        else:
            done = (write_rollup(outdir, roll, spool) for roll, spool in spooled)
        for i, (target, part) in enumerate(done):
            out.append(target)
            fh.write(b",\n    " if i else b"\n    ")
            with open(part, "rb") as src:  # megabytes per county: copied, never held by this process
                shutil.copyfileobj(src, fh, 1 << 20)
            part.unlink()
        fh.write(b"\n  ]\n}" if spooled else b"]\n}")
    out.append(target_json)
    return out


def _shared_out(
    outdir: Path, spooled: list[tuple[Rollup, Spool]], pool: ProcessPoolExecutor, share: bool = True
) -> list[tuple[Path, Path]]:
    """Write the roll-ups in ``pool``, largest first, and with ``share`` in this process too; return
    them in ``spooled``'s order.

    This process, otherwise idle until the workers are done, takes the smallest roll-ups no worker has
    started yet (``Future.cancel`` succeeds only on a task still waiting). Without it, three counties on
    two workers end with one worker writing the third county alone: `merge --no-completed` of 1,000
    files in three counties, 3.08 → 2.85 s (median of 6 paired runs)."""
    order = sorted(range(len(spooled)), key=lambda i: -len(spooled[i][1].files))
    futures = {i: pool.submit(write_rollup, outdir, *spooled[i]) for i in order}
    done: dict[int, tuple[Path, Path]] = {}
    try:
        for i in reversed(order) if share else ():
            if not futures[i].cancel():
                break  # a worker has it, and the larger ones before it
            done[i] = write_rollup(outdir, *spooled[i])
        for i in order:
            if i not in done:
                done[i] = futures[i].result()
    except BaseException:
        for f in futures.values():
            f.cancel()
        raise
    return [done[i] for i in range(len(spooled))]


def write_rollup(outdir: Path, roll: Rollup, spool: Spool) -> tuple[Path, Path]:
    """Load one roll-up's rows, write its workbook; return its path and that of its ``rollup.json`` text
    (UTF-8, in the staging folder: a worker would otherwise send megabytes back to the main process)."""
    from .rollup_write import paused_gc, write_rollup_workbook

    with paused_gc():
        spool.fill(roll)
        roll.rank()
        data = roll.to_dict()  # once, for the workbook's _rollup sheet and for rollup.json
        if spool.signer is not None:
            from .signing import sign_rollup_data

            sign_rollup_data(data, spool.signer)
        target = outdir / rollup_file_name(roll.county, roll.year)
        atomic_write(target, lambda w: write_rollup_workbook(w, roll, data))
        part = spool.staging / f"rollup-{roll.county_code}-{roll.year or 0}.json"
        part.write_bytes(rows_text(data, "    ").encode("utf-8"))
        spool.release(roll)
    return target, part
