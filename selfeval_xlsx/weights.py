"""Indicator weights (分值) against the rules profile: derived when a table prints none, checked per category.

Some published tables print only each indicator's 得分 and the block's total (DOMAIN.md, "Forms in the
wild"). When every indicator row of a first-level category leaves 分值 blank but has its 自评得分, the
weights are derived from the profile's weight of that category:

- the scores add up to the category's weight: as no score can exceed its weight, every indicator was at
  full marks, and each weight *is* its score (a deduction, not a guess);
- otherwise the category's weight is split equally (2 decimals, half-up; the last row takes what rounding
  leaves so the category adds up exactly), provided no score exceeds its share. An equal split is the
  only rule that favours no indicator; it is an assumption, so the warning names every derived weight
  and asks for the real ones.

Anything else (some rows filled and some not, a score missing, scores above the share or above the
category's weight) is left to the clerk: the usual 分值 errors, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .document import Document
from .findings import Finding, make
from .messages import text
from .rules import Rules
from .xlsx.cells import parse_a1

ZERO = Decimal(0)


def _w(value: Decimal) -> str:
    value = Decimal(value)
    return (
        f"{value.normalize():f}" if value != value.to_integral_value() else f"{value.to_integral_value():f}"
    )


def _span(doc: Document, pointers: Sequence[str]) -> dict[str, Any]:
    """Where a finding about several cells of one column goes: the range when they are contiguous rows."""
    refs = [r for r in (doc.cell(p) for p in pointers) if r is not None]
    if not refs:
        return {"sheet": None, "cell": None}
    first, last = refs[0], refs[-1]
    rows = [parse_a1(r.cell)[0] for r in refs]
    contiguous = rows == list(range(rows[0], rows[0] + len(rows)))
    cell = first.cell if first.cell == last.cell or not contiguous else f"{first.cell}:{last.cell}"
    return {"sheet": first.sheet, "cell": cell}


def split_equally(total: Decimal, n: int, places: int) -> list[Decimal]:
    """``total`` in ``n`` equal parts rounded half-up; the last part takes the rounding remainder."""
    unit = Decimal(1).scaleb(-places)
    share = (total / n).quantize(unit, rounding=ROUND_HALF_UP)
    return [share] * (n - 1) + [total - share * (n - 1)]


def derive(
    doc: Document, rules: Rules, reported: AbstractSet[str] = frozenset()
) -> tuple[list[Finding], set[str]]:
    """Fill blank 分值 where they follow from the profile (in ``doc.data``).

    ``reported``: pointers the reader already reported (an error value or a formula in a 分值 cell is not a
    blank one: that category is left alone).

    Returns the findings (a warning per derived category, an error where the weights cannot be derived)
    and the pointers those errors already cover (so the schema's "missing" finding is not repeated).
    """
    out: list[Finding] = []
    flagged: set[str] = set()
    rows = doc.get("/indicators") or []
    for cat, cat_weight in rules.category_weights.items():
        idx = [i for i, r in enumerate(rows) if r.get("level1") == cat]
        if not idx or any("weight" in rows[i] for i in idx):
            continue  # filled (or partly filled: each blank one is a missing value as usual)
        ptrs = [f"/indicators/{i}/weight" for i in idx]
        if reported & set(ptrs):
            continue
        scores = [rows[i].get("self_score") for i in idx]
        names = "、".join(f"第{rows[i].get('seq')}项" for i in idx)
        where = {"file": doc.file, "field": ptrs[0], **_span(doc, ptrs)}
        if not all(isinstance(s, Decimal) for s in scores):
            flagged.update(ptrs)
            out.append(
                make(
                    "missing-value",
                    text(
                        "missing-value",
                        "weights-incomplete",
                        category=cat,
                        count=len(idx),
                        names=names,
                        weight=_w(cat_weight),
                    ),
                    **where,
                )
            )
            continue
        total = sum(scores, ZERO)
        if total == cat_weight:
            weights = list(scores)
            how = f"各项自评得分合计正好{_w(cat_weight)}分，即各项均为满分，分值取各项自评得分"
        else:
            weights = split_equally(cat_weight, len(idx), rules.places)
            over = [rows[i].get("seq") for i, s, w in zip(idx, scores, weights, strict=True) if s > w]
            if total > cat_weight or over:
                flagged.update(ptrs)
                why = (
                    f"自评得分合计{_w(total)}分，超过该类分值{_w(cat_weight)}分"
                    if total > cat_weight
                    else f"第{'、'.join(str(s) for s in over)}项的自评得分高于平均分值"
                )
                out.append(
                    make(
                        "missing-value",
                        text(
                            "missing-value",
                            "weights-underivable",
                            category=cat,
                            count=len(idx),
                            names=names,
                            why=why,
                            weight=_w(cat_weight),
                        ),
                        value=str(total),
                        **where,
                    )
                )
                continue
            how = f"各项自评得分合计{_w(total)}分、未达到该类分值，按该类分值{_w(cat_weight)}分平均分配"
        for i, w in zip(idx, weights, strict=True):
            rows[i]["weight"] = w
        listed = "、".join(f"第{rows[i].get('seq')}项{_w(w)}分" for i, w in zip(idx, weights, strict=True))
        out.append(
            make(
                "weights-derived",
                text("weights-derived", category=cat, weight=_w(cat_weight), listed=listed, how=how),
                value=str(cat_weight),
                **where,
            )
        )
    return out, flagged


def check_categories(doc: Document, rules: Rules, broken: set[str]) -> list[Finding]:
    """A warning at the weight cells of each first-level category whose weights break the profile."""
    out: list[Finding] = []
    rows = doc.get("/indicators") or []
    for cat, cat_weight in rules.category_weights.items():
        idx = [i for i, r in enumerate(rows) if r.get("level1") == cat]
        ptrs = [f"/indicators/{i}/weight" for i in idx]
        weights = [rows[i].get("weight") for i in idx]
        if not idx or broken & set(ptrs) or not all(isinstance(w, Decimal) for w in weights):
            continue
        total = sum(weights, ZERO)
        if total == cat_weight:
            continue
        out.append(
            make(
                "category-weights",
                text(
                    "category-weights",
                    category=cat,
                    count=len(idx),
                    total=_w(total),
                    weight=_w(cat_weight),
                    rules=rules.weights_text(),
                ),
                file=doc.file,
                field="/indicators",
                value=str(total),
                **_span(doc, ptrs),
            )
        )
    return out
