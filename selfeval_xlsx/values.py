"""Normalising what people really type into cells.

Each parser returns ``(value, note)``: the normalised value (or the raw value when it cannot be
normalised, so the schema reports it) and a Chinese note when something was changed, which the reader
turns into a ``value-normalised`` warning.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .decimals import from_float, to_decimal

_SPACES = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
#: Look-alike comparison symbols people type for ≥ ≤ =.
NATURE_ALIASES = {
    "≥": "≥",
    "≧": "≥",
    ">=": "≥",
    "＞＝": "≥",
    "大于等于": "≥",
    "≤": "≤",
    "≦": "≤",
    "<=": "≤",
    "＜＝": "≤",
    "小于等于": "≤",
    "=": "=",
    "＝": "=",
    "﹦": "=",
    "==": "=",
    "等于": "=",
    "定性": "定性",
}
EXCEL_EPOCH = datetime(1899, 12, 30)


def clean_text(raw: str) -> str:
    """Strip outer white space (incl. full-width and no-break spaces); keep inner line breaks."""
    if type(raw) is str and _SPACES.search(raw) is None:  # no white space (\s is what strip() strips)
        return raw
    if "\n" not in raw and "\r" not in raw:  # one line: nothing left for the final strip
        return _SPACES.sub(" ", raw).strip()
    lines = [
        _SPACES.sub(" ", line).strip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    return "\n".join(line for line in lines).strip("\n ")


def _plain(raw: str) -> str:
    """NFKC (full-width digits and punctuation → ASCII), spaces removed."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", raw))


_SUFFIX_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _suffix_order(suffixes: tuple[str, ...]) -> tuple[str, ...]:
    """Unit words as typed and in NFKC form, longest first (of equal length at most one can match).

    Remembered for the few short lists that recur (a table's units), not for long or many ones.
    """
    order = _SUFFIX_ORDERS.get(suffixes)
    if order is None:
        order = tuple(
            sorted({*suffixes, *(unicodedata.normalize("NFKC", s) for s in suffixes)}, key=len, reverse=True)
        )
        if len(_SUFFIX_ORDERS) < 256 and all(len(s) <= 20 for s in suffixes):
            _SUFFIX_ORDERS[suffixes] = order
    return order


def parse_number(raw: Any, suffixes: tuple[str, ...] = ()) -> tuple[Any, str | None]:
    """A Decimal from a number or from text like ' 8,724.90万元', '８７２４．９０', '95%'.

    ``suffixes`` are unit words that may trail the number (e.g. ``('万元', '万')``). Text that is
    still not a number is returned unchanged (stripped) so the schema reports a type error.
    """
    kind = type(raw)
    if kind is int:  # the common cases first, as to_decimal would convert them
        return Decimal(raw), None
    if kind is float:
        value = from_float(raw)
        return (value, None) if value.is_finite() else (str(raw), None)
    if isinstance(raw, bool):
        return raw, None
    if isinstance(raw, int | float | Decimal):
        value = to_decimal(raw)
        if value is None:
            return str(raw), None  # NaN / Infinity: reported as a type error
        return value, None
    if not isinstance(raw, str):
        return raw, None
    text = _plain(raw)
    if not text:
        return None, None
    stripped = text
    for suffix in _suffix_order(suffixes):
        if suffix and stripped.endswith(suffix) and len(stripped) > len(suffix):
            stripped = stripped[: -len(suffix)]
            break
    if _THOUSANDS.match(stripped):
        stripped = stripped.replace(",", "")
    if _NUMBER.match(stripped):
        value = Decimal(stripped)
        return value, f"“{raw.strip()}”已按数字{value}读取"
    return clean_text(raw), None


def parse_int(raw: Any) -> tuple[Any, str | None]:
    """An int from a number or numeric text ('2023', '2023年', '２０２３')."""
    if type(raw) is int:
        return raw, None
    value, note = parse_number(raw, ("年",))
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value), note
    return value, note


