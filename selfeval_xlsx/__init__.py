"""selfeval-xlsx: collect, check, score and roll up townships' 整体支出绩效自评 workbooks.

The public API: the functions of :mod:`selfeval_xlsx.api` and the types they take and return, exported
here (``from selfeval_xlsx import validate_workbook, load_rules``). They are imported when first used,
so that ``import selfeval_xlsx`` stays fast. The CLI (:mod:`selfeval_xlsx.cli`) is a thin layer over them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from loguru import logger

from .version import TEMPLATE_VERSION, __version__

if TYPE_CHECKING:  # what __getattr__ below imports on first use, for type checkers and IDEs
    from .api import (
        check_rollup_file,
        document_json,
        fill_workbook,
        generate_keys,
        load_keyring,
        load_rules,
        read_workbook,
        score_workbook,
        validate_document,
        validate_workbook,
        write_completed,
        write_prefilled_templates,
        write_report,
        write_template,
    )
    from .collection.prefill import Prefilled
    from .document import Document
    from .errors import DiskFull, FolderError, NothingToMerge, OutputBusy, OutputError, SelfevalError
    from .findings import Finding, Report
    from .limits import DEFAULT_LIMITS, Limits
    from .merge import MergeResult
    from .pipeline import Scored, Validated
    from .rollup import Rollup
    from .rules import Rules, RulesError
    from .signing import KeyFileError, KeyRing

#: Public name → the module that defines it.
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "check_rollup_file",
            "document_json",
            "fill_workbook",
            "generate_keys",
            "load_keyring",
            "load_rules",
            "read_workbook",
            "score_workbook",
            "validate_document",
            "validate_workbook",
            "write_completed",
            "write_prefilled_templates",
            "write_report",
            "write_template",
        ),
        "api",
    ),
    "Document": "document",
    **dict.fromkeys(
        ("DiskFull", "FolderError", "NothingToMerge", "OutputBusy", "OutputError", "SelfevalError"), "errors"
    ),
    "Finding": "findings",
    "Report": "findings",
    "DEFAULT_LIMITS": "limits",
    "Limits": "limits",
    "MergeResult": "merge",
    "Prefilled": "collection.prefill",
    "Scored": "pipeline",
    "Validated": "pipeline",
    "Rollup": "rollup",
    "Rules": "rules",
    "RulesError": "rules",
    "KeyFileError": "signing",
    "KeyRing": "signing",
}

#: ``merge`` is not here: ``from selfeval_xlsx import merge`` is the module selfeval_xlsx.merge; the
#: function is :func:`selfeval_xlsx.api.merge`.
__all__ = [
    "DEFAULT_LIMITS",
    "TEMPLATE_VERSION",
    "DiskFull",
    "Document",
    "Finding",
    "FolderError",
    "KeyFileError",
    "KeyRing",
    "Limits",
    "MergeResult",
    "NothingToMerge",
    "OutputBusy",
    "OutputError",
    "Prefilled",
    "Report",
    "Rollup",
    "Rules",
    "RulesError",
    "Scored",
    "SelfevalError",
    "Validated",
    "__version__",
    "check_rollup_file",
    "document_json",
    "enable_logging",
    "fill_workbook",
    "generate_keys",
    "load_keyring",
    "load_rules",
    "read_workbook",
    "score_workbook",
    "validate_document",
    "validate_workbook",
    "write_completed",
    "write_prefilled_templates",
    "write_report",
    "write_template",
]

# A library is silent unless its caller asks: its loguru records are dropped until enable_logging().
# (merge.log is written whatever this says: see selfeval_xlsx.runlog.RUN_LOG.)
logger.disable("selfeval_xlsx")


def enable_logging() -> None:
    """Send the library's log records to loguru's handlers (the CLI does this; a script may too).

    Same as ``loguru.logger.enable("selfeval_xlsx")``; which records show where is the handlers' choice.
    """
    logger.enable("selfeval_xlsx")


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
