"""The compiled fast check agrees with the full JSON Schema validator (issue 6).

``validate_document`` asks :func:`fast_check` first and runs jsonschema only when it says no, so a
document the fast check passes must be one in which jsonschema finds no error; and for the values
documents hold, the converse too (else the fast path would be wasted). Checked on the sample workbooks,
the readable cases of the hostile catalogue and random mutations of a valid document, together with
the findings themselves, which must be the same as without the fast path.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import hostile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workbooks import seed_bytes

from selfeval_xlsx.document import Document
from selfeval_xlsx.reader import read_workbook
from selfeval_xlsx.schema import _draft7, fast_check, load_schema, validator
from selfeval_xlsx.validate import validate_document

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "inbox"
#: Codes of hostile cases that yield no document to validate.
UNREADABLE = {"not-a-workbook", "corrupt-workbook", "too-large", "encrypted-workbook", "unsupported-format"}


def jsonschema_verdict(data: Any) -> bool | None:
    """True: jsonschema finds no error; False: it finds one; None: it raises (e.g. on Decimal("NaN"))."""
    try:
        return next(iter(validator().iter_errors(data)), None) is None
    except Exception:
        return None


def exotic(value: Any) -> bool:
    """Whether ``value`` holds a number jsonschema takes but fastjsonschema does not (a Fraction)."""
    if isinstance(value, dict):
        return any(exotic(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(exotic(v) for v in value)
    return isinstance(value, numbers.Number) and not isinstance(value, int | float | Decimal)


def assert_agree(data: Any) -> bool:
    """The fast check passes only what jsonschema passes, and (plain values) everything it passes."""
    fast, full = fast_check()(data), jsonschema_verdict(data)
    if fast:
        assert full is True, data
    elif not exotic(data):
        assert full is not True, data
    return fast


def outcome(doc: Document) -> str:
    """What ``validate_document`` makes of a copy of ``doc``: its findings, or the exception it raises."""
    try:
        return repr(validate_document(copy.deepcopy(doc)).findings)  # repr: NaN values compare unequal
    except Exception as e:
        return f"raised {type(e).__name__}"


def assert_same_findings(doc: Document) -> None:
    """Findings with the fast path are those of the full validator alone."""
    with_fast = outcome(doc)
    with mock.patch("selfeval_xlsx.validate.fast_check", return_value=lambda data: False):
        assert outcome(doc) == with_fast


def readable(paths: Iterable[Path]) -> list[Document]:
    docs = [read_workbook(p.read_bytes(), name=p.name) for p in paths]
    return [d for d in docs if d.data]


@cache
def seed_doc() -> Document:
    return read_workbook(seed_bytes(), name="宋营镇.xlsx")


@pytest.fixture(scope="module")
def sample_docs() -> list[Document]:
    return readable(p for p in sorted(SAMPLES.glob("*.xlsx")) if p.is_file())


@pytest.fixture(scope="module")
def hostile_docs(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    folder = tmp_path_factory.mktemp("hostile")
    paths = []
    for case in hostile.catalogue():
        if Path(case.name).suffix.lower() in (".xlsx", ".xlsm") and not set(case.codes) & UNREADABLE:
            (folder / case.id).mkdir()
            path = case.build(folder / case.id)
            if path is not None and path.is_file():
                paths.append(path)
    return readable(paths)


def plain(doc: Document) -> dict[str, Any]:
    return copy.deepcopy(doc.data)


# --- the schema the fast check compiles ------------------------------------------------------------


def test_the_shipped_schema_gets_the_fast_path() -> None:
    """Only keywords checked to mean the same in draft 7 and 2020-12; `$` turned into what re.search means."""
    formats: set[str] = set()
    arrays: list[str] = []
    draft7 = _draft7(load_schema(), formats, arrays)
    assert draft7["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert load_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"  # the copy only
    assert formats == {"date"}
    assert sorted(arrays) == ["indicators", "members", "panel_agreed", "panel_scores"]
    assert (
        draft7["properties"]["identity"]["properties"]["division_code"]["pattern"] == r"^[0-9]{12}(?=\n?\Z)"
    )
    assert fast_check()(plain(seed_doc())) is True


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "number", "multipleOf": 2}}},
        {"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "array"}}}}},
        {"type": "object", "properties": {"a": {"minimum": 1}}},
        {"type": "object", "properties": {"a": {"enum": [1, 2]}}},
        {"type": "object", "properties": {"a": {"type": "string", "pattern": "^a$|^b$"}}},
    ],
)
def test_what_might_differ_gets_no_fast_path(schema: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _draft7(schema, set(), [])


@pytest.mark.parametrize(
    ("pointer", "value", "valid"),
    [
        ("identity/filled_on", "2023-02-30", False),  # the pattern passes; only the date format fails
        ("identity/filled_on", "2023-2-3", False),
        # full-width digits pass the pattern's \d, not the format; fastjsonschema's own date format would
        # take them, and year 0000
        ("identity/filled_on", "２０２３-01-15", False),
        ("identity/filled_on", "0000-01-01", False),
        ("identity/filled_on", "2024-02-29", True),
        ("identity/division_code", "130133101000\n", True),  # jsonschema's re.search: `$` before a final \n
        ("identity/division_code", "1301331010001", False),
        ("identity/year", 2023.0, True),  # draft 6+: a float with no fraction is an integer
        ("identity/year", Decimal(2023), False),  # ... but a Decimal is not
        ("identity/year", True, False),
        ("identity/unit_name", "\ud800" * 60, True),  # lengths count code points, surrogates included
        ("identity/unit_name", "镇" * 61, False),
        ("budget/total/executed", True, False),
        ("budget/total/executed", float("nan"), True),  # NaN is a number below no bound, in both
        ("budget/total/executed", Decimal("NaN"), None),  # comparing it raises, in both
        ("budget/total/executed", Fraction(1, 2), True),  # a number to jsonschema only: falls back to it
        ("indicators", [], False),
        ("members", "x", False),
    ],
)
def test_edge_values(pointer: str, value: Any, valid: bool | None) -> None:
    """``valid``: jsonschema's verdict (None: it raises), which the fast check must share."""
    data = plain(seed_doc())
    *parents, last = pointer.split("/")
    node = data
    for part in parents:
        node = node[part]
    node[last] = value
    assert jsonschema_verdict(data) is valid
    assert assert_agree(data) is (valid is True and not isinstance(value, Fraction))
    assert_same_findings(Document(file="t.xlsx", data=data, cells=seed_doc().cells))


