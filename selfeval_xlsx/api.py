"""The library's public functions: everything the CLI does, callable from a bureau's own script."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from .document import Document
from .findings import Report
from .limits import DEFAULT_LIMITS, Limits
from .output import write_output
from .reader import read_workbook
from .validate import validate_document
from .validate import validate_workbook as _validate_workbook


def load_rules(name_or_path: str | Path | None = None) -> Any:
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


def write_template(target: str | Path | BinaryIO, *, year: int | None = None, rules: Any = None) -> None:
    """Write the blank standard workbook (grades in its dropdown come from the rules profile)."""
    from .template import write_template as _write

    rules = rules or load_rules()
    _to(target, lambda fh: _write(fh, year=year, rules=rules))


def validate_workbook(
    source: str | Path | bytes, *, name: str | None = None, rules: Any = None, limits: Limits = DEFAULT_LIMITS
) -> tuple[Document, Report]:
    """Read and validate one workbook: its document and the report of findings."""
    return _validate_workbook(source, name=name, rules=rules or load_rules(), limits=limits)


def score_workbook(
    source: str | Path | bytes, *, name: str | None = None, rules: Any = None, limits: Limits = DEFAULT_LIMITS
) -> Any:
    """Read, validate, score and audit one workbook (a :class:`~selfeval_xlsx.pipeline.Scored`)."""
    from .pipeline import score_workbook as _score

    return _score(source, name=name, rules=rules or load_rules(), limits=limits)


def write_completed(target: str | Path | BinaryIO, scored: Any) -> None:
    """Write the completed workbook of a valid, scored submission."""
    from .completed import write_completed as _write

    _to(target, lambda fh: _write(fh, scored))


def write_report(target: str | Path | BinaryIO, scored: Any, defaults: Any = None) -> None:
    """Draft the township's 自评报告 (.docx) of a valid, scored submission."""
    from .report import write_report as _write

    _to(target, lambda fh: _write(fh, scored, defaults))


def fill_workbook(
    target: str | Path | BinaryIO, document: Any, *, rules: Any = None, year: int | None = None
) -> Report:
    """Write a standard workbook from a submission document (JSON text, a JSON file, a dict or a
    :class:`Document`); return the findings on its values (see :mod:`selfeval_xlsx.docjson`)."""
    from .docjson import fill_workbook as _fill

    return _fill(target, document, rules=rules, year=year)


def document_json(doc: Document) -> dict[str, Any]:
    """A document's data as JSON-ready data (amounts as exact decimal strings): what ``fill`` reads."""
    from .docjson import to_json

    return to_json(doc.data)  # type: ignore[no-any-return]


def merge(inbox: str | Path, outdir: str | Path = "out", **options: Any) -> Any:
    """Merge every file under ``inbox`` into roll-ups in ``outdir`` (see :func:`selfeval_xlsx.merge.merge`)."""
    # What the workers write with, imported once here rather than by each worker after merge forks them.
    from . import completed, rollup_read, rollup_write  # noqa: F401

    if options.get("reports"):
        from . import report  # noqa: F401
    from .merge import merge as _merge

    return _merge(inbox, outdir, **options)


def generate_keys(area: str, name: str = "", directory: str | Path | None = None, **options: Any) -> Any:
    """Create an area's signing key pair (see :func:`selfeval_xlsx.signing.generate_keys`)."""
    from .signing import generate_keys as _generate

    return _generate(area, name, directory, **options)


def load_keyring(directory: str | Path | None = None, **options: Any) -> Any:
    """The signing and trusted keys ``merge(keys=…)`` uses (see :func:`selfeval_xlsx.signing.load_keyring`)."""
    from .signing import load_keyring as _load

    return _load(directory, **options)


def check_rollup_file(path: str | Path, **options: Any) -> Any:
    """Check one roll-up workbook (rows, totals, signature) as ``merge`` does before absorbing it."""
    from .rollup_check import check_rollup_file as _check

    return _check(path, **options)


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
    "write_report",
    "write_template",
]
