"""The library's public functions: everything the CLI does, callable from a bureau's own script.

Everything here is also exported from the package itself (``from selfeval_xlsx import validate_workbook``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from .document import Document
from .findings import Finding, Report
from .limits import DEFAULT_LIMITS, Limits
from .output import write_output
from .pipeline import Scored, Validated
from .reader import read_workbook
from .validate import validate_document
from .validate import validate_workbook as _validate_workbook

if TYPE_CHECKING:  # imported when used: keeps ``import selfeval_xlsx.api`` light
    from .collection.prefill import Prefilled
    from .merge import MergeResult
    from .rollup import Rollup
    from .rules import Rules
    from .signing import KeyRing


def load_rules(name_or_path: str | Path | None = None) -> Rules:
    """A rules profile by shipped name (``default``, ``mof-2020``, ``budget-20``) or from a JSON file."""
    from .rules import load_rules as _load

    return _load(name_or_path)


def _to(target: str | Path | BinaryIO, write: Callable[[Any], None]) -> None:
    """Write to a file object as given, or to a path atomically: a full disk or an unwritable place is an
    :class:`~selfeval_xlsx.errors.OutputError` and leaves no partial file (an existing one stays)."""
    if isinstance(target, str | Path):
        write_output(target, write)
    else:
        write(target)


def write_template(
    target: str | Path | BinaryIO, *, year: int | None = None, rules: Rules | None = None
) -> None:
    """Write the blank standard workbook (grades in its dropdown come from the rules profile)."""
    from .template import write_template as _write

    rules = rules or load_rules()
    _to(target, lambda fh: _write(fh, year=year, rules=rules))


def validate_workbook(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    rules: Rules | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Validated:
    """Read and validate one workbook: a :class:`~selfeval_xlsx.pipeline.Validated` (``.doc``,
    ``.report``, ``.valid``; ``doc, report = validate_workbook(…)`` unpacks it too)."""
    doc, report = _validate_workbook(source, name=name, rules=rules or load_rules(), limits=limits)
    return Validated(doc, report)


def score_workbook(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    rules: Rules | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Scored:
    """Read, validate, score and audit one workbook (a :class:`~selfeval_xlsx.pipeline.Scored`)."""
    from .pipeline import score_workbook as _score

    return _score(source, name=name, rules=rules or load_rules(), limits=limits)


def write_completed(target: str | Path | BinaryIO, scored: Scored) -> None:
    """Write the completed workbook of a valid, scored submission."""
    from .completed import write_completed as _write

    _to(target, lambda fh: _write(fh, scored))


def write_report(
    target: str | Path | BinaryIO, scored: Scored, defaults: Mapping[str, str] | None = None
) -> None:
    """Draft the township's 自评报告 (.docx) of a valid, scored submission."""
    from .report import write_report as _write

    _to(target, lambda fh: _write(fh, scored, defaults))


def fill_workbook(
    target: str | Path | BinaryIO,
    document: Document | Mapping[str, Any] | str | bytes | Path,
    *,
    rules: Rules | None = None,
    year: int | None = None,
) -> Report:
    """Write a standard workbook from a submission document (JSON text, a JSON file, a dict or a
    :class:`Document`); return the findings on its values (see :mod:`selfeval_xlsx.docjson`)."""
    from .docjson import fill_workbook as _fill

    return _fill(target, document, rules=rules, year=year)


def document_json(doc: Document) -> dict[str, Any]:
    """A document's data as JSON-ready data (amounts as exact decimal strings): what ``fill`` reads."""
    from .docjson import to_json

    return to_json(doc.data)


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
    keys: KeyRing | None = None,
    roster: str | Path | None = None,
    ledger: str | Path | None = None,
    previous: str | Path | None = None,
    ledger_unit: str | None = None,
) -> MergeResult:
    """Merge every file under ``inbox`` into roll-ups in ``outdir`` (see :func:`selfeval_xlsx.merge.merge`
    for what it raises). ``jobs``: worker processes (default: every CPU); ``year``: accept only that
    evaluation year; ``completed``/``reports``: also write each township's 评分结果 workbook / draft
    自评报告; ``progress(done, total)`` is called as files are processed; ``keys``
    (:func:`load_keyring`) sign the roll-ups written and verify roll-ups merged as units. The round:
    ``roster`` (the units expected: 报送情况 and reminder drafts), ``ledger`` (the bureau's figures,
    ``ledger_unit`` 元/万元 when the file does not say) and ``previous`` (last year's output)."""
    # What the workers write with, imported once here rather than by each worker after merge forks them.
    from . import completed as _completed  # noqa: F401
    from . import rollup_read, rollup_write  # noqa: F401

    if reports:
        from . import report  # noqa: F401
    from .merge import merge as _merge
    from .signing import NO_KEYS

    return _merge(
        inbox,
        outdir,
        rules=rules,
        jobs=jobs,
        year=year,
        completed=completed,
        reports=reports,
        report_defaults=report_defaults,
        limits=limits,
        progress=progress,
        keys=NO_KEYS if keys is None else keys,
        roster=roster,
        ledger=ledger,
        previous=previous,
        ledger_unit=ledger_unit,
    )


def write_prefilled_templates(
    roster: str | Path, outdir: str | Path, *, year: int | None = None, rules: Rules | None = None
) -> tuple[list[Prefilled], list[Finding]]:
    """One prefilled workbook per unit of ``roster`` in ``outdir`` (name, code, county and year filled
    and locked; see :mod:`selfeval_xlsx.collection.prefill`): (the workbooks written, the roster's findings)."""
    from .collection.prefill import write_prefilled_all
    from .collection.roster import read_roster

    units = read_roster(roster)
    done = write_prefilled_all(units, outdir, year=year, rules=rules or load_rules())
    return done, units.findings


def generate_keys(
    area: str, name: str = "", directory: str | Path | None = None, *, overwrite: bool = False
) -> tuple[Path, Path, str]:
    """Create an area's signing key pair (see :func:`selfeval_xlsx.signing.generate_keys`)."""
    from .signing import generate_keys as _generate

    return _generate(area, name, directory, overwrite=overwrite)


def load_keyring(
    directory: str | Path | None = None,
    *,
    trusted: str | Path | None = None,
    sign: bool = True,
    verify: bool = True,
) -> KeyRing:
    """The signing and trusted keys ``merge(keys=…)`` uses (see :func:`selfeval_xlsx.signing.load_keyring`)."""
    from .signing import load_keyring as _load

    return _load(directory, trusted=trusted, sign=sign, verify=verify)


def check_rollup_file(
    path: str | Path,
    rules: Rules | None = None,
    keys: KeyRing | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[Rollup | None, Report]:
    """Check one roll-up workbook (rows, totals, signature) as ``merge`` does before absorbing it."""
    from .rollup_check import check_rollup_file as _check
    from .signing import NO_KEYS

    return _check(path, rules, NO_KEYS if keys is None else keys, limits)


__all__ = [
    "check_rollup_file",
    "document_json",
    "fill_workbook",
    "generate_keys",
    "load_keyring",
    "load_rules",
    "merge",
    "read_workbook",
    "score_workbook",
    "validate_document",
    "validate_workbook",
    "write_completed",
    "write_prefilled_templates",
    "write_report",
    "write_template",
]
