"""Shared fixtures."""

from __future__ import annotations

import os
import shutil

import pytest


def has_soffice() -> bool:
    return bool(shutil.which("soffice") or shutil.which("libreoffice"))


if os.environ.get("CI") and not has_soffice():  # CI installs it (.ci/run): a skip there would hide a gap
    raise RuntimeError("CI is set but LibreOffice (soffice) is not installed; see .ci/run")

needs_soffice = pytest.mark.skipif(not has_soffice(), reason="LibreOffice is not installed")
