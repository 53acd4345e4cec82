"""Indicator rows for submissions built in memory (the scoring and audit tests share them)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

D = Decimal
HUNDRED = D(100)


def ind(
    nature: str = "≥",
    target: Decimal | str = HUNDRED,
    actual: Decimal | str = HUNDRED,
    weight: Decimal | int | str = 10,
    **kw: Any,
) -> dict[str, Any]:
    """One indicator row's fields (index and seq are assigned by :func:`make_sub`)."""
    row = {
        "level1": "产出指标",
        "level2": "数量指标",
        "level3": "预算项目个数",
        "nature": nature,
        "target": target,
        "unit": "个" if nature != "定性" else "",
        "actual": actual,
        "completion": None,
        "weight": D(weight),
        "self_score": None,
        "reason": "",
    }
    row.update(kw)
    if row["self_score"] is not None:
        row["self_score"] = D(row["self_score"])
    return row
