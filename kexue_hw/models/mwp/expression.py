"""Safe, exact evaluation of arithmetic expressions (the data filter and the scorer of the MWP solver).

:func:`evaluate` accepts decimal numbers, ``+ - * / **``, unary ``+``/``-`` and round brackets, and
computes with exact :class:`fractions.Fraction` arithmetic (``0.1 + 0.2 == 3/10``). Everything else is
refused with an :class:`ExpressionError` whose message says why: names, calls, attributes, strings,
``//``, ``%``, ``^``, non-integer or large exponents, division by zero, numbers whose numerator or
denominator would exceed ``max_digits`` decimal digits, too many nodes, too deep nesting, too long input.
All limits are checked before the work they bound (a cheap character scan precedes ``ast.parse``; the size
of a power is estimated before it is computed), so no input crashes (``RecursionError``, ``MemoryError``)
or hangs the caller.
"""

from __future__ import annotations

import ast
import math
import re
from fractions import Fraction

__all__ = ["ExpressionError", "evaluate", "answers_match"]

#: characters an expression may contain (checked before parsing)
_ALLOWED = frozenset("0123456789.+-*/() \t")
_DIGIT_RUN = re.compile(r"\d+")
_NUMBER_LITERAL = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)\Z")
_OPERATOR_OR_NUMBER = re.compile(r"\*\*|[-+*/]|\d+(?:\.\d*)?|\.\d+")
_LOG2_10 = math.log2(10)


class ExpressionError(ValueError):
    """An expression that :func:`evaluate` refuses or cannot evaluate; the message says why."""


def evaluate(
    expr: str,
    *,
    max_exponent: int = 100,
    max_digits: int = 200,
    max_nodes: int = 1000,
    max_depth: int = 100,
    max_length: int = 10_000,
) -> Fraction:
    """Exact value of an arithmetic expression such as ``'(1+1/4)*80/100'``.

    ``max_exponent`` bounds ``|e|`` in ``a**e`` (``e`` must be an integer); ``max_digits`` bounds the decimal
    digits of every literal and of the numerator and denominator of every intermediate value;
    ``max_nodes`` bounds numbers plus operators, ``max_depth`` the bracket nesting and the depth of the
    expression tree, ``max_length`` the characters. Raises :class:`ExpressionError` on anything else.
    """
    if not isinstance(expr, str):
        raise ExpressionError(f"expression must be a string, not {type(expr).__name__}")
    if len(expr) > max_length:
        raise ExpressionError(f"expression has {len(expr)} characters, more than max_length={max_length}")
    if not expr.strip():
        raise ExpressionError("empty expression")
    _scan(expr, max_digits=max_digits, max_nodes=max_nodes, max_depth=max_depth)
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression: {expr!r} ({exc.msg})") from None
    except (RecursionError, MemoryError, ValueError):  # bounded by _scan; kept as a last line of defence
        raise ExpressionError(f"expression too complex to parse: {expr[:40]!r}...") from None
    evaluator = _Evaluator(expr.strip(), max_exponent=max_exponent, max_digits=max_digits, max_depth=max_depth)
    try:
        return evaluator.visit(tree.body, 1)
    except RecursionError:  # only with a max_depth near the interpreter's recursion limit
        raise ExpressionError(f"expression nested too deeply for this interpreter: {expr[:40]!r}...") from None


def answers_match(value: Fraction, ans: Fraction | float | int, places: int = 6) -> bool:
    """True when ``value`` and ``ans`` agree after rounding both to ``places`` decimals (exactly, half-even).

    A float ``ans`` is read by its shortest decimal form (``0.1`` is 1/10); NaN and infinities never match.
    """
    try:
        a = _as_fraction(value)
        b = _as_fraction(ans)
    except (TypeError, ValueError, OverflowError):
        return False
    return round(a, places) == round(b, places)


def _as_fraction(x: Fraction | float | int) -> Fraction:
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError("not finite")
        return Fraction(repr(x))
    if isinstance(x, (Fraction, int)) and not isinstance(x, bool):
        return Fraction(x)
    raise TypeError(f"cannot compare a {type(x).__name__}")


