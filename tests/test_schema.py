"""The shipped JSON Schema is generated from the layout and validates real documents."""

from __future__ import annotations

from jsonschema import Draft202012Validator
from workbooks import seed_bytes

from selfeval_xlsx import layout
from selfeval_xlsx.reader import read_workbook
from selfeval_xlsx.schema import build_schema, load_schema, schema_text, validator


def test_shipped_schema_is_the_generated_one() -> None:
    assert load_schema() == build_schema(), "run: python -m selfeval_xlsx.schema"
    Draft202012Validator.check_schema(load_schema())
    assert schema_text().endswith("\n")


def test_every_required_layout_field_is_required_in_the_schema() -> None:
    schema = load_schema()
    for block in (layout.IDENTITY, layout.GOALS, layout.SELF, layout.REVIEW):
        assert set(schema["properties"][block.key]["required"]) == {f.key for f in block.fields if f.required}
    item = schema["properties"]["indicators"]["items"]
    assert set(item["required"]) == {f.key for f in layout.INDICATORS.columns if f.required}


def test_seed_document_is_schema_valid() -> None:
    doc = read_workbook(seed_bytes())
    assert list(validator().iter_errors(doc.data)) == []