@pytest.mark.parametrize("key", ["indicators", "members", "panel_scores"])
def test_arrays_must_be_lists(key: str) -> None:
    """fastjsonschema takes a tuple for an array, jsonschema does not: the fast check turns it down."""
    data = plain(seed_doc())
    data[key] = tuple(data[key])
    assert data[key]
    assert assert_agree(data) is False
    assert jsonschema_verdict(data) is False
    assert_same_findings(Document(file="t.xlsx", data=data, cells=seed_doc().cells))


# --- real workbooks --------------------------------------------------------------------------------


def test_samples_agree_and_keep_their_findings(sample_docs: list[Document]) -> None:
    verdicts = [assert_agree(plain(d)) for d in sample_docs]
    assert any(verdicts) and not all(verdicts), "the samples hold valid and invalid documents"
    for doc in sample_docs:
        assert_same_findings(doc)


def test_hostile_cases_agree_and_keep_their_findings(hostile_docs: list[Document]) -> None:
    assert len(hostile_docs) >= 20
    for doc in hostile_docs:
        assert_agree(plain(doc))
        assert_same_findings(doc)


def test_an_invalid_document_keeps_its_findings() -> None:
    data = plain(seed_doc())
    data["identity"]["year"] = "二〇二三"
    data["identity"]["filled_on"] = "2023-02-30"
    data["budget"]["total"]["executed"] = -1
    data["indicators"][0]["nature"] = "≥"
    data["indicators"][0]["target"] = "明显提升"
    del data["goals"]["achieved"]
    doc = Document(file="t.xlsx", data=data, cells=seed_doc().cells)
    assert fast_check()(data) is False
    report = validate_document(copy.deepcopy(doc))
    codes = {f.code for f in report.findings}
    assert {"type-error", "invalid-format", "out-of-range", "nature-mismatch", "missing-value"} <= codes
    assert_same_findings(doc)


