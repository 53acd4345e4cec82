"""Reading a county roll-up workbook back (``汇总_<county>_<year>.xlsx``, written by
:mod:`selfeval_xlsx.rollup_write`): the exact :class:`~selfeval_xlsx.rollup.Rollup` held as JSON in its
hidden ``_rollup`` sheet, each field checked against its type, so that a roll-up can itself be merged
into a city or provincial roll-up. A foreign or tampered workbook is "not a roll-up", never a crash.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import warnings
from dataclasses import MISSING, fields
from decimal import Decimal
from functools import cache
from types import UnionType
from typing import Any, get_args, get_type_hints

from .collection.status import UnitStatus
from .rollup import FileRow, FindingRow, IndicatorRow, PanelRow, Rollup, TownshipRow

ROLLUP_ID = "selfeval-xlsx/rollup"
ROLLUP_VERSION = "1.0"
DATA_SHEET = "_rollup"
_SHEET_IN_BOOK = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheet\b[^>]*?\bname\s*=\s*[\"']_rollup[\"']")

_KINDS: dict[str, type] = {
    "townships": TownshipRow,
    "indicators": IndicatorRow,
    "panel": PanelRow,
    "findings": FindingRow,
    "files": FileRow,
    "status": UnitStatus,
}


def is_rollup_workbook(data: bytes) -> bool:
    """Cheap check: a zip whose workbook lists a ``_rollup`` sheet (:func:`read_rollup_workbook` decides)."""
    from .xlsx.zipread import open_zip, read_member

    if not data.startswith(b"PK"):
        return False
    try:
        zf = open_zip(data)
        info = zf.getinfo("xl/workbook.xml")
        return bool(_SHEET_IN_BOOK.search(read_member(data, info, cap=1024 * 1024)))
    except Exception:  # anything odd: not ours
        return False


def read_rollup_workbook(data: bytes) -> Rollup | None:
    """The :class:`~selfeval_xlsx.rollup.Rollup` stored in a roll-up workbook; ``None`` for other bytes."""
    got = read_rollup(data)
    return None if got is None else got[0]


def read_rollup(data: bytes) -> tuple[Rollup, dict[str, Any]] | None:
    """The roll-up stored in a roll-up workbook and the JSON object it was decoded from (what a signature
    covers, with its ``totals``); ``None`` for other bytes."""
    try:
        if not is_rollup_workbook(data):
            return None
        from .safety import check_workbook

        if any(f.severity == "error" for f in check_workbook(data, "roll-up")):
            return None
        cells = _data_cells(data)
        return None if cells is None else _decode(cells)
    except Exception:  # a foreign or tampered workbook is "not a roll-up", never a crash
        return None


def _data_cells(data: bytes) -> list[tuple[Any, Any]] | None:
    from openpyxl import load_workbook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    try:
        if DATA_SHEET not in wb.sheetnames:
            return None
        ws = wb[DATA_SHEET]
        return [(row[0], row[1]) for row in ws.iter_rows(max_col=2, values_only=True) if len(row) >= 2]
    finally:
        wb.close()


def _decode(cells: list[tuple[Any, Any]]) -> tuple[Rollup, dict[str, Any]] | None:
    head = {k: v for k, v in cells[:5] if isinstance(k, str)}
    if head.get("rollup_id") != ROLLUP_ID or str(head.get("rollup_version", "")).split(".")[0] != "1":
        return None
    chunks = [v for k, v in cells[5:] if k == "data"]
    if head.get("encoding") != "json" or str(len(chunks)) != str(head.get("chunks")):
        return None
    if not all(isinstance(c, str) for c in chunks):
        return None
    payload = "".join(chunks)
    if hashlib.sha256(payload.encode("ascii")).hexdigest() != head.get("sha256"):
        return None
    data = json.loads(payload)
    if (
        not isinstance(data, dict)
        or data.get("rollup_id") != ROLLUP_ID
        or not isinstance(data.get("rollup"), dict)
    ):
        return None
    src = data["rollup"]
    lists = {}
    for key, cls in _KINDS.items():
        items = src.get(key, [])
        if not isinstance(items, list):
            return None
        lists[key] = [_record(cls, item) for item in items]
    counts = src.get("counts", {})
    grades = src.get("grades", [])
    if not (isinstance(counts, dict) and all(isinstance(k, str) and _is_int(v) for k, v in counts.items())):
        return None
    if not (isinstance(grades, list) and all(isinstance(g, str) for g in grades)):
        return None
    scalars = _record(Rollup, {k: v for k, v in src.items() if k not in (*_KINDS, "counts", "grades")})
    for key, value in lists.items():
        setattr(scalars, key, value)
    scalars.counts, scalars.grades = dict(counts), tuple(grades)
    return scalars, src


def _record(cls: type, item: Any) -> Any:
    """A dataclass from a JSON object, each field checked against its type; ValueError if one does not fit."""
    if not isinstance(item, dict):
        raise ValueError(f"{cls.__name__}: not an object")
    values: dict[str, Any] = {}
    for name, options, required in _schema(cls):
        if name in item:
            values[name] = _value(options, item[name], f"{cls.__name__}.{name}")
        elif required:
            raise ValueError(f"{cls.__name__}.{name} missing")
    return cls(**values)


@cache
def _schema(cls: type) -> tuple[tuple[str, tuple[Any, ...], bool], ...]:
    """(field name, accepted types, required) of each field of a dataclass."""
    hints = get_type_hints(cls)
    return tuple(
        (
            f.name,
            get_args(hints[f.name]) if isinstance(hints[f.name], UnionType) else (hints[f.name],),
            f.default is MISSING and f.default_factory is MISSING,
        )
        for f in fields(cls)
    )


def _value(options: tuple[Any, ...], value: Any, where: str) -> Any:
    if value is None and type(None) in options:
        return None
    if Decimal in options and isinstance(value, str):
        d = Decimal(value)
        exponent = d.as_tuple().exponent  # a letter only for NaN and infinity
        if not d.is_finite() or d.adjusted() > 30 or (isinstance(exponent, int) and exponent < -40):
            raise ValueError(f"{where}: {value!r} out of range")
        return d
    if int in options and _is_int(value):
        return value
    if str in options and isinstance(value, str):
        return value
    raise ValueError(f"{where}: {value!r} does not fit {options}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
