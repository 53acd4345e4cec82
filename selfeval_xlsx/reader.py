"""Workbook → :class:`~selfeval_xlsx.document.Document`, driven by the layout.

Reads values only: formulas are recomputed by :mod:`selfeval_xlsx.formulas` (their cached results are
never trusted) or rejected; error values (``#DIV/0!``) are findings. Values people type loosely (numbers
stored as text, thousands separators, trailing 万元 or %, full-width digits, dates as text or serials)
are normalised with a warning. Every value's cell is recorded, blank ones included, so that schema
errors map back to cells.
"""

from __future__ import annotations

import hashlib
import io
import stat
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from loguru import logger

from . import layout as L
from .cells import a1
from .decimals import to_decimal
from .document import CellRef, Document
from .findings import Finding, make
from .formulas import FormulaError, evaluate
from .limits import DEFAULT_LIMITS, Limits
from .values import (
    parse_choice,
    parse_code,
    parse_date,
    parse_int,
    parse_nature,
    parse_number,
    parse_text,
)
from .version import TEMPLATE_ID, TEMPLATE_VERSION
from .xlsxgrid import Grid, GridError, GridLimitError, Sheet, grid_from_openpyxl, load_grid

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
                message = (
                    "这不是普通文件（可能是文件夹、管道或设备），未读取。请发送自评表（.xlsx）文件本身。"
                )
                doc.findings.append(make("not-a-workbook", message, file=label))
                return doc
            if st.st_size > limits.max_file_bytes:
                doc = Document(file=label)
                doc.findings.append(
                    make(
                        "too-large",
                        f"文件超过{limits.max_file_bytes // 1_000_000}MB上限，请检查后重新发送。",
                        file=label,
                    )
                )
                return doc
            data = path.read_bytes()
        except OSError as exc:
            doc = Document(file=label)
            doc.findings.append(make("corrupt-workbook", f"无法打开文件：{exc.strerror or exc}", file=label))
            return doc
    doc = Document(file=label, sha256=hashlib.sha256(data).hexdigest())
    from .safety import check_workbook  # local: safety is optional at import time for tooling

    problems = check_workbook(data, label, limits)
    doc.findings.extend(problems)
    if any(f.severity == "error" for f in problems):
        return doc
    try:
        grid = _load_grid(data, limits)
    except GridLimitError as exc:
        doc.findings.append(
            make(
                "too-large",
                f"工作簿内容超出处理上限（{exc}），请删除多余内容后重新发送。",
                file=label,
            )
        )
        return doc
    except Exception as exc:  # openpyxl raises many kinds on broken files
        doc.findings.append(
            make(
                "corrupt-workbook",
                f"文件无法作为Excel工作簿读取（{type(exc).__name__}），请在Excel或WPS中重新保存为.xlsx后发送。",
                file=label,
            )
        )
        return doc
    _Reader(grid, doc, limits).read()
    return doc


#: The sheets whose cells the reader looks at (the others are only listed by name).
_READ_SHEETS = frozenset({*(s.name for s in L.WORKBOOK.data_sheets), L.META_SHEET_NAME})


def _load_grid(data: bytes, limits: Limits) -> Grid:
    """The workbook's cells: the fast expat reader, or openpyxl for what it does not accept.

    :func:`load_grid` refuses some unusual but legitimate files (odd part names, misordered XML) that
    openpyxl reads; those fall back to openpyxl. Its limit errors are final (openpyxl would be slower on
    the same hostile file, not safer).
    """
    try:
        return load_grid(data, limits, sheets=_READ_SHEETS)
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


