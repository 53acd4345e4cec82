"""Shared fixtures."""

from __future__ import annotations

import shutil

import pytest


def has_soffice() -> bool:
    return bool(shutil.which("soffice") or shutil.which("libreoffice"))


needs_soffice = pytest.mark.skipif(not has_soffice(), reason="LibreOffice is not installed")
