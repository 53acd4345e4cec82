"""merge.log: the run's own logger, the handler that writes a run's lines to it, and how an
unexpected failure is logged (with its traceback)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from loguru import logger

from .output import (
    LogFile,
)

#: merge.log's own logger. The library's loguru records stay off (``logger.disable("selfeval_xlsx")`` in
#: the package) until the caller enables them, and loguru has one set of handlers for the whole process:
#: a merge.log sink added there also sent every run line to the caller's stderr handler, and loguru's
#: recipe for an independent logger (``copy.deepcopy(logger)``) raises on the default stderr handler
#: ("cannot pickle '_io.TextIOWrapper'", measured with loguru 0.7.3). So the run's log is a stdlib logger
#: that never propagates: its lines reach merge.log and nothing else.
RUN_LOG = logging.getLogger("selfeval_xlsx.merge.run")
RUN_LOG.propagate = False
RUN_LOG.setLevel(logging.INFO)
RUN_LOG.addHandler(logging.NullHandler())  # outside a run: nothing, not logging's last-resort stderr
# intake knows a merge.log in an inbox by the logger's name in its lines (intake._tool_text)
_RUN_FORMAT = "%(asctime)s | %(levelname)-8s | %(name)s:%(process)d - %(message)s"


def log_to(path: Path) -> logging.Handler:
    """Add a handler writing this run's records to ``path`` (merge.log)."""
    handler = logging.StreamHandler(LogFile(path))
    handler.setFormatter(logging.Formatter(_RUN_FORMAT))
    RUN_LOG.addHandler(handler)
    return handler


def stop_log(handler: logging.Handler) -> None:
    RUN_LOG.removeHandler(handler)  # no error when already removed
    stream = getattr(handler, "stream", None)
    if isinstance(stream, LogFile):
        stream.stop()


def log_error(message: str, *args: Any) -> None:
    """An unexpected failure with its traceback: in merge.log, and through loguru for a caller (the CLI)
    that enabled the library's logging."""
    RUN_LOG.exception(message.replace("{}", "%s"), *args)
    logger.opt(exception=True).error(message, *args)
