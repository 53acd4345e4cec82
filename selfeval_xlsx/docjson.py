"""The submission document as JSON: the public door into and out of the standard workbook.

The document (the shape of ``schema/submission.schema.json``) is the data model. ``validate --json``
gives each valid workbook's document; :func:`fill_workbook` (``selfeval-xlsx fill DATA.json -o FILE``)
writes a standard workbook from one, with the tool's own writer (the same canvas as the template and the
returned copies), so a bureau can prefill workbooks or import figures from its budget system. A document
exported and filled again reads back the same and scores identically (a test checks it).

Numbers are exact: in JSON they may be numbers (read as ``Decimal``, never as binary floats) or decimal
strings (``"8724.90"``, how this tool writes them); both are accepted wherever the schema says number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from . import jsoncodec, layout
from .document import CellRef, Document
from .errors import SelfevalError
from .findings import Report

_DECIMAL = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")
_INT = re.compile(r"^\s*-?\d+\s*$")


class DocumentError(SelfevalError):
    """A JSON document that is not a document at all (not JSON, not an object)."""


def to_json(value: Any) -> Any:
    """The document as JSON-ready data: every ``Decimal`` as its exact decimal string, internal keys
    (``_…``) left out (:func:`selfeval_xlsx.jsoncodec.plain`)."""
    return jsoncodec.plain(value, private=False)


def dumps(data: Mapping[str, Any]) -> str:
    """The document as pretty JSON text (UTF-8, Chinese as is)."""
    return jsoncodec.dumps(to_json(data))


def parse(source: str | bytes | Path | Mapping[str, Any], *, name: str | None = None) -> Document:
    """A :class:`Document` from JSON text, a JSON file or already-parsed data; numbers made exact and
    typed by the layout (amounts and scores ``Decimal``, years and counts ``int``), every value placed at
    the cell the layout gives it. Raises :class:`DocumentError` if it is not a JSON object."""
    if isinstance(source, Path):
        path = source
        name = name or path.name
        try:
            source = path.read_bytes()
        except OSError as exc:
            raise DocumentError(f"无法读取“{path}”：{exc.strerror}。") from exc
    if isinstance(source, str | bytes):
        try:
            data = jsoncodec.loads(source)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DocumentError(f"“{name or 'JSON'}”不是有效的JSON（{exc}）。") from exc
    else:
        data = jsoncodec.loads(jsoncodec.dumps(to_json(source), indent=None))
    if not isinstance(data, dict):
        raise DocumentError(
            f"“{name or 'JSON'}”应为一个JSON对象（自评表的数据），而不是{type(data).__name__}。"
        )
    data = _typed(data)
    return Document(file=name or "document.json", data=data, cells=cells_for(data))


def _number(value: Any, f: layout.Field | None) -> Any:
    """A JSON value as the reader would give it for field ``f``."""
    if f is None or isinstance(value, bool):
        return value
    if f.type in (layout.FieldType.YEAR, layout.FieldType.INT):
        if isinstance(value, str) and _INT.match(value):
            return int(value)
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        return value
    if f.type in (layout.FieldType.MONEY, layout.FieldType.SCORE, layout.FieldType.NUMTEXT):
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, str) and _DECIMAL.match(value):
            return Decimal(value.strip())
    return value


def _typed(data: dict[str, Any]) -> dict[str, Any]:
    """Numbers typed by the layout; blocks the document leaves out are present and empty, as the reader
    gives a blank workbook's (so that a missing block reads as its missing fields, at their cells)."""
    for sheet in layout.WORKBOOK.data_sheets:
        for p in sheet.placements:
            b = p.block
            if isinstance(b, layout.Form | layout.Grid):
                data.setdefault(b.key, {})
            elif isinstance(b, layout.Table | layout.Matrix):
                data.setdefault(b.key, [])
            if isinstance(b, layout.Grid) and isinstance(data[b.key], dict):
                for row_key, _ in b.rows:
                    data[b.key].setdefault(row_key, {})
            part = data.get(getattr(b, "key", ""))
            if isinstance(b, layout.Form) and isinstance(part, dict):
                for f in b.fields:
                    if f.key in part:
                        part[f.key] = _number(part[f.key], f)
            elif isinstance(b, layout.Grid) and isinstance(part, dict):
                for row_key, _ in b.rows:
                    row = part.get(row_key)
                    if isinstance(row, dict):
                        for f in b.columns:
                            if f.key in row:
                                row[f.key] = _number(row[f.key], f)
            elif isinstance(b, layout.Table) and isinstance(part, list):
                for record in part:
                    if isinstance(record, dict):
                        for f in b.inputs:
                            if f.key in record:
                                record[f.key] = _number(record[f.key], f)
            elif isinstance(b, layout.Matrix) and isinstance(part, list):
                for entry in part:
                    if isinstance(entry, dict):
                        for key in ("row", "column"):
                            if isinstance(entry.get(key), Decimal | str):
                                entry[key] = _number(entry[key], layout.Field(key, key, layout.FieldType.INT))
                        if "value" in entry:
                            entry["value"] = _number(entry["value"], b.value)
    return data


