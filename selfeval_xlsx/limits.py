"""Bounds on untrusted input (:class:`Limits`, defined in :mod:`selfeval_xlsx.xlsx.limits`) and how
messages show a size."""

from __future__ import annotations

from .xlsx.limits import DEFAULT_LIMITS, GB, KB, MB, Limits

__all__ = ["DEFAULT_LIMITS", "GB", "KB", "MB", "Limits", "size_text"]


def size_text(n: int) -> str:
    """A byte count as every message shows it: in the binary units the limits are set in (``50 MB`` is
    ``50 * MB``), whole when exact, else to one decimal (``52.3 MB``); KB below 1 MB, GB from 1 GB."""
    n = max(n, 0)
    unit, name = (GB, "GB") if n >= GB else (MB, "MB") if n >= MB else (KB, "KB")
    return f"{n // unit} {name}" if n % unit == 0 else f"{n / unit:.1f} {name}"
