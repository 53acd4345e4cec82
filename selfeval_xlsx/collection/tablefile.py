"""A clerk's own table file (.xlsx or .csv) read as rows under a header row found by its Chinese titles.

Rosters and ledger exports are made by hand in Excel or exported by a budget system: a title row or a
``单位：元`` line above the header, headers with ``*`` marks, units in brackets or full-width spaces, and
on Chinese Windows a .csv saved in GBK (GB18030) rather than UTF-8. This module finds the header row,
keeps the lines above it (they may state the unit) and hands back each data row by its 1-based row
number, as the clerk sees it in Excel.

Untrusted like every input: an .xlsx goes through :func:`~selfeval_xlsx.safety.check_workbook` and the
bounded grid reader (:func:`~selfeval_xlsx.xlsxgrid.load_grid`); a .csv is read only up to
``limits.max_file_bytes``; at most ``limits.max_rows`` data rows and ``limits.max_cols`` columns are
looked at.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..decimals import plain, to_decimal
from ..limits import DEFAULT_LIMITS, Limits

#: How many rows from the top are searched for the header row.
HEADER_SEARCH_ROWS = 20

_BRACKETS = re.compile(r"[（(\[【][^）)\]】]*[）)\]】]")
_SPACES = re.compile(r"[\s\u3000*＊:：]+")


class TableError(ValueError):
    """The file cannot be read as a table: ``message`` is Chinese, for the clerk."""


@dataclass
class Table:
    """What was read: data rows by their 1-based row number, the header row's titles, the lines above."""

    file: str
    header_row: int
    columns: dict[str, int]  # key → 0-based column index
    titles: list[str]  # the header row as written
    above: list[str]  # the text of the rows above the header (a title, 单位：元)
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)

    def title_of(self, key: str) -> str:
        """The header as written of a found column."""
        return self.titles[self.columns[key]]

    def get(self, row: Sequence[Any], key: str) -> Any:
        """A row's value in a column (``None`` when the column is absent or the cell empty)."""
        i = self.columns.get(key)
        return row[i] if i is not None and i < len(row) else None


def header_key(text: str) -> str:
    """A header as compared: without brackets and what they hold, spaces, ``*`` and colons."""
    return _SPACES.sub("", _BRACKETS.sub("", text))


def cell_text(value: Any) -> str:
    """A cell as the clerk reads it: numbers without a float's tail (130133101000.0 → '130133101000')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float | int | Decimal):
        d = to_decimal(value)
        return "" if d is None else f"{plain(d):f}"
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value).replace("\u3000", " ").strip()


def cell_amount(value: Any) -> Decimal | None:
    """An amount cell as an exact Decimal: numbers as typed, text with thousands commas (``1,234.50``);
    ``None`` when it is not a number."""
    if isinstance(value, str):
        value = value.strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
        if not value:
            return None
    return to_decimal(value)


def decode_csv(data: bytes) -> str:
    """A .csv's text: UTF-8 (with or without Excel's BOM), else GB18030 (GBK as Excel on Chinese Windows
    saves "CSV (逗号分隔)"); :class:`TableError` when neither decodes."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError("文件编码无法识别（应为UTF-8或GBK），请在Excel中另存为“CSV UTF-8”或“.xlsx”后重试。")


