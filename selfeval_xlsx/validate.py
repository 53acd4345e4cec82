"""Validation: the JSON Schema plus the cross-field rules a schema cannot express.

Every schema error is mapped back to the cell its value came from and turned into a Chinese message
for the township clerk.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import ValidationError

from . import layout, panel, weights
from .document import Document
from .findings import Finding, Report, make, sort_key
from .limits import DEFAULT_LIMITS, Limits
from .messages import text
from .reader import read_workbook, short
from .schema import fast_check, validator
from .values import convert_unit, explain_indicator, read_bounded

#: Weights of the first 17 characters of a 统一社会信用代码 (GB 32100-2015).
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
TOLERANCE = Decimal("0.01")  # 万元: amounts are kept to 2 decimals
TOWNSHIP_RANGES = {"街道": (1, 99), "镇": (100, 199), "乡": (200, 399)}


@cache
def divisions() -> dict[str, str]:
    """GB/T 2260 codes of provinces, cities and counties → names (shipped data file)."""
    text = resources.files("selfeval_xlsx").joinpath("data", "divisions.tsv").read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _, name = line.partition("\t")
            out[code] = name
    return out


@cache
def county_codes() -> dict[str, str]:
    """County-level codes (the last two of six digits are not 00) → names."""
    return {k: v for k, v in divisions().items() if k[4:] != "00"}


def validate_workbook(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    rules: Any = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[Document, Report]:
    """Read and validate one workbook. Never raises for problems in the file."""
    doc = read_workbook(source, name=name, limits=limits)
    return doc, validate_document(doc, rules)


def validate_document(doc: Document, rules: Any = None) -> Report:
    """Findings of the reader, the schema and the cross-field rules, in a stable order."""
    rules = rules if rules is not None else _default_rules()
    report = Report(file=doc.file)
    panel_optional = rules.panel_mode in (panel.AUTO, panel.NONE)
    report.extend(
        panel.missing_sheet_warning(f)
        if panel_optional
        and f.code == "missing-sheet"
        and f.sheet == layout.PANEL_SHEET.name
        and f.severity == "error"
        else f
        for f in doc.findings
    )
    flagged = doc.flagged
    if not doc.data:  # the reader stopped at a whole-file problem
        return report
    derived, covered = weights.derive(doc, rules, flagged)
    report.extend(derived)
    flagged |= covered
    # nearly every document is valid: the compiled check says so quickly, the full validator says why not
    errors = () if fast_check()(doc.data) else validator().iter_errors(doc.data)
    schema_findings = [f for e in errors for f in _from_schema(doc, e)]
    seen: set[tuple[str | None, str]] = set()
    for f in schema_findings:
        key = (f.field, f.code)
        if f.field in flagged or key in seen:
            continue
        seen.add(key)
        report.findings.append(f)
    broken = {f.field for f in report.findings if f.severity == "error" and f.field}
    report.extend(cross_field(doc, rules, broken))
    # a missing sheet is one clear finding, not one more for every empty field it would have held
    missing = {f.sheet for f in report.findings if f.code == "missing-sheet"}
    if missing:
        report.findings = [f for f in report.findings if f.code == "missing-sheet" or f.sheet not in missing]
    report.findings.sort(key=sort_key)
    return report


def _default_rules() -> Any:
    from .rules import load_rules

    return load_rules()


# --- schema errors → findings ----------------------------------------------------------------------


def _label(doc: Document, pointer: str) -> str:
    f = layout.field_at(pointer)
    label = f.label if f else pointer
    parts = pointer.strip("/").split("/")
    if parts[0] == "indicators" and len(parts) >= 2 and parts[1].isdigit():
        seq = doc.get(f"/indicators/{parts[1]}/seq")
        return f"第{seq}项指标的“{label}”"
    if parts[0] == "members" and len(parts) >= 2 and parts[1].isdigit():
        return f"评价小组第{doc.get(f'/members/{parts[1]}/seq')}位成员的“{label}”"
    if parts[0] == "budget" and len(parts) >= 2:
        row = dict(layout.BUDGET.rows).get(parts[1], parts[1])
        return f"“{row}”行的“{label}”"
    if parts[0] == "panel_scores":
        return "评价小组打分"
    return f"“{label}”"


def _from_schema(doc: Document, e: ValidationError) -> list[Finding]:
    pointer = "/" + "/".join(str(p) for p in e.absolute_path)
    kw = e.validator
    in_then = "then" in e.schema_path
    if kw == "required":
        missing = [k for k in e.validator_value if isinstance(e.instance, dict) and k not in e.instance]
        out = []
        for key in missing:
            ptr = f"{pointer.rstrip('/')}/{key}"
            label = _label(doc, ptr)
            msg = text("missing-value", label=label)
            if in_then and key == "completion":
                msg = text("missing-value", "completion", label=label)
            elif in_then and (f := layout.field_at(ptr)) is not None and f.required_when:
                when = layout.field_at(f"{pointer.rstrip('/')}/{f.required_when[0]}")
                msg = text(
                    "missing-value",
                    "required-when",
                    label=label,
                    when=when.label if when else "",
                    answer=f.required_when[1],
                )
            elif key in ("indicators", "members"):
                msg = text("missing-value", "no-indicators" if key == "indicators" else "no-members")
            out.append(make("missing-value", msg, **doc.where(ptr)))
        return out
    label = _label(doc, pointer)
    value = short(e.instance)
    where = {**doc.where(pointer), "value": value}
    if kw == "type":
        if in_then:
            return [_not_a_number(doc, pointer, label, value, where)]
        expected = e.validator_value
        want = {"number": "数字", "integer": "整数", "string": "文字"}
        names = "或".join(
            want.get(t, str(t)) for t in (expected if isinstance(expected, list) else [expected])
        )
        return [make("type-error", text("type-error", label=label, expected=names, value=value), **where)]
    if kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        f = layout.field_at(pointer)
        if f is not None and f.type == layout.FieldType.NUMTEXT:
            return [
                make(
                    "out-of-range",
                    text("out-of-range", "numtext", label=label, value=value),
                    **where,
                )
            ]
        lo = f.minimum if f and f.minimum is not None else None
        hi = f.maximum if f and f.maximum is not None else None
        span = (
            f"{lo}～{hi}" if lo is not None and hi is not None else f"≥{lo}" if lo is not None else f"≤{hi}"
        )
        return [make("out-of-range", text("out-of-range", label=label, value=value, span=span), **where)]
    if kw == "enum":
        choices = "、".join(str(c) for c in e.validator_value)
        return [
            make("invalid-choice", text("invalid-choice", label=label, value=value, choices=choices), **where)
        ]
    if kw in ("pattern", "format"):
        key = pointer.rsplit("/", 1)[-1]
        if key == "credit_code":
            msg = text("invalid-format", key, label=label, value=value, length=len(str(e.instance)))
        elif key in ("division_code", "phone", "filled_on"):
            msg = text("invalid-format", key, label=label, value=value)
        else:
            msg = text("invalid-format", label=label, value=value)
        return [make("invalid-format", msg, **where)]
    if kw == "maxLength":
        return [
            make(
                "too-long",
                text("too-long", label=label, limit=e.validator_value, length=len(e.instance)),
                **where,
            )
        ]
    if kw == "minLength":
        return [make("missing-value", text("missing-value", label=label), **where)]
    if kw == "minItems":
        msg = text("missing-value", "no-indicator-rows" if pointer == "/indicators" else "no-members")
        return [make("missing-value", msg, **where)]
    if kw == "maxItems":
        return [make("too-many-rows", text("too-many-rows", label=label, limit=e.validator_value), **where)]
    return [make("type-error", text("type-error", "schema", label=label, detail=e.message[:100]), **where)]


def _not_a_number(doc: Document, pointer: str, label: str, value: Any, where: dict[str, Any]) -> Finding:
    """A quantitative indicator's value that is not a number: what to type instead, as precisely as the
    text allows; a target copied into 实际完成值, sign and all, says so."""
    row = doc.get(pointer.rsplit("/", 1)[0]) or {}
    key = pointer.rsplit("/", 1)[-1]
    nature, unit, target = row.get("nature"), row.get("unit"), row.get("target")
    found = read_bounded(value) if isinstance(value, str) else None
    if key == "actual" and found and found[0] == nature and isinstance(target, Decimal):
        sign, number, typed = found
        converted = convert_unit(number, typed, unit if isinstance(unit, str) else "")
        if converted is not None and converted[0] == target:
            return make(
                "actual-copied-target",
                text("actual-copied-target", label=label, value=value, sign=sign, number=number),
                severity="error",
                **where,
            )
    hint = explain_indicator(value, nature, unit, key)
    if hint:
        return make(
            "nature-mismatch", text("nature-mismatch", "hint", label=label, nature=nature, hint=hint), **where
        )
    return make(
        "nature-mismatch",
        text("nature-mismatch", label=label, value=value),
        **where,
    )


# --- cross-field rules -----------------------------------------------------------------------------


def cross_field(doc: Document, rules: Any, broken: set[str]) -> list[Finding]:
    """Rules across fields: code, sums, weights total, categories, panel matrix, dates."""
    out: list[Finding] = []
    out += _code(doc, broken)
    out += _sums(doc, broken)
    out += _blank_total(doc, broken)
    out += _indicators(doc, rules, broken)
    out += _targets(doc, broken)
    out += _divisor(doc, broken)
    out += weights.check_categories(doc, rules, broken)
    out += panel.check(doc, rules.panel_mode, broken)
    out += _dates(doc, broken)
    return out


def credit_check_char(code: str) -> str | None:
    """The check character (18th) of a 统一社会信用代码 from its first 17 (GB 32100-2015), or None
    when one of them is not a code character."""
    total = 0
    for ch, weight in zip(code[:17], CREDIT_WEIGHTS, strict=True):
        value = layout.CREDIT_CHARS.find(ch)
        if value < 0:
            return None
        total += value * weight
    return layout.CREDIT_CHARS[(31 - total % 31) % 31]


def _code(doc: Document, broken: set[str]) -> list[Finding]:
    ptr = "/identity/division_code"
    code = doc.get(ptr)
    credit = doc.get("/identity/credit_code")
    if code is None and credit is None and not broken & {ptr, "/identity/credit_code"}:
        return [
            make(
                "missing-value",
                text("missing-value", "no-code"),
                **doc.where(ptr),
            )
        ]
    out = _credit(doc, broken, check_county=code is None)
    if ptr in broken or not isinstance(code, str) or len(code) != 12 or not code.isdigit():
        return out
    where = {**doc.where(ptr), "value": code}
    counties = county_codes()
    town = int(code[6:9])
    if code[:6] not in counties:
        return [
            *out,
            make(
                "invalid-code",
                text("invalid-code", "county", code=code, county=code[:6]),
                **where,
            ),
        ]
    if not 1 <= town <= 599 or code[9:] != "000":
        return [
            *out,
            make(
                "invalid-code",
                text("invalid-code", "township", code=code, township=code[6:]),
                **where,
            ),
        ]
    name = doc.get("/identity/unit_name") or ""
    for word, (lo, hi) in TOWNSHIP_RANGES.items():
        if word in name and not lo <= town <= hi:
            out.append(
                make(
                    "code-mismatch",
                    text("code-mismatch", "township-kind", word=word, town=code[6:9], lo=lo, hi=hi),
                    **where,
                )
            )
            break
    county = doc.get("/identity/county")
    official = counties[code[:6]]
    if isinstance(county, str) and county and official not in county and county not in official:
        out.append(
            make(
                "code-mismatch",
                text("code-mismatch", "county", county=county, official=official),
                **{**doc.where("/identity/county"), "value": county},
            )
        )
    return out


def _credit(doc: Document, broken: set[str], check_county: bool) -> list[Finding]:
    """The 统一社会信用代码, when filled: its check character, and the division code in it (3rd-8th
    characters), which must be a known one and, for a unit without a township code, its county."""
    ptr = "/identity/credit_code"
    code = doc.get(ptr)
    if ptr in broken or not isinstance(code, str) or not re.match(layout.CREDIT_PATTERN, code):
        return []
    where = {**doc.where(ptr), "value": code}
    expected = credit_check_char(code)
    if expected != code[17]:
        return [
            make(
                "invalid-code",
                text("invalid-code", "credit-check", code=code, expected=expected, actual=code[17]),
                **where,
            )
        ]
    area = code[2:8]
    if area not in divisions():
        return [
            make(
                "invalid-code",
                text("invalid-code", "credit-area", code=code, area=area),
                **where,
            )
        ]
    county = doc.get("/identity/county")
    official = divisions()[area]
    if (
        check_county
        and isinstance(county, str)
        and county
        and official not in county
        and county not in official
    ):
        return [
            make(
                "code-mismatch",
                text("code-mismatch", "credit-county", county=county, official=official),
                **{**doc.where("/identity/county"), "value": county},
            )
        ]
    return []


@cache
def _sum_checks() -> tuple[tuple[int, str, layout.Field, tuple[str, ...], str], ...]:
    """Every budget sum from the layout, once per process: (group number, what the group is, column, the
    group's pointers in that column, the total row's pointer)."""
    b = layout.BUDGET
    return tuple(
        (n, what, col, tuple(f"/budget/{k}/{col.key}" for k in parts), f"/budget/{b.total_row}/{col.key}")
        for n, (what, parts) in enumerate(b.groups)
        for col in b.columns
    )


def _sums(doc: Document, broken: set[str]) -> list[Finding]:
    """Each group of budget rows adds up to the total row (blank rows count as 0; an all-blank group is
    not used). Funding sources are flagged at the total; the 基本支出/项目支出 split at its own cells."""
    out = []
    for n, what, col, ptrs, total_ptr in _sum_checks():
        if total_ptr in broken or not broken.isdisjoint(ptrs):
            continue
        values = [doc.get(p) for p in ptrs]
        if all(v is None for v in values):
            continue
        total = doc.get(total_ptr)
        if not all(isinstance(v, Decimal) for v in values if v is not None) or not isinstance(total, Decimal):
            continue
        s = sum((v for v in values if v is not None), Decimal(0))
        if abs(s - total) <= TOLERANCE:
            continue
        where = doc.where(total_ptr)
        if n:  # a later group: the total agrees with the funding sources, so these rows are off
            first, last = doc.where(ptrs[0]), doc.where(ptrs[-1])
            where = {**first, "cell": f"{first['cell']}:{last['cell']}"} if first["cell"] else first
        out.append(
            make(
                "sum-mismatch",
                text("sum-mismatch", column=col.label, total=total, parts=what, sum=s),
                **{**where, "value": total},
            )
        )
    return out


def _blank_total(doc: Document, broken: set[str]) -> list[Finding]:
    """A blank amount in the 合计 row is an error at its cell (else the budget silently scores 0, or the
    cut check switches off). The tool does not fill it in from the funding-source rows, even when they
    are filled: the message gives their sum for the clerk to type (a figure the township signs)."""
    out = []
    total_row = layout.BUDGET.total_row
    parts = [k for k, _ in layout.BUDGET.rows if k != total_row]
    for col in layout.BUDGET.columns:
        ptr = f"/budget/{total_row}/{col.key}"
        if ptr in broken or doc.get(ptr) is not None:
            continue
        values = [doc.get(f"/budget/{k}/{col.key}") for k in parts]
        filled = [v for v in values if isinstance(v, Decimal)]
        msg = text("missing-value", "blank-total", column=col.label)
        if filled:
            msg = text("missing-value", "blank-total-parts", column=col.label, total=sum(filled, Decimal(0)))
        out.append(make("missing-value", msg, **doc.where(ptr)))
    return out


def _indicators(doc: Document, rules: Any, broken: set[str]) -> list[Finding]:
    out: list[Finding] = []
    rows = doc.get("/indicators") or []
    seqs = Counter(r.get("seq") for r in rows)
    for i, r in enumerate(rows):
        if seqs[r.get("seq")] > 1:
            out.append(
                make(
                    "duplicate-seq",
                    text("duplicate-seq", seq=r.get("seq")),
                    **{**doc.where(f"/indicators/{i}/seq"), "value": r.get("seq")},
                )
            )
        l1, l2 = r.get("level1"), r.get("level2")
        ptr = f"/indicators/{i}/level2"
        if l1 in layout.LEVELS and l2 and ptr not in broken and l2 not in layout.LEVELS[l1]:
            out.append(
                make(
                    "category-mismatch",
                    text(
                        "category-mismatch",
                        seq=r.get("seq"),
                        level2=l2,
                        level1=l1,
                        allowed="、".join(layout.LEVELS[l1]),
                    ),
                    **{**doc.where(ptr), "value": l2},
                )
            )
    weights = [r.get("weight") for r in rows]
    if (
        rows
        and all(isinstance(w, Decimal) for w in weights)
        and not any(f"/indicators/{i}/weight" in broken for i in range(len(rows)))
    ):
        expected = rules.indicator_total
        total = sum(weights, Decimal(0))
        if total != expected:
            first = doc.cell("/indicators/0/weight")
            last = doc.cell(f"/indicators/{len(rows) - 1}/weight")
            cell = (
                f"{first.cell}:{last.cell}"
                if first and last and first.cell != last.cell
                else first and first.cell
            )
            out.append(
                make(
                    "weights-total",
                    text(
                        "weights-total",
                        total=total.normalize(),
                        expected=expected.normalize(),
                        rules=rules.weights_text(),
                    ),
                    file=doc.file,
                    sheet=first.sheet if first else layout.INDICATOR_SHEET.name,
                    cell=cell,
                    field="/indicators",
                    value=str(total),
                )
            )
    return out


def _targets(doc: Document, broken: set[str]) -> list[Finding]:
    """Targets that make a quantitative comparison meaningless (≥ 0, ≥ or ≤ a negative number) are
    errors; a target too small to divide by is out of range; ≤ 0 and = 0 (met or not, e.g. 安全事故 ≤ 0)
    are scored all-or-nothing, which an info finding says."""
    out: list[Finding] = []
    for i, r in enumerate(doc.get("/indicators") or []):
        nature, target = r.get("nature"), r.get("target")
        ptr = f"/indicators/{i}/target"
        if nature not in ("≥", "≤", "=") or ptr in broken or not isinstance(target, Decimal):
            continue
        where = {**doc.where(ptr), "value": short(target)}
        shown, seq = f"{target.normalize():f}" if target.adjusted() < 28 else str(target), r.get("seq")
        head = f"第{seq}项指标的年度指标值为{shown}"
        if target == 0 and nature == "≥":
            out.append(
                make(
                    "invalid-target",
                    text("invalid-target", "zero-at-least", head=head),
                    **where,
                )
            )
        elif target == 0:
            what = "超过0" if nature == "≤" else "不等于0"
            out.append(
                make(
                    "invalid-target",
                    text("invalid-target", "zero", head=head, what=what),
                    severity="info",
                    **where,
                )
            )
        elif abs(target) < layout.MIN_TARGET:
            out.append(
                make(
                    "out-of-range",
                    text("out-of-range", "tiny-target", head=head, minimum=layout.MIN_TARGET),
                    **where,
                )
            )
        elif target < 0 and nature == "≥":
            out.append(
                make(
                    "invalid-target",
                    text("invalid-target", "negative-at-least", head=head),
                    **where,
                )
            )
        elif target < 0 and nature == "≤":
            out.append(
                make(
                    "invalid-target",
                    text("invalid-target", "negative-at-most", head=head),
                    **where,
                )
            )
    return out


def _divisor(doc: Document, broken: set[str]) -> list[Finding]:
    """The total row's adjusted budget divides the executed amount: a positive amount below 0.01 万元
    would give an execution rate of billions of per cent."""
    ptr = f"/budget/{layout.BUDGET.total_row}/adjusted"
    value = doc.get(ptr)
    if ptr in broken or not isinstance(value, Decimal) or not 0 < value < layout.MIN_ADJUSTED:
        return []
    return [
        make(
            "out-of-range",
            text("out-of-range", "tiny-adjusted", value=short(value), minimum=layout.MIN_ADJUSTED),
            **{**doc.where(ptr), "value": short(value)},
        )
    ]


def _dates(doc: Document, broken: set[str]) -> list[Finding]:
    ptr = "/identity/filled_on"
    value, year = doc.get(ptr), doc.get("/identity/year")
    if ptr in broken or not isinstance(value, str):
        return []
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return []
    where = {**doc.where(ptr), "value": value}
    if not 2000 <= day.year <= 2100:
        return [make("out-of-range", text("out-of-range", "filled-on", value=value), **where)]
    if isinstance(year, int) and not year <= day.year <= year + 2:
        return [
            make(
                "out-of-range",
                text("out-of-range", "filled-on-year", value=value, year=year, last=year + 2),
                severity="warning",
                **where,
            )
        ]
    return []
