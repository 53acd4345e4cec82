"""Checks on a roll-up workbook that arrives in an inbox (a county's roll-up merged by the city).

A roll-up's township rows must meet the same bounds and cross-checks as a township's own workbook:
amounts not negative, rates, budget scores and grades as the rules profile computes them from the
amounts and the scores, scores within their weights, totals the sum of their parts, each unit once, the
county totals the sum of the rows, and the visible 汇总 sheet the same as the data behind it. Then its
signature (:mod:`selfeval_xlsx.signing`). Every problem is a :class:`~selfeval_xlsx.findings.Finding` at
the 汇总 (or 指标明细) cell a clerk can find; a roll-up with any error is rejected as a whole.
"""

from __future__ import annotations

import io
import warnings
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import messages
from .decimals import ZERO, q2, to_decimal
from .findings import Finding, Report, make
from .jsoncodec import plain
from .layout import FUNDING
from .limits import DEFAULT_LIMITS, Limits
from .model import Budget, Submission
from .rollup import Rollup, TownshipRow
from .rules import Rules, list_rules, load_rules
from .scoring import score_budget
from .signing import NO_KEYS, KeyRing, verify_rollup_data
from .xlsx.cells import column_letter

#: The largest amount a township's budget table accepts (万元), as in the template's layout.
MAX_AMOUNT = Decimal("100000000")
HEADERS = {
    "code": "行政区划代码",
    "name": "单位名称",
    "initial": "年初预算数",
    "adjusted": "全年预算数",
    "executed": "全年执行数",
    "rate": "执行率(%)",
    "budget_score": "预算执行得分",
    "output_score": "产出指标得分",
    "benefit_score": "效益指标得分",
    "satisfaction_score": "满意度指标得分",
    "total": "核定总分",
    "grade": "核定等级",
    "self_total": "自评总分",
    "self_grade": "自评等级",
    "errors": "错误数",
}
SUBTOTALS = {"产出指标": "output_score", "效益指标": "benefit_score", "满意度指标": "satisfaction_score"}
_FIRST = 3  # first data row of the visible sheets (title, header, then the rows)


def check_rollup_workbook(
    data: bytes, file: str, rules: Rules, keys: KeyRing = NO_KEYS
) -> tuple[Rollup | None, list[Finding]]:
    """Read a roll-up workbook and check it; (the roll-up or ``None`` when unreadable, findings).

    Call it for bytes that :func:`~selfeval_xlsx.rollup_read.is_rollup_workbook` recognises. A roll-up
    with any error finding must not be absorbed."""
    from .rollup_read import read_rollup

    got = read_rollup(data)
    if got is None:
        return None, [
            make(
                "rollup-corrupt",
                messages.text("rollup-corrupt"),
                file=file,
            )
        ]
    roll, raw = got
    profile, found = _profile(roll, rules, file)
    if profile is not None:
        found += check_rollup(roll, raw, profile, file)
        found += check_visible(data, roll, file)
    found += verify_rollup_data(raw, keys, file=file)
    return roll, found


def _profile(roll: Rollup, rules: Rules, file: str) -> tuple[Rules | None, list[Finding]]:
    if roll.rules == rules.name:
        return rules, []
    if roll.rules in list_rules():
        return load_rules(roll.rules), []
    from .rollup_write import RUN

    return None, [
        make(
            "rollup-invalid",
            messages.text("rollup-invalid", "rules", rules=roll.rules),
            file=file,
            sheet=RUN,
        )
    ]


class _Where:
    """Cells of the visible sheets for a row of the data."""

    def __init__(self, file: str) -> None:
        from .rollup_write import INDICATORS, SUMMARY, indicator_columns, summary_columns

        self.file, self.summary, self.indicators = file, SUMMARY, INDICATORS
        self.cols = {c.header: column_letter(i) for i, c in enumerate(summary_columns(), start=1)}
        self.icols = {c.header: column_letter(i) for i, c in enumerate(indicator_columns(), start=1)}

    def row(self, i: int, field: str) -> dict[str, Any]:
        return {"file": self.file, "sheet": self.summary, "cell": f"{self.cols[HEADERS[field]]}{_FIRST + i}"}

    def total(self, n: int, field: str) -> dict[str, Any]:
        return self.row(n, field)

    def indicator(self, j: int, header: str) -> dict[str, Any]:
        return {"file": self.file, "sheet": self.indicators, "cell": f"{self.icols[header]}{_FIRST + j}"}


