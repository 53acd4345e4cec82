"""DEVELOPERS.md's "Map of the package" names every module of selfeval_xlsx, and nothing that is gone."""

from __future__ import annotations

import re
from pathlib import Path

import selfeval_xlsx

PACKAGE = Path(selfeval_xlsx.__file__).parent
DEVELOPERS = PACKAGE.parent / "DEVELOPERS.md"


def _mapped(text: str) -> set[str]:
    section = text.split("## Map of the package", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^- `([\w/]+\.py)` — ", section, flags=re.M))


def _modules() -> set[str]:
    return {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}


def test_every_module_is_on_the_map() -> None:
    missing = _modules() - _mapped(DEVELOPERS.read_text(encoding="utf-8"))
    assert not missing, f"modules missing from DEVELOPERS.md's map: {sorted(missing)}"


def test_the_map_names_no_module_that_is_gone() -> None:
    stale = _mapped(DEVELOPERS.read_text(encoding="utf-8")) - _modules()
    assert not stale, f"DEVELOPERS.md's map names modules that do not exist: {sorted(stale)}"


def test_the_check_sees_a_missing_module() -> None:
    text = DEVELOPERS.read_text(encoding="utf-8").replace("- `signing.py` — ", "- signing — ")
    assert "signing.py" in _modules() - _mapped(text)
    assert _modules() - _mapped(DEVELOPERS.read_text(encoding="utf-8")) == set()
