"""Decimal helpers: money in 万元, rates and scores, rounded half-up (四舍五入)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

TWO_PLACES = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


def q2(value: Decimal | int | str) -> Decimal:
    """Round to 2 decimal places, half-up (四舍五入), never banker's rounding."""
    return Decimal(value).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def to_decimal(value: object) -> Decimal | None:
    """Exact Decimal of an int/float/Decimal/str; ``None`` when it is not a finite number.

    Floats (what spreadsheet readers hand back) go through ``repr`` so 0.1 becomes Decimal('0.1'),
    not its binary expansion.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return result if result.is_finite() else None


def fmt2(value: Decimal | None) -> str:
    """Format with exactly two decimals after half-up rounding ('' for None)."""
    return "" if value is None else f"{q2(value):.2f}"


def pct(rate: Decimal | None) -> str:
    """A rate (0.8828…) as a percentage string with two decimals: '88.28%'."""
    return "" if rate is None else f"{q2(rate * HUNDRED):.2f}%"