def check_rollup(roll: Rollup, raw: dict[str, Any], rules: Rules, file: str = "") -> list[Finding]:
    """Findings about a roll-up's data: each township row, its indicator rows, the county totals."""
    from .rollup_write import RUN, STATS

    w = _Where(file)
    out: list[Finding] = []
    level = _level(roll.county_code)
    prefix = roll.county_code[:level]
    seen: dict[tuple[str, str, str], int] = {}
    for i, t in enumerate(roll.townships):
        who = messages.phrase("rollup-row", row=_FIRST + i, name=t.name, code=t.code)
        unit = (t.code, t.kind, t.project)  # a unit's 整体 evaluation and each of its projects: one row each
        if unit in seen:
            out.append(
                make(
                    "rollup-duplicate-unit",
                    messages.text("rollup-duplicate-unit", who=who, other=_FIRST + seen[unit]),
                    value=t.code,
                    **w.row(i, "code"),
                )
            )
        else:
            seen[unit] = i
        out += _identity(t, i, who, roll, prefix, w)
        out += _row(t, i, who, rules, w)
    out += _indicators(roll, rules, w)
    out += _totals(roll, raw, w)
    if tuple(roll.grades) != rules.grades:
        out.append(
            make(
                "rollup-invalid",
                messages.text(
                    "rollup-invalid",
                    "grades",
                    grades="、".join(roll.grades),
                    rules=rules.name,
                    expected="、".join(rules.grades),
                ),
                file=file,
                sheet=STATS,
            )
        )
    counts = roll.counts
    parts = [counts.get(k, 0) for k in ("accepted", "superseded", "rejected", "skipped")]
    if counts.get("seen", 0) != sum(parts) or any(v < 0 for v in counts.values()):
        out.append(
            make(
                "rollup-figure-mismatch",
                messages.text(
                    "rollup-figure-mismatch", "counts", seen=counts.get("seen", 0), parts=sum(parts)
                ),
                file=file,
                sheet=RUN,
            )
        )
    return out


def _level(code: str) -> int:
    """Digits of an area code that name the area: 6 (county), 4 (city), 2 (province), 0."""
    return 6 if code[4:6] != "00" else 4 if code[2:4] != "00" else 2 if code[:2] != "00" else 0


def _identity(t: TownshipRow, i: int, who: str, roll: Rollup, prefix: str, w: _Where) -> list[Finding]:
    from .validate import county_codes, credit_check_char

    out = []
    code = t.code
    credit = len(code) == 18 and credit_check_char(code) == code[17:] and code[2:8] in county_codes()
    township = (
        len(code) == 12 and code.isdigit() and code[:6] in county_codes() and 1 <= int(code[6:9]) <= 599
    ) and code[9:] == "000"
    if not (credit or township):
        out.append(
            make(
                "invalid-code",
                messages.text("invalid-code", "rollup-code", who=who),
                value=code,
                **w.row(i, "code"),
            )
        )
    elif not (code[2:8] if credit else code).startswith(prefix):
        out.append(
            make(
                "invalid-code",
                messages.text(
                    "invalid-code", "rollup-area", who=who, county=roll.county, county_code=roll.county_code
                ),
                value=code,
                **w.row(i, "code"),
            )
        )
    if t.year != roll.year:
        out.append(
            make(
                "year-mismatch",
                messages.text("year-mismatch", "rollup-row", who=who, year=t.year, rollup_year=roll.year),
                severity="error",
                value=t.year,
                **w.row(i, "code"),
            )
        )
    return out


