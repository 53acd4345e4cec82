"""The package's public API: typed, exported from ``selfeval_xlsx``, consistent results, cheap to import."""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing
from pathlib import Path

from click.testing import CliRunner
from workbooks import seed_bytes

import selfeval_xlsx
from selfeval_xlsx import api
from selfeval_xlsx.cli import cli
from selfeval_xlsx.merge import merge as merge_impl


def test_every_exported_name_resolves_and_api_functions_are_exported() -> None:
    for name in selfeval_xlsx.__all__:
        assert getattr(selfeval_xlsx, name) is not None, name
    for name in api.__all__:
        if name != "merge":  # the name of the module selfeval_xlsx.merge: api.merge
            assert getattr(selfeval_xlsx, name) is getattr(api, name), name
    for name in ("Rules", "Scored", "Validated", "Report", "Finding", "Document", "Limits", "MergeResult"):
        assert inspect.isclass(getattr(selfeval_xlsx, name)), name
    from selfeval_xlsx import merge  # still the module, as the tests and the CLI expect

    assert inspect.ismodule(merge)


def test_public_signatures_name_real_types() -> None:
    """No ``Any`` where a real type exists: what each public function returns, and merge's keywords."""
    types = {
        n: getattr(selfeval_xlsx, n)
        for n in selfeval_xlsx.__all__
        if inspect.isclass(getattr(selfeval_xlsx, n))
    }
    hints = {name: typing.get_type_hints(getattr(api, name), localns=types) for name in api.__all__}
    assert hints["load_rules"]["return"] is selfeval_xlsx.Rules
    assert hints["score_workbook"]["return"] is selfeval_xlsx.Scored
    assert hints["validate_workbook"]["return"] is selfeval_xlsx.Validated
    assert hints["merge"]["return"] is selfeval_xlsx.MergeResult
    assert hints["load_keyring"]["return"] is selfeval_xlsx.KeyRing
    for name, h in hints.items():
        assert h.get("return") is not typing.Any, name
    assert "options" not in inspect.signature(api.merge).parameters
    impl = inspect.signature(merge_impl).parameters
    assert list(inspect.signature(api.merge).parameters) == list(impl)


def test_validate_and_score_return_alike_objects() -> None:
    data = seed_bytes()
    validated = selfeval_xlsx.validate_workbook(data, name="seed.xlsx")
    scored = selfeval_xlsx.score_workbook(data, name="seed.xlsx")
    assert validated.valid and scored.valid
    assert validated.document is validated.doc and scored.document is scored.doc
    assert set(validated.report.findings) <= set(scored.report.findings)  # scoring adds the audit's
    doc, report = validated  # still unpacks as the tuple it was
    assert doc is validated.doc and report is validated.report


def test_invalid_workbook_through_library_and_cli(tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"not a workbook")
    validated = selfeval_xlsx.validate_workbook(path)
    assert not validated.valid
    assert [f.code for f in validated.report] == ["not-a-workbook"]
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert validated.report.findings[0].message in result.output


def test_py_typed_is_shipped() -> None:
    assert (Path(selfeval_xlsx.__file__).parent / "py.typed").is_file()
    assert '"py.typed"' in (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")


def test_import_stays_light() -> None:
    """``import selfeval_xlsx`` loads none of the heavy modules (they load on first use)."""
    code = "import sys, selfeval_xlsx; print(sorted(m for m in sys.modules if m.startswith('selfeval_xlsx')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['selfeval_xlsx', 'selfeval_xlsx.version']"
