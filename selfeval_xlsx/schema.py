"""The JSON Schema (draft 2020-12) of a submission document, generated from the layout.

The shipped file ``schema/submission.schema.json`` is this module's output (``python -m
selfeval_xlsx.schema`` rewrites it; a test checks they match), so other systems can validate the
``rollup.json``/document data without Python, and the schema can never drift from the workbook.

:func:`validator` says what is wrong with a document; :func:`fast_check`, the same schema compiled to
Python, only says whether anything is, ten times faster, for the many documents where nothing is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker

from . import layout
from .version import TEMPLATE_VERSION

SCHEMA_FILE = "submission.schema.json"
QUANTITATIVE = ["≥", "≤", "="]


def field_schema(f: layout.Field) -> dict[str, Any]:
    """Schema of one field's value."""
    s: dict[str, Any]
    if f.type in (layout.FieldType.MONEY, layout.FieldType.SCORE):
        s = {"type": "number"}
    elif f.type in (layout.FieldType.YEAR, layout.FieldType.INT):
        s = {"type": "integer"}
    elif f.type == layout.FieldType.NUMTEXT:
        s = {"type": ["number", "string"]}
    elif f.type == layout.FieldType.DATE:
        s = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    else:
        s = {"type": "string", "minLength": 1}
    if f.minimum is not None:
        s["minimum"] = int(f.minimum) if f.minimum == f.minimum.to_integral_value() else float(f.minimum)
    if f.maximum is not None:
        s["maximum"] = int(f.maximum) if f.maximum == f.maximum.to_integral_value() else float(f.maximum)
    if f.max_length and f.type != layout.FieldType.NUMTEXT:
        s["maxLength"] = f.max_length
    if f.pattern:
        s["pattern"] = f.pattern
    if f.type == layout.FieldType.CHOICE and f.choices:
        s["enum"] = list(f.choices)
    s["title"] = f.label
    if f.unit:
        s["description"] = f"单位：{f.unit}"
    return s


def _object(fields: tuple[layout.Field, ...], required: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": {f.key: field_schema(f) for f in fields},
        "required": [f.key for f in fields if f.required and required],
    }
    conditions = [
        {
            "if": {"properties": {key: {"const": value}}, "required": [key]},
            "then": {"required": [f.key]},
        }
        for f in fields
        if f.required_when and required
        for key, value in [f.required_when]
    ]
    if conditions:
        out["allOf"] = conditions
    return out


def build_schema() -> dict[str, Any]:
    """The submission schema, derived from :data:`selfeval_xlsx.layout.WORKBOOK`."""
    props: dict[str, Any] = {}
    required: list[str] = []
    for sheet in layout.WORKBOOK.data_sheets:
        for p in sheet.placements:
            b = p.block
            if isinstance(b, layout.Form):
                props[b.key] = _object(b.fields)
                required.append(b.key)
            elif isinstance(b, layout.Grid):
                cols = tuple(c for c in b.columns)
                props[b.key] = {
                    "type": "object",
                    "properties": {
                        key: {
                            **_object(cols, required=key in b.required_rows),
                            "title": label,
                        }
                        for key, label in b.rows
                    },
                    "required": list(b.required_rows),
                }
                required.append(b.key)
            elif isinstance(b, layout.Table):
                item = _object(tuple(c for c in b.columns if not c.output))
                item["properties"]["seq"] = {"type": "integer", "minimum": 1, "title": "序号"}
                if b.key == "indicators":
                    item["allOf"] = [
                        {
                            "if": {"properties": {"nature": {"enum": QUANTITATIVE}}, "required": ["nature"]},
                            "then": {
                                "properties": {"target": {"type": "number"}, "actual": {"type": "number"}}
                            },
                        },
                        {
                            "if": {"properties": {"nature": {"const": "定性"}}, "required": ["nature"]},
                            "then": {"required": ["completion"]},
                        },
                    ]
                props[b.key] = {"type": "array", "items": item, "maxItems": b.rows}
                if b.min_rows:
                    props[b.key]["minItems"] = b.min_rows
                    required.append(b.key)
            elif isinstance(b, layout.Matrix):
                props[b.key] = {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "row": {"type": "integer", "minimum": 1},
                            "column": {"type": "integer", "minimum": 1, "maximum": b.columns},
                            "value": field_schema(b.value),
                        },
                        "required": ["row", "column", "value"],
                    },
                }
                if b.agreed:
                    props[b.agreed_key] = {
                        "type": "array",
                        "title": b.agreed.label,
                        "items": {
                            "type": "object",
                            "properties": {
                                "row": {"type": "integer", "minimum": 1},
                                "value": field_schema(b.agreed),
                            },
                            "required": ["row", "value"],
                        },
                    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://selfeval-xlsx.invalid/schema/submission-{TEMPLATE_VERSION}.json",
        "title": "乡镇整体支出绩效自评表",
        "description": f"Document read from the standard workbook, template version {TEMPLATE_VERSION}. "
        "Generated from selfeval_xlsx/layout.py; do not edit by hand.",
        "type": "object",
        "properties": props,
        "required": required,
    }


def schema_text(schema: dict[str, Any] | None = None) -> str:
    """Canonical JSON text of the schema (what the shipped file holds)."""
    return json.dumps(schema or build_schema(), ensure_ascii=False, indent=2) + "\n"