def _row(t: TownshipRow, i: int, who: str, rules: Rules, w: _Where) -> list[Finding]:
    """A township row's bounds, then its figures recomputed from its amounts and scores."""
    out: list[Finding] = []
    f = rules.fmt

    def bad(field: str, message: str, value: Any, code: str = "out-of-range") -> None:
        out.append(make(code, message, value=value, **w.row(i, field)))

    for field in ("initial", "adjusted", "executed"):
        v = getattr(t, field)
        if v is not None and not ZERO <= v <= MAX_AMOUNT:
            column = HEADERS[field]
            bad(
                field,
                messages.text(
                    "out-of-range", "rollup-amount", who=who, column=column, value=v, maximum=MAX_AMOUNT
                ),
                v,
            )
    if t.rate is not None and t.rate < 0:
        bad("rate", messages.text("out-of-range", "rollup-rate", who=who, rate=t.rate), t.rate)
    weights = {
        "budget_score": rules.budget_weight,
        **{v: rules.category_weights[k] for k, v in SUBTOTALS.items()},
    }
    for field, weight in weights.items():
        v = getattr(t, field)
        if not ZERO <= v <= weight:
            bad(field, _score_range(who, HEADERS[field], f(v), f(weight)), v)
    top = rules.budget_weight + rules.indicator_total
    for field in ("total", "self_total"):
        v = getattr(t, field)
        if v is not None and not ZERO <= v <= top:
            bad(field, _score_range(who, HEADERS[field], f(v), f(top)), v)
    if t.errors != 0 or t.warnings < 0:
        bad("errors", messages.text("out-of-range", "rollup-errors", who=who, errors=t.errors), t.errors)
    # figures recomputed with the scoring engine, from the amounts and the component scores
    sub = _budget_only(t)
    rate, budget = score_budget(sub, rules)
    rate_shown = None if rate is None else rules.quantize(rate * 100)
    if not _same(t.rate, rate_shown):
        bad(
            "rate",
            messages.text(
                "rollup-figure-mismatch",
                "rate",
                who=who,
                rate=_s(t.rate),
                executed=f(t.executed),
                adjusted=f(t.adjusted),
                expected=_s(rate_shown),
            ),
            t.rate,
            "rollup-figure-mismatch",
        )
    if t.budget_score != budget.shown:
        bad(
            "budget_score",
            messages.text(
                "rollup-figure-mismatch",
                "budget-score",
                who=who,
                score=f(t.budget_score),
                expected=f(budget.shown),
                explanation=budget.explanation,
            ),
            t.budget_score,
            "rollup-figure-mismatch",
        )
    parts = [t.budget_score, t.output_score, t.benefit_score, t.satisfaction_score]
    # the total is rounded once from unrounded parts: it may differ from the sum of the shown parts by
    # at most half a step per part
    if abs(t.total - sum(parts, ZERO)) > rules.unit * len(parts) / 2:
        bad(
            "total",
            messages.text(
                "rollup-figure-mismatch", "total", who=who, total=f(t.total), parts=f(sum(parts, ZERO))
            ),
            t.total,
            "rollup-figure-mismatch",
        )
    grade = rules.grade_for(rules.quantize(t.total))
    if t.grade != grade:
        bad(
            "grade",
            messages.text(
                "rollup-figure-mismatch",
                "grade",
                who=who,
                grade=t.grade,
                total=f(t.total),
                bands=rules.grade_text(),
                expected=grade,
            ),
            t.grade,
            "rollup-figure-mismatch",
        )
    return out


def _score_range(who: str, column: str, value: str, maximum: str) -> str:
    return messages.text("out-of-range", "rollup-score", who=who, column=column, value=value, maximum=maximum)


def _budget_only(t: TownshipRow) -> Submission:
    """A submission holding only a row's budget total, for :func:`score_budget`."""
    budget = {key: Budget(None, None, None) for key, _ in FUNDING}
    budget["total"] = Budget(t.initial, t.adjusted, t.executed)
    return Submission(
        t.name, t.code, t.county, t.year, "", "", t.filled_on, budget, "", "", t.self_total, t.self_grade,
        "", "", "", "", (), (), (),
    )  # fmt: skip


def _same(a: Decimal | None, b: Decimal | None) -> bool:
    return (a is None) == (b is None) and (a is None or a == b)


def _s(v: Decimal | None) -> str:
    return messages.phrase("rollup-value", "blank") if v is None else f"{q2(v):f}"