class _Reader:
    def __init__(self, wb: Grid, doc: Document, limits: Limits) -> None:
        self.wb, self.doc, self.limits = wb, doc, limits
        self.flagged: set[str] = set()  # pointers that already carry a finding from the reader
        self._row_index: dict[str, dict[int, list[int]]] = {}

    # --- structure -------------------------------------------------------------------------------

    def read(self) -> None:
        names = list(self.wb.sheetnames)
        wanted = [s.name for s in L.WORKBOOK.data_sheets]
        present = [n for n in wanted if n in names]
        meta = self._meta(names)
        if meta is None and not present:
            self._whole_file(
                "unknown-template",
                "这不是本年度的标准自评表模板（找不到“预算执行”“绩效指标”“评价小组”工作表）。"
                "请使用财政局下发的模板填写后重新发送。",
            )
            return
        if meta is not None and meta.get("template_id") not in (None, TEMPLATE_ID):
            self._whole_file(
                "unknown-template", "这不是本系统的标准自评表模板，请使用财政局下发的模板重新填写。"
            )
            return
        if meta is not None and str(meta.get("template_version")) != TEMPLATE_VERSION:
            self._whole_file(
                "template-version",
                f"模板版本为{meta.get('template_version')}，本年度须使用{TEMPLATE_VERSION}版模板。"
                "请将内容录入新版模板后重新发送。",
            )
            return
        missing = [n for n in wanted if n not in names]
        if missing:
            shown = "、".join(n for n in names if n != L.META_SHEET_NAME) or "无"
            for n in missing:
                self.doc.findings.append(
                    make(
                        "missing-sheet",
                        f"找不到工作表“{n}”（现有工作表：{shown}）。请勿删除或重命名模板中的工作表。",
                        file=self.doc.file,
                        sheet=n,
                    )
                )
            if not present:
                return
        if meta is None:
            self._whole_file(
                "unknown-template",
                "工作簿缺少模板标识（隐藏的_meta工作表），可能是复制到其他文件后填写的；已按标准格式读取。",
                severity="warning",
            )
        known = {*wanted, L.META_SHEET_NAME, *(s.name for s in L.WORKBOOK.sheets)}
        for n in names:
            if n not in known:
                self.doc.findings.append(
                    make("extra-data", f"工作表“{n}”不属于模板，其内容未读取。", file=self.doc.file, sheet=n)
                )
        for sheet in L.WORKBOOK.data_sheets:
            if sheet.name in names:
                self._sheet(sheet, self.wb[sheet.name])
        self.doc.data["_flagged"] = sorted(self.flagged)  # consumed (and removed) by validation

    def _whole_file(self, code: str, message: str, severity: str | None = None) -> None:
        self.doc.findings.append(make(code, message, file=self.doc.file, severity=severity))

    def _meta(self, names: list[str]) -> dict[str, Any] | None:
        if L.META_SHEET_NAME not in names:
            return None
        ws = self.wb[L.META_SHEET_NAME]
        out: dict[str, Any] = {}
        for row in range(1, 21):
            key = ws.value(row, 1)
            if isinstance(key, str):
                out[key.strip()] = ws.value(row, 2)
        return out

    # --- sheets ----------------------------------------------------------------------------------

    def _sheet(self, sheet: L.Sheet, ws: Sheet) -> None:
        inputs: set[tuple[int, int]] = set()
        for p in sheet.placements:
            b = p.block
            if isinstance(b, L.Form):
                self._form(sheet, ws, p, b, inputs)
            elif isinstance(b, L.Grid):
                self._grid(sheet, ws, p, b, inputs)
            elif isinstance(b, L.Table):
                self._table(sheet, ws, p, b, inputs)
            elif isinstance(b, L.Matrix):
                self._matrix(sheet, ws, p, b, inputs)
        self._merged(sheet, ws, inputs)
        self._below(sheet, ws)

    def _form(self, sheet: L.Sheet, ws: Sheet, p: L.Placement, form: L.Form, inputs: set) -> None:
        target = self.doc.data.setdefault(form.key, {})
        for f in form.fields:
            row, col = L.form_cell(p, f.key)
            inputs.add((row, col))
            self._value(sheet, ws, f"/{form.key}/{f.key}", f, row, col, target, f.key)

    def _grid(self, sheet: L.Sheet, ws: Sheet, p: L.Placement, grid: L.Grid, inputs: set) -> None:
        data = self.doc.data.setdefault(grid.key, {})
        for row_key, _label in grid.rows:
            target = data.setdefault(row_key, {})
            for f in (*grid.columns, *grid.outputs):
                row, col = L.grid_cell(p, row_key, f.key)
                pointer = f"/{grid.key}/{row_key}/{f.key}"
                self.doc.cells[pointer] = CellRef(sheet.name, a1(row, col))
                if not f.output:
                    inputs.add((row, col))
                    self._value(sheet, ws, pointer, f, row, col, target, f.key)

    def _table(self, sheet: L.Sheet, ws: Sheet, p: L.Placement, table: L.Table, inputs: set) -> None:
        records: list[dict[str, Any]] = self.doc.data.setdefault(table.key, [])
        hidden_warned = False
        last_col = len(table.columns)
        for i in range(table.rows):
            row = L.table_row(p, i)
            for f in table.inputs:
                inputs.add((row, L.table_col(p, f.key)))
            raws = {f.key: self._raw(ws, row, L.table_col(p, f.key)) for f in table.inputs}
            if all(_blank(v) for v in raws.values()):
                continue
            index = len(records)
            base = f"/{table.key}/{index}"
            seq_raw = self._raw(ws, row, L.table_col(p, "seq"))
            seq = parse_int(seq_raw)[0] if not _blank(seq_raw) else None
            record: dict[str, Any] = {"seq": seq if isinstance(seq, int) else i + 1}
            records.append(record)
            for f in table.columns:
                col = L.table_col(p, f.key)
                self.doc.cells[f"{base}/{f.key}"] = CellRef(sheet.name, a1(row, col))
            self.doc.cells[base] = CellRef(sheet.name, a1(row, 1))
            # numbers-or-text columns last: how they parse depends on 指标性质 and 计量单位
            for f in sorted(table.inputs, key=lambda f: f.type == L.T.NUMTEXT):
                self._value(
                    sheet, ws, f"{base}/{f.key}", f, row, L.table_col(p, f.key), record, f.key, record
                )
            if not hidden_warned and _row_hidden(ws, row):
                hidden_warned = True
                self.doc.findings.append(
                    make(
                        "value-normalised",
                        f"第{row}行是隐藏行但含有数据，已照常读取；请取消隐藏并核对。",
                        file=self.doc.file,
                        sheet=sheet.name,
                        cell=a1(row, 1),
                        severity="warning",
                    )
                )
            self._extra_columns(sheet, ws, row, last_col)

    def _matrix(self, sheet: L.Sheet, ws: Sheet, p: L.Placement, m: L.Matrix, inputs: set) -> None:
        entries: list[dict[str, Any]] = self.doc.data.setdefault(m.key, [])
        for r in range(m.rows):
            row = L.table_row(p, r)
            seq_raw = self._raw(ws, row, 1)
            seq = parse_int(seq_raw)[0] if not _blank(seq_raw) else None
            for c in range(m.columns):
                rr, cc = L.matrix_cell(p, r, c)
                inputs.add((rr, cc))
                if _blank(self._raw(ws, rr, cc)):
                    continue
                entry: dict[str, Any] = {"row": seq if isinstance(seq, int) else r + 1, "column": c + 1}
                pointer = f"/{m.key}/{len(entries)}"
                entries.append(entry)
                self.doc.cells[pointer] = CellRef(sheet.name, a1(rr, cc))
                self._value(sheet, ws, f"{pointer}/value", m.value, rr, cc, entry, "value")
                self.doc.cells[f"{pointer}/value"] = CellRef(sheet.name, a1(rr, cc))
            self._extra_columns(sheet, ws, row, 2 + m.columns)

    # --- cells -----------------------------------------------------------------------------------

    @staticmethod
    def _raw(ws: Sheet, row: int, col: int) -> Any:
        cell = ws.get(row, col)
        return None if cell is None else cell.value

    def _value(
        self,
        sheet: L.Sheet,
        ws: Sheet,
        pointer: str,
        f: L.Field,
        row: int,
        col: int,
        target: dict[str, Any],
        key: str,
        record: dict[str, Any] | None = None,
    ) -> None:
        ref = a1(row, col)
        self.doc.cells[pointer] = CellRef(sheet.name, ref)
        cell = ws.get(row, col)
        if cell is None or _blank(cell.value):
            return
        raw = cell.value
        where = {"file": self.doc.file, "sheet": sheet.name, "cell": ref, "field": pointer}
        if cell.data_type == "e":
            self.flagged.add(pointer)
            self.doc.findings.append(
                make("cell-error", f"“{f.label}”单元格为错误值{raw}，请改为正确的内容。", value=raw, **where)
            )
            return
        if cell.data_type == "f":
            text = raw
            value = self._formula(ws, sheet, f, str(text), pointer, where)
            if value is None:
                return
            raw = value
        value, note = self._parse(f, raw, record)
        if note:
            self.doc.findings.append(
                make("value-normalised", f"“{f.label}”：{note}。", value=short(raw), **where)
            )
        if value is not None:
            target[key] = value

    def _formula(self, ws: Sheet, sheet: L.Sheet, f: L.Field, text: str, pointer: str, where: dict) -> Any:
        if f.type not in L.NUMERIC_TYPES:
            self.flagged.add(pointer)
            self.doc.findings.append(
                make(
                    "formula-not-allowed",
                    f"“{f.label}”中是公式{short(text)}，请直接填写内容，不要使用公式。",
                    value=short(text),
                    **where,
                )
            )
            return None
        depth = [0]

        def lookup(row: int, col: int) -> Decimal:
            depth[0] += 1
            if depth[0] > 500:
                raise FormulaError("公式引用过深")
            cell = ws.get(row, col)
            if cell is None or cell.value is None:
                return Decimal(0)
            if cell.data_type == "f":
                return evaluate(str(cell.value), lookup)
            number = (
                to_decimal(cell.value) if not isinstance(cell.value, str) else parse_number(cell.value)[0]
            )
            if not isinstance(number, Decimal):
                raise FormulaError(f"引用的单元格{a1(row, col)}不是数字")
            return number

        try:
            value = evaluate(text, lookup)
        except (FormulaError, ValueError, ArithmeticError) as exc:
            self.flagged.add(pointer)
            self.doc.findings.append(
                make(
                    "formula-not-allowed",
                    f"“{f.label}”中的公式{short(text)}无法核算（{exc}），请直接填写数值。",
                    value=short(text),
                    **where,
                )
            )
            return None
        self.doc.findings.append(
            make(
                "formula-recomputed",
                f"“{f.label}”中的公式{short(text)}已由系统重新计算为{value.normalize():f}（不采用文件中缓存的结果）。",
                value=short(text),
                **where,
            )
        )
        return value

    def _parse(self, f: L.Field, raw: Any, record: dict[str, Any] | None) -> tuple[Any, str | None]:
        t = f.type
        if t in (L.T.MONEY,):
            return parse_number(raw, ("万元", "万"))
        if t == L.T.SCORE:
            return parse_number(raw, ("分",))
        if t in (L.T.YEAR, L.T.INT):
            return parse_int(raw)
        if t == L.T.DATE:
            return parse_date(raw)
        if t == L.T.CODE:
            return parse_code(raw)
        if t == L.T.CHOICE:
            if f.key == "nature":
                return parse_nature(raw)
            return parse_choice(raw, f.choices)
        if t == L.T.NUMTEXT:
            return self._numtext(raw, record or {}, f.key)
        return parse_text(raw)

    @staticmethod
    def _numtext(raw: Any, record: dict[str, Any], key: str) -> tuple[Any, str | None]:
        """Indicator values: numbers for quantitative indicators (≥ ≤ =), text as typed otherwise."""
        nature = record.get("nature")
        if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
            return parse_number(raw)
        if nature not in ("≥", "≤", "=") or not isinstance(raw, str):
            return parse_text(raw)
        text = raw.strip()
        prefix_note = None
        if key == "target":
            for sign in ("≥", "≧", ">=", "＞＝", "≤", "≦", "<=", "＜＝", "=", "＝"):
                if text.startswith(sign) and parse_nature(sign)[0] == nature:
                    text = text[len(sign) :].strip()
                    prefix_note = f"已去掉与指标性质重复的“{sign}”"
                    break
        unit = record.get("unit")
        suffixes = ("%", "％", *((unit,) if isinstance(unit, str) and unit else ()))
        value, note = parse_number(text, suffixes)
        if isinstance(value, Decimal):
            return value, "；".join(x for x in (prefix_note, note) if x) or None
        return parse_text(raw)

    # --- structure checks ------------------------------------------------------------------------

    def _columns_by_row(self, ws: Sheet) -> dict[int, list[int]]:
        """The columns holding a value, by row (built once per sheet: the checks below look only at
        cells that exist rather than at every position)."""
        index = self._row_index.get(ws.name)
        if index is None:
            index = {}
            for (row, col), cell in ws.cells.items():
                if not _blank(cell.value):
                    index.setdefault(row, []).append(col)
            for cols in index.values():
                cols.sort()
            self._row_index[ws.name] = index
        return index

    def _extra_columns(self, sheet: L.Sheet, ws: Sheet, row: int, last_col: int) -> None:
        for col in self._columns_by_row(ws).get(row, ()):
            if last_col < col <= last_col + self.limits.max_cols:
                self._once(
                    "extra-data",
                    sheet,
                    a1(row, col),
                    f"{a1(row, col)}在表格范围之外，其内容未读取；如需填写请放入模板的对应列。",
                )
                return

    def _below(self, sheet: L.Sheet, ws: Sheet) -> None:
        last = sheet.placements[-1]
        end = last.row + _height_of(last.block)
        stop = min(ws.max_row, end + self.limits.max_rows)
        index = self._columns_by_row(ws)
        for row in sorted(r for r in index if end <= r <= stop):
            for col in index[row]:
                if col <= sheet.last_col + 5:
                    self._once(
                        "extra-data",
                        sheet,
                        a1(row, col),
                        f"{a1(row, col)}在模板表格之外，其内容未读取。指标最多{L.INDICATOR_ROWS}项，"
                        "请勿在表格下方追加内容。",
                    )
                    return

    def _merged(self, sheet: L.Sheet, ws: Sheet, inputs: set[tuple[int, int]]) -> None:
        for rng in ws.merged[: self.limits.max_rows]:
            covered = [
                (r, c)
                for r in range(rng.min_row, min(rng.max_row, rng.min_row + 200) + 1)
                for c in range(rng.min_col, min(rng.max_col, rng.min_col + 64) + 1)
                if (r, c) in inputs
            ]
            if len(covered) >= 2:
                self._once(
                    "merged-input",
                    sheet,
                    rng.coord,
                    f"单元格{rng.coord}被合并，只能读取左上角{a1(rng.min_row, rng.min_col)}的内容，"
                    "其余单元格的内容会丢失。请取消合并后分别填写。",
                )

    def _once(self, code: str, sheet: L.Sheet, cell: str, message: str) -> None:
        if any(f.code == code and f.sheet == sheet.name for f in self.doc.findings):
            return
        self.doc.findings.append(make(code, message, file=self.doc.file, sheet=sheet.name, cell=cell))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _row_hidden(ws: Sheet, row: int) -> bool:
    return row in ws.hidden_rows


def _height_of(block: L.Block) -> int:
    return L._height(block)


Parser = Callable[[Any], tuple[Any, str | None]]
__all__ = ["Finding", "read_workbook"]