def _csv_rows(data: bytes, limits: Limits) -> list[list[Any]]:
    text = decode_csv(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    rows = []
    try:
        for i, row in enumerate(csv.reader(io.StringIO(text), dialect)):
            if i >= limits.max_rows + HEADER_SEARCH_ROWS:
                raise TableError(f"行数超过{limits.max_rows}行的处理上限，请拆分后重试。")
            rows.append(row[: limits.max_cols])
    except csv.Error as exc:
        raise TableError(f"CSV格式有误（{exc}），请在Excel中打开后另存为“.xlsx”重试。") from exc
    return rows


def _xlsx_rows(data: bytes, name: str, limits: Limits) -> list[list[Any]]:
    from ..safety import check_workbook
    from ..xlsx.grid import GridError, load_grid

    problems = [f for f in check_workbook(data, name, limits) if f.severity == "error"]
    if problems:
        raise TableError(problems[0].message)
    try:
        grid = load_grid(data, limits)
    except GridError as exc:
        raise TableError(f"无法读取该工作簿（{exc}），请用Excel打开后另存为“.xlsx”重试。") from exc
    visible = [grid[n] for n in grid.sheetnames if grid[n].state == "visible" and grid[n].cells]
    if not visible:
        raise TableError("工作簿中没有内容。")
    sheet = visible[0]
    if sheet.max_row > limits.max_rows + HEADER_SEARCH_ROWS:
        raise TableError(f"工作表“{sheet.name}”行数超过{limits.max_rows}行的处理上限，请拆分后重试。")
    last_row = max(r for r, _ in sheet.cells)
    last_col = min(max(c for _, c in sheet.cells), limits.max_cols)
    return [
        [
            sheet.value(r, c) if (r, c) in sheet.cells and sheet.cells[(r, c)].data_type != "f" else None
            for c in range(1, last_col + 1)
        ]
        for r in range(1, last_row + 1)
    ]


def _columns(keys: list[str], wanted: Mapping[str, set[str]]) -> dict[str, int]:
    """Columns by key: an exact header first, then a header holding an accepted text of four characters
    or more (``统一社会信用代码/行政区划代码``, ``2023年全年预算数``)."""
    columns: dict[str, int] = {}
    for exact in (True, False):
        for col, k in enumerate(keys):
            if not k or col in columns.values():
                continue
            for key, texts in wanted.items():
                if key in columns:
                    continue
                if k in texts if exact else any(len(t) >= 4 and t in k for t in texts):
                    columns[key] = col
                    break
    return columns


def read_table(
    source: str | Path | bytes,
    headers: Mapping[str, Sequence[str]],
    required: Sequence[Sequence[str]],
    *,
    name: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Table:
    """Read a table file. ``headers`` maps a key to the accepted header texts (compared by
    :func:`header_key`); ``required`` lists groups of keys of which each group needs at least one (the
    header row is the first of the top rows that has them all). Raises :class:`TableError` (Chinese)."""
    if isinstance(source, bytes):
        data, file = source, name or "表格"
    else:
        path = Path(source)
        file = name or path.name
        try:
            if path.stat().st_size > limits.max_file_bytes:
                raise TableError("文件超出处理上限，未读取。")
            data = path.read_bytes()
        except OSError as exc:
            raise TableError(f"无法读取该文件（{exc.strerror or type(exc).__name__}）。") from exc
    if len(data) > limits.max_file_bytes:
        raise TableError("文件超出处理上限，未读取。")
    if data[:4] == b"PK\x03\x04":
        rows = _xlsx_rows(data, file, limits)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise TableError("这是旧版.xls文件，请在Excel中另存为“.xlsx”或“CSV UTF-8”后重试。")
    else:
        rows = _csv_rows(data, limits)
    wanted = {key: {header_key(h) for h in texts} for key, texts in headers.items()}
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        titles = [cell_text(v) for v in row]
        columns = _columns([header_key(t) for t in titles], wanted)
        if all(any(k in columns for k in group) for group in required):
            above = [" ".join(t for t in (cell_text(v) for v in r) if t) for r in rows[:i]]
            body = [(i + 1 + n, r) for n, r in enumerate(rows[i + 1 :], start=1)]
            body = [(n, r) for n, r in body if any(cell_text(v) for v in r)]
            if len(body) > limits.max_rows:
                raise TableError(f"数据行数超过{limits.max_rows}行的处理上限，请拆分后重试。")
            return Table(file, i + 1, columns, titles, [a for a in above if a], body)
    names = "；".join("或".join(f"“{headers[k][0]}”" for k in group) for group in required)
    raise TableError(f"在前{HEADER_SEARCH_ROWS}行中找不到表头，表头应包含：{names}。")