def _indicators(roll: Rollup, rules: Rules, w: _Where) -> list[Finding]:
    """Each indicator row's score within its weight; each township's subtotals the sum of its rows."""
    out: list[Finding] = []
    f = rules.fmt
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for j, ind in enumerate(roll.indicators):
        who = messages.phrase("rollup-indicator", name=ind.name, code=ind.code, seq=ind.seq)
        if not ZERO <= ind.weight <= rules.indicator_total:
            out.append(
                make(
                    "out-of-range",
                    messages.text("out-of-range", "rollup-weight", who=who, weight=f(ind.weight)),
                    value=ind.weight,
                    **w.indicator(j, "分值"),
                )
            )
        if not ZERO <= ind.score <= max(ind.weight, ZERO):
            out.append(
                make(
                    "out-of-range",
                    messages.text(
                        "out-of-range",
                        "rollup-indicator-score",
                        who=who,
                        score=f(ind.score),
                        weight=f(ind.weight),
                    ),
                    value=ind.score,
                    **w.indicator(j, "核定得分"),
                )
            )
        sums[(ind.code, ind.level1)].append(ind.score)
    # indicator rows name the unit's code only: a unit's evaluations (整体 and its projects) are summed
    rows_of: dict[str, list[TownshipRow]] = defaultdict(list)
    for t in roll.townships:
        rows_of[t.code].append(t)
    for i, t in enumerate(roll.townships):
        for cat, field in SUBTOTALS.items():
            scores = sums.get((t.code, cat))
            if scores is None:
                continue
            total = sum(scores, ZERO)
            shown = sum((getattr(r, field) for r in rows_of[t.code]), ZERO)
            if abs(total - shown) > rules.unit * (len(scores) + len(rows_of[t.code])) / 2:
                out.append(
                    make(
                        "rollup-figure-mismatch",
                        messages.text(
                            "rollup-figure-mismatch",
                            "subtotal",
                            who=messages.phrase("rollup-row", row=_FIRST + i, name=t.name, code=t.code),
                            column=HEADERS[field],
                            shown=f(getattr(t, field)),
                            category=cat,
                            total=f(total),
                        ),
                        value=getattr(t, field),
                        **w.row(i, field),
                    )
                )
    return out


_TOTAL_FIELDS = {
    "initial": "initial",
    "adjusted": "adjusted",
    "executed": "executed",
    "rate": "rate",
    "mean_total": "total",
    "townships": "name",
    "max_total": "total",
    "min_total": "total",
    "grades": "grade",
}
_TOTAL_LABELS = {
    "initial": "年初预算数合计",
    "adjusted": "全年预算数合计",
    "executed": "全年执行数合计",
    "rate": "执行率",
    "mean_total": "平均核定总分",
    "townships": "单位数",
    "max_total": "最高核定总分",
    "min_total": "最低核定总分",
    "grades": "等级分布",
}


def _totals(roll: Rollup, raw: dict[str, Any], w: _Where) -> list[Finding]:
    """The county totals stored with the data equal those of its rows."""
    stored = raw.get("totals")
    expected = plain(roll.totals())
    if not isinstance(stored, dict):
        return [
            make(
                "rollup-figure-mismatch",
                messages.text("rollup-figure-mismatch", "no-totals"),
                **w.total(len(roll.townships), "name"),
            )
        ]
    out = []
    for key, field in _TOTAL_FIELDS.items():
        unit = "%" if key == "rate" else ""
        if stored.get(key) != expected.get(key):
            out.append(
                make(
                    "rollup-figure-mismatch",
                    messages.text(
                        "rollup-figure-mismatch",
                        "total-row",
                        label=_TOTAL_LABELS[key],
                        stored=_text(stored.get(key)),
                        unit=unit,
                        expected=_text(expected.get(key)),
                    ),
                    value=stored.get(key),
                    **w.total(len(roll.townships), field),
                )
            )
    return out


def _text(v: Any) -> str:
    if isinstance(v, dict):
        return "、".join(messages.phrase("rollup-value", "count", name=k, count=n) for k, n in v.items())
    return messages.phrase("rollup-value", "blank") if v is None else str(v)


# --- the visible sheet ------------------------------------------------------------------------------