# --- random mutations of a valid document ----------------------------------------------------------

ODD_STRINGS = [
    *("", " ", "x" * 4001, "镇" * 61, "\ud800", "a\nb", "2023-02-30", "2023-2-3", "2023-01-01\n"),
    *("２０２３-０１-０１", "20230101", "2023-W01-1", "130133101000", "130133101000\n", "1301331010001"),
    *("13800000000", "0311-12345678\n", "≥", "≤", "=", "定性", "达成", "产出指标", "数量指标", "0"),
]
VALUES = st.one_of(
    st.booleans(),
    st.none(),
    st.integers(),
    st.sampled_from([0, 1, -1, 90, 91, 2000, 2100, 2101, 10**8, 10**8 + 1, 2**64, -(2**70)]),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal(0), Decimal("90.00"), Decimal("-0.01"), Decimal("1E+9"), Decimal("Infinity")]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1.0, 0.0, -0.0, 2023.0, 90.5, 1e300, float("nan"), float("inf")]),
    st.fractions(max_denominator=10),
    st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=15),  # surrogates too
    st.sampled_from(ODD_STRINGS),
    st.sampled_from([list, dict, tuple, lambda: [1], lambda: {"a": 1}]).map(lambda make: make()),
)
KEYS = st.one_of(st.text(max_size=8), st.integers(), st.sampled_from(["seq", "nature", "completion", "_x"]))
INDICATOR_FIELDS = ["nature", "target", "actual", "completion", "weight", "seq"]


def places(node: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every value under ``node`` inside a dict or list."""
    out: list[tuple[Any, Any]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        out.append((node, key))
        out += places(value)
    return out


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    data = plain(seed_doc())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["replace", "replace", "indicator", "delete", "add", "tuple", "grow"]))
        spots = places(data)
        dicts = [data] + [c[k] for c, k in spots if isinstance(c[k], dict)]
        lists = [c[k] for c, k in spots if isinstance(c[k], list) and c[k]]
        if op == "replace" and spots:
            container, key = draw(st.sampled_from(spots))
            container[key] = draw(VALUES)
        elif op == "indicator" and isinstance(data.get("indicators"), list) and data["indicators"]:
            row = draw(st.sampled_from(data["indicators"]))
            if isinstance(row, dict):
                field = draw(st.sampled_from(INDICATOR_FIELDS))
                if draw(st.booleans()):
                    row.pop(field, None)
                else:
                    row[field] = draw(st.one_of(st.sampled_from(ODD_STRINGS), VALUES))
        elif op == "delete":
            target = draw(st.sampled_from(dicts))
            if target:
                del target[draw(st.sampled_from(sorted(target, key=repr)))]
        elif op == "add":
            draw(st.sampled_from(dicts))[draw(KEYS)] = draw(VALUES)
        elif op == "tuple" and spots:
            container, key = draw(st.sampled_from(spots))
            if isinstance(container[key], list):
                container[key] = tuple(container[key])
        elif op == "grow" and lists:
            target = draw(st.sampled_from(lists))
            target.extend(copy.deepcopy(target[:1]) * draw(st.sampled_from([1, 9, 50])))
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_agree_and_keep_their_findings(data: dict[str, Any]) -> None:
    """Leaves of other types, keys deleted and added, lists made tuples or too long."""
    assert_agree(data)
    assert_same_findings(Document(file="t.xlsx", data=data, cells=seed_doc().cells))
