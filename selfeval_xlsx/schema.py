"""The JSON Schema (draft 2020-12) of a submission document, generated from the layout.

The shipped file ``schema/submission.schema.json`` is this module's output (``python -m
selfeval_xlsx.schema`` rewrites it; a test checks they match), so other systems can validate the
``rollup.json``/document data without Python, and the schema can never drift from the workbook.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from . import layout as L
from .version import TEMPLATE_VERSION

SCHEMA_FILE = "submission.schema.json"
QUANTITATIVE = ["≥", "≤", "="]


def field_schema(f: L.Field) -> dict[str, Any]:
    """Schema of one field's value."""
    s: dict[str, Any]
    if f.type in (L.T.MONEY, L.T.SCORE):
        s = {"type": "number"}
    elif f.type in (L.T.YEAR, L.T.INT):
        s = {"type": "integer"}
    elif f.type == L.T.NUMTEXT:
        s = {"type": ["number", "string"]}
    elif f.type == L.T.DATE:
        s = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    else:
        s = {"type": "string", "minLength": 1}
    if f.minimum is not None:
        s["minimum"] = int(f.minimum) if f.minimum == f.minimum.to_integral_value() else float(f.minimum)
    if f.maximum is not None:
        s["maximum"] = int(f.maximum) if f.maximum == f.maximum.to_integral_value() else float(f.maximum)
    if f.max_length and f.type != L.T.NUMTEXT:
        s["maxLength"] = f.max_length
    if f.pattern:
        s["pattern"] = f.pattern
    if f.type == L.T.CHOICE and f.choices:
        s["enum"] = list(f.choices)
    s["title"] = f.label
    if f.unit:
        s["description"] = f"单位：{f.unit}"
    return s


def _object(fields: tuple[L.Field, ...], required: bool = True) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {f.key: field_schema(f) for f in fields},
        "required": [f.key for f in fields if f.required and required],
    }


def build_schema() -> dict[str, Any]:
    """The submission schema, derived from :data:`selfeval_xlsx.layout.WORKBOOK`."""
    props: dict[str, Any] = {}
    required: list[str] = []
    for sheet in L.WORKBOOK.data_sheets:
        for p in sheet.placements:
            b = p.block
            if isinstance(b, L.Form):
                props[b.key] = _object(b.fields)
                required.append(b.key)
            elif isinstance(b, L.Grid):
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
            elif isinstance(b, L.Table):
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
                props[b.key] = {"type": "array", "items": item, "minItems": 1, "maxItems": b.rows}
                required.append(b.key)
            elif isinstance(b, L.Matrix):
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
    """The compiled validator (built once per process)."""
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def write_schema_file(path: Path | None = None) -> Path:
    """Regenerate the shipped schema file."""
    target = path or Path(__file__).parent / "schema" / SCHEMA_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(schema_text(), encoding="utf-8")
    return target


if __name__ == "__main__":
    print(write_schema_file())
