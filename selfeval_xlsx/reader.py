"""Workbook → :class:`~selfeval_xlsx.document.Document`, driven by the layout.

Reads values only: formulas are recomputed by :mod:`selfeval_xlsx.formulas` (their cached results are
never trusted) or rejected; error values (``#DIV/0!``) are findings. Values people type loosely (numbers
stored as text, thousands separators, trailing 万元 or %, full-width digits, dates as text or serials)
are normalised with a warning. Every value's cell is recorded, blank ones included, so that schema
errors map back to cells.

The layout's positions, pointers and cell references are worked out once per process (a plan per
sheet); reading a workbook then looks only at the cells it holds, not at every position of the layout.
"""

from __future__ import annotations

import hashlib
import io
import stat
import unicodedata
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from loguru import logger

from . import layout
from .decimals import percent, to_decimal
from .document import CellRef, Document
from .findings import Finding, make
from .formulas import FormulaError, evaluate
from .limits import DEFAULT_LIMITS, Limits, size_text
from .messages import text
from .values import (
    DASHES,
    explain_indicator,
    parse_choice,
    parse_code,
    parse_date,
    parse_indicator,
    parse_int,
    parse_nature,
    parse_number,
    parse_text,
)
from .version import TEMPLATE_ID, TEMPLATE_VERSION
from .xlsx.cells import a1
from .xlsx.grid import Cell, Grid, GridError, GridLimitError, Sheet, grid_from_openpyxl, load_grid

MAX_SHOWN = 80  # characters of an offending value kept in a finding


def short(value: Any) -> Any:
    """A value trimmed for display in a finding."""
    if isinstance(value, str) and len(value) > MAX_SHOWN:
        return value[:MAX_SHOWN] + f"…（共{len(value)}字）"
    return value


