"""Fill the standard template with data, the way a person would (openpyxl edits of the real template).

Used to build the samples, the benchmark's inputs and the tests' workbooks. Positions come from the
layout, like everything else. ``data`` has the document's shape (see :mod:`selfeval_xlsx.schema`);
values may be given as str/int/float/Decimal or as anything a person might type (``'8,724.90万元'``).
"""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook, load_workbook

from selfeval_xlsx import layout

_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


def template_workbook(year: int | None = None) -> Workbook:
    """A fresh openpyxl Workbook of the blank template."""
    from selfeval_xlsx.template import write_template

    buf = io.BytesIO()
    write_template(buf, year=year)
    buf.seek(0)
    return load_workbook(buf)


def _cell_value(value: Any, f: layout.Field | None = None) -> Any:
    """What Excel would store for a typed value: numbers as numbers, dates as dates, text as text."""
    numeric = f is None or f.type in (*layout.NUMERIC_TYPES, layout.FieldType.NUMTEXT)
    if numeric and isinstance(value, str) and _DECIMAL.match(value):
        value = Decimal(value)
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _put(cell: Any, value: Any) -> None:
    """Set a cell; text that looks like a formula stays text (as Excel stores '=… typed with a quote)."""
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"


def fill(wb: Workbook, data: dict[str, Any], positions: layout.Workbook = layout.WORKBOOK) -> Workbook:
    """Write ``data`` into the template's input cells (in place) and return the workbook.

    ``positions``: the positions of another template version (``layout.LAYOUTS["1.0"]``) for a workbook of it;
    fields that version lacks are left out."""
    for sheet in positions.data_sheets:
        ws = wb[sheet.name]
        for p in sheet.placements:
            b = p.block
            if isinstance(b, layout.Form):
                for f in b.fields:
                    value = data.get(b.key, {}).get(f.key)
                    if value is not None:
                        r, c = layout.form_cell(p, f.key)
                        _put(ws.cell(r, c), _cell_value(value, f))
            elif isinstance(b, layout.Grid):
                for row_key, _ in b.rows:
                    for f in b.columns:
                        value = data.get(b.key, {}).get(row_key, {}).get(f.key)
                        if value is not None:
                            r, c = layout.grid_cell(p, row_key, f.key)
                            _put(ws.cell(r, c), _cell_value(value, f))
            elif isinstance(b, layout.Table):
                for i, record in enumerate(data.get(b.key, [])):
                    index = record.get("_row", i)  # `_row` puts a record lower, leaving blank rows
                    for f in b.inputs:
                        value = record.get(f.key)
                        if value is not None:
                            _put(
                                ws.cell(layout.table_row(p, index), layout.table_col(p, f.key)),
                                _cell_value(value, f),
                            )
            elif isinstance(b, layout.Matrix):
                for entry in data.get(b.key, []):
                    r, c = layout.matrix_cell(p, int(entry["row"]) - 1, int(entry["column"]) - 1)
                    ws.cell(r, c).value = _cell_value(entry["value"], b.value)
                if b.agreed:
                    for entry in data.get(b.agreed_key, []):
                        r, c = layout.agreed_cell(p, int(entry["row"]) - 1)
                        ws.cell(r, c).value = _cell_value(entry["value"], b.agreed)
    return wb


def panel_matrix(scores: dict[int, list[Any]]) -> list[dict[str, Any]]:
    """``{indicator_seq: [score of member 1, member 2, …]}`` → matrix entries."""
    return [
        {"row": seq, "column": m + 1, "value": v}
        for seq, values in sorted(scores.items())
        for m, v in enumerate(values)
        if v is not None
    ]


def filled_bytes(data: dict[str, Any], year: int | None = None, edit: Any = None) -> bytes:
    """Template filled with ``data``, optionally edited further by ``edit(wb)``, as .xlsx bytes."""
    wb = fill(template_workbook(year), data)
    if edit:
        edit(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