def _scan(expr: str, *, max_digits: int, max_nodes: int, max_depth: int) -> None:
    """Cheap checks before ``ast.parse``: allowed characters, bracket balance and depth, literal sizes, node count."""
    for i, ch in enumerate(expr):
        if ch not in _ALLOWED:
            raise ExpressionError(
                f"character {ch!r} at position {i} is not allowed (numbers, + - * / ** and round brackets only)"
            )
    depth = 0
    for i, ch in enumerate(expr):
        if ch == "(":
            depth += 1
            if depth > max_depth:
                raise ExpressionError(f"brackets nested deeper than max_depth={max_depth}")
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ExpressionError(f"unbalanced ')' at position {i}")
    if depth:
        raise ExpressionError(f"{depth} unclosed '('")
    for m in _DIGIT_RUN.finditer(expr):
        if len(m.group()) > max_digits:
            raise ExpressionError(f"number with {len(m.group())} digits, more than max_digits={max_digits}")
    nodes = sum(1 for _ in _OPERATOR_OR_NUMBER.finditer(expr))
    if nodes > max_nodes:
        raise ExpressionError(f"expression has {nodes} numbers and operators, more than max_nodes={max_nodes}")


class _Evaluator:
    def __init__(self, source: str, *, max_exponent: int, max_digits: int, max_depth: int):
        self.source = source  # ASCII, one line (checked by _scan), so AST column offsets index it directly
        self.max_exponent = max_exponent
        self.max_digits = max_digits
        self.max_bits = int(max_digits * _LOG2_10) + 1
        self.max_depth = max_depth

    def visit(self, node: ast.AST, depth: int) -> Fraction:
        if depth > self.max_depth:
            raise ExpressionError(f"expression nested deeper than max_depth={self.max_depth}")
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            value = self.visit(node.operand, depth + 1)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
                raise ExpressionError(f"operator {type(node.op).__name__} is not allowed (+ - * / ** only)")
            left = self.visit(node.left, depth + 1)
            right = self.visit(node.right, depth + 1)
            return self._check(self._binop(node.op, left, right))
        raise ExpressionError(f"{type(node).__name__} is not allowed (numbers, + - * / ** and brackets only)")

    def _number(self, node: ast.Constant) -> Fraction:
        text = self.source[node.col_offset : node.end_col_offset]
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)) or not _NUMBER_LITERAL.match(text):
            raise ExpressionError(f"literal {text!r} is not a plain decimal number")
        if isinstance(node.value, int):
            return Fraction(node.value)
        whole, _, decimals = text.partition(".")  # exact: '0.1' -> 1/10, never the float 0.1
        return Fraction(int(whole + decimals or "0"), 10 ** len(decimals))

    def _binop(self, op: ast.operator, a: Fraction, b: Fraction) -> Fraction:
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.Div):
            if b == 0:
                raise ExpressionError("division by zero")
            return a / b
        return self._power(a, b)

    def _power(self, base: Fraction, exponent: Fraction) -> Fraction:
        if exponent.denominator != 1:
            raise ExpressionError(f"exponent {exponent} is not an integer")
        e = exponent.numerator
        if abs(e) > self.max_exponent:
            raise ExpressionError(f"exponent {e} is larger than max_exponent={self.max_exponent}")
        if base == 0 and e < 0:
            raise ExpressionError("division by zero (0 to a negative power)")
        bits = max(base.numerator.bit_length(), base.denominator.bit_length())
        if (bits - 1) * abs(e) > self.max_bits:
            raise ExpressionError(f"power would have more than max_digits={self.max_digits} digits")
        return base**e

    def _check(self, value: Fraction) -> Fraction:
        if value.numerator.bit_length() > self.max_bits or value.denominator.bit_length() > self.max_bits:
            raise ExpressionError(f"intermediate value has more than max_digits={self.max_digits} digits")
        return value
