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

from . import layout as L
from . import panel, weights
from .document import Document
from .findings import Finding, Report, make, sort_key
from .limits import DEFAULT_LIMITS, Limits
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
        and f.sheet == L.PANEL_SHEET.name
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
    f = L.field_at(pointer)
    label = f.label if f else pointer
    parts = pointer.strip("/").split("/")
    if parts[0] == "indicators" and len(parts) >= 2 and parts[1].isdigit():
        seq = doc.get(f"/indicators/{parts[1]}/seq")
        return f"第{seq}项指标的“{label}”"
    if parts[0] == "members" and len(parts) >= 2 and parts[1].isdigit():
        return f"评价小组第{doc.get(f'/members/{parts[1]}/seq')}位成员的“{label}”"
    if parts[0] == "budget" and len(parts) >= 2:
        row = dict(L.BUDGET.rows).get(parts[1], parts[1])
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
            msg = f"{label}未填写，请补充。"
            if in_then and key == "completion":
                msg = f"{label}未填写：定性指标须选择完成等级（达成/部分达成/未达成）。"
            elif in_then and (f := L.field_at(ptr)) is not None and f.required_when:
                when = L.field_at(f"{pointer.rstrip('/')}/{f.required_when[0]}")
                msg = (
                    f"{label}未填写：{when.label if when else ''}为“{f.required_when[1]}”时必须填写，请补充。"
                )
            elif key in ("indicators", "members"):
                msg = "未填写任何指标。" if key == "indicators" else "未填写评价工作组成员。"
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
        names = "或".join(want.get(t, t) for t in (expected if isinstance(expected, list) else [expected]))
        return [make("type-error", f"{label}应填写{names}，现为“{value}”，请修改。", **where)]
    if kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        f = L.field_at(pointer)
        if f is not None and f.type == L.T.NUMTEXT:
            return [
                make(
                    "out-of-range",
                    f"{label}为{value}，超出合理范围（绝对值不超过1万亿），无法计算得分。"
                    "请核对是否多输了位数或填错了单位。",
                    **where,
                )
            ]
        lo = f.minimum if f and f.minimum is not None else None
        hi = f.maximum if f and f.maximum is not None else None
        span = (
            f"{lo}～{hi}" if lo is not None and hi is not None else f"≥{lo}" if lo is not None else f"≤{hi}"
        )
        return [make("out-of-range", f"{label}为{value}，超出允许范围（{span}），请核对。", **where)]
    if kw == "enum":
        choices = "、".join(str(c) for c in e.validator_value)
        return [make("invalid-choice", f"{label}为“{value}”，应从下拉列表选择：{choices}。", **where)]
    if kw in ("pattern", "format"):
        hint = {
            "division_code": "应为12位数字的统计用区划代码，如130133101000",
            "credit_code": "统一社会信用代码校验未通过：应为18位，由数字和大写字母组成（不含I、O、Z、S、V），"
            f"第3-8位为数字（登记机关的行政区划代码），现为{len(str(e.instance))}位。请对照单位的法人证书逐位核对",
            "phone": "应为电话号码，如13800000000或0311-12345678",
            "filled_on": "应为日期，如2024-01-15",
        }.get(pointer.rsplit("/", 1)[-1], "格式不正确")
        return [make("invalid-format", f"{label}为“{value}”，{hint}。", **where)]
    if kw == "maxLength":
        return [
            make("too-long", f"{label}超过{e.validator_value}字（现{len(e.instance)}字），请精简。", **where)
        ]
    if kw == "minLength":
        return [make("missing-value", f"{label}未填写，请补充。", **where)]
    if kw == "minItems":
        msg = "未填写任何绩效指标。" if pointer == "/indicators" else "未填写评价工作组成员。"
        return [make("missing-value", msg, **where)]
    if kw == "maxItems":
        return [make("too-many-rows", f"{label}超过{e.validator_value}行。", **where)]
    return [make("type-error", f"{label}不符合要求：{e.message[:100]}", **where)]


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
                f"{label}“{value}”照抄了年度指标值（连“{sign}”一起），不是实际完成的数值，无法计分。"
                f"请填写实际达到的数值（只填数字，如实际完成了{number:f}就填{number:f}），不带“≥”“≤”等符号，"
                "并按实际完成情况自评打分。",
                severity="error",
                **where,
            )
    hint = explain_indicator(value, nature, unit, key)
    if hint:
        return make("nature-mismatch", f"{label}应为数字（指标性质为定量“{nature}”）。{hint}", **where)
    return make(
        "nature-mismatch",
        f"{label}应为数字（指标性质为定量“≥/≤/=”），现为“{value}”。请只填数字并把单位写在“计量单位”列；"
        "如确实无法量化，请将指标性质改为“定性”。",
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
        value = L.CREDIT_CHARS.find(ch)
        if value < 0:
            return None
        total += value * weight
    return L.CREDIT_CHARS[(31 - total % 31) % 31]


def _code(doc: Document, broken: set[str]) -> list[Finding]:
    ptr = "/identity/division_code"
    code = doc.get(ptr)
    credit = doc.get("/identity/credit_code")
    if code is None and credit is None and not broken & {ptr, "/identity/credit_code"}:
        return [
            make(
                "missing-value",
                "“行政区划代码”和“统一社会信用代码”都未填写：乡镇（街道）请填写12位行政区划代码，"
                "县直部门等其他单位请填写18位统一社会信用代码。",
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
                f"行政区划代码{code}的前6位{code[:6]}不是有效的县级区划代码，请核对（可向县统计局查询）。",
                **where,
            ),
        ]
    if not 1 <= town <= 599 or code[9:] != "000":
        return [
            *out,
            make(
                "invalid-code",
                f"行政区划代码{code}的乡级部分（第7-12位{code[6:]}）无效：第7-9位应在001-599之间，后3位应为000。",
                **where,
            ),
        ]
    name = doc.get("/identity/unit_name") or ""
    for word, (lo, hi) in TOWNSHIP_RANGES.items():
        if word in name and not lo <= town <= hi:
            out.append(
                make(
                    "code-mismatch",
                    f"单位名称含“{word}”，但区划代码第7-9位{code[6:9]}不在{lo:03d}-{hi:03d}（{word}）范围内，请核对。",
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
                f"所属县“{county}”与区划代码前6位对应的“{official}”不一致，请核对。",
                **{**doc.where("/identity/county"), "value": county},
            )
        )
    return out


def _credit(doc: Document, broken: set[str], check_county: bool) -> list[Finding]:
    """The 统一社会信用代码, when filled: its check character, and the division code in it (3rd-8th
    characters), which must be a known one and, for a unit without a township code, its county."""
    ptr = "/identity/credit_code"
    code = doc.get(ptr)
    if ptr in broken or not isinstance(code, str) or not re.match(L.CREDIT_PATTERN, code):
        return []
    where = {**doc.where(ptr), "value": code}
    expected = credit_check_char(code)
    if expected != code[17]:
        return [
            make(
                "invalid-code",
                f"统一社会信用代码{code}校验未通过：按前17位计算，第18位（校验码）应为{expected}，现为{code[17]}。"
                "通常是某一位抄错了，请对照单位的法人证书逐位核对。",
                **where,
            )
        ]
    area = code[2:8]
    if area not in divisions():
        return [
            make(
                "invalid-code",
                f"统一社会信用代码{code}的第3-8位{area}不是有效的行政区划代码，请对照单位的法人证书核对。",
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
                f"所属县“{county}”与统一社会信用代码第3-8位对应的“{official}”不一致，请核对。",
                **{**doc.where("/identity/county"), "value": county},
            )
        ]
    return []


def _sums(doc: Document, broken: set[str]) -> list[Finding]:
    """Each group of budget rows adds up to the total row (blank rows count as 0; an all-blank group is
    not used). Funding sources are flagged at the total; the 基本支出/项目支出 split at its own cells."""
    out = []
    b = L.BUDGET
    for n, (what, parts) in enumerate(b.groups):
        for col in b.columns:
            ptrs = [f"/budget/{k}/{col.key}" for k in parts]
            total_ptr = f"/budget/{b.total_row}/{col.key}"
            if broken & {*ptrs, total_ptr}:
                continue
            values = [doc.get(p) for p in ptrs]
            if all(v is None for v in values):
                continue
            total = doc.get(total_ptr)
            if not all(isinstance(v, Decimal) for v in values if v is not None) or not isinstance(
                total, Decimal
            ):
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
                    f"“{col.label}”合计为{total:.2f}万元，但{what}之和为{s:.2f}万元，请核对后修改。",
                    **{**where, "value": total},
                )
            )
    return out