def parse_text(raw: Any) -> tuple[Any, str | None]:
    """Text, from text or from a number that Excel stored as one (a phone number, a code)."""
    if type(raw) is str:
        return (clean_text(raw) or None), None
    if raw is None:
        return None, None
    if isinstance(raw, bool):
        return str(raw), None
    if isinstance(raw, int):
        return str(raw), None
    if isinstance(raw, float | Decimal):
        d = to_decimal(raw)
        if d is not None and d == d.to_integral_value():
            return str(int(d)), None
        return str(raw), None
    if isinstance(raw, datetime | date):
        return raw.isoformat()[:10], None
    text = clean_text(str(raw))
    return (text or None), None


def _changes(raw: str, text: str) -> str:
    """What cleaning a typed code changed, in words (the two texts can look the same on screen)."""
    done = []
    if any(unicodedata.normalize("NFKC", ch) != ch for ch in raw if not ch.isspace()):
        done.append("全角字符改为半角")
    if _SPACES.search(raw):
        done.append("删除了空格或不可见字符")
    if "-" in unicodedata.normalize("NFKC", raw):
        done.append("删除了连字符“-”")
    return "代码中" + ("、".join(done) if done else "的多余字符已删除")


def parse_code(raw: Any) -> tuple[Any, str | None]:
    """A digit string: full-width digits, spaces and dashes removed; a number kept without exponent."""
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        d = to_decimal(raw)
        if d is not None and d == d.to_integral_value():
            return str(int(d)), "代码被存为数字，已按文本读取（建议将单元格设为文本格式）"
        return str(raw), None
    if not isinstance(raw, str):
        return parse_text(raw)
    text = _plain(raw).replace("-", "")
    if text != raw and text.isdigit():
        return text, f"{_changes(raw, text)}，已按{text}读取"
    return (text or None), None


def parse_date(raw: Any) -> tuple[Any, str | None]:
    """ISO date string from a date, an Excel serial number or text like '2024年1月15日', '2024/1/15'."""
    if isinstance(raw, datetime):
        return raw.date().isoformat(), None
    if isinstance(raw, date):
        return raw.isoformat(), None
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        d = to_decimal(raw)
        if d is not None and 1 <= d < 2958466:  # Excel's 1900 date system, up to 9999-12-31
            day = (EXCEL_EPOCH + timedelta(days=int(d))).date()
            return day.isoformat(), f"日期序列号{raw}已按{day.isoformat()}读取"
        return str(raw), None
    if not isinstance(raw, str):
        return raw, None
    text = _plain(raw)
    m = re.match(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$", text) or re.match(
        r"^(\d{4})(\d{2})(\d{2})$", text
    )
    if m:
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return clean_text(raw), None
        iso = day.isoformat()
        return iso, (None if iso == raw.strip() else f"“{raw.strip()}”已按日期{iso}读取")
    return clean_text(raw), None


def parse_nature(raw: Any) -> tuple[Any, str | None]:
    """≥ ≤ = 定性, accepting look-alikes (≧ ≦ ﹦ ＞＝ >=)."""
    if not isinstance(raw, str):
        return parse_text(raw)
    text = _SPACES.sub("", raw)
    for candidate in (text, unicodedata.normalize("NFKC", text)):
        if candidate in NATURE_ALIASES:
            value = NATURE_ALIASES[candidate]
            return value, (None if value == text else f"“{raw.strip()}”已按“{value}”读取")
    return clean_text(raw), None


def parse_choice(raw: Any, choices: tuple[str, ...]) -> tuple[Any, str | None]:
    """A value from a closed list, tolerating spaces and full-width forms."""
    value, note = parse_text(raw)
    if isinstance(value, str) and choices and value not in choices:
        plain = _plain(value)
        for choice in choices:
            if _plain(choice) == plain:
                return choice, f"“{raw}”已按“{choice}”读取"
    return value, note