def check_visible(data: bytes, roll: Rollup, file: str = "") -> list[Finding]:
    """The visible 汇总 sheet shows the same figures as the data (a clerk reads the sheet; the data is
    what a merge absorbs): each row and the total row."""
    from openpyxl import load_workbook

    from .rollup_write import SUMMARY, summary_total

    w = _Where(file)
    n = len(roll.townships)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    try:
        if SUMMARY not in wb.sheetnames:
            missing = messages.text("rollup-sheet-mismatch", "no-sheet")
            return [make("rollup-sheet-mismatch", missing, file=file, sheet=SUMMARY)]
        ws = wb[SUMMARY]
        headers = list(w.cols)
        rows = list(ws.iter_rows(min_row=_FIRST, max_row=_FIRST + n, max_col=len(headers), values_only=True))
    finally:
        wb.close()
    rows += [()] * (n + 1 - len(rows))
    out: list[Finding] = []
    fields = {h: k for k, h in HEADERS.items() if k != "errors"}
    expected_rows: list[dict[str, Any]] = [
        {h: getattr(t, k) for h, k in fields.items()} for t in roll.townships
    ]
    totals = roll.totals()
    total = {
        h: summary_total(roll, totals, h) for h in fields if h not in ("行政区划代码", "单位名称", "核定等级")
    }
    for i, (want, got) in enumerate(zip([*expected_rows, total], rows, strict=True)):
        shown = dict(zip(headers, got, strict=False))
        wrong = [h for h, value in want.items() if not _shows(shown.get(h), value)]
        if not wrong:
            continue
        if len(out) == 20:
            out.append(
                make(
                    "rollup-sheet-mismatch",
                    messages.text("rollup-sheet-mismatch", "more"),
                    file=file,
                    sheet=SUMMARY,
                )
            )
            break
        first = wrong[0]
        detail = "；".join(
            messages.phrase("rollup-shown", column=h, shown=_text(shown.get(h)), data=_text(_plainv(want[h])))
            for h in wrong[:4]
        ) + (messages.AND_MORE if len(wrong) > 4 else "")
        out.append(
            make(
                "rollup-sheet-mismatch",
                messages.text("rollup-sheet-mismatch", "total-row", detail=detail)
                if i == n
                else messages.text("rollup-sheet-mismatch", "row", row=_FIRST + i, detail=detail),
                value=shown.get(first),
                **w.row(i, fields[first]),
            )
        )
    return out


def _shows(cell: Any, value: Any) -> bool:
    """Whether a visible cell shows a data value (numbers to 2 places, text exactly, blank for none)."""
    if value is None or value == "":
        return cell is None or cell == ""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        d = to_decimal(cell)
        return d is not None and q2(d) == q2(value)
    return isinstance(cell, str) and cell == value


def _plainv(v: Any) -> Any:
    return f"{v:f}" if isinstance(v, Decimal) else v


# --- across the files of one inbox -----------------------------------------------------------------


def check_rollup_file(
    path: str | Path, rules: Rules | None = None, keys: KeyRing = NO_KEYS, limits: Limits = DEFAULT_LIMITS
) -> tuple[Rollup | None, Report]:
    """Check one roll-up workbook as ``merge`` would before absorbing it (``selfeval-xlsx keys verify``)."""
    from .rollup_read import is_rollup_workbook

    path = Path(path)
    report = Report(path.name)
    try:
        size = path.stat().st_size
        data = b"" if size > limits.max_file_bytes else path.read_bytes()
    except OSError as exc:
        unreadable = messages.text("not-a-workbook", "rollup-unreadable", error=type(exc).__name__)
        report.extend([make("not-a-workbook", unreadable, file=path.name)])
        return None, report
    if size > limits.max_file_bytes:
        too_large = messages.text("too-large", "rollup-file")
        report.extend([make("too-large", too_large, file=path.name, value=size)])
        return None, report
    if not is_rollup_workbook(data):
        message = messages.text("unknown-template", "not-rollup")
        report.extend([make("unknown-template", message, file=path.name)])
        return None, report
    roll, found = check_rollup_workbook(data, path.name, rules or load_rules(), keys)
    report.extend(found)
    return roll, report
