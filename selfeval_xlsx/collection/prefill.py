"""Prefilled workbooks: one standard workbook per roster unit, its name, code, county and year filled in
and locked, so that a mistyped code or a wrong year cannot come back.

The workbook is the standard template (:func:`selfeval_xlsx.template.write_standard`) with the unit's
identity written at the cells the layout gives; those cells are then rewritten locked, in the tool's
blue, on sheets that are protected like every template sheet (no password: protection guards against
slips, not people).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from .. import layout
from ..document import CellRef, Document
from ..filenames import safe_name
from ..xlsx.cells import parse_a1
from .roster import Roster, RosterUnit, county_of

#: The identity values a prefilled workbook carries, by JSON pointer.
NAME, DIVISION, CREDIT, COUNTY, YEAR = (
    "/identity/unit_name",
    "/identity/division_code",
    "/identity/credit_code",
    "/identity/county",
    "/identity/year",
)


def prefilled_file_name(unit: str, year: int | None) -> str:
    """``<单位名称>_<年度>_整体支出绩效自评表.xlsx``, made safe for any file system."""
    return safe_name(f"{unit}_{year or ''}_整体支出绩效自评表.xlsx".replace("__", "_"))


def identity_of(unit: RosterUnit, year: int | None, county: str = "") -> dict[str, Any]:
    """The values written for a unit: a 12-digit code is the 行政区划代码, an 18-character one the
    统一社会信用代码; the county is named from the code (or ``county`` when the code names none)."""
    from ..validate import county_codes

    values: dict[str, Any] = {NAME: unit.name}
    if len(unit.code) == 12:
        values[DIVISION] = unit.code
    elif len(unit.code) == 18:
        values[CREDIT] = unit.code
    named = county_codes().get(county_of(unit.code), "") or county
    if named:
        values[COUNTY] = named
    if year is not None:
        values[YEAR] = year
    return values


def _document(values: dict[str, Any]) -> Document:
    data: dict[str, Any] = {}
    cells: dict[str, CellRef] = {}
    for pointer, value in values.items():
        form, key = pointer.strip("/").split("/")
        data.setdefault(form, {})[key] = value
        where = layout.cell_of(pointer)
        assert where is not None, pointer
        cells[pointer] = CellRef(*where)
    return Document(file="", data=data, cells=cells)


def write_prefilled(
    target: str | Path | BinaryIO, unit: RosterUnit, *, year: int | None, county: str = "", rules: Any = None
) -> None:
    """Write the standard workbook for ``unit`` with its identity filled in and locked."""
    import xlsxwriter

    from ..template import FONT_NAME, FONT_SIZE, TEMPLATE_ID, TOOL_FILL, field_style, write_standard
    from ..version import TEMPLATE_VERSION

    if rules is None:
        from ..rules import load_rules

        rules = load_rules()
    values = identity_of(unit, year, county)
    wb = xlsxwriter.Workbook(
        str(target) if isinstance(target, str | Path) else target,
        {"in_memory": True, "default_format_properties": {"font_name": FONT_NAME, "font_size": FONT_SIZE}},
    )
    wb.set_properties(
        {
            "title": f"{unit.name}{year or ''}年度整体支出绩效自评表",
            "subject": TEMPLATE_ID,
            "comments": f"template v{TEMPLATE_VERSION}",
        }
    )
    sheets = write_standard(wb, year=year, grades=rules.grades, doc=_document(values), rules=rules)
    keys = {s.name: s.key for s in layout.WORKBOOK.sheets}
    for pointer, value in values.items():
        sheet, ref = layout.cell_of(pointer)  # type: ignore[misc]
        f = layout.field_at(pointer)
        row, col = parse_a1(ref)
        fmt = sheets.formats.get(field_style(f), locked=True, bg_color=TOOL_FILL)
        ws = sheets[keys[sheet]]
        if isinstance(value, int):
            ws.write_number(row - 1, col - 1, value, fmt)
        else:
            ws.write_string(row - 1, col - 1, str(value), fmt)
    wb.close()


def _write_one(fh: Any, *, unit: RosterUnit, year: int | None, county: str, rules: Any) -> None:
    write_prefilled(fh, unit, year=year, county=county, rules=rules)


@dataclass(frozen=True)
class Prefilled:
    """One workbook written: the unit and its file."""

    unit: RosterUnit
    path: Path


def write_prefilled_all(
    roster: Roster,
    outdir: str | Path,
    *,
    year: int | None,
    county: str = "",
    rules: Any = None,
    write: Callable[[Path, Callable[[Any], None]], None] | None = None,
) -> list[Prefilled]:
    """One prefilled workbook per roster unit in ``outdir`` (two units of the same name get their code
    added to the file name). ``write(path, fn)`` writes one file (default: atomically, see
    :func:`selfeval_xlsx.output.write_output`)."""
    from ..output import write_output

    write = write or write_output
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    done: list[Prefilled] = []
    used: set[str] = set()
    for unit in roster.units:
        name = prefilled_file_name(unit.name, year)
        if name.casefold() in used:
            name = prefilled_file_name(f"{unit.name}_{unit.code or unit.row}", year)
        used.add(name.casefold())
        path = outdir / name
        write(path, partial(_write_one, unit=unit, year=year, county=county, rules=rules))
        done.append(Prefilled(unit, path))
    return done
