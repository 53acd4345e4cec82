"""The bureau's ledger: each unit's budget and spending as its budget system exported them, checked
against what the unit reported.

The export (.xlsx or .csv) has a row per unit with its code or name, 全年预算数, 全年执行数 and
optionally 年初预算数, in 元 or 万元: said above the header (``单位：元``), in a column header
(``全年预算数（元）``) or by the caller. Amounts are exact Decimals converted to 万元 (the workbook's
unit); a reported figure further from the ledger's than the profile's ``ledger.tolerance`` (万元) is a
finding at the reported cell, with both figures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..decimals import HUNDRED, q2
from ..findings import Finding, make
from ..layout import cell_of, field_at
from ..limits import DEFAULT_LIMITS, Limits
from ..messages import text
from .tablefile import Table, TableError, cell_amount, cell_text, header_key, read_table

#: The reported amounts a ledger can hold, by their key in the budget table's total row.
AMOUNTS = ("initial", "adjusted", "executed")
#: The JSON pointer of each reported amount (the 合计 row of the budget table).
POINTERS = {k: f"/budget/total/{k}" for k in AMOUNTS}
#: Default tolerance (万元) when the profile sets none.
DEFAULT_TOLERANCE = Decimal("0.01")
UNITS = {"元": Decimal(10000), "万元": Decimal(1)}

HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("行政区划代码", "单位代码", "统一社会信用代码", "区划代码", "单位编码", "预算单位编码", "代码"),
    "name": ("单位名称", "预算单位", "预算单位名称", "单位", "名称"),
    "initial": ("年初预算数", "年初预算", "年初批复数", "年初预算批复数"),
    "adjusted": ("全年预算数", "调整后预算数", "全年预算", "预算数", "调整预算数", "全年预算数（调整后）"),
    "executed": ("全年执行数", "执行数", "实际支出数", "支出数", "全年支出数", "实际执行数"),
}
REQUIRED = (("code", "name"), ("adjusted",), ("executed",))
_UNIT_LINE = re.compile(r"(?:金额)?单位[:：]\s*(万元|元)")
_SUFFIXES = ("人民政府", "办事处")


@dataclass(frozen=True)
class LedgerRow:
    """One unit of the ledger, amounts in 万元 (``None`` where the export has no such column)."""

    row: int
    code: str
    name: str
    initial: Decimal | None
    adjusted: Decimal | None
    executed: Decimal | None

    @property
    def label(self) -> str:
        return self.name or self.code

    @property
    def rate(self) -> Decimal | None:
        """The ledger's execution rate, percent, 2 places."""
        if self.adjusted is None or self.executed is None or not self.adjusted:
            return None
        return q2(self.executed / self.adjusted * HUNDRED)


