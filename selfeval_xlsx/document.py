"""The typed document read from a workbook: JSON-like data plus the cell each value came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .findings import Finding
from .layout import cell_of
from .version import TEMPLATE_VERSION


@dataclass(frozen=True)
class CellRef:
    """A position in the workbook: sheet name and A1 reference."""

    sheet: str
    cell: str


@dataclass
class Document:
    """What the reader made of a workbook.

    ``data`` is JSON-like (str, int, Decimal, lists, dicts; dates as ISO strings) and is what the JSON
    Schema validates. ``cells`` maps the JSON pointer of every value the layout defines (blank ones
    included) to the cell it was read from. ``findings`` holds what the reader itself noticed
    (normalised values, formulas, merged cells…). ``flagged`` holds the pointers the reader already
    reported, so validation does not report them a second time (it reads them, never changes them).
    """

    file: str
    data: dict[str, Any] = field(default_factory=dict)
    cells: dict[str, CellRef] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    sha256: str = ""
    #: The template version whose positions ``cells`` are in (an earlier one is read by its own layout).
    template_version: str = TEMPLATE_VERSION
    flagged: frozenset[str] = frozenset()

    def cell(self, pointer: str) -> CellRef | None:
        """The cell of a pointer, or of its nearest ancestor that has one."""
        p = pointer
        while p:
            ref = self.cells.get(p)
            if ref:
                return ref
            p = p.rsplit("/", 1)[0]
        fixed = cell_of(pointer)
        return CellRef(*fixed) if fixed else None

    def get(self, pointer: str, default: Any = None) -> Any:
        """The value at a JSON pointer (``/budget/total/executed``), or ``default``."""
        node: Any = self.data
        for part, index in _steps(pointer):
            if isinstance(node, dict):
                if part not in node:
                    return default
                node = node[part]
            elif isinstance(node, list):
                if index is None:
                    return default
                try:
                    node = node[index]
                except IndexError:
                    return default
            else:
                return default
        return node

    def where(self, pointer: str) -> dict[str, str | None]:
        """``{"sheet": …, "cell": …, "field": pointer}`` for building a Finding."""
        ref = self.cell(pointer)
        return {
            "sheet": ref.sheet if ref else None,
            "cell": ref.cell if ref else None,
            "field": pointer,
            "file": self.file,
        }


@lru_cache(maxsize=4096)
def _steps(pointer: str) -> tuple[tuple[str, int | None], ...]:
    """The steps of a JSON pointer: each key with the list index it reads as (None when it is not a
    number), split once per pointer rather than once per look-up (the same few hundred recur)."""
    steps = []
    for part in pointer.strip("/").split("/"):
        try:
            index: int | None = int(part)
        except ValueError:
            index = None
        steps.append((part, index))
    return tuple(steps)
