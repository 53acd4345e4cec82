"""One message table (selfeval_xlsx/messages.py): every finding code has its wording there, every call
fills exactly its template's placeholders, and no finding is given a message written elsewhere."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import selfeval_xlsx
from selfeval_xlsx import messages
from selfeval_xlsx.findings import CODES

PACKAGE = Path(selfeval_xlsx.__file__).parent

#: Modules whose findings still carry messages written where they are made (issue 15): completed.py (the
#: returned copy's missing-sheet note; its module was being rewritten by issue 18).
NOT_YET_IN_TABLE = {
    "completed.py",
}

#: Codes whose every message is still written in a module of NOT_YET_IN_TABLE (or under xlsx/).
CODES_NOT_YET_IN_TABLE: set[str] = set()

CJK = re.compile(r"[\u4e00-\u9fff]")
CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”]")


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(PACKAGE)), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def _text_calls(kind: str = "text") -> list[tuple[str, ast.Call]]:
    """Every call of ``text(...)`` / ``messages.text(...)`` in the package (or of ``phrase``)."""
    out = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if (isinstance(func, ast.Name) and func.id == kind) or (
                isinstance(func, ast.Attribute)
                and func.attr == kind
                and isinstance(func.value, ast.Name)
                and func.value.id == "messages"
            ):
                out.append((name, node))
    return out


def test_every_code_has_a_message_and_every_message_a_code() -> None:
    assert set(messages.MESSAGES) <= set(CODES), set(messages.MESSAGES) - set(CODES)
    missing = set(CODES) - set(messages.MESSAGES) - CODES_NOT_YET_IN_TABLE
    assert not missing, f"codes without a message template: {sorted(missing)}"
    for code, variants in messages.MESSAGES.items():
        assert variants, code
        for variant, template in variants.items():
            assert CHINESE.search(template), (code, variant)  # the clerk reads Chinese


def test_codes_not_yet_in_table_are_still_pending() -> None:
    """The allow-list only shrinks: a code given its template here is taken off it."""
    assert not CODES_NOT_YET_IN_TABLE & set(messages.MESSAGES)


def test_every_call_fills_exactly_its_templates_placeholders() -> None:
    used: set[tuple[str, str]] = set()
    calls = _text_calls()
    assert len(calls) > 100  # the scan sees the calls (validate, reader, intake, audit, panel, weights)
    for name, call in calls:
        args = call.args
        assert args and isinstance(args[0], ast.Constant), f"{name}:{call.lineno}: code must be a literal"
        code = args[0].value
        variant = "default"
        if len(args) > 1:
            if isinstance(args[1], ast.Constant):
                variant = args[1].value
            elif isinstance(args[1], ast.IfExp):  # "a" if … else "b": both must fit
                for branch in (args[1].body, args[1].orelse):
                    assert isinstance(branch, ast.Constant), f"{name}:{call.lineno}"
                    _check_call(name, call, code, branch.value)
                    used.add((code, branch.value))
                continue
            else:  # a variant named by a variable: each of them is checked by its own test below
                variant = None
        if variant is None:
            continue
        _check_call(name, call, code, variant)
        used.add((code, variant))
    every = {(code, variant) for code, variants in messages.MESSAGES.items() for variant in variants}
    # variants chosen by a variable (validate's invalid-format by field key)
    every -= {("invalid-format", key) for key in ("division_code", "credit_code", "phone", "filled_on")}
    # safety's unsupported-format by the kind sniff.py gives (see test_unsupported_format_by_kind)
    every -= {("unsupported-format", kind) for kind in UNSUPPORTED_KINDS}
    assert not every - used, f"templates no call uses: {sorted(every - used)}"


def _check_call(name: str, call: ast.Call, code: str, variant: str) -> None:
    assert code in messages.MESSAGES and variant in messages.MESSAGES[code], (
        name,
        call.lineno,
        code,
        variant,
    )
    given = {k.arg for k in call.keywords}
    assert None not in given, f"{name}:{call.lineno}: values must be named"
    assert given == set(messages.placeholders(code, variant)), (name, call.lineno, code, variant)


def test_every_phrase_call_fills_exactly_its_placeholders() -> None:
    used: set[tuple[str, str]] = set()
    calls = _text_calls("phrase")
    assert len(calls) > 5  # the scan sees them (signing, rollup_check, resubmissions)
    for name, call in calls:
        args = call.args
        assert args and isinstance(args[0], ast.Constant), f"{name}:{call.lineno}: name must be a literal"
        phrase = args[0].value
        variants = ["default"]
        if len(args) > 1:  # a literal, or "a" if … else "b" (both must fit)
            branches = [args[1].body, args[1].orelse] if isinstance(args[1], ast.IfExp) else [args[1]]
            assert all(isinstance(b, ast.Constant) for b in branches), f"{name}:{call.lineno}"
            variants = [b.value for b in branches if isinstance(b, ast.Constant)]
        for variant in variants:
            assert phrase in messages.PHRASES and variant in messages.PHRASES[phrase], (name, call.lineno)
            given = {k.arg for k in call.keywords}
            assert None not in given, f"{name}:{call.lineno}: values must be named"
            assert given == set(messages.phrase_placeholders(phrase, variant)), (name, call.lineno, variant)
            used.add((phrase, variant))
    every = {(phrase, variant) for phrase, variants in messages.PHRASES.items() for variant in variants}
    assert not every - used, f"phrases no call uses: {sorted(every - used)}"


UNSUPPORTED_KINDS = ["xls", "et", "xlsb", "ods", "xml-spreadsheet", "html", "mht", "rar", "7z", "gzip", "msg"]


@pytest.mark.parametrize("kind", UNSUPPORTED_KINDS)
def test_unsupported_format_by_kind(kind: str) -> None:
    """Each kind safety refuses by name has its message, and sniff knows the kind."""
    from selfeval_xlsx.sniff import KIND_LABELS

    assert kind in KIND_LABELS
    assert messages.placeholders("unsupported-format", kind) == frozenset()
    assert "无法" in messages.text("unsupported-format", kind) or "不是" in messages.text(
        "unsupported-format", kind
    )


def test_titles_and_phrases() -> None:
    assert messages.titles(["a.xlsx", "b.xlsx"]) == "《a.xlsx》《b.xlsx》"
    assert messages.titles(["a", "b", "c"], most=2) == "《a》《b》等"
    assert messages.titles(["a", "b"], most=2) == "《a》《b》"
    assert (
        messages.phrase("rollup", "year", county="赵县", area="130133", year=2023)
        == "赵县（130133）2023年度汇总表"
    )
    with pytest.raises(ValueError, match="year"):
        messages.phrase("rollup", county="赵县", area="130133", year=2023)


@pytest.mark.parametrize("key", ["division_code", "credit_code", "phone", "filled_on"])
def test_invalid_format_variants_by_field_key(key: str) -> None:
    values = {"label": "“x”", "value": "y", **({"length": 3} if key == "credit_code" else {})}
    assert messages.text("invalid-format", key, **values).startswith("“x”为“y”，")


def test_text_raises_on_a_missing_or_unexpected_value() -> None:
    assert messages.text("too-many-rows", label="绩效指标", limit=30) == "绩效指标超过30行。"
    with pytest.raises(ValueError, match="limit"):
        messages.text("too-many-rows", label="绩效指标")
    with pytest.raises(ValueError, match="extra"):
        messages.text("too-many-rows", label="绩效指标", limit=30, extra=1)
    with pytest.raises(KeyError):
        messages.text("too-many-rows", "no-such-variant", label="x", limit=1)
    assert messages.text("sum-mismatch", column="年初预算数", total=1, parts="各资金来源", sum=2.5) == (
        "“年初预算数”合计为1.00万元，但各资金来源之和为2.50万元，请核对后修改。"
    )


_FINDING_MAKERS = {"make", "Finding", "UnsafeInput"}
#: Methods that take a finding's message as an argument (audit/panel ``add``, reader's helpers).
_MESSAGE_TAKERS = {"add", "_whole_file", "_once", "ignored"}


def _literal(node: ast.AST) -> bool:
    """A string written in place: a literal, an f-string, or a sum of them, with Chinese in it."""
    if isinstance(node, ast.BinOp):
        return _literal(node.left) or _literal(node.right)
    if isinstance(node, ast.Constant | ast.JoinedStr):
        return bool(CJK.search(ast.unparse(node)))
    return False


def _message_args(node: ast.Call) -> list[ast.expr]:
    """The arguments of a call that carry a finding's message."""
    func = node.func
    called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    if called in _FINDING_MAKERS:
        return [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "message")]
    if called in _MESSAGE_TAKERS:
        return [*node.args, *(k.value for k in node.keywords)]
    return []


def test_no_finding_message_is_written_outside_the_table() -> None:
    """A message passed as a literal or an f-string, or through a variable of the same function given one."""
    found = []
    for name, tree in _modules():
        if name == "messages.py" or name in NOT_YET_IN_TABLE or name.startswith("xlsx/"):
            continue
        for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]:
            written = {
                t.id
                for n in ast.walk(scope)
                if isinstance(n, ast.Assign | ast.AugAssign) and _literal(n.value)
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                if isinstance(t, ast.Name)
            }
            for node in ast.walk(scope):
                if isinstance(node, ast.Call):
                    for arg in _message_args(node):
                        if _literal(arg) or (isinstance(arg, ast.Name) and arg.id in written):
                            found.append(f"{name}:{node.lineno}")
    assert not found, f"finding messages written outside selfeval_xlsx/messages.py: {sorted(set(found))}"
