"""The safe evaluator: exact arithmetic, and hostile input refused quickly with an ExpressionError."""

import time
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kexue_hw.models.mwp.expression import ExpressionError, answers_match, evaluate


@pytest.mark.parametrize(
    "expr, value",
    [
        ("1+2*3", 7),
        ("(1+2)*3", 9),
        ("0.1+0.2", Fraction(3, 10)),
        ("1/3+1/6", Fraction(1, 2)),
        ("7/2", Fraction(7, 2)),
        ("-3--2", -1),
        ("+4", 4),
        ("2**10", 1024),
        ("2**-2", Fraction(1, 4)),
        ("(1/2)**3", Fraction(1, 8)),
        ("2**3**2", 512),  # right-associative, as in Python
        ("-2**2", -4),
        ("3.14*2**2", Fraction(1256, 100)),
        ("1.", 1),
        (".5", Fraction(1, 2)),
        (" ( 1 + 2 ) ", 3),
        ("19112012*20121910-19112011*20121911", 1009899),  # exact, where floats would round
    ],
)
def test_exact_values(expr, value):
    result = evaluate(expr)
    assert isinstance(result, Fraction)
    assert result == value


HOSTILE = {
    "tower": "9**9**9",
    "import": '__import__("os")',
    "zero division": "1/0",
    "zero division late": "1/(2-2)",
    "zero to negative power": "0**-1",
    "deep brackets": "(" * 10000 + "1" + ")" * 10000,
    "deep brackets under length limit": "(" * 4000 + "1" + ")" * 4000,
    "10,000-digit literal": "1" * 10000,
    "long unary chain": "-" * 999 + "1",
    "long sum": "1" + "+1" * 4999,
    "huge power": "(10**100)**100",
    "growing product": "*".join(["(10**99)"] * 50),
    "fractional exponent": "2**0.5",
    "name": "x+1",
    "attribute": "(1).real",
    "call": "(1)(2)",
    "subscript": "[1][0]",
    "string": "'a'*3",
    "lambda": "lambda: 1",
    "floor division": "7//2",
    "modulo": "7%2",
    "xor": "2^3",
    "comparison": "1<2",
    "scientific": "1e999999",
    "complex": "1j",
    "hex": "0x10",
    "underscore": "1_000",
    "tuple": "(1,2)",
    "empty": "",
    "blank": "   ",
    "newline": "1\n+2",
    "unbalanced open": "(1+2",
    "unbalanced close": "1+2)",
    "syntax": "1+*2",
    "bool": "True",
    "full-width": "１+２",
}


@pytest.mark.parametrize("expr", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_is_refused_fast(expr):
    start = time.perf_counter()
    with pytest.raises(ExpressionError):
        evaluate(expr)
    assert time.perf_counter() - start < 0.5


def test_refusals_say_why():
    with pytest.raises(ExpressionError, match="division by zero"):
        evaluate("1/0")
    with pytest.raises(ExpressionError, match="max_exponent"):
        evaluate("9**9**9")
    with pytest.raises(ExpressionError, match="max_digits"):
        evaluate("1" * 10000)
    with pytest.raises(ExpressionError, match="max_depth|max_length"):
        evaluate("(" * 10000 + "1" + ")" * 10000)
    with pytest.raises(ExpressionError, match="'_'"):
        evaluate('__import__("os")')
    with pytest.raises(ExpressionError, match="not an integer"):
        evaluate("2**0.5")


def test_not_a_string_is_refused():
    with pytest.raises(ExpressionError, match="string"):
        evaluate(3)  # type: ignore[arg-type]


def test_expression_error_is_a_value_error():
    assert issubclass(ExpressionError, ValueError)


def test_limits_are_adjustable():
    assert evaluate("2**200", max_exponent=200) == 2**200
    with pytest.raises(ExpressionError):
        evaluate("2**20", max_exponent=10)
    with pytest.raises(ExpressionError):
        evaluate("123456", max_digits=5)
    with pytest.raises(ExpressionError):
        evaluate("1+1+1", max_nodes=4)
    assert evaluate("((1))", max_depth=2) == 1
    with pytest.raises(ExpressionError):
        evaluate("(((1)))", max_depth=2)
    with pytest.raises(ExpressionError):
        evaluate("1+2", max_length=2)


def test_no_crash_even_with_limits_lifted():
    for expr in ["-" * 5000 + "1", "(" * 5000 + "1" + ")" * 5000, "1" + "+1" * 5000]:
        with pytest.raises(ExpressionError):
            evaluate(expr, max_depth=10**6, max_nodes=10**6, max_length=10**6)


def test_intermediate_size_is_bounded():
    # every literal is small, but the product grows past max_digits
    with pytest.raises(ExpressionError, match="max_digits"):
        evaluate("*".join(["99999"] * 30), max_digits=100)
    assert evaluate("*".join(["99999"] * 10), max_digits=100) == 99999**10


@pytest.mark.parametrize(
    "value, ans, match",
    [
        (Fraction(1, 3), Fraction(333333, 1000000), True),
        (Fraction(1, 3), 0.333333, True),
        (Fraction(1, 3), 0.33, False),
        (Fraction(20), 20, True),
        (Fraction(20), 20.0000001, True),
        (Fraction(20), 20.000001, False),
        (Fraction(1, 10), 0.1, True),
        (Fraction(48), 192, False),
        (Fraction(1), float("nan"), False),
        (Fraction(1), float("inf"), False),
    ],
)
def test_answers_match(value, ans, match):
    assert answers_match(value, ans) is match


def test_answers_match_places():
    assert answers_match(Fraction(1, 3), Fraction(33, 100), places=2)
    assert not answers_match(Fraction(1, 3), Fraction(33, 100), places=3)


@given(st.text(alphabet="0123456789.+-*/() x_e", max_size=80))
def test_any_soup_of_characters_gives_a_fraction_or_an_expression_error(expr):
    try:
        value = evaluate(expr)
    except ExpressionError:
        return
    assert isinstance(value, Fraction)


def _trees(depth):
    leaf = st.integers(0, 99).map(lambda n: (str(n), Fraction(n)))
    if depth == 0:
        return leaf
    sub = _trees(depth - 1)
    return st.one_of(leaf, st.tuples(sub, st.sampled_from("+-*/"), sub).map(_combine))


def _combine(args):
    (left, a), op, (right, b) = args
    if op == "/" and b == 0:
        return left, a
    value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else a}[op]
    return f"({left}{op}{right})", value


@given(_trees(4))
def test_random_expressions_evaluate_exactly(tree):
    text, value = tree
    assert evaluate(text) == value
