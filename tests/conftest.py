"""Shared fixtures."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest


def has_soffice() -> bool:
    return bool(shutil.which("soffice") or shutil.which("libreoffice"))


if os.environ.get("CI") and not has_soffice():  # CI installs it (.ci/run): a skip there would hide a gap
    raise RuntimeError("CI is set but LibreOffice (soffice) is not installed; see .ci/run")

needs_soffice = pytest.mark.skipif(not has_soffice(), reason="LibreOffice is not installed")


def soffice_convert(source: Path, outdir: Path, to: str = "pdf", timeout: int = 180) -> Path:
    """Convert ``source`` with LibreOffice headless (own throw-away profile); return the new file."""
    profile = outdir / f"lo-profile-{uuid.uuid4().hex}"
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            to,
            "--outdir",
            str(outdir),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    shutil.rmtree(profile, ignore_errors=True)
    return outdir / f"{Path(source).stem}.{to}"
