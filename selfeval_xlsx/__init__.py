"""selfeval-xlsx: collect, check, score and roll up townships' 整体支出绩效自评 workbooks.

The public API lives in :mod:`selfeval_xlsx.api`; the CLI (:mod:`selfeval_xlsx.cli`) is a thin layer
over it.
"""

from loguru import logger

from .version import TEMPLATE_VERSION, __version__

__all__ = ["TEMPLATE_VERSION", "__version__", "enable_logging"]

# A library is silent unless its caller asks: its loguru records are dropped until enable_logging().
# (merge.log is written whatever this says: see selfeval_xlsx.runlog.RUN_LOG.)
logger.disable("selfeval_xlsx")


def enable_logging() -> None:
    """Send the library's log records to loguru's handlers (the CLI does this; a script may too).

    Same as ``loguru.logger.enable("selfeval_xlsx")``; which records show where is the handlers' choice.
    """
    logger.enable("selfeval_xlsx")