@cache
def load_schema() -> dict[str, Any]:
    """The shipped schema file."""
    text = resources.files("selfeval_xlsx").joinpath("schema", SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def validator() -> Draft202012Validator:
    """The compiled validator (built once per process). The shipped schema is checked against the
    metaschema by the tests, not here: that check costs a tenth of a second in every process."""
    return Draft202012Validator(load_schema(), format_checker=FormatChecker())


#: Keywords that mean the same to fastjsonschema (draft 7) and to :func:`validator` (draft 2020-12), with
#: the checks of :func:`_draft7` (``items`` is a single schema: no ``prefixItems`` in either). A schema with
#: any other keyword gets no fast path.
FAST_KEYWORDS = frozenset(
    {
        *("$schema", "$id", "title", "description", "type", "properties", "required", "allOf", "if", "then"),
        *("minLength", "maxLength", "pattern", "format", "enum", "const", "minimum", "maximum"),
        *("items", "minItems", "maxItems"),
    }
)


def _draft7(
    s: dict[str, Any], formats: set[str], arrays: list[str], path: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A copy of the (sub)schema at ``path`` for fastjsonschema; ValueError where verdicts could differ.

    Collects the format names in ``formats`` and the root's array properties in ``arrays``.
    """
    if unknown := set(s) - FAST_KEYWORDS:
        raise ValueError(f"not checked for the fast path: {sorted(unknown)}")
    out = dict(s)
    types = s.get("type", [])
    types = types if isinstance(types, list) else [types]
    if "array" in types or {"items", "minItems", "maxItems"} & set(s):
        # fastjsonschema takes tuples as arrays, jsonschema does not: fast_check makes sure these are lists
        if len(path) != 1 or types != ["array"]:
            raise ValueError("arrays are checked only as properties of the root object")
        arrays.append(path[0])
    if {"minimum", "maximum"} & set(s) and not types:
        raise ValueError("a bound without a type would let numbers other than int, float, Decimal through")
    if not all(isinstance(v, str) for v in [*s.get("enum", []), *([s["const"]] if "const" in s else [])]):
        raise ValueError("enum and const are compared alike only for strings")
    pattern = s.get("pattern", "")
    if "$" in pattern:
        # fastjsonschema turns `$` into `\Z`; jsonschema's re.search also matches before a final newline
        if pattern.count("$") != 1 or not pattern.endswith("$") or pattern.endswith("\\$"):
            raise ValueError("`$` is rewritten only as the final anchor")
        out["pattern"] = pattern[:-1] + r"(?=\n?\Z)"
    if "format" in s:
        formats.add(s["format"])
    if "properties" in s:
        out["properties"] = {k: _draft7(v, formats, arrays, (*path, k)) for k, v in s["properties"].items()}
    for word in ("items", "if", "then"):
        if word in s:
            out[word] = _draft7(s[word], formats, arrays, (*path, word))
    if "allOf" in s:
        out["allOf"] = [_draft7(sub, formats, arrays, (*path, "allOf")) for sub in s["allOf"]]
    if not path:
        out["$schema"] = "http://json-schema.org/draft-07/schema#"
    return out


def _per_block(definition: dict[str, Any]) -> dict[str, Any]:
    """The same draft-7 schema with each root property, and the items of arrays whose items have
    conditions (``allOf`` of ``if``/``then``), moved under ``definitions`` and referred to by ``$ref``:
    fastjsonschema then compiles each into a function of its own. Same verdicts, faster: an ``if`` that
    does not hold raises inside the generated code, whose message is built from ``locals()`` — a few
    names in a small function, hundreds in one for all. Items without conditions stay inline (a call per
    item would cost more than it saves)."""
    out = dict(definition)
    out.pop("$id", None)  # nothing to resolve against: every $ref below points into this document
    definitions: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for key, sub in definition.get("properties", {}).items():
        sub, name = dict(sub), key.replace("~", "~0").replace("/", "~1")  # a JSON pointer token
        if isinstance(sub.get("items"), dict) and "allOf" in sub["items"]:  # items with an `if` of their own
            definitions[f"{key}_item"] = sub["items"]
            sub["items"] = {"$ref": f"#/definitions/{name}_item"}
        definitions[key] = sub
        properties[key] = {"$ref": f"#/definitions/{name}"}
    out["properties"] = properties
    out["definitions"] = definitions
    return out


@cache
def fast_check() -> Callable[[Any], bool]:
    """A compiled yes/no check of a document against :func:`load_schema` (about 10x faster).

    True means :func:`validator` finds no error; False means it may find some (ask it which). Formats
    are checked by the validator's own format checker, so e.g. "2023-02-30" fails both.
    """
    formats: set[str] = set()
    arrays: list[str] = []
    try:
        definition = _draft7(load_schema(), formats, arrays)
    except ValueError:
        return lambda data: False  # no fast path: every document goes to the full validator
    checker = FormatChecker()  # as validator() has it

    def conforms(name: str) -> Callable[[Any], bool]:
        return lambda value: checker.conforms(value, name)

    compiled = fastjsonschema.compile(
        _per_block(definition),
        formats={name: conforms(name) for name in formats},
        use_default=False,  # never write defaults into the document
    )

    def check(data: Any) -> bool:
        try:
            compiled(data)
        except Exception:  # a validation error, or a comparison that raises (Decimal("NaN") < 0)
            return False
        return all(isinstance(data[k], list) for k in arrays if k in data)

    return check


def write_schema_file(path: Path | None = None) -> Path:
    """Regenerate the shipped schema file."""
    target = path or Path(__file__).parent / "schema" / SCHEMA_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(schema_text(), encoding="utf-8")
    return target


if __name__ == "__main__":
    print(write_schema_file())
