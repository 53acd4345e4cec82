"""The spreadsheet plumbing in ``selfeval_xlsx/xlsx/`` knows nothing of the self-evaluation form."""

from __future__ import annotations

import ast
from pathlib import Path

import selfeval_xlsx.xlsx

XLSX = Path(selfeval_xlsx.xlsx.__file__).parent


def _domain_imports(path: Path) -> list[str]:
    """The imports of ``path`` that reach the domain package (anything of ``selfeval_xlsx`` outside
    ``selfeval_xlsx.xlsx``, or a relative import leaving the subpackage)."""
    bad: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level > 1 or (node.level == 0 and _is_domain(module)):
                bad.append(f"{path.name}:{node.lineno}: from {'.' * node.level}{module}")
        elif isinstance(node, ast.Import):
            bad += [f"{path.name}:{node.lineno}: import {a.name}" for a in node.names if _is_domain(a.name)]
    return bad


def _is_domain(module: str) -> bool:
    return module == "selfeval_xlsx" or (
        module.startswith("selfeval_xlsx.") and not (module + ".").startswith("selfeval_xlsx.xlsx.")
    )


def test_the_xlsx_subpackage_imports_nothing_of_the_domain() -> None:
    files = sorted(XLSX.glob("*.py"))
    assert {"grid.py", "cells.py", "zipread.py", "limits.py", "canvas.py"} <= {f.name for f in files}
    assert [bad for f in files for bad in _domain_imports(f)] == []


def test_the_check_sees_a_domain_import(tmp_path: Path) -> None:
    for line in (
        "from ..findings import make",
        "from selfeval_xlsx.layout import Sheet",
        "import selfeval_xlsx.rules",
    ):
        (tmp_path / "m.py").write_text(f"{line}\n", encoding="utf-8")
        assert _domain_imports(tmp_path / "m.py"), line
    (tmp_path / "m.py").write_text(
        "from .cells import a1\nfrom selfeval_xlsx.xlsx.grid import Grid\n", encoding="utf-8"
    )
    assert _domain_imports(tmp_path / "m.py") == []
