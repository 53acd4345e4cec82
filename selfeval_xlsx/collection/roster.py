"""The roster: the units expected to report this round, read from a clerk's .xlsx or .csv.

Columns are found by their Chinese headers (行政区划代码 / 单位代码 / 统一社会信用代码, 单位名称, 联系人,
电话 / 联系电话, 邮箱 / 电子邮箱). Every problem is a finding naming the roster's row; a bad row is left
out, a bad file gives an empty roster: a roster never stops a merge.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..findings import Finding, make
from ..layout import CREDIT_PATTERN
from ..limits import DEFAULT_LIMITS, Limits
from ..messages import text
from ..xlsx.cells import cell_sort_key, column_letter
from .tablefile import TableError, cell_text, read_table

HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("行政区划代码", "单位代码", "统一社会信用代码", "区划代码", "代码", "单位编码", "信用代码"),
    "name": ("单位名称", "单位", "名称", "乡镇名称", "乡镇（街道）", "乡镇街道", "单位全称"),
    "contact": ("联系人", "经办人", "负责人", "填报人"),
    "phone": ("电话", "联系电话", "手机", "手机号", "手机号码", "联系方式", "办公电话"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "Email", "E-mail", "邮件地址", "邮箱地址"),
}
REQUIRED = (("name",),)
EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")


@dataclass(frozen=True)
class RosterUnit:
    """One expected unit, from row ``row`` of the roster."""

    row: int
    code: str  # 12-digit division code or 18-character credit code ('' when the roster has none)
    name: str
    contact: str = ""
    phone: str = ""
    email: str = ""

    @property
    def county_code(self) -> str:
        """The county part of the code: the first six digits of a division code, characters 3–8 of a
        credit code ('' when there is no code)."""
        return county_of(self.code)


@dataclass
class Roster:
    """The units of a roster (in roster order) and the findings about it."""

    file: str
    units: list[RosterUnit] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """True when at least one unit could be read."""
        return bool(self.units)

    def find(self, code: str, name: str) -> RosterUnit | None:
        """The roster unit of a submission: by code, else by exact name (for rows without a code)."""
        for unit in self.units:
            if code and unit.code == code:
                return unit
        for unit in self.units:
            if not unit.code and name and unit.name == name:
                return unit
        return None


def county_of(code: str) -> str:
    """The county code inside a unit code ('' when it has none)."""
    if len(code) == 12 and code.isdigit():
        return code[:6]
    if len(code) == 18 and re.match(CREDIT_PATTERN, code):
        return code[2:8]
    return ""


def _code(text: str) -> str:
    return text.replace(" ", "").replace("-", "").upper()


def read_roster(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    county_code: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Roster:
    """Read and check a roster; never raises for problems in the file.

    ``county_code``: the county the round is for (six digits); when not given, the county of most of the
    roster's codes. Rows naming another county are kept with a warning."""
    from ..validate import county_codes

    file = name or (Path(source).name if not isinstance(source, bytes) else "名单")
    roster = Roster(file)
    try:
        table = read_table(source, HEADERS, REQUIRED, name=file, limits=limits)
    except TableError as exc:
        roster.findings.append(
            make(
                "roster-unreadable",
                text("roster-unreadable", file=file, reason=_sentence(str(exc))),
                file=file,
            )
        )
        return roster
    col = {k: _letter(i) for k, i in table.columns.items()}
    seen: dict[str, int] = {}
    rows: list[RosterUnit] = []
    for number, row in table.rows:
        code = _code(cell_text(table.get(row, "code")))
        unit_name = cell_text(table.get(row, "name"))
        where = {"file": file, "cell": f"{col.get('code', col['name'])}{number}", "value": code or unit_name}
        if not unit_name:
            roster.findings.append(
                make("roster-no-name", text("roster-no-name", row=number, code=code or "无"), **where)
            )
            continue
        if code and not county_of(code):
            roster.findings.append(
                make(
                    "roster-bad-code", text("roster-bad-code", row=number, name=unit_name, code=code), **where
                )
            )
            code = ""
        elif not code:
            roster.findings.append(
                make("roster-no-code", text("roster-no-code", row=number, name=unit_name), **where)
            )
        elif county_of(code) not in county_codes():
            roster.findings.append(
                make(
                    "roster-unknown-county",
                    text(
                        "roster-unknown-county", row=number, name=unit_name, code=code, county=county_of(code)
                    ),
                    **where,
                )
            )
        key = code or f"name:{unit_name}"
        if key in seen:
            roster.findings.append(
                make(
                    "roster-duplicate",
                    text("roster-duplicate", row=number, code=code or unit_name, first=seen[key]),
                    **where,
                )
            )
            continue
        seen[key] = number
        email = cell_text(table.get(row, "email")).replace(" ", "")
        if email and not EMAIL.match(email):
            at = {**where, "cell": f"{col['email']}{number}", "value": email}
            roster.findings.append(
                make(
                    "roster-bad-email",
                    text("roster-bad-email", row=number, name=unit_name, email=email),
                    **at,
                )
            )
            email = ""
        rows.append(
            RosterUnit(
                number,
                code,
                unit_name,
                cell_text(table.get(row, "contact")),
                cell_text(table.get(row, "phone")),
                email,
            )
        )
    counties = county_codes()
    main = county_code or next(
        iter(c for c, _ in Counter(u.county_code for u in rows if u.county_code in counties).most_common(1)),
        "",
    )
    if main:
        for u in rows:
            if u.county_code in counties and u.county_code != main:
                roster.findings.append(
                    make(
                        "roster-other-county",
                        text(
                            "roster-other-county",
                            row=u.row,
                            name=u.name,
                            code=u.code,
                            other=counties[u.county_code],
                            county=u.county_code,
                            main=counties.get(main, main),
                        ),
                        file=file,
                        cell=f"{col.get('code', col['name'])}{u.row}",
                        value=u.code,
                    )
                )
    roster.units = rows
    roster.findings.sort(key=lambda f: cell_sort_key(f.cell))
    if not rows:
        roster.findings.append(make("roster-empty", text("roster-empty", file=file), file=file))
    return roster


def _letter(index: int) -> str:
    return column_letter(index + 1)


def _sentence(text: str) -> str:
    return text if text.endswith(("。", "！", "？")) else text + "。"
