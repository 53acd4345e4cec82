"""Decimal helpers: money in 万元, rates and scores, rounded half-up (四舍五入)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation

TWO_PLACES = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
_WIDE = Context(prec=60, rounding=ROUND_HALF_EVEN)  # exact for anything a float or a cell can hold


def q2(value: Decimal | int | str) -> Decimal:
    """Round to 2 decimal places, half-up (四舍五入), never banker's rounding."""
    return Decimal(value).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


#: Excel keeps and shows 15 significant digits; a binary float's tail beyond them is noise.
EXCEL_DIGITS = 15
_EXCEL = Context(prec=EXCEL_DIGITS, rounding=ROUND_HALF_EVEN)


def plain(value: Decimal) -> Decimal:
    """The same number without trailing zeros after the point, never in exponent form when it has
    fewer than 28 digits: 96.00 → 96, 1E+2 → 100, 12.340 → 12.34."""
    if not value.is_finite():
        return value
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < 0:
        value = value.normalize(_WIDE)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0 and value.adjusted() < 28:
        value = value.quantize(ONE, context=_WIDE)
    return value


def from_float(value: float) -> Decimal:
    """The Decimal a clerk sees for a float: its shortest repr (0.1 → 0.1, not the binary expansion),
    cut to Excel's 15 significant digits when longer (1000.1 + 4012.39 = 5012.490000000001 → 5012.49).
    NaN and infinities come back as such (callers reject them)."""
    d = Decimal(repr(value))
    if d.is_finite() and len(d.as_tuple().digits) > EXCEL_DIGITS:
        d = plain(_EXCEL.plus(d))
    return d


def percent(value: Decimal) -> Decimal:
    """A number shown as a percentage, as the percentage: 0.96 → 96, 0.1234 → 12.34 (exact)."""
    return plain(value.scaleb(2, context=_WIDE))


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
        result = from_float(value)
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