@dataclass
class Ledger:
    """The rows of a ledger and the findings about the file."""

    file: str
    unit: str = ""  # 元 / 万元: what the file was in
    rows: list[LedgerRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def find(self, code: str, name: str) -> LedgerRow | None:
        """The row of a unit: by code when the ledger has codes, else by name (``宋营镇`` also matches
        ``宋营镇人民政府``)."""
        for r in self.rows:
            if code and r.code == code:
                return r
        wanted = _short(name)
        for r in self.rows:
            if (not r.code or not code) and name and _short(r.name) == wanted:
                return r
        return None


def _short(name: str) -> str:
    name = re.sub(r"\s+", "", name)
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _unit_of(table: Table, given: str | None) -> str | None:
    if given:
        return given
    for key in AMOUNTS:
        if key in table.columns:
            title = table.title_of(key).replace(" ", "")
            for unit in ("万元", "元"):
                if f"({unit})" in title or f"（{unit}）" in title:
                    return unit
    for line in table.above:
        m = _UNIT_LINE.search(line.replace(" ", ""))
        if m:
            return m.group(1)
    return None


def read_ledger(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    unit: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Ledger:
    """Read a ledger export; never raises for problems in the file (they are its ``findings``).

    ``unit``: ``元`` or ``万元`` when the file does not say (what the file says is used otherwise)."""
    if unit is not None and unit not in UNITS:
        raise ValueError(f"unit must be 元 or 万元, not {unit!r}")
    file = name or (Path(source).name if not isinstance(source, bytes) else "台账")
    ledger = Ledger(file)
    try:
        table = read_table(source, HEADERS, REQUIRED, name=file, limits=limits)
    except TableError as exc:
        reason = str(exc) if str(exc).endswith("。") else f"{exc}。"
        ledger.findings.append(
            make("ledger-unreadable", text("ledger-unreadable", file=file, reason=reason), file=file)
        )
        return ledger
    found = _unit_of(table, unit)
    if found is None:
        ledger.findings.append(make("ledger-unit", text("ledger-unit", file=file), file=file))
        return ledger
    ledger.unit = found
    divisor = UNITS[found]
    letters = {k: _letter(i) for k, i in table.columns.items()}
    seen: dict[str, int] = {}
    for number, row in table.rows:
        code = cell_text(table.get(row, "code")).replace(" ", "").upper()
        unit_name = cell_text(table.get(row, "name"))
        label = unit_name or code
        first_col = letters.get("code", letters.get("name"))
        if not label:
            ledger.findings.append(
                make(
                    "ledger-no-unit",
                    text("ledger-no-unit", row=number),
                    file=file,
                    cell=f"{first_col}{number}",
                )
            )
            continue
        if header_key(label) in ("合计", "总计", "小计"):
            continue
        key = code or f"name:{_short(unit_name)}"
        if key in seen:
            ledger.findings.append(
                make(
                    "ledger-duplicate",
                    text("ledger-duplicate", row=number, unit=label, first=seen[key]),
                    file=file,
                    cell=f"{first_col}{number}",
                )
            )
            continue
        seen[key] = number
        amounts: dict[str, Decimal | None] = {}
        for k in AMOUNTS:
            raw = table.get(row, k)
            if k not in table.columns or cell_text(raw) == "":
                amounts[k] = None
                continue
            value = cell_amount(raw)
            if value is None:
                ledger.findings.append(
                    make(
                        "ledger-bad-number",
                        text(
                            "ledger-bad-number",
                            value=cell_text(raw),
                            row=number,
                            unit=label,
                            column=table.title_of(k),
                        ),
                        file=file,
                        cell=f"{letters[k]}{number}",
                        value=cell_text(raw),
                    )
                )
            amounts[k] = None if value is None else value / divisor
        ledger.rows.append(LedgerRow(number, code, unit_name, **amounts))
    return ledger


def _letter(index: int) -> str:
    from ..xlsx.cells import column_letter

    return column_letter(index + 1)


def compare(
    row: LedgerRow,
    reported: Mapping[str, Decimal | None],
    *,
    tolerance: Decimal = DEFAULT_TOLERANCE,
    file: str | None = None,
    cells: Mapping[str, tuple[str, str]] | None = None,
) -> list[Finding]:
    """Findings for each reported amount (万元, by key ``initial``/``adjusted``/``executed``) further than
    ``tolerance`` from the ledger's; at the reported cell (``cells``: key → (sheet, A1), default the
    layout's position of the budget table's 合计 row)."""
    out = []
    for key in AMOUNTS:
        mine, theirs = reported.get(key), getattr(row, key)
        if mine is None or theirs is None or abs(mine - theirs) <= tolerance:
            continue
        sheet, cell = (cells or {}).get(key) or cell_of(POINTERS[key]) or (None, None)
        f = field_at(POINTERS[key])
        out.append(
            make(
                "ledger-mismatch",
                text(
                    "ledger-mismatch",
                    column=f"“合计”行的“{f.label if f else key}”",
                    reported=f"{q2(mine):f}",
                    ledger=f"{q2(theirs):f}",
                    more="多" if mine > theirs else "少",
                    diff=f"{q2(abs(mine - theirs)):f}",
                    tolerance=f"{tolerance:f}",
                ),
                file=file,
                sheet=sheet,
                cell=cell,
                field=POINTERS[key],
                value=f"{q2(mine):f}",
            )
        )
    return out


@dataclass(frozen=True)
class Reported:
    """A unit's reported figures (万元), as the roll-up holds them."""

    code: str
    name: str
    file: str
    initial: Decimal | None
    adjusted: Decimal | None
    executed: Decimal | None


def check_ledger(
    ledger: Ledger, units: Iterable[Reported], *, tolerance: Decimal = DEFAULT_TOLERANCE
) -> tuple[dict[str, LedgerRow], list[Finding]]:
    """Match every reported unit to the ledger: (ledger row by unit code, findings): mismatches at the
    reported cells, units missing from the ledger, and ledger rows no unit matched (``ledger-not-submitted``).
    A ledger that could not be read (no rows) gives nothing."""
    if not ledger.rows:
        return {}, []
    matched: dict[str, LedgerRow] = {}
    used: set[int] = set()
    out: list[Finding] = []
    for u in units:
        row = ledger.find(u.code, u.name)
        if row is None:
            out.append(
                make(
                    "ledger-missing",
                    text("ledger-missing", name=u.name, code=u.code or "无代码"),
                    file=u.file,
                )
            )
            continue
        used.add(row.row)
        matched[u.code or u.name] = row
        reported = {"initial": u.initial, "adjusted": u.adjusted, "executed": u.executed}
        out += compare(row, reported, tolerance=tolerance, file=u.file)
    for row in ledger.rows:
        if row.row not in used:
            out.append(
                make(
                    "ledger-not-submitted",
                    text("ledger-not-submitted", row=row.row, unit=row.label),
                    file=ledger.file,
                )
            )
    return matched, out
