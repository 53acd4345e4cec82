"""Rules profiles: shipped profiles, grade bands, decimals, and invalid profile files."""

from __future__ import annotations

import dataclasses
import json
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from selfeval_xlsx.rules import RulesError, list_rules, load_rules

D = Decimal
RULES_DIR = Path(__file__).resolve().parents[1] / "selfeval_xlsx" / "rules"


def profile_data(name: str = "default") -> dict:
    return json.loads((RULES_DIR / f"{name}.json").read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict | str, name: str = "custom.json") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_profiles_are_listed() -> None:
    assert list_rules() == ["budget-20", "default", "mof-2020"]


def test_schema_is_valid_draft_2020_12() -> None:
    schema = json.loads((RULES_DIR / "rules.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_none_loads_default() -> None:
    assert load_rules() == load_rules("default")
    assert load_rules().name == "default"
    assert load_rules().grades == ("优秀", "良好", "一般", "较差")
    assert load_rules("mof-2020").grades == ("优", "良", "中", "差")


@pytest.mark.parametrize("name", ["default", "mof-2020"])
def test_both_profiles_hold_the_domain_numbers(name: str) -> None:
    r = load_rules(name)
    assert r.name == name
    assert r.budget_weight == D(10)
    assert r.indicator_total == D(90)
    assert dict(r.category_weights) == {"产出指标": D(50), "效益指标": D(30), "满意度指标": D(10)}
    assert {k: (b.low, b.high, b.high_inclusive) for k, b in r.bands.items()} == {
        "达成": (D("0.8"), D("1.0"), True),
        "部分达成": (D("0.6"), D("0.8"), False),
        "未达成": (D(0), D("0.6"), False),
    }
    assert r.reverse_zero_at == D(2)
    assert r.exact_zero_at == D(1)
    assert (r.trim_when_more_than, r.trim_each_side, r.places) == (5, 1, 2)
    assert r.audit.self_score_tolerance == D("0.5")
    assert r.audit.qualitative_max_share == D("0.5")
    assert r.audit.outlier_share == D("0.3")
    assert r.audit.min_panel_members == 3
    for word in (
        "较高",
        "明显",
        "及时",
        "显著",
        "良好",
        "有效",
        "进一步",
        "稳步",
        "大幅",
        "较好",
        "高质量",
        "保持",
    ):
        assert word in r.audit.vague_words
    assert "无" in r.audit.none_words
    # every number is a Decimal (never a float)
    assert all(isinstance(v, Decimal) for v in r.category_weights.values())
    assert all(isinstance(g.min, Decimal) for g in r.grade_bands)


@pytest.mark.parametrize(
    ("total", "grade"),
    [
        ("100", "优秀"),
        ("85", "优秀"),
        ("85.00", "优秀"),
        ("84.99", "良好"),
        ("75", "良好"),
        ("74.99", "一般"),
        ("60", "一般"),
        ("59.99", "较差"),
        ("0", "较差"),
    ],
)
def test_default_grade_edges(total: str, grade: str) -> None:
    assert load_rules().grade_for(D(total)) == grade


@pytest.mark.parametrize(
    ("total", "grade"),
    [
        ("100", "优"),
        ("90", "优"),
        ("89.99", "良"),
        ("85", "良"),
        ("80", "良"),
        ("79.99", "中"),
        ("60", "中"),
        ("59.99", "差"),
        ("0", "差"),
    ],
)
def test_mof_2020_grade_edges(total: str, grade: str) -> None:
    assert load_rules("mof-2020").grade_for(D(total)) == grade


def test_grade_text_matches_the_seed_report_wording() -> None:
    assert load_rules().grade_text() == "得分≥85为优秀；75≤得分<85为良好；60≤得分<75为一般；得分<60为较差"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("2.675", "2.68"), ("0.125", "0.13"), ("8.825", "8.83"), ("1.005", "1.01"), ("-0.125", "-0.13")],
)
def test_quantize_is_half_up(value: str, shown: str) -> None:
    r = load_rules()
    assert r.quantize(D(value)) == D(shown)
    assert r.fmt(D(value)) == shown


def test_quantize_takes_the_digits_it_needs() -> None:
    """More digits than the context's 28 (a ratio of a huge amount to a tiny one) round, not raise; the
    contexts kept between calls do not carry one call's precision into the next."""
    r = load_rules()
    huge = D("123456789012345678901234567890.125")
    assert r.quantize(huge) == D("123456789012345678901234567890.13")
    assert r.quantize(D("2.675")) == D("2.68")
    assert r.quantize(D("-0.005")) == D("-0.01")


def test_half_up_differs_from_float_and_bankers_rounding() -> None:
    # the cases above are the ones where the wrong tools give a different answer
    assert round(2.675, 2) == 2.67  # binary float
    assert round(8.825, 2) == 8.82
    assert D("0.125").quantize(D("0.01"), rounding=ROUND_HALF_EVEN) == D("0.12")  # banker's
    assert load_rules().quantize(D("0.125")) == D("0.13")


