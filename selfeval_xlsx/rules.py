"""Scoring rules profiles: every number of the scoring rules, loaded from a validated JSON file.

A profile is a JSON file checked against ``rules/rules.schema.json`` (draft 2020-12) and then against
the cross-field rules the schema cannot express. Numbers may be written as JSON numbers or decimal
strings; both load as exact ``Decimal`` (never binary floats). Shipped profiles live in the package's
``rules/`` folder: ``default`` (this county's seed rules), ``mof-2020`` (MoF 2020 grade bands) and
``budget-20`` (budget execution 20 points, indicators 80).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, getcontext
from functools import cache, cached_property, lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator, validators

DEFAULT = "default"
SCHEMA_FILE = "rules.schema.json"


class RulesError(ValueError):
    """A rules profile that cannot be found, read or validated.

    ``file`` names the profile file and ``json_path`` the place inside it (``$.grades[1].min``).
    """

    def __init__(self, message: str, file: str = "", json_path: str = "") -> None:
        super().__init__(message)
        self.file = file
        self.json_path = json_path


@dataclass(frozen=True)
class Grade:
    """A grade and the lowest total that earns it."""

    name: str
    min: Decimal


@dataclass(frozen=True)
class Band:
    """Score range of a qualitative completion level, as shares of the indicator's weight."""

    low: Decimal
    high: Decimal
    high_inclusive: bool


@dataclass(frozen=True)
class BudgetLowered:
    """When an adjusted budget lowered to equal spending is flagged."""

    rate_tolerance: Decimal  # executed ≈ adjusted when |executed − adjusted| ≤ this × adjusted
    min_cut_share: Decimal  # adjusted at least this share of initial below initial


@dataclass(frozen=True)
class BudgetRaised:
    """When an adjusted budget raised during the year to equal spending is flagged."""

    rate_tolerance: Decimal  # executed ≈ adjusted when |executed − adjusted| ≤ this × adjusted
    min_raise_share: Decimal  # adjusted at least this share of initial above initial


@dataclass(frozen=True)
class AuditRules:
    """Tolerances and word lists of the audit checks."""

    self_score_tolerance: Decimal
    indicator_self_score_tolerance: Decimal
    qualitative_max_share: Decimal
    outlier_share: Decimal
    outlier_min_scores: int
    min_panel_members: int
    budget_lowered: BudgetLowered
    vague_words: tuple[str, ...]
    none_words: tuple[str, ...]
    budget_raised: BudgetRaised = BudgetRaised(Decimal("0.005"), Decimal("0.2"))


@dataclass(frozen=True)
class Rules:
    """A loaded scoring rules profile."""

    name: str
    title: str
    description: str
    source: str  # the file it was loaded from
    budget_weight: Decimal
    indicator_total: Decimal
    category_weights: Mapping[str, Decimal]  # 产出指标 / 效益指标 / 满意度指标
    grade_bands: tuple[Grade, ...]  # best to worst
    bands: Mapping[str, Band]  # 达成 / 部分达成 / 未达成
    reverse_zero_at: Decimal  # ≤: 0 points when actual = this × target
    exact_zero_at: Decimal  # =: 0 points when |actual − target| = this × target
    trim_when_more_than: int
    trim_each_side: int
    places: int
    audit: AuditRules
    panel_mode: str = "auto"  # auto / members / agreed / none (see selfeval_xlsx.panel)
    ledger_tolerance: Decimal = Decimal(
        "0.01"
    )  # 万元: a reported amount this far from the ledger's is flagged

    @property
    def grades(self) -> tuple[str, ...]:
        """Grade names, best to worst."""
        return tuple(g.name for g in self.grade_bands)

    @cached_property
    def unit(self) -> Decimal:
        """The smallest shown step: 0.01 for 2 places (worked out once per profile)."""
        return Decimal(1).scaleb(-self.places)

    def grade_for(self, total: Decimal) -> str:
        """The grade a total earns (compare the shown, rounded total)."""
        for g in self.grade_bands:
            if total >= g.min:
                return g.name
        return self.grade_bands[-1].name

    def quantize(self, value: Decimal) -> Decimal:
        """Round half-up (四舍五入) to the profile's places (with the digits it takes: a ratio of a huge
        amount to a tiny one, shown in an audit message, must not raise ``InvalidOperation``)."""
        value = Decimal(value)
        digits = max(getcontext().prec, value.adjusted() - self._exponent + 2)
        return value.quantize(self.unit, rounding=ROUND_HALF_UP, context=_context(digits))

    @cached_property
    def _exponent(self) -> int:
        """The exponent of :attr:`unit` (-2 for 0.01)."""
        exponent = self.unit.as_tuple().exponent  # an int: the unit is a finite number
        return exponent if isinstance(exponent, int) else 0

    def fmt(self, value: Decimal | None) -> str:
        """A figure as shown: rounded half-up, fixed places ('' for None)."""
        return "" if value is None else f"{self.quantize(value):f}"

    def band_points(self, completion: str | None, weight: Decimal) -> tuple[Decimal, Decimal] | None:
        """Allowed (lowest, highest) points of a completion level for a weight, on the shown grid.

        The low end is rounded up and the top rounded down to a shown step; an exclusive top becomes the
        last step below it (8 → 7.99), so a clamped score reads inside its band.
        """
        band = self.bands.get(completion or "")
        if band is None:
            return None
        low = (band.low * weight).quantize(self.unit, rounding=ROUND_CEILING)
        top = band.high * weight
        if band.high_inclusive:
            high = top.quantize(self.unit, rounding=ROUND_FLOOR)
        else:
            high = top.quantize(self.unit, rounding=ROUND_CEILING) - self.unit
        high = max(high, Decimal(0))
        return min(low, high), high

    @property
    def total_weight(self) -> Decimal:
        """Budget plus indicators: the best total (100)."""
        return self.budget_weight + self.indicator_total

    def weights_text(self) -> str:
        """The weights rule in words, from the profile: 预算执行10分，绩效指标90分（产出指标50分、…），合计100分."""
        cats = "、".join(f"{k}{_whole(v)}分" for k, v in self.category_weights.items())
        indicators = f"绩效指标{_whole(self.indicator_total)}分（{cats}）"
        if not self.budget_weight:
            return f"预算执行不单独计分，{indicators}，合计{_whole(self.total_weight)}分"
        return f"预算执行{_whole(self.budget_weight)}分，{indicators}，合计{_whole(self.total_weight)}分"

    def grade_text(self) -> str:
        """The grade rule in words: 得分≥85为优秀；75≤得分<85为良好；…；得分<60为较差."""
        parts = []
        gs = self.grade_bands
        for i, g in enumerate(gs):
            lo = f"{g.min.normalize():f}"
            if i == 0:
                parts.append(f"得分≥{lo}为{g.name}")
            elif i == len(gs) - 1:
                parts.append(f"得分<{gs[i - 1].min.normalize():f}为{g.name}")
            else:
                parts.append(f"{lo}≤得分<{gs[i - 1].min.normalize():f}为{g.name}")
        return "；".join(parts)