def _blank_total(doc: Document, broken: set[str]) -> list[Finding]:
    """A blank amount in the 合计 row is an error at its cell (else the budget silently scores 0, or the
    cut check switches off). The tool does not fill it in from the funding-source rows, even when they
    are filled: the message gives their sum for the clerk to type (a figure the township signs)."""
    out = []
    total_row = L.BUDGET.total_row
    parts = [k for k, _ in L.BUDGET.rows if k != total_row]
    for col in L.BUDGET.columns:
        ptr = f"/budget/{total_row}/{col.key}"
        if ptr in broken or doc.get(ptr) is not None:
            continue
        values = [doc.get(f"/budget/{k}/{col.key}") for k in parts]
        filled = [v for v in values if isinstance(v, Decimal)]
        hint = "请填写金额（万元）；确实没有的请填0。"
        if filled:
            hint = f"各资金来源行已填写，合计为{sum(filled, Decimal(0)):.2f}万元，请在合计行填写该数。"
        out.append(make("missing-value", f"“合计”行的“{col.label}”未填写。{hint}", **doc.where(ptr)))
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
                    f"指标序号{r.get('seq')}重复，请修改为不重复的序号（评价小组打分按序号对应指标）。",
                    **{**doc.where(f"/indicators/{i}/seq"), "value": r.get("seq")},
                )
            )
        l1, l2 = r.get("level1"), r.get("level2")
        ptr = f"/indicators/{i}/level2"
        if l1 in L.LEVELS and l2 and ptr not in broken and l2 not in L.LEVELS[l1]:
            out.append(
                make(
                    "category-mismatch",
                    f"第{r.get('seq')}项指标的二级指标“{l2}”不属于一级指标“{l1}”，应为：{'、'.join(L.LEVELS[l1])}。",
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
                    f"指标分值合计为{total.normalize():f}分，应为{expected.normalize():f}分。"
                    f"评分规则：{rules.weights_text()}。请调整各指标分值。",
                    file=doc.file,
                    sheet=first.sheet if first else L.INDICATOR_SHEET.name,
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
                    f"{head}，指标性质为“≥”（越大越好）：任何实际完成值都不小于0，得分没有意义。"
                    "请填写大于0的目标值。",
                    **where,
                )
            )
        elif target == 0:
            what = "超过0" if nature == "≤" else "不等于0"
            out.append(
                make(
                    "invalid-target",
                    f"{head}：实际完成值{what}即得0分，无法按比例扣分（如“不发生安全事故”类指标可保留）。",
                    severity="info",
                    **where,
                )
            )
        elif abs(target) < L.MIN_TARGET:
            out.append(
                make(
                    "out-of-range",
                    f"{head}，绝对值小于{L.MIN_TARGET:f}，无法作为计算得分的基数。"
                    "请核对（百分数请填写如96，计量单位填“%”）。",
                    **where,
                )
            )
        elif target < 0 and nature == "≥":
            out.append(
                make(
                    "invalid-target",
                    f"{head}，是负数，而指标性质为“≥”（越大越好）：完成比例无法计算，得分没有意义。"
                    "请填写大于0的目标值；如指标是“下降不超过”“减少不少于”之类，请改写为正数并选择相应的“≥”或“≤”。",
                    **where,
                )
            )
        elif target < 0 and nature == "≤":
            out.append(
                make(
                    "invalid-target",
                    f"{head}，是负数，而指标性质为“≤”（越小越好）：超出比例无法计算，得分没有意义。"
                    "请填写不小于0的目标值；如指标是“下降不少于”之类，请改写为正数并选择“≥”。",
                    **where,
                )
            )
    return out


def _divisor(doc: Document, broken: set[str]) -> list[Finding]:
    """The total row's adjusted budget divides the executed amount: a positive amount below 0.01 万元
    would give an execution rate of billions of per cent."""
    ptr = f"/budget/{L.BUDGET.total_row}/adjusted"
    value = doc.get(ptr)
    if ptr in broken or not isinstance(value, Decimal) or not 0 < value < L.MIN_ADJUSTED:
        return []
    return [
        make(
            "out-of-range",
            f"“合计”行的全年预算数（调整后）为{short(value)}万元，不足{L.MIN_ADJUSTED}万元，无法计算执行率。"
            "请核对金额（单位为万元）。",
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
        return [make("out-of-range", f"填报日期{value}不合理，请填写实际填报日期。", **where)]
    if isinstance(year, int) and not year <= day.year <= year + 2:
        return [
            make(
                "out-of-range",
                f"填报日期{value}与评价年度{year}不符（应在{year}年至{year + 2}年之间），请核对。",
                severity="warning",
                **where,
            )
        ]
    return []