@pytest.mark.parametrize(
    ("completion", "weight", "band"),
    [
        ("达成", "10", ("8.00", "10.00")),
        ("部分达成", "10", ("6.00", "7.99")),
        ("未达成", "10", ("0.00", "5.99")),
        ("部分达成", "7.3", ("4.38", "5.83")),  # 0.6 × 7.3 = 4.38; 0.8 × 7.3 = 5.84 exclusive → 5.83
        ("达成", "3.33", ("2.67", "3.33")),  # 2.664 rounded up so the shown score stays in the band
        ("部分达成", "3.33", ("2.00", "2.66")),  # 1.998 → 2.00; 2.664 exclusive → 2.66
        (None, "10", None),
        ("看不懂", "10", None),
    ],
)
def test_band_points(completion: str | None, weight: str, band: tuple[str, str] | None) -> None:
    got = load_rules().band_points(completion, D(weight))
    assert got == (None if band is None else (D(band[0]), D(band[1])))


def test_rules_are_frozen() -> None:
    r = load_rules()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.budget_weight = D(20)  # type: ignore[misc]


def test_load_from_path_with_numbers_as_strings(tmp_path: Path) -> None:
    data = profile_data()
    data["name"] = "province-x"
    data["weights"] = {
        "budget": "20",
        "indicators": "80",
        "categories": {"产出指标": "40.5", "效益指标": "29.5", "满意度指标": "10"},
    }
    data["audit"]["self_score_tolerance"] = "0.1"
    path = write(tmp_path, data)
    r = load_rules(path)
    assert r.name == "province-x"
    assert r.source == str(path)
    assert r.budget_weight == D(20)
    assert r.category_weights["产出指标"] == D("40.5")
    assert r.audit.self_score_tolerance == D("0.1")
    assert load_rules(str(path)) == r  # a str path works too


def test_json_floats_load_as_exact_decimals(tmp_path: Path) -> None:
    data = profile_data()
    path = write(
        tmp_path, json.dumps(data).replace('"self_score_tolerance": 0.5', '"self_score_tolerance": 0.1')
    )
    r = load_rules(path)
    assert r.audit.self_score_tolerance == D("0.1")  # not 0.1000000000000000055511151231257827
    assert str(r.audit.self_score_tolerance) == "0.1"


def test_places_is_a_setting(tmp_path: Path) -> None:
    data = profile_data()
    data["rounding"]["places"] = 1
    r = load_rules(write(tmp_path, data))
    assert r.unit == D("0.1")
    assert r.quantize(D("2.65")) == D("2.7")
    assert r.band_points("部分达成", D(10)) == (D("6.0"), D("7.9"))


# --- invalid profiles -------------------------------------------------------------------------------


def _mutate(path: str, value: object) -> dict:
    data = profile_data()
    node = data
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("change", "value", "json_path"),
    [
        ("grades.1.min", "八十五", "$.grades[1].min"),  # not a number
        ("grades.1.min", -5, "$.grades[1].min"),  # negative
        ("weights.budget", True, "$.weights.budget"),
        ("audit.outlier_share", "1.5", "$.audit.outlier_share"),  # a share above 1
        ("audit.outlier_share", 1.5, "$.audit.outlier_share"),
        ("panel.trim_when_more_than", 5.5, "$.panel.trim_when_more_than"),  # not an integer
        ("weights.indicators", _DELETE, "$.weights"),  # required
        ("qualitative_bands.基本达成", {"low": 0, "high": 1, "high_inclusive": True}, "$.qualitative_bands"),
        ("audit.vague_words", ["较高", "较高"], "$.audit.vague_words"),
        ("name", "Default Profile", "$.name"),
        # cross-field rules the schema cannot express
        ("weights.categories.产出指标", 60, "$.weights.categories"),  # 60 + 30 + 10 ≠ 90
        ("grades.2.min", 80, "$.grades[2].min"),  # not descending
        ("grades.3.min", 10, "$.grades[3].min"),  # worst grade must start at 0
        ("qualitative_bands.部分达成.low", 0.8, "$.qualitative_bands.部分达成"),  # low == high
        ("quantitative.reverse_zero_at", 1, "$.quantitative.reverse_zero_at"),
        ("quantitative.exact_zero_at", 0, "$.quantitative.exact_zero_at"),
        ("panel.trim_each_side", 3, "$.panel.trim_each_side"),  # 6 scores − 2×3 leaves none
    ],
)
def test_invalid_profile_names_file_and_json_path(
    tmp_path: Path, change: str, value: object, json_path: str
) -> None:
    path = write(tmp_path, _mutate(change, value), "坏规则.json")
    with pytest.raises(RulesError) as info:
        load_rules(path)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.json_path == json_path
    assert err.file == str(path)
    assert str(path) in str(err) and json_path in str(err)


def test_not_json(tmp_path: Path) -> None:
    path = write(tmp_path, '{"name": "x",\n  "title": }')
    with pytest.raises(RulesError, match=r"不是有效的JSON（第2行"):
        load_rules(path)


def test_nan_is_not_a_number(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        json.dumps(profile_data()).replace('"self_score_tolerance": 0.5', '"self_score_tolerance": NaN'),
    )
    with pytest.raises(RulesError, match="NaN 不是数值"):
        load_rules(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="无法读取") as info:
        load_rules(tmp_path / "nope.json")
    assert info.value.file.endswith("nope.json")


def test_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(RulesError, match="default、mof-2020"):
        load_rules("anhui")


def test_wrong_top_level_type(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as info:
        load_rules(write(tmp_path, "[1, 2]"))
    assert info.value.json_path == "$"


def test_existing_file_without_extension_is_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = profile_data("mof-2020")
    data["name"] = "county-y"
    write(tmp_path, data, "county-y")
    monkeypatch.chdir(tmp_path)
    assert load_rules("county-y").name == "county-y"
    assert load_rules("default").name == "default"  # a shipped name still wins