def read_workbook(
    source: str | Path | bytes, *, name: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> Document:
    """Read a standard workbook into a Document; problems become findings, never exceptions."""
    if isinstance(source, bytes):
        data, label = source, name or "<内存>"
    else:
        path = Path(source)
        label = name or path.name
        try:
            st = path.stat()
            if not stat.S_ISREG(st.st_mode):  # a pipe or device would block or never end: not opened
                doc = Document(file=label)
                message = text("not-a-workbook", "not-a-file")
                doc.findings.append(make("not-a-workbook", message, file=label))
                return doc
            if st.st_size > limits.max_file_bytes:
                doc = Document(file=label)
                doc.findings.append(
                    make(
                        "too-large",
                        text("too-large", "file", limit=size_text(limits.max_file_bytes)),
                        file=label,
                    )
                )
                return doc
            data = path.read_bytes()
        except OSError as exc:
            doc = Document(file=label)
            doc.findings.append(
                make(
                    "corrupt-workbook",
                    text("corrupt-workbook", "unopened", reason=exc.strerror or exc),
                    file=label,
                )
            )
            return doc
    doc = Document(file=label, sha256=hashlib.sha256(data).hexdigest())
    from .safety import check_workbook  # local: optional at import time
    from .sniff import decrypt_default_password

    parts: dict[str, bytes] = {}  # the check inflates every part: the grid reader reuses them
    problems = check_workbook(data, label, limits, parts=parts)
    doc.findings.extend(problems)
    if any(f.severity == "error" for f in problems):
        return doc
    if any(f.code == "default-password" for f in problems):  # checked decrypted: read decrypted
        inner = decrypt_default_password(data, limits)
        if inner is None:  # (cannot happen: the check decrypted it)
            doc.findings.append(make("encrypted-workbook", text("encrypted-workbook"), file=label))
            return doc
        data = inner
    try:
        grid = _load_grid(data, limits, parts)
    except GridLimitError as exc:
        doc.findings.append(
            make(
                "too-large",
                text("too-large", "content", detail=exc),
                file=label,
            )
        )
        return doc
    except Exception as exc:  # openpyxl raises many kinds on broken files
        doc.findings.append(
            make(
                "corrupt-workbook",
                text("corrupt-workbook", "unreadable", error=type(exc).__name__),
                file=label,
            )
        )
        return doc
    _Reader(grid, doc, limits).read()
    return doc


#: Bounds on recomputing a formula: cells looked up in all, and formulas that refer to formulas.
MAX_LOOKUPS = 500
MAX_NESTING = 30


def sheet_key(name: str) -> str:
    """A sheet name without white space at either end or invisible characters anywhere (a trailing
    space, a full-width space, a zero-width space): the name a clerk sees."""
    if name.isprintable() and name == name.strip():  # the common case: nothing to remove
        return name
    kept = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cf", "Cc") or ch in "\t\n\r")
    return kept.strip().strip("\u3000\u00a0\u200b\ufeff").strip()


_SHOWN_CHARS = {" ": "[空格]", "\u3000": "[全角空格]", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def visible(name: str) -> str:
    """A sheet name with its white space and invisible characters made visible (``预算执行[空格]``,
    ``\\u200b``), so that two names that look alike can be told apart in a message."""
    out = []
    for ch in name:
        if ch in _SHOWN_CHARS and (ch != " " or name != name.strip(" ")):
            out.append(_SHOWN_CHARS[ch])
        elif ch != " " and (ch.isspace() or not ch.isprintable()):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


class _SheetNames(frozenset[str]):
    """Sheet names, also containing every name that matches one of them after :func:`sheet_key`."""

    def __contains__(self, name: object) -> bool:
        return frozenset.__contains__(self, name) or (
            isinstance(name, str) and frozenset.__contains__(self, sheet_key(name))
        )


#: The sheets whose cells the reader looks at (the others are only listed by name).
_READ_SHEETS = _SheetNames({*(s.name for s in layout.WORKBOOK.data_sheets), layout.META_SHEET_NAME})


def _load_grid(data: bytes, limits: Limits, parts: dict[str, bytes] | None = None) -> Grid:
    """The workbook's cells: the fast expat reader, or openpyxl for what it does not accept.

    :func:`load_grid` refuses some unusual but legitimate files (odd part names, misordered XML) that
    openpyxl reads; those fall back to openpyxl. Its limit errors are final (openpyxl would be slower on
    the same hostile file, not safer).
    """
    try:
        return load_grid(data, limits, sheets=_READ_SHEETS, parts=parts)
    except GridLimitError:
        raise
    except GridError as exc:
        logger.debug("fast reader refused the workbook ({}); falling back to openpyxl", exc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), data_only=False, keep_vba=False, keep_links=False)
    try:
        return grid_from_openpyxl(wb)
    finally:
        wb.close()


# --- the layout, precomputed: every position, pointer and cell reference the reader needs ---------

#: How a field's cell value becomes a document value: ``parse(raw, record)`` → ``(value, note)``.
Parse = Callable[[Any, "dict[str, Any] | None"], tuple[Any, str | None]]


class _Slot(NamedTuple):
    """One value cell of a Form or Grid: its pointer, field, position and cell reference."""

    pointer: str
    field: layout.Field
    pos: tuple[int, int]
    ref: CellRef
    parse: Parse
    read: bool  # False for a Grid's tool-written columns: their cell is recorded, never read


class _FormPlan(NamedTuple):
    key: str
    slots: tuple[_Slot, ...]


class _GridPlan(NamedTuple):
    key: str
    rows: tuple[tuple[str, tuple[_Slot, ...]], ...]  # (row key, its cells, outputs included)


class _TablePlan(NamedTuple):
    key: str
    rows: range  # sheet rows of the data rows
    seq_col: int
    last_col: int
    input_cols: frozenset[int]
    #: The inputs in reading order (numbers-or-text last), each with its index in ``table.columns``.
    order: tuple[tuple[int, layout.Field, int, Parse], ...]  # (column index, field, sheet column, parse)
    #: Per record index: the record's pointer and the pointer of each column.
    pointers: tuple[tuple[str, tuple[str, ...]], ...]
    #: Per data row: the cell of column A and the cell of each column.
    refs: tuple[tuple[CellRef, tuple[CellRef, ...]], ...]


class _MatrixPlan(NamedTuple):
    key: str
    rows: range
    first_col: int
    last_col: int
    field: layout.Field
    parse: Parse
    pointers: tuple[tuple[str, str], ...]  # per entry index: (entry pointer, value pointer)
    refs: tuple[tuple[CellRef, ...], ...]  # per data row, per matrix column
    #: The agreed-score column right of the members' (0 when the matrix has none): its document key,
    #: field, parse, per entry index (entry pointer, value pointer) and per data row its cell.
    agreed_col: int = 0
    agreed_key: str = ""
    agreed_field: layout.Field | None = None
    agreed_parse: Parse | None = None
    agreed_pointers: tuple[tuple[str, str], ...] = ()
    agreed_refs: tuple[CellRef, ...] = ()


BlockPlan = _FormPlan | _GridPlan | _TablePlan | _MatrixPlan


class _SheetPlan(NamedTuple):
    blocks: tuple[BlockPlan, ...]
    inputs_by_row: dict[int, tuple[int, ...]]  # the input cells' columns, by row
    end: int  # first row below the last block


def _parser(f: layout.Field) -> Parse:
    """The parse function of a field's type (what ``_Reader._value`` applies to a cell's value)."""
    t = f.type
    if t == layout.FieldType.MONEY:
        return lambda raw, _record: _money(raw)
    if t == layout.FieldType.SCORE:
        return lambda raw, _record: parse_number(raw, ("分",))
    if t in (layout.FieldType.YEAR, layout.FieldType.INT):
        return lambda raw, _record: parse_int(raw)
    if t == layout.FieldType.DATE:
        return lambda raw, _record: parse_date(raw)
    if t == layout.FieldType.CODE and f.key == "credit_code":
        return lambda raw, _record: _credit_code(raw)
    if t == layout.FieldType.CODE:
        return lambda raw, _record: parse_code(raw)
    if t == layout.FieldType.CHOICE:
        if f.key == "nature":
            return lambda raw, _record: parse_nature(raw)
        choices = f.choices
        return lambda raw, _record: parse_choice(raw, choices)
    if t == layout.FieldType.NUMTEXT:
        key = f.key
        return lambda raw, record: _numtext(raw, record or {}, key)
    return lambda raw, _record: parse_text(raw)


def _slot(name: str, pointer: str, f: layout.Field, row: int, col: int, read: bool = True) -> _Slot:
    return _Slot(pointer, f, (row, col), CellRef(name, a1(row, col)), _parser(f), read)


def _build_plan(sheet: layout.Sheet) -> _SheetPlan:
    name = sheet.name
    blocks: list[BlockPlan] = []
    inputs: set[tuple[int, int]] = set()
    for p in sheet.placements:
        b = p.block
        if isinstance(b, layout.Form):
            slots = []
            for f in b.fields:
                row, col = layout.form_cell(p, f.key)
                inputs.add((row, col))
                slots.append(_slot(name, f"/{b.key}/{f.key}", f, row, col))
            blocks.append(_FormPlan(b.key, tuple(slots)))
        elif isinstance(b, layout.Grid):
            grid_rows = []
            for row_key, _label in b.rows:
                slots = []
                for f in (*b.columns, *b.outputs):
                    row, col = layout.grid_cell(p, row_key, f.key)
                    if not f.output:
                        inputs.add((row, col))
                    slots.append(_slot(name, f"/{b.key}/{row_key}/{f.key}", f, row, col, not f.output))
                grid_rows.append((row_key, tuple(slots)))
            blocks.append(_GridPlan(b.key, tuple(grid_rows)))
        elif isinstance(b, layout.Table):
            rows = range(layout.table_row(p, 0), layout.table_row(p, b.rows))
            cols = tuple(layout.table_col(p, f.key) for f in b.columns)
            input_cols = frozenset(layout.table_col(p, f.key) for f in b.inputs)
            inputs.update((row, col) for row in rows for col in input_cols)
            position = {f.key: j for j, f in enumerate(b.columns)}
            # numbers-or-text columns last: how they parse depends on 指标性质 and 计量单位
            ordered = sorted(b.inputs, key=lambda f: f.type == layout.FieldType.NUMTEXT)
            blocks.append(
                _TablePlan(
                    key=b.key,
                    rows=rows,
                    seq_col=layout.table_col(p, "seq"),
                    last_col=len(b.columns),
                    input_cols=input_cols,
                    order=tuple((position[f.key], f, cols[position[f.key]], _parser(f)) for f in ordered),
                    pointers=tuple(
                        (f"/{b.key}/{i}", tuple(f"/{b.key}/{i}/{f.key}" for f in b.columns))
                        for i in range(b.rows)
                    ),
                    refs=tuple(
                        (CellRef(name, a1(row, 1)), tuple(CellRef(name, a1(row, col)) for col in cols))
                        for row in rows
                    ),
                )
            )
        elif isinstance(b, layout.Matrix):
            rows = range(layout.table_row(p, 0), layout.table_row(p, b.rows))
            first_col = layout.matrix_cell(p, 0, 0)[1]
            inputs.update(layout.matrix_cell(p, r, c) for r in range(b.rows) for c in range(b.width))
            agreed: dict[str, Any] = {}
            if b.agreed:
                agreed = {
                    "agreed_col": layout.agreed_cell(p, 0)[1],
                    "agreed_key": b.agreed_key,
                    "agreed_field": b.agreed,
                    "agreed_parse": _parser(b.agreed),
                    "agreed_pointers": tuple(
                        (f"/{b.agreed_key}/{n}", f"/{b.agreed_key}/{n}/value") for n in range(b.rows)
                    ),
                    "agreed_refs": tuple(CellRef(name, a1(*layout.agreed_cell(p, r))) for r in range(b.rows)),
                }
            blocks.append(
                _MatrixPlan(
                    key=b.key,
                    rows=rows,
                    first_col=first_col,
                    last_col=first_col + b.columns - 1,
                    field=b.value,
                    parse=_parser(b.value),
                    pointers=tuple(
                        (f"/{b.key}/{n}", f"/{b.key}/{n}/value") for n in range(b.rows * b.columns)
                    ),
                    refs=tuple(
                        tuple(CellRef(name, a1(*layout.matrix_cell(p, r, c))) for c in range(b.columns))
                        for r in range(b.rows)
                    ),
                    **agreed,
                )
            )
    by_row: dict[int, list[int]] = {}
    for row, col in inputs:
        by_row.setdefault(row, []).append(col)
    last = sheet.placements[-1]
    return _SheetPlan(
        blocks=tuple(blocks),
        inputs_by_row={row: tuple(sorted(cols)) for row, cols in by_row.items()},
        end=last.row + layout._height(last.block),
    )


_PLANS: dict[int, tuple[layout.Sheet, _SheetPlan]] = {}


def _plan(sheet: layout.Sheet) -> _SheetPlan:
    """The sheet's plan, built once per process (keyed by identity: the entry keeps the sheet alive)."""
    entry = _PLANS.get(id(sheet))
    if entry is None or entry[0] is not sheet:
        entry = _PLANS[id(sheet)] = (sheet, _build_plan(sheet))
    return entry[1]


class _Reader:
    """Maps one workbook's grid to its document and findings, sheet by sheet, following the plans."""

    def __init__(self, wb: Grid, doc: Document, limits: Limits) -> None:
        self.wb, self.doc, self.limits = wb, doc, limits
        self.flagged: set[str] = set()  # pointers that already carry a finding from the reader
        self.actual: dict[str, str] = {}  # template sheet name → the name in the file, where they differ
        self._row_index: dict[str, dict[int, list[int]]] = {}

    # --- structure -------------------------------------------------------------------------------

    def read(self) -> None:
        wanted = [s.name for s in layout.WORKBOOK.data_sheets]
        names = self._names({*wanted, layout.META_SHEET_NAME, *(s.name for s in layout.WORKBOOK.sheets)})
        present = [n for n in wanted if n in names]
        meta = self._meta(names)
        if meta is None and not present:
            self._whole_file(
                "unknown-template",
                text("unknown-template", "no-sheets"),
            )
            return
        if meta is not None and meta.get("template_id") not in (None, TEMPLATE_ID):
            self._whole_file("unknown-template", text("unknown-template", "foreign"))
            return
        version = TEMPLATE_VERSION if meta is None else str(meta.get("template_version"))
        chosen = layout.LAYOUTS.get(version)
        if chosen is None:  # a version this tool does not know: read what it can where this one has it
            self._whole_file(
                "template-version",
                text(
                    "template-version",
                    "unknown",
                    version=meta.get("template_version") if meta else "",
                    current=TEMPLATE_VERSION,
                ),
            )
            chosen = layout.WORKBOOK
        if chosen is not layout.WORKBOOK:
            self.doc.template_version = version
            self._whole_file(
                "template-version",
                text(
                    "template-version",
                    "older",
                    version=version,
                    current=TEMPLATE_VERSION,
                    added="、".join(layout.added_since(version)),
                ),
                severity="warning",
            )
        missing = [n for n in wanted if n not in names]
        if missing:
            shown = "、".join(f"“{visible(n)}”" for n in names if n != layout.META_SHEET_NAME) or "无"
            for n in missing:
                self.doc.findings.append(
                    make(
                        "missing-sheet",
                        text("missing-sheet", sheet=n, present=shown),
                        file=self.doc.file,
                        sheet=n,
                    )
                )
            if not present:
                return
        if meta is None:
            self._whole_file(
                "unknown-template",
                text("unknown-template", "no-meta"),
                severity="warning",
            )
        known = {*wanted, layout.META_SHEET_NAME, *(s.name for s in layout.WORKBOOK.sheets)}
        for n in names:
            if n not in known:
                self.doc.findings.append(
                    make(
                        "extra-data",
                        text("extra-data", "sheet", sheet=visible(n)),
                        file=self.doc.file,
                        sheet=n,
                    )
                )
        for sheet in chosen.data_sheets:
            if sheet.name in names:
                self._sheet(sheet, self.wb[self.actual.get(sheet.name, sheet.name)])
        self.doc.flagged = frozenset(self.flagged)  # read by validation, which reports them once

    def _names(self, known: set[str]) -> list[str]:
        """The file's sheet names, each one that is a template sheet's name but for white space or
        invisible characters (``预算执行 ``) taken as that name, with a warning naming the change."""
        names = list(self.wb.sheetnames)
        for i, n in enumerate(names):
            if n in known:
                continue
            key = sheet_key(n)
            if key in known and key not in names and key not in self.actual:
                self.actual[key] = n
                names[i] = key
                self.doc.findings.append(
                    make(
                        "value-normalised",
                        text("value-normalised", "sheet-name", name=visible(n), key=key),
                        file=self.doc.file,
                        sheet=key,
                        value=n,
                    )
                )
        return names

    def _whole_file(self, code: str, message: str, severity: str | None = None) -> None:
        self.doc.findings.append(make(code, message, file=self.doc.file, severity=severity))

    def _meta(self, names: list[str]) -> dict[str, Any] | None:
        if layout.META_SHEET_NAME not in names:
            return None
        ws = self.wb[self.actual.get(layout.META_SHEET_NAME, layout.META_SHEET_NAME)]
        out: dict[str, Any] = {}
        for row in range(1, 21):
            key = ws.value(row, 1)
            if isinstance(key, str):
                out[key.strip()] = ws.value(row, 2)
        return out

    # --- sheets ----------------------------------------------------------------------------------

    def _sheet(self, sheet: layout.Sheet, ws: Sheet) -> None:
        plan = _plan(sheet)
        for b in plan.blocks:
            if isinstance(b, _FormPlan):
                self._form(sheet, ws, b)
            elif isinstance(b, _GridPlan):
                self._grid(sheet, ws, b)
            elif isinstance(b, _TablePlan):
                self._table(sheet, ws, b)
            else:
                self._matrix(sheet, ws, b)
        self._merged(sheet, ws, plan.inputs_by_row)
        self._below(sheet, ws, plan.end)

    def _form(self, sheet: layout.Sheet, ws: Sheet, plan: _FormPlan) -> None:
        target = self.doc.data.setdefault(plan.key, {})
        self._slots(sheet, ws, plan.slots, target)

    def _grid(self, sheet: layout.Sheet, ws: Sheet, plan: _GridPlan) -> None:
        data = self.doc.data.setdefault(plan.key, {})
        for row_key, slots in plan.rows:
            self._slots(sheet, ws, slots, data.setdefault(row_key, {}))

    def _slots(
        self, sheet: layout.Sheet, ws: Sheet, slots: tuple[_Slot, ...], target: dict[str, Any]
    ) -> None:
        """Record the cell of each slot; read the value of each input that is not blank."""
        cells, doc_cells = ws.cells, self.doc.cells
        for s in slots:
            doc_cells[s.pointer] = s.ref
            if not s.read:
                continue
            cell = cells.get(s.pos)
            if cell is not None and not _blank(cell.value):
                self._value(sheet, ws, s.pointer, s.field, s.parse, s.ref.cell, cell, target, s.field.key)

    def _table(self, sheet: layout.Sheet, ws: Sheet, plan: _TablePlan) -> None:
        records: list[dict[str, Any]] = self.doc.data.setdefault(plan.key, [])
        index = self._columns_by_row(ws)
        cells, doc_cells = ws.cells, self.doc.cells
        hidden_warned = False
        for i, row in enumerate(plan.rows):
            filled = index.get(row)
            if filled is None or plan.input_cols.isdisjoint(filled):
                continue  # every input of the row is blank
            base, pointers = plan.pointers[len(records)]
            first, refs = plan.refs[i]
            record: dict[str, Any] = {"seq": _seq(ws, row, plan.seq_col, i + 1)}
            records.append(record)
            doc_cells.update(zip(pointers, refs, strict=True))
            doc_cells[base] = first
            for j, f, col, parse in plan.order:
                cell = cells.get((row, col))
                if cell is not None and not _blank(cell.value):
                    self._value(sheet, ws, pointers[j], f, parse, refs[j].cell, cell, record, f.key, record)
            if not hidden_warned and row in ws.hidden_rows:
                hidden_warned = True
                self.doc.findings.append(
                    make(
                        "value-normalised",
                        text("value-normalised", "hidden-row", row=row),
                        file=self.doc.file,
                        sheet=sheet.name,
                        cell=first.cell,
                        severity="warning",
                    )
                )
            self._extra_columns(sheet, ws, row, plan.last_col)

    def _matrix(self, sheet: layout.Sheet, ws: Sheet, plan: _MatrixPlan) -> None:
        entries: list[dict[str, Any]] = self.doc.data.setdefault(plan.key, [])
        agreed: list[dict[str, Any]] = (
            self.doc.data.setdefault(plan.agreed_key, []) if plan.agreed_col else []
        )
        index = self._columns_by_row(ws)
        cells, doc_cells = ws.cells, self.doc.cells
        first_col, last_col = plan.first_col, plan.last_col
        for r, row in enumerate(plan.rows):
            filled = index.get(row)
            if filled is None:
                continue  # nothing to read, nothing beyond the table
            seq = None
            for col in filled:  # sorted: entries in column order
                if col < first_col:
                    continue
                if col > last_col:
                    break
                if seq is None:
                    seq = _seq(ws, row, 1, r + 1)
                pointer, value_pointer = plan.pointers[len(entries)]
                ref = plan.refs[r][col - first_col]
                entry: dict[str, Any] = {"row": seq, "column": col - first_col + 1}
                entries.append(entry)
                doc_cells[pointer] = ref
                doc_cells[value_pointer] = ref
                cell = cells[(row, col)]
                self._value(sheet, ws, value_pointer, plan.field, plan.parse, ref.cell, cell, entry, "value")
            if plan.agreed_col and plan.agreed_col in filled:
                assert plan.agreed_field is not None and plan.agreed_parse is not None
                pointer, value_pointer = plan.agreed_pointers[len(agreed)]
                ref = plan.agreed_refs[r]
                entry = {"row": seq if seq is not None else _seq(ws, row, 1, r + 1)}
                agreed.append(entry)
                doc_cells[pointer] = ref
                doc_cells[value_pointer] = ref
                cell = cells[(row, plan.agreed_col)]
                self._value(
                    sheet,
                    ws,
                    value_pointer,
                    plan.agreed_field,
                    plan.agreed_parse,
                    ref.cell,
                    cell,
                    entry,
                    "value",
                )
            self._extra_columns(sheet, ws, row, max(last_col, plan.agreed_col))

    # --- cells -----------------------------------------------------------------------------------

    def _value(
        self,
        sheet: layout.Sheet,
        ws: Sheet,
        pointer: str,
        f: layout.Field,
        parse: Parse,
        ref: str,
        cell: Cell,
        target: dict[str, Any],
        key: str,
        record: dict[str, Any] | None = None,
    ) -> None:
        """Read a cell that is not blank into ``target[key]``; problems become findings."""
        raw = cell.value
        kind = cell.data_type
        if isinstance(raw, str) and len(raw) > self.limits.max_cell_chars:  # text or formula: not looked at
            self.flagged.add(pointer)
            where = {"file": self.doc.file, "sheet": sheet.name, "cell": ref, "field": pointer}
            message = text(
                "too-long", "cell", label=f.label, limit=self.limits.max_cell_chars, length=len(raw)
            )
            self.doc.findings.append(make("too-long", message, value=short(raw), **where))
            return
        if kind == "e" or kind == "f":
            where = {"file": self.doc.file, "sheet": sheet.name, "cell": ref, "field": pointer}
            if kind == "e":
                self.flagged.add(pointer)
                self.doc.findings.append(
                    make(
                        "cell-error",
                        text("cell-error", label=f.label, value=raw),
                        value=raw,
                        **where,
                    )
                )
                return
            if (
                f.type == layout.FieldType.NUMTEXT
                and record is not None
                and record.get("nature") in ("≥", "≤", "=")
            ):
                value, note = _indicator_value(str(raw), record, key)
                if isinstance(value, Decimal):  # "=8个": typed as a value, taken by Excel for a formula
                    self.doc.findings.append(
                        make(
                            "value-normalised",
                            text("value-normalised", label=f.label, note=note),
                            value=short(raw),
                            **where,
                        )
                    )
                    target[key] = value
                    return
                hint = explain_indicator(str(raw), record.get("nature"), record.get("unit"), key)
                if hint:
                    self.flagged.add(pointer)
                    self.doc.findings.append(
                        make(
                            "formula-not-allowed",
                            text(
                                "formula-not-allowed",
                                "typed-equals",
                                label=f.label,
                                value=short(raw),
                                hint=hint,
                            ),
                            value=short(raw),
                            **where,
                        )
                    )
                    return
            value = self._formula(ws, f, str(raw), pointer, where)
            if value is None:
                return
            raw = value
        if cell.percent and isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
            raw = self._percent(sheet, pointer, f, ref, raw, record)
            if raw is None:
                return
        value, note = parse(raw, record)
        if note and value is None and not _must_fill(pointer):
            note = None  # a dash in a cell that may stay empty: nothing to say
        if note:
            where = {"file": self.doc.file, "sheet": sheet.name, "cell": ref, "field": pointer}
            self.doc.findings.append(
                make(
                    "value-normalised",
                    text("value-normalised", label=f.label, note=note),
                    value=short(raw),
                    **where,
                )
            )
        if value is not None:
            target[key] = value

    def _percent(
        self,
        sheet: layout.Sheet,
        pointer: str,
        f: layout.Field,
        ref: str,
        raw: Any,
        record: dict[str, Any] | None,
    ) -> Any:
        """A number shown as a percentage (typed as ``96%`` in Excel, stored as 0.96).

        An indicator value is the percentage (96), with a warning when its unit is not %; an amount in
        万元 (a 万元 field, or an indicator measured in 万元/元), a score or a whole number cannot be told
        apart (typed into a % cell, or formatted after typing): an error at the cell, never ×100 or ÷100.
        Text fields keep the stored number. ``None`` when the value is not to be read.
        """
        number = to_decimal(raw)
        if number is None or f.type not in _PERCENT_READ:
            return raw
        value = percent(number)
        shown = f"{value:f}%"
        where = {"file": self.doc.file, "sheet": sheet.name, "cell": ref, "field": pointer, "value": shown}
        unit = (record or {}).get("unit") if f.type == layout.FieldType.NUMTEXT else None
        unit = unit.strip() if isinstance(unit, str) else ""
        if f.type == layout.FieldType.NUMTEXT and unit not in _MONEY_UNITS:
            if unicodedata.normalize("NFKC", unit) not in _PERCENT_UNITS:
                said = f"计量单位为“{unit}”" if unit else "计量单位未填写"
                self.doc.findings.append(
                    make(
                        "value-normalised",
                        text(
                            "value-normalised",
                            "percent-unit",
                            label=f.label,
                            shown=shown,
                            value=value,
                            said=said,
                        ),
                        **where,
                    )
                )
            return value
        self.flagged.add(pointer)
        what = _PERCENT_WANTED.get(f.type, "数值")
        if unit:
            what = f"以{unit}为单位的数值"
        self.doc.findings.append(
            make(
                "percent-format",
                text("percent-format", label=f.label, shown=shown, wanted=what),
                **where,
            )
        )
        return None

    def _formula(self, ws: Sheet, f: layout.Field, formula: str, pointer: str, where: dict) -> Any:
        if f.type not in layout.NUMERIC_TYPES:
            self.flagged.add(pointer)
            self.doc.findings.append(
                make(
                    "formula-not-allowed",
                    text("formula-not-allowed", label=f.label, formula=short(formula)),
                    value=short(formula),
                    **where,
                )
            )
            return None
        looked = [0]
        open_: list[tuple[int, int]] = []  # formula cells being evaluated, outermost first

        def lookup(row: int, col: int) -> Decimal:
            looked[0] += 1
            if looked[0] > MAX_LOOKUPS:
                raise FormulaError("公式引用的单元格过多")
            cell = ws.get(row, col)
            if cell is None or cell.value is None:
                return Decimal(0)
            if cell.data_type == "f":
                if (row, col) in open_ or f"{a1(row, col)}" == where.get("cell"):
                    raise FormulaError(f"公式循环引用了{a1(row, col)}")
                if len(open_) >= MAX_NESTING:
                    raise FormulaError("公式引用的公式层数过多")
                open_.append((row, col))
                try:
                    return evaluate(str(cell.value), lookup)
                finally:
                    open_.pop()
            number = (
                to_decimal(cell.value) if not isinstance(cell.value, str) else parse_number(cell.value)[0]
            )
            if not isinstance(number, Decimal):
                raise FormulaError(f"引用的单元格{a1(row, col)}不是数字")
            return number

        try:
            value = evaluate(formula, lookup)
        except (FormulaError, ValueError, ArithmeticError) as exc:
            self.flagged.add(pointer)
            self.doc.findings.append(
                make(
                    "formula-not-allowed",
                    text(
                        "formula-not-allowed",
                        "unevaluated",
                        label=f.label,
                        formula=short(formula),
                        reason=exc,
                    ),
                    value=short(formula),
                    **where,
                )
            )
            return None
        self.doc.findings.append(
            make(
                "formula-recomputed",
                text("formula-recomputed", label=f.label, formula=short(formula), value=value.normalize()),
                value=short(formula),
                **where,
            )
        )
        return value

    # --- structure checks ------------------------------------------------------------------------

    def _columns_by_row(self, ws: Sheet) -> dict[int, list[int]]:
        """The columns holding a value, by row (built once per sheet: the reader and the checks below
        look only at cells that exist rather than at every position)."""
        index = self._row_index.get(ws.name)
        if index is None:
            index = {}
            last_row, cols = None, []
            for (row, col), cell in ws.cells.items():  # mostly in row order: one look-up per row
                value = cell.value
                if value is None or (isinstance(value, str) and not value.strip()):
                    continue
                if row != last_row:
                    last_row = row
                    cols = index.setdefault(row, [])
                cols.append(col)
            for cols in index.values():
                cols.sort()
            self._row_index[ws.name] = index
        return index

    def _extra_columns(self, sheet: layout.Sheet, ws: Sheet, row: int, last_col: int) -> None:
        cols = self._columns_by_row(ws).get(row)
        if not cols or cols[-1] <= last_col:
            return
        for col in cols:
            if last_col < col <= last_col + self.limits.max_cols:
                self._once(
                    "extra-data",
                    sheet,
                    a1(row, col),
                    text("extra-data", "right", cell=a1(row, col)),
                )
                return

    def _below(self, sheet: layout.Sheet, ws: Sheet, end: int) -> None:
        stop = min(ws.max_row, end + self.limits.max_rows)
        index = self._columns_by_row(ws)
        for row in sorted(r for r in index if end <= r <= stop):
            for col in index[row]:
                if col <= sheet.last_col + 5:
                    self._once(
                        "extra-data",
                        sheet,
                        a1(row, col),
                        text("extra-data", "below", cell=a1(row, col), rows=layout.INDICATOR_ROWS),
                    )
                    return

    def _merged(self, sheet: layout.Sheet, ws: Sheet, inputs_by_row: dict[int, tuple[int, ...]]) -> None:
        """A merged range over two or more input cells (looking at most 201 rows × 65 columns of it)."""
        for rng in ws.merged[: self.limits.max_rows]:
            first_col, last_col = rng.min_col, min(rng.max_col, rng.min_col + 64)
            covered = 0
            for r in range(rng.min_row, min(rng.max_row, rng.min_row + 200) + 1):
                for c in inputs_by_row.get(r, ()):
                    if first_col <= c <= last_col:
                        covered += 1
                if covered >= 2:
                    break
            if covered >= 2:
                self._once(
                    "merged-input",
                    sheet,
                    rng.coord,
                    text("merged-input", cell=rng.coord, first=a1(rng.min_row, rng.min_col)),
                )

    def _once(self, code: str, sheet: layout.Sheet, cell: str, message: str) -> None:
        if any(f.code == code and f.sheet == sheet.name for f in self.doc.findings):
            return
        self.doc.findings.append(make(code, message, file=self.doc.file, sheet=sheet.name, cell=cell))


#: Field types whose numbers shown as percentages are looked at (text fields keep the stored number).
_PERCENT_READ = frozenset({*layout.NUMERIC_TYPES, layout.FieldType.NUMTEXT})
#: Units of an indicator value that say "percent" (NFKC) and units of money (a % format there is an error).
_PERCENT_UNITS = frozenset({"%", "百分比", "百分点", "百分率"})
_MONEY_UNITS = frozenset({"万元", "元", "亿元", "千元"})
_PERCENT_WANTED = {
    layout.FieldType.MONEY: "以万元为单位的金额",
    layout.FieldType.SCORE: "分数",
    layout.FieldType.INT: "整数",
    layout.FieldType.YEAR: "年份",
}


def _money(raw: Any) -> tuple[Any, str | None]:
    """An amount in 万元; "—", "-", "／", "无" mean the cell is empty (read as blank, with a note that
    :meth:`_Reader._value` keeps only for a cell that must be filled)."""
    if isinstance(raw, str) and _plain_dash(raw) in DASHES:
        return None, f"“{raw.strip()}”已按未填写读取"
    return parse_number(raw, ("万元", "万"))


def _plain_dash(raw: str) -> str:
    return "".join(unicodedata.normalize("NFKC", raw).split())


def _numtext(raw: Any, record: dict[str, Any], key: str) -> tuple[Any, str | None]:
    """Indicator values: numbers for quantitative indicators (≥ ≤ =), text as typed otherwise."""
    nature = record.get("nature")
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        return parse_number(raw)
    if nature not in ("≥", "≤", "=") or not isinstance(raw, str):
        return parse_text(raw)
    typed = raw.strip()
    prefix_note = None
    if key == "target":
        for sign in ("≥", "≧", ">=", "＞＝", "≤", "≦", "<=", "＜＝", "=", "＝"):
            if typed.startswith(sign) and parse_nature(sign)[0] == nature:
                typed = typed[len(sign) :].strip()
                prefix_note = f"已去掉与指标性质重复的“{sign}”"
                break
    unit = record.get("unit")
    suffixes = ("%", "％", *((unit,) if isinstance(unit, str) and unit else ()))
    value, note = parse_number(typed, suffixes)
    if isinstance(value, Decimal):
        return value, "；".join(x for x in (prefix_note, note) if x) or None
    return _indicator_value(raw, record, key)


def _indicator_value(raw: str, record: dict[str, Any], key: str) -> tuple[Any, str | None]:
    """Bound and unit words around the number ("2天以内", "150万"): see :func:`values.parse_indicator`;
    a blank 计量单位 takes the unit typed with the number."""
    unit = record.get("unit")
    value, note, fill = parse_indicator(
        raw, str(record.get("nature")), unit if isinstance(unit, str) else "", key
    )
    if fill:
        record["unit"] = fill
    return value, note


def _must_fill(pointer: str) -> bool:
    """True for a cell that must be filled: a required field, or a budget cell of a required row."""
    parts = pointer.strip("/").split("/")
    if parts[0] == layout.BUDGET.key:
        return len(parts) == 3 and parts[1] in layout.BUDGET.required_rows
    f = layout.field_at(pointer)
    return bool(f and f.required)


def _credit_code(raw: Any) -> tuple[Any, str | None]:
    """统一社会信用代码: as a code, with lower-case letters (never valid) made upper-case."""
    value, note = parse_code(raw)
    if isinstance(value, str) and value != value.upper():
        upper = value.upper()
        return upper, "；".join(x for x in (note, f"小写字母已改为大写：{upper}") if x)
    return value, note


def _seq(ws: Sheet, row: int, col: int, default: int) -> Any:
    """The 序号 in ``(row, col)`` when it is a whole number, else ``default`` (the row's position)."""
    cell = ws.cells.get((row, col))
    if cell is None or _blank(cell.value):
        return default
    seq = parse_int(cell.value)[0]
    return seq if isinstance(seq, int) else default


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


__all__ = ["Finding", "read_workbook"]
