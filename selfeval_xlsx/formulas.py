"""A tiny, safe evaluator for the formulas people put in amount cells (``=SUM(B13:B15)``, ``=B13+B14``).

A workbook's cached formula results are never trusted: the reader recomputes a formula with this
evaluator from the cells it references, or rejects the cell. Supported: numbers, same-sheet cell
references and ranges, ``SUM``, ``+ - * /``, unary minus and parentheses. Anything else (other
functions, other sheets, names, text) raises :class:`FormulaError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext

from .xlsx.cells import parse_a1

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<range>\$?[A-Z]{1,3}\$?\d+:\$?[A-Z]{1,3}\$?\d+)"
    r"|(?P<ref>\$?[A-Z]{1,3}\$?\d+)|(?P<func>SUM)\s*\(|(?P<op>[-+*/(),]))",
    re.IGNORECASE,
)
MAX_CELLS = 500


class FormulaError(ValueError):
    """The formula is outside what the evaluator supports, or refers to a non-number."""


Lookup = Callable[[int, int], Decimal]


def tokenize(formula: str) -> list[tuple[str, str]]:
    text = formula.strip()
    if text.startswith("="):
        text = text[1:]
    pos, out = 0, []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise FormulaError(f"不支持的公式内容：{text[pos : pos + 20]}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def evaluate(formula: str, lookup: Lookup) -> Decimal:
    """Value of ``formula``; ``lookup(row, col)`` returns a referenced cell's number or raises."""
    tokens = tokenize(formula)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise FormulaError("公式不完整")
        pos += 1
        return tokens[pos - 1]

    def cells(rng: str) -> list[Decimal]:
        a, b = rng.replace("$", "").split(":")
        (r1, c1), (r2, c2) = parse_a1(a), parse_a1(b)
        if (abs(r2 - r1) + 1) * (abs(c2 - c1) + 1) > MAX_CELLS:
            raise FormulaError("公式引用的区域过大")
        return [
            lookup(r, c)
            for r in range(min(r1, r2), max(r1, r2) + 1)
            for c in range(min(c1, c2), max(c1, c2) + 1)
        ]

    def atom() -> Decimal:
        kind, text = take()
        if kind == "num":
            return Decimal(text)
        if kind == "ref":
            return lookup(*parse_a1(text.replace("$", "")))
        if kind == "op" and text == "-":
            return -atom()
        if kind == "op" and text == "+":
            return atom()
        if kind == "op" and text == "(":
            value = expr()
            if take() != ("op", ")"):
                raise FormulaError("括号不匹配")
            return value
        if kind == "func":
            total = Decimal(0)
            while True:
                nxt = peek()
                if nxt and nxt[0] == "range":
                    take()
                    total += sum(cells(nxt[1]), Decimal(0))
                else:
                    total += expr()
                sep = take()
                if sep == ("op", ")"):
                    return total
                if sep != ("op", ","):
                    raise FormulaError("SUM参数格式不正确")
        raise FormulaError(f"不支持的公式内容：{text}")

    def term() -> Decimal:
        value = atom()
        while (nxt := peek()) and nxt[0] == "op" and nxt[1] in "*/":
            take()
            rhs = atom()
            try:
                value = value * rhs if nxt[1] == "*" else value / rhs
            except (DivisionByZero, InvalidOperation) as exc:
                raise FormulaError("公式除数为0") from exc
        return value

    def expr() -> Decimal:
        value = term()
        while (nxt := peek()) and nxt[0] == "op" and nxt[1] in "+-":
            take()
            value = value + term() if nxt[1] == "+" else value - term()
        return value

    with localcontext() as ctx:
        ctx.prec = 28
        ctx.traps[DivisionByZero] = True
        result = expr()
    if pos != len(tokens):
        raise FormulaError("公式格式不正确")
    return result