@lru_cache(maxsize=64)
def _context(prec: int) -> Context:
    """A decimal context of ``prec`` digits, made once (``Rules.quantize`` rounds in one per call; only
    its sticky flags change, which nothing here reads)."""
    return Context(prec=prec)


def _whole(value: Decimal) -> str:
    """A weight as printed: '10', or '7.5' when not whole."""
    return (
        f"{value.normalize():f}" if value != value.to_integral_value() else f"{value.to_integral_value():f}"
    )


# --- loading ---------------------------------------------------------------------------------------


def _is_integer(checker: Any, instance: Any) -> bool:
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return True
    return isinstance(instance, Decimal) and instance.is_finite() and instance == instance.to_integral_value()


#: Draft 2020-12 with JSON integers parsed as Decimal counted as integers.
_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def _folder() -> Any:
    return resources.files("selfeval_xlsx").joinpath("rules")


@cache
def _schema() -> dict[str, Any]:
    # (checked against the metaschema by the tests, not in every process)
    return json.loads(_folder().joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def list_rules() -> list[str]:
    """Names of the profiles shipped with the package."""
    return sorted(
        p.name.removesuffix(".json")
        for p in _folder().iterdir()
        if p.name.endswith(".json") and p.name != SCHEMA_FILE
    )


def load_rules(name_or_path: str | Path | None = None) -> Rules:
    """Load a profile: ``None`` → default, a name → the package's profile, a path → that file.

    Raises :class:`RulesError` naming the file and the JSON path of the first problem.
    """
    if name_or_path is None:
        name_or_path = DEFAULT
    if isinstance(name_or_path, Path) or _looks_like_path(name_or_path):
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise RulesError(f"无法读取评分规则文件 {path}：{exc.strerror or exc}", str(path)) from exc
        return _parse(text, str(path))
    return _load_builtin(name_or_path)


def _looks_like_path(value: str) -> bool:
    if value.endswith(".json") or "/" in value or "\\" in value:
        return True
    return value not in list_rules() and Path(value).is_file()


@cache
def _load_builtin(name: str) -> Rules:
    if name not in list_rules():
        raise RulesError(f"没有名为“{name}”的评分规则；可用的有：{'、'.join(list_rules())}。", name)
    res = _folder().joinpath(f"{name}.json")
    rules = _parse(res.read_text(encoding="utf-8"), str(res))
    if rules.name != name:
        raise RulesError(f"评分规则文件 {res} 的 name 为“{rules.name}”，应为“{name}”。", str(res), "$.name")
    return rules


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} 不是数值")


