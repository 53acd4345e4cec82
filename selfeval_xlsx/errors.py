"""The library's fatal errors: conditions that stop a whole command (never a problem in one input file,
which is a :class:`~selfeval_xlsx.findings.Finding`).

Each carries a Chinese message for the user and the exit code the CLI uses (see the README's exit codes).
"""

from __future__ import annotations

#: Exit codes of every command: all good; some input rejected or unread; usage error (including another
#: merge already running on the output folder); the disk is full; the output cannot be written; interrupted.
EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_DISK_FULL, EXIT_UNWRITABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


class SelfevalError(Exception):
    """Base of the library's fatal errors: ``message`` (Chinese, one line) and ``exit_code``."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class FolderError(SelfevalError):
    """The inbox and output folders overlap or cannot be used together."""


class NothingToMerge(FolderError):
    """The inbox holds no workbook at all (empty, or only other files): nothing is written."""


class OutputBusy(SelfevalError):
    """Another merge is writing into the same output folder."""


class OutputError(SelfevalError):
    """An output could not be written (permissions, a read-only disk); nothing was published."""

    exit_code = EXIT_UNWRITABLE


class DiskFull(OutputError):
    """The disk holding the output ran out of space; nothing was published."""

    exit_code = EXIT_DISK_FULL


class StagingWriteError(Exception):
    """A worker could not write into the staging folder (raised across processes, so only plain args)."""

    def __init__(self, errno: int, detail: str) -> None:
        super().__init__(errno, detail)
        self.errno = errno
        self.detail = detail
