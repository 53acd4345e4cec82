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
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
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


def trim_spaces(raw: str) -> str:
    """Strip outer white space (incl. full-width and no-break spaces); keep inner line breaks."""
    if type(raw) is str and _SPACES.search(raw) is None:  # no white space (\s is what strip() strips)
        return raw
    if "\n" not in raw and "\r" not in raw:  # one line: nothing left for the final strip
        return _SPACES.sub(" ", raw).strip()
    lines = [
        _SPACES.sub(" ", line).strip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    return "\n".join(line for line in lines).strip("\n ")


def _seen(raw: str) -> str:
    """Text as a reader sees it: invisible characters dropped, outer white space stripped."""
    return _INVISIBLE.sub("", raw).strip()


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
        number = to_decimal(raw)
        if number is None:
            return str(raw), None  # NaN / Infinity: reported as a type error
        return number, None
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
        if f"{value}" == _seen(raw):  # nothing visible changed: say what did, not the same text twice
            return value, f"“{value}”是文本格式的数字，已按数字读取（建议把单元格设为数值格式）"
        return value, f"“{_seen(raw)}”已按数字{value}读取"
    return trim_spaces(raw), None


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
        return (trim_spaces(raw) or None), None
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
    text = trim_spaces(str(raw))
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
    if text != _seen(raw) and text.isdigit():  # (nothing visible changed: nothing said)
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
            return trim_spaces(raw), None
        iso = day.isoformat()
        return iso, (None if iso == raw.strip() else f"“{raw.strip()}”已按日期{iso}读取")
    return trim_spaces(raw), None


def parse_nature(raw: Any) -> tuple[Any, str | None]:
    """≥ ≤ = 定性, accepting look-alikes (≧ ≦ ﹦ ＞＝ >=)."""
    if not isinstance(raw, str):
        return parse_text(raw)
    text = _SPACES.sub("", raw)
    for candidate in (text, unicodedata.normalize("NFKC", text)):
        if candidate in NATURE_ALIASES:
            value = NATURE_ALIASES[candidate]
            return value, (None if value == text else f"“{raw.strip()}”已按“{value}”读取")
    return trim_spaces(raw), None


def parse_choice(raw: Any, choices: tuple[str, ...]) -> tuple[Any, str | None]:
    """A value from a closed list, tolerating spaces and full-width forms."""
    value, note = parse_text(raw)
    if isinstance(value, str) and choices and value not in choices:
        plain = _plain(value)
        for choice in choices:
            if _plain(choice) == plain:
                return choice, f"“{raw}”已按“{choice}”读取"
    return value, note


# --- indicator values as clerks type them ("2天以内", "9月前", "≥100百分比", "150万") ---------------

#: Words before a number that bound it ("不超过30" → ≤ 30), in NFKC form (＞＝ → >=, ﹦ and ＝ → =).
BOUND_BEFORE: dict[str, str] = {
    **{k: v for k, v in NATURE_ALIASES.items() if v != "定性"},
    "不低于": "≥",
    "不少于": "≥",
    "不小于": "≥",
    "至少": "≥",
    "不超过": "≤",
    "不高于": "≤",
    "不多于": "≤",
    "不大于": "≤",
    "最多": "≤",
}
#: Words after a number (and its unit) that bound it ("2天以内" → ≤ 2 天, "9月前" → ≤ 9 月).
BOUND_AFTER: dict[str, str] = {
    "以内": "≤",
    "之内": "≤",
    "内": "≤",
    "及以下": "≤",
    "以下": "≤",
    "以前": "≤",
    "之前": "≤",
    "前": "≤",
    "及以上": "≥",
    "以上": "≥",
}
_BOUND_AFTER_ORDER = tuple(sorted(BOUND_AFTER, key=len, reverse=True))
#: Unit words that mean the same as the 计量单位 column's (NFKC): percentages, and amounts with factors.
PERCENT_WORDS = frozenset({"%", "百分比", "百分率"})
MONEY_FACTORS: dict[str, Decimal] = {
    "元": Decimal(1),
    "千元": Decimal(1000),
    "万": Decimal(10000),
    "万元": Decimal(10000),
    "亿": Decimal(10**8),
    "亿元": Decimal(10**8),
}
_MONEY_NAMES = {"万": "万元", "亿": "亿元"}
#: Other pairs of unit words that mean the same.
SAME_UNITS = frozenset({frozenset({"天", "日"}), frozenset({"个", "项"})})
_BOUNDED = re.compile(
    r"^(?P<pre>[^\d+\-.]*?)(?P<num>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)(?P<post>\D*)$"
)
#: Text that means "nothing here" in an amount cell.
DASHES = frozenset({"-", "—", "——", "--", "－", "/", "／", "无", "空", "—/—"})


def read_bounded(raw: str) -> tuple[str | None, Decimal, str] | None:
    """(sign or None, number, unit word as typed) of text like '≥266米', '2天以内', '不超过30天'.

    ``None`` when the text is not a number with at most a bound and a unit around it, or when its
    words bound it both ways ('≥2天以内').
    """
    m = _BOUNDED.match(_plain(raw))
    if m is None:
        return None
    pre, post = m.group("pre"), m.group("post")
    sign = BOUND_BEFORE.get(pre) if pre else None
    if pre and sign is None:
        return None
    for word in _BOUND_AFTER_ORDER:
        if post.endswith(word):
            after = BOUND_AFTER[word]
            if sign is not None and sign != after:
                return None
            sign, post = after, post[: -len(word)]
            break
    return sign, Decimal(m.group("num").replace(",", "")), post


def convert_unit(number: Decimal, typed: str, unit: str) -> tuple[Decimal, str] | None:
    """(value in the 计量单位 column's unit, that unit) of a number typed with a unit word, or ``None``
    when the two units differ (天 typed where the column says 个). A blank column takes the typed unit."""
    column = unicodedata.normalize("NFKC", unit.strip())
    if not typed:
        return number, column
    if typed in PERCENT_WORDS and (column in PERCENT_WORDS or not column):
        return number, column or "%"
    if typed in MONEY_FACTORS and (column in MONEY_FACTORS or not column):
        name = column or _MONEY_NAMES.get(typed, typed)
        return number * MONEY_FACTORS[typed] / MONEY_FACTORS[name], name
    if typed == column or not column or frozenset({typed, column}) in SAME_UNITS:
        return number, column or typed
    return None


def parse_indicator(raw: str, nature: str, unit: str, key: str) -> tuple[Any, str | None, str | None]:
    """An indicator's 年度指标值 or 实际完成值 (``key``) typed with bound words and unit words.

    Returns ``(value, note, unit)``: the number in the 计量单位 column's unit, a note naming the change
    ("“2天以内”已规范为 ≤ 2（单位：天）") and the unit to fill in when the column is blank. Text with no
    single reading is returned as typed (the schema then reports it; :func:`explain_indicator` says
    what to type instead): a bound other than 指标性质 on a target, a ≥ or ≤ bound on an actual value
    (a target, not what was achieved), or a unit other than the column's.
    """
    found = read_bounded(raw)
    if found is None:
        return trim_spaces(raw), None, None
    sign, number, typed = found
    if sign is not None and (sign != nature if key == "target" else sign != "="):
        return trim_spaces(raw), None, None
    converted = convert_unit(number, typed, unit)
    if converted is None:
        return trim_spaces(raw), None, None
    value, used = converted
    if value != number and value == value.to_integral_value():  # 1.5万 in 元: 15000, not 15000.0
        value = value.to_integral_value()
    shown = f"{sign} {value:f}" if sign and key == "target" else f"{value:f}"
    said = raw.strip()
    if said.startswith("="):
        said = f"{said}”以“=”开头，被Excel当成了公式；“{said[1:]}"
    note = f"“{said}”已规范为 {shown}" + (f"（单位：{used}）" if used else "")
    fill = used if used and not unit.strip() else None
    return value, note, fill


def explain_indicator(raw: Any, nature: Any, unit: Any, key: str) -> str | None:
    """What to type instead of an indicator value with no single reading (``None`` when nothing
    more precise than "只填数字" can be said)."""
    if not isinstance(raw, str):
        return None
    found = read_bounded(raw)
    if found is None:
        return None
    sign, number, typed = found
    num = f"{number:f}"
    column = unit.strip() if isinstance(unit, str) else ""
    if key == "actual" and sign in ("≥", "≤"):
        return (
            f"“{raw.strip()}”表示“{sign} {num}”，是目标的写法，不是实际完成的数值：请填写实际达到的数值"
            f"（如实际完成了{num}{typed or column}，就只填{num}），不带“≥”“≤”“以内”“以上”等字样。"
        )
    if key == "target" and sign in ("≥", "≤", "=") and sign != nature:
        return (
            f"“{raw.strip()}”表示“{sign} {num}”，但指标性质选的是“{nature}”：请核对，"
            f"如目标确是“{sign} {num}”，请把指标性质改为“{sign}”，年度指标值只填{num}。"
        )
    if typed and convert_unit(number, typed, column) is None:
        return (
            f"“{raw.strip()}”的单位“{typed}”与计量单位“{column}”不一致：请换算为{column}后只填数字，"
            f"或把计量单位改为“{typed}”。"
        )
    return None