def cells_for(data: Mapping[str, Any]) -> dict[str, CellRef]:
    """The cell of every value of ``data`` that the layout has a place for (records of a table in
    order from its first row; what does not fit the workbook has none)."""
    cells: dict[str, CellRef] = {}
    for sheet in layout.WORKBOOK.data_sheets:
        for p in sheet.placements:
            b = p.block
            part = data.get(getattr(b, "key", ""))
            if isinstance(b, layout.Form) and isinstance(part, dict):
                for f in b.fields:
                    cells[f"/{b.key}/{f.key}"] = _ref(sheet.name, *layout.form_cell(p, f.key))
            elif isinstance(b, layout.Grid) and isinstance(part, dict):
                for row_key, _ in b.rows:
                    for f in b.columns:
                        cells[f"/{b.key}/{row_key}/{f.key}"] = _ref(
                            sheet.name, *layout.grid_cell(p, row_key, f.key)
                        )
            elif isinstance(b, layout.Table) and isinstance(part, list):
                for i in range(min(len(part), b.rows)):
                    for f in b.inputs:
                        cells[f"/{b.key}/{i}/{f.key}"] = _ref(
                            sheet.name, layout.table_row(p, i), layout.table_col(p, f.key)
                        )
            elif isinstance(b, layout.Matrix) and isinstance(part, list):
                for i, entry in enumerate(part):
                    try:
                        row, col = int(entry["row"]), int(entry["column"])
                    except (KeyError, TypeError, ValueError):
                        continue
                    if 1 <= row <= b.rows and 1 <= col <= b.columns:
                        cells[f"/{b.key}/{i}"] = _ref(sheet.name, *layout.matrix_cell(p, row - 1, col - 1))
    return cells


def _ref(sheet: str, row: int, col: int) -> CellRef:
    from .xlsx.cells import a1

    return CellRef(sheet, a1(row, col))


def fill_workbook(
    target: str | Path | BinaryIO,
    document: Document | Mapping[str, Any] | str | bytes | Path,
    *,
    rules: Any = None,
    year: int | None = None,
) -> Report:
    """Write the standard workbook holding ``document``'s values and return what validation says of
    them (a partly filled document, e.g. prefilled identity and budget figures, is written too: its
    missing values are findings for the township to complete). A path ``target`` is written atomically."""
    from .api import _to, load_rules
    from .validate import validate_document

    doc = document if isinstance(document, Document) else parse(document)
    rules = rules or load_rules()
    report = validate_document(Document(doc.file, dict(doc.data), dict(doc.cells)), rules)
    identity = doc.data.get("identity")
    ident = identity if isinstance(identity, dict) else {}
    year = year or (ident.get("year") if isinstance(ident.get("year"), int) else None)

    def write(fh: Any) -> None:
        import xlsxwriter

        from .completed import workbook_options
        from .template import write_standard
        from .version import TEMPLATE_ID, TEMPLATE_VERSION

        wb = xlsxwriter.Workbook(fh, workbook_options())
        wb.set_properties({"subject": TEMPLATE_ID, "comments": f"template v{TEMPLATE_VERSION}"})
        write_standard(wb, year=year, grades=tuple(rules.grades), doc=doc, rules=rules)
        wb.close()

    _to(target, write)
    return report
