"""The inboxes ``bench_merge.py`` caches in its work folder, found by the scripts that time one part of a
merge on them (``bench_completed.py``, ``bench_readers.py``, ``bench_score.py``)."""

from __future__ import annotations

from pathlib import Path


def cached_inboxes(workdir: Path, n: int) -> dict[str, Path]:
    """``{"generated": …, "office-saved": …}``: the newest cached inbox of ``n`` files of each kind that
    exists (``inbox-n<N>-c<per county>-b<bases>-g<generator>[-office]``)."""
    out = {}
    for kind, suffix in (("generated", ""), ("office-saved", "-office")):
        hits = sorted(workdir.glob(f"inbox-n{n}-c*-b*-g*{suffix}"))
        hits = [h for h in hits if h.is_dir() and h.name.endswith("-office") == bool(suffix)]
        if hits:
            out[kind] = hits[-1]
    return out