def _parse(text: str, file: str) -> Rules:
    try:
        data = json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise RulesError(
            f"评分规则文件 {file} 不是有效的JSON（第{exc.lineno}行第{exc.colno}列）：{exc.msg}", file
        ) from exc
    except ValueError as exc:
        raise RulesError(f"评分规则文件 {file} 不是有效的JSON：{exc}", file) from exc
    errors = sorted(_Validator(_schema()).iter_errors(data), key=lambda e: e.json_path)
    if errors:
        err = errors[0]
        message = err.message
        if err.validator == "anyOf":  # the number-or-decimal-string definitions
            shown = (
                err.instance
                if isinstance(err.instance, Decimal | str)
                else json.dumps(err.instance, default=str)
            )
            message = f'“{shown}”不是有效的数值（应为非负数，可写作 85 或 "85.5"；比例应在 0 到 1 之间）'
        raise _fail(file, err.json_path, message)
    return _build(data, file)


def _budget_raised(a: dict[str, Any]) -> dict[str, BudgetRaised]:
    """``audit.budget_raised`` when the profile sets it (older profiles keep the default)."""
    br = a.get("budget_raised")
    if br is None:
        return {}
    return {"budget_raised": BudgetRaised(_dec(br["rate_tolerance"]), _dec(br["min_raise_share"]))}


def _dec(value: Decimal | str) -> Decimal:
    return Decimal(value)


def _fail(file: str, path: str, message: str) -> RulesError:
    return RulesError(f"评分规则文件 {file} 无效，位置 {path}：{message}", file, path)


def _build(d: dict[str, Any], file: str) -> Rules:
    """Typed rules from schema-valid data, after the cross-field checks."""
    w = d["weights"]
    cats = {k: _dec(v) for k, v in w["categories"].items()}
    total = _dec(w["indicators"])
    if sum(cats.values()) != total:
        raise _fail(file, "$.weights.categories", f"各类分值合计 {sum(cats.values())} 不等于指标总分 {total}")

    grades = tuple(Grade(g["name"], _dec(g["min"])) for g in d["grades"])
    for i in range(1, len(grades)):
        if grades[i].min >= grades[i - 1].min:
            raise _fail(file, f"$.grades[{i}].min", "等级下限必须从高到低严格递减")
    if grades[-1].min != 0:
        raise _fail(file, f"$.grades[{len(grades) - 1}].min", "最低等级的下限必须为 0")
    if len({g.name for g in grades}) != len(grades):
        raise _fail(file, "$.grades", "等级名称重复")

    bands = {}
    for key, b in d["qualitative_bands"].items():
        band = Band(_dec(b["low"]), _dec(b["high"]), bool(b["high_inclusive"]))
        if not band.low < band.high:
            raise _fail(file, f"$.qualitative_bands.{key}", "low 必须小于 high")
        bands[key] = band

    q = d["quantitative"]
    reverse, exact = _dec(q["reverse_zero_at"]), _dec(q["exact_zero_at"])
    if reverse <= 1:
        raise _fail(file, "$.quantitative.reverse_zero_at", "必须大于 1（得0分时实际值是目标值的倍数）")
    if exact <= 0:
        raise _fail(file, "$.quantitative.exact_zero_at", "必须大于 0")

    trim_above, trim_each = int(d["panel"]["trim_when_more_than"]), int(d["panel"]["trim_each_side"])
    if 2 * trim_each > trim_above:
        raise _fail(file, "$.panel.trim_each_side", "去掉最高分和最低分后必须至少剩下一个分数")

    a = d["audit"]
    bl = a["budget_lowered"]
    audit = AuditRules(
        self_score_tolerance=_dec(a["self_score_tolerance"]),
        indicator_self_score_tolerance=_dec(a["indicator_self_score_tolerance"]),
        qualitative_max_share=_dec(a["qualitative_max_share"]),
        outlier_share=_dec(a["outlier_share"]),
        outlier_min_scores=int(a["outlier_min_scores"]),
        min_panel_members=int(a["min_panel_members"]),
        budget_lowered=BudgetLowered(_dec(bl["rate_tolerance"]), _dec(bl["min_cut_share"])),
        vague_words=tuple(a["vague_words"]),
        none_words=tuple(a["none_words"]),
        **_budget_raised(a),
    )
    return Rules(
        name=d["name"],
        title=d["title"],
        description=d.get("description", ""),
        source=file,
        budget_weight=_dec(w["budget"]),
        indicator_total=total,
        category_weights=MappingProxyType(cats),
        grade_bands=grades,
        bands=MappingProxyType(bands),
        reverse_zero_at=reverse,
        exact_zero_at=exact,
        trim_when_more_than=trim_above,
        trim_each_side=trim_each,
        places=int(d["rounding"]["places"]),
        audit=audit,
        panel_mode=d["panel"].get("mode", "auto"),
        ledger_tolerance=_dec(d.get("ledger", {}).get("tolerance", "0.01")),
    )
