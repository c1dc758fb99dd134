"""Math word problems: loading (Ape210K and Math23K), the standard preprocessing, number mapping, vocabulary.

Two file formats, auto-detected by :func:`load_problems`: Ape210K's JSON lines (one object per line) and
Math23K's stream of pretty-printed JSON objects. Both carry ``id``, ``original_text``, ``equation``
(``x=...``) and ``ans``. Every record becomes a :class:`Problem` or is dropped with a counted reason.

The standard preprocessing, one named function per rule (all on strings):

* :func:`strip_x_equals` ``x=1+2`` -> ``1+2``;  :func:`square_to_round_brackets` ``[`` ``]`` -> ``(`` ``)``
* :func:`unbracket_single_numbers` ``((1)/(3))`` -> ``(1/3)`` (Math23K writes answers so)
* :func:`mixed_number_to_sum` ``2(1/3)`` -> ``(2+1/3)``;  :func:`percent_to_fraction` ``25%`` -> ``(25/100)``
* :func:`ratio_to_division` ``:`` -> ``/``;  :func:`caret_to_power` ``^`` -> ``**``
* :func:`unbracket_text_fractions` ``(1/3)`` in the problem text -> ``1/3``
* :func:`remove_redundant_brackets` greedy: drop a bracket pair when the exact value is unchanged

An equation is kept when its exact value equals the parsed answer to 6 decimals (:func:`answers_match`).
Number mapping (:func:`map_numbers`) turns the text into characters with each number replaced by a
placeholder ``N0, N1, ...`` and the equation into tokens that reuse those placeholders wherever an
equation number (or a fraction ``a/b``, ``(a/b)``) equals a text number by value.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..shared_data import find_shared_data

from .expression import ExpressionError, answers_match, evaluate

__all__ = [
    "DataFormatError",
    "Problem",
    "LoadReport",
    "DROP_REASONS",
    "load_problems",
    "data_summary",
    "strip_x_equals",
    "square_to_round_brackets",
    "unbracket_single_numbers",
    "mixed_number_to_sum",
    "percent_to_fraction",
    "ratio_to_division",
    "caret_to_power",
    "unbracket_text_fractions",
    "remove_redundant_brackets",
    "preprocess_text",
    "preprocess_equation",
    "parse_answer",
    "Mapped",
    "map_numbers",
    "map_text",
    "unmap_equation",
    "tokenize_equation",
    "text_numbers",
    "number_expression",
    "COMMON_CONSTANTS",
    "mapping_stats",
    "Vocab",
    "SPECIALS",
    "Pool",
    "training_pool",
    "find_shared_data",
]

# --------------------------------------------------------------------------------------------------------------
# preprocessing rules

_NUM = r"\d+(?:\.\d+)?"  # a plain decimal number as the data sets write it
_MIXED = re.compile(rf"({_NUM})\((\d+/\d+)\)")
_SINGLE_NUMBER_IN_BRACKETS = re.compile(rf"\(({_NUM})\)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?|\.\d+)%")
_TEXT_FRACTION = re.compile(rf"\(\(?({_NUM})\)?/\(?({_NUM})\)?\)")
_X_EQUALS = re.compile(r"^\s*[xX]\s*=\s*")


def strip_x_equals(equation: str) -> str:
    """``'x=(11-1)*2'`` -> ``'(11-1)*2'``; an equation without the ``x=`` prefix is returned unchanged."""
    return _X_EQUALS.sub("", equation, count=1)


def square_to_round_brackets(s: str) -> str:
    """``'[490-50*(4+1)]/4'`` -> ``'(490-50*(4+1))/4'`` (Math23K uses square brackets as outer brackets)."""
    return s.replace("[", "(").replace("]", ")")


def unbracket_single_numbers(s: str) -> str:
    """Drop brackets around a lone number, repeatedly: ``'3((1)/(2))'`` -> ``'3(1/2)'``, ``'((5))'`` -> ``'5'``."""
    while True:
        t = _SINGLE_NUMBER_IN_BRACKETS.sub(r"\1", s)
        if t == s:
            return s
        s = t


def mixed_number_to_sum(s: str) -> str:
    """Mixed number ``a(b/c)`` -> ``(a+b/c)``: ``'2(1/3)*6'`` -> ``'(2+1/3)*6'``; ``'1/5(1/2)'`` -> ``'1/(5+1/2)'``."""
    return _MIXED.sub(r"(\1+\2)", s)


def percent_to_fraction(s: str) -> str:
    """Percent ``a%`` -> ``(a/100)``: ``'1-25%'`` -> ``'1-(25/100)'``; a ``%`` after a bracket -> ``/100``."""
    return _PERCENT.sub(r"(\1/100)", s).replace("%", "/100")


def ratio_to_division(s: str) -> str:
    """Ratio ``a:b`` -> ``a/b`` (ASCII and full-width colon)."""
    return s.replace(":", "/").replace("：", "/")


def caret_to_power(s: str) -> str:
    """``'3.14*2^2'`` -> ``'3.14*2**2'``."""
    return s.replace("^", "**")


def unbracket_text_fractions(text: str) -> str:
    """A bracketed fraction in the problem text loses its brackets: ``'全书的(1/6)'`` -> ``'全书的1/6'``.

    Also Math23K's ``((1)/(6))`` form. Mixed numbers are turned into sums first (:func:`preprocess_text`).
    """
    return _TEXT_FRACTION.sub(r"\1/\2", text)


def remove_redundant_brackets(expr: str) -> str:
    """Greedy: visit bracket pairs innermost-first (by closing bracket) and drop a pair whenever the
    expression still evaluates to exactly the same value: ``'(1+2)+(3*4)'`` -> ``'1+2+3*4'``,
    ``'(1+2)*3'`` unchanged. Raises :class:`ExpressionError` when ``expr`` itself does not evaluate."""
    value = evaluate(expr)
    chars = list(expr)
    opened: list[int] = []
    pairs: list[tuple[int, int]] = []
    for i, ch in enumerate(chars):
        if ch == "(":
            opened.append(i)
        elif ch == ")":
            pairs.append((opened.pop(), i))
    for left, right in pairs:
        trial = chars.copy()
        trial[left] = trial[right] = ""
        candidate = "".join(trial)
        try:
            if evaluate(candidate) == value:
                chars = trial
        except ExpressionError:
            pass
    return "".join(chars)


def preprocess_text(text: str) -> str:
    """The problem text: mixed numbers to sums, then bracketed fractions lose their brackets."""
    return unbracket_text_fractions(mixed_number_to_sum(text.strip()))


def preprocess_equation(equation: str) -> str:
    """An equation as the data sets write it -> an expression :func:`evaluate` accepts (brackets kept)."""
    s = square_to_round_brackets(strip_x_equals(equation.strip()))
    s = mixed_number_to_sum(unbracket_single_numbers(s))
    return caret_to_power(ratio_to_division(percent_to_fraction(s)))


def parse_answer(ans: str | int | float) -> Fraction:
    """Exact value of an ``ans`` field: ``'20'``, ``'-410.0'``, ``'(11/20)'``, ``'25%'``, ``'2(1/3)'``,
    ``'2((1)/(3))'``, ``'5+(2/3)'``, ``'160/(1-20%)'``. Raises :class:`ExpressionError` (a ``ValueError``)."""
    if isinstance(ans, bool) or not isinstance(ans, (str, int, float)):
        raise ExpressionError(f"answer must be text or a number, not {type(ans).__name__}")
    return evaluate(preprocess_equation(str(ans)))


# --------------------------------------------------------------------------------------------------------------
# loading


MAX_LINES_LISTED = 5

#: every reason a record can be dropped for, as counted in :attr:`LoadReport.dropped`
DROP_REASONS = {
    "malformed_json": "not a JSON object (only with strict=False; otherwise the file is refused)",
    "missing_field": "original_text, equation or ans missing or empty",
    "bad_equation": "the equation does not evaluate (words in it, syntax, division by zero, too large)",
    "bad_answer": "ans is not a number, fraction, percentage, mixed number or expression",
    "answer_mismatch": "the equation's value differs from ans at 6 decimals",
}
_REQUIRED = ("original_text", "equation", "ans")
_FORMATS = "JSON lines (Ape210K: one object per line) or a stream of JSON objects (Math23K)"


class DataFormatError(ValueError):
    """A file that is in neither supported format, empty, or not UTF-8 text; the message says which and where."""


@dataclass(frozen=True)
class Problem:
    """One kept problem after preprocessing: ``equation`` has no ``x=`` and evaluates exactly to ``answer``
    (the equation's exact value; it equals the file's ``ans`` to 6 decimals)."""

    id: str
    text: str
    equation: str
    answer: Fraction


@dataclass
class LoadReport:
    """What :func:`load_problems` did: records read, kept, dropped per reason (:data:`DROP_REASONS`;
    ``read == kept + sum(dropped.values())``); malformed records (how many, and the line where each of the
    first :data:`MAX_LINES_LISTED` starts) only with ``strict=False``."""

    path: str
    format: str  # "jsonl" (Ape210K) or "json-stream" (Math23K)
    read: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)

    def drop(self, reason: str) -> None:
        if reason not in DROP_REASONS:
            raise KeyError(f"unknown drop reason {reason!r}")
        self.dropped[reason] = self.dropped.get(reason, 0) + 1


def load_problems(path: str | Path, *, strict: bool = True) -> tuple[list[Problem], LoadReport]:
    """Read a problem file in either format (auto-detected), preprocess, filter; every drop is counted.

    Raises :class:`DataFormatError` for an empty file, a file that is not UTF-8, a file in neither format,
    one whose records lack the fields ``original_text``, ``equation``, ``ans``, and (``strict``, the
    default) any malformed record: the message counts them and names their first line numbers. With
    ``strict=False`` malformed records are dropped as ``'malformed_json'`` and listed in the report.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not UTF-8 text (byte {exc.start}); expected {_FORMATS}") from None
    if not text.strip():
        raise DataFormatError(f"{path}: empty file; expected {_FORMATS}")
    fmt = _detect_format(text)
    if fmt is None:
        bad = _malformed_json_lines(text)
        raise DataFormatError(
            f"{path}: neither {_FORMATS}: {len(bad)} of {_count_nonblank(text)} non-blank lines are not JSON "
            f"objects (first at lines {_first(bad)})"
        )
    records, bad = _read_jsonl(text) if fmt == "jsonl" else _read_stream(text)
    if bad and strict:
        unit = "lines" if fmt == "jsonl" else "records"
        raise DataFormatError(
            f"{path}: read as {'JSON lines' if fmt == 'jsonl' else 'a stream of JSON objects'}, but {len(bad)} "
            f"of {len(records) + len(bad)} {unit} are malformed (first at lines {_first(bad)})"
        )
    report = LoadReport(path=str(path), format=fmt, read=len(records) + len(bad))
    for _ in bad:
        report.drop("malformed_json")
    report.malformed, report.malformed_lines = len(bad), bad[:MAX_LINES_LISTED]
    if records and not any(all(k in r for k in _REQUIRED) for _, r in records):
        raise DataFormatError(
            f"{path}: no record has the fields {', '.join(_REQUIRED)} (first record's fields: "
            f"{', '.join(sorted(records[0][1])) or 'none'})"
        )
    problems = []
    for index, record in records:
        problem = _problem(record, index, report)
        if problem is not None:
            problems.append(problem)
    report.kept = len(problems)
    return problems, report


def data_summary(path: str | Path) -> dict:
    """``{"read", "kept", "dropped": {reason: count}}`` of a problem file (for ``kexue-hw mwp data FILE --json``)."""
    _, report = load_problems(path)
    return {"read": report.read, "kept": report.kept, "dropped": dict(sorted(report.dropped.items()))}


def _problem(record: dict, index: int, report: LoadReport) -> Problem | None:
    fields = [record.get(k) for k in _REQUIRED]
    if not all(isinstance(f, (str, int, float)) and str(f).strip() for f in fields):
        report.drop("missing_field")
        return None
    try:
        equation = preprocess_equation(str(record["equation"]))
        value = evaluate(equation)
    except ExpressionError:
        report.drop("bad_equation")
        return None
    try:
        answer = parse_answer(record["ans"])
    except ExpressionError:
        report.drop("bad_answer")
        return None
    if not answers_match(value, answer):
        report.drop("answer_mismatch")
        return None
    return Problem(
        id=str(record.get("id", index)),
        text=preprocess_text(str(record["original_text"])),
        equation=remove_redundant_brackets(equation),
        answer=value,
    )


def _detect_format(text: str) -> str | None:
    first = next(line for line in text.split("\n") if line.strip())
    try:
        if isinstance(json.loads(first), dict):
            return "jsonl"
    except ValueError:
        pass
    return "json-stream" if text.lstrip().startswith("{") else None


def _read_jsonl(text: str) -> tuple[list[tuple[int, dict]], list[int]]:
    records, bad = [], []
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): U+2028 may sit inside a string
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            records.append((number, obj))
        else:
            bad.append(number)
    return records, bad


def _read_stream(text: str) -> tuple[list[tuple[int, dict]], list[int]]:
    """Objects one after another; after a malformed one, resume at the next line that starts with ``{``."""
    decoder = json.JSONDecoder()
    records, bad = [], []
    pos, n = 0, len(text)
    line, counted = 1, 0  # line number of text[counted]
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            return records, bad
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            obj, end = decoder.raw_decode(text, pos)
        except ValueError:
            obj, end = None, -1
        if isinstance(obj, dict):
            records.append((line, obj))
            pos = end
            continue
        bad.append(line)
        nxt = text.find("\n{", pos + 1)
        pos = n if nxt < 0 else nxt + 1


def _malformed_json_lines(text: str) -> list[int]:
    return _read_jsonl(text)[1]


def _count_nonblank(text: str) -> int:
    return sum(1 for line in text.split("\n") if line.strip())


def _first(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:MAX_LINES_LISTED]))
    return shown + (", ..." if len(numbers) > MAX_LINES_LISTED else "")


# --------------------------------------------------------------------------------------------------------------
# number mapping

#: numbers in a (preprocessed) problem text: decimals, fractions ``a/b``, percentages ``a%``
_TEXT_NUMBER = re.compile(rf"{_NUM}(?:/{_NUM})?%?")
#: the same with fractions split into numerator and denominator (``map_numbers(split_fractions=True)``)
_TEXT_NUMBER_SPLIT = re.compile(rf"{_NUM}%?")
_EQ_TOKEN = re.compile(r"\s*(\*\*|\d+(?:\.\d*)?|\.\d+|[-+*/()])")
_PLACEHOLDER = re.compile(r"N(\d+)\Z")
_NUMBER_TOKEN = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)\Z")
_OPERATORS = frozenset({"+", "-", "*", "/", "**", "(", ")"})

#: constants an equation may use without their occurring in the text (units, halves, pi, ...)
COMMON_CONSTANTS = frozenset(
    {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "24", "60", "100", "1000", "10000", "3.14", "0.5"}
)


@dataclass(frozen=True)
class Mapped:
    """A problem as token sequences. ``source``: the text's characters (whitespace dropped) with each
    number replaced by ``N<i>`` in order of appearance; ``target``: equation tokens (operators, brackets,
    ``N<i>``, constants such as ``'1'``, ``'3.14'``, ``'100'``); ``numbers[i]`` is the text of ``N<i>``."""

    source: list[str]
    target: list[str]
    numbers: list[str]


def text_numbers(text: str, *, split_fractions: bool = False) -> list[str]:
    """The numbers of a preprocessed problem text in order: ``'12'``, ``'0.5'``, ``'1/6'``, ``'80%'``
    (``split_fractions``: ``'1'``, ``'6'`` instead of ``'1/6'``)."""
    return (_TEXT_NUMBER_SPLIT if split_fractions else _TEXT_NUMBER).findall(text)


_LEADING_ZEROS = re.compile(r"(?<![\d.])0+(?=\d)")


def number_expression(number: str) -> str:
    """A text number as an evaluable expression: ``'80%'`` -> ``'(80/100)'``, ``'1/6'`` -> ``'(1/6)'``,
    ``'05'`` -> ``'5'`` (times such as 8:05 give numbers with leading zeros, which Python refuses)."""
    number = _LEADING_ZEROS.sub("", number)
    if number.endswith("%"):
        return f"({number[:-1]}/100)"
    return f"({number})" if "/" in number else number


def tokenize_equation(expr: str) -> list[str]:
    """``'(N0+1)*3.14**2'``-style split of a preprocessed equation: numbers, ``**``, ``+ - * / ( )``."""
    tokens, pos = [], 0
    expr = expr.rstrip()
    while pos < len(expr):
        m = _EQ_TOKEN.match(expr, pos)
        if m is None:
            raise ExpressionError(f"cannot tokenize {expr!r} at position {pos} ({expr[pos]!r})")
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


def map_numbers(problem: Problem, *, split_fractions: bool = False) -> Mapped:
    """Placeholders for the numbers of ``problem`` in its text and equation (see :class:`Mapped`).

    An equation number becomes ``N<i>`` when it equals text number ``i`` by value (a plain text number
    first, then a fraction or percentage: ``0.8`` -> the ``80%`` of the text); a fraction ``a/b`` or
    ``(a/b)`` of the equation becomes ``N<i>`` when text number ``i`` is a fraction or percentage of that
    value (``(80/100)`` -> ``80%``) and the equation keeps its value. The first occurrence wins.

    ``split_fractions``: a text fraction ``a/b`` becomes ``N<i> / N<i+1>`` instead of one placeholder, so an
    equation can use its parts (some Math23K texts write division as ``/``: ``1300/600的商``); targets get
    longer. Use the same setting for training and inference.
    """
    source, numbers = _placeholders(problem.text, split_fractions)
    return Mapped(source=source, target=_map_equation(tokenize_equation(problem.equation), numbers), numbers=numbers)


def map_text(text: str, *, split_fractions: bool = False) -> tuple[list[str], list[str]]:
    """A raw problem text (as a user types it or a file holds it) -> ``(source tokens, numbers)``, exactly
    as :func:`map_numbers` would map it after loading: :func:`preprocess_text` first, then placeholders."""
    return _placeholders(preprocess_text(text), split_fractions)


def _placeholders(text: str, split_fractions: bool) -> tuple[list[str], list[str]]:
    pattern = _TEXT_NUMBER_SPLIT if split_fractions else _TEXT_NUMBER
    source: list[str] = []
    numbers: list[str] = []
    pos = 0
    for m in pattern.finditer(text):
        source.extend(ch for ch in text[pos : m.start()] if not ch.isspace())
        source.append(f"N{len(numbers)}")
        numbers.append(m.group())
        pos = m.end()
    source.extend(ch for ch in text[pos:] if not ch.isspace())
    return source, numbers


def unmap_equation(target_tokens: Sequence[str], numbers: Sequence[str]) -> str:
    """Target tokens back to an expression for :func:`evaluate`: ``['N0', '*', '(', '1', '-', 'N1', ')']``
    with numbers ``['120', '25%']`` -> ``'120*(1-(25/100))'``. Raises :class:`ExpressionError` for a
    placeholder without a number or a token that is neither operator, bracket, number nor placeholder."""
    parts = []
    for token in target_tokens:
        m = _PLACEHOLDER.match(token)
        if m:
            i = int(m.group(1))
            if i >= len(numbers):
                raise ExpressionError(f"placeholder {token} but the problem has {len(numbers)} numbers")
            parts.append(number_expression(numbers[i]))
        elif token in _OPERATORS or _NUMBER_TOKEN.match(token):
            parts.append(token)
        else:
            raise ExpressionError(f"token {token!r} is not part of an equation")
    return _join(parts)


def _join(parts: list[str]) -> str:
    """Concatenate, with a space where two tokens would otherwise merge (``5`` ``3``; ``*`` ``*``)."""
    out = []
    for part in parts:
        if out and (_glues(out[-1][-1], part[0])):
            out.append(" ")
        out.append(part)
    return "".join(out)


def _glues(a: str, b: str) -> bool:
    atom = "0123456789."
    return (a in atom and b in atom) or (a == "*" and b == "*")


@functools.lru_cache(maxsize=4096)
def _value(number: str) -> Fraction | None:
    try:
        return evaluate(number_expression(number))
    except ExpressionError:
        return None


def _map_equation(tokens: list[str], numbers: list[str]) -> list[str]:
    values = [_value(n) for n in numbers]
    plain = [i for i, n in enumerate(numbers) if "/" not in n and "%" not in n]
    composite = [i for i, n in enumerate(numbers) if "/" in n or "%" in n]

    def find(value: Fraction, candidates: list[int], exact: str | None = None) -> int | None:
        if exact is not None:
            for i in candidates:
                if numbers[i] == exact:
                    return i
        for i in candidates:
            if values[i] == value:
                return i
        return None

    whole = evaluate(_join(tokens)) if composite and tokens else None
    out: list[str] = []
    k = 0
    while k < len(tokens):
        hit = _fraction_at(tokens, k, composite, find) if composite else None
        if hit is not None:
            i, span = hit
            trial = out + [f"N{i}"] + tokens[k + span :]
            try:
                accepted = evaluate(unmap_equation(trial, numbers)) == whole
            except ExpressionError:
                accepted = False
            if accepted:
                out.append(f"N{i}")
                k += span
                continue
        token = tokens[k]
        if _NUMBER_TOKEN.match(token):
            value = Fraction(token)
            i = find(value, plain)
            if i is None:
                i = find(value, composite)
            token = token if i is None else f"N{i}"
        out.append(token)
        k += 1
    return out


def _fraction_at(tokens: list[str], k: int, composite: list[int], find) -> tuple[int, int] | None:
    """(text fraction/percentage index, span length) for an ``(a/b)`` or ``a/b`` starting at ``tokens[k]``."""
    for bracketed in (True, False):
        j = k + 1 if bracketed else k
        if bracketed and (tokens[k] != "(" or tokens[k + 4 : k + 5] != [")"]):
            continue
        if len(tokens) < j + 3:
            continue
        a, slash, b = tokens[j : j + 3]
        if slash != "/" or not _NUMBER_TOKEN.match(a) or not _NUMBER_TOKEN.match(b) or Fraction(b) == 0:
            continue
        exact = f"{a}%" if b == "100" else f"{a}/{b}"
        i = find(Fraction(a) / Fraction(b), composite, exact)
        if i is not None:
            return i, 5 if bracketed else 3
    return None


def mapping_stats(problems: Iterable[Problem], constants: Iterable[str] = COMMON_CONSTANTS, **map_options) -> dict:
    """How often a target needs a number that is neither a placeholder nor one of ``constants``
    (such targets can only be produced by generating that literal): ``{"problems", "targets_with_other_numbers",
    "share", "other_numbers": {literal: targets using it, the 20 most common}}``."""
    allowed = frozenset(constants)
    n = with_other = 0
    other: Counter[str] = Counter()
    for problem in problems:
        target = map_numbers(problem, **map_options).target
        literals = {t for t in target if _NUMBER_TOKEN.match(t)} - allowed
        n += 1
        with_other += bool(literals)
        other.update(literals)
    return {
        "problems": n,
        "targets_with_other_numbers": with_other,
        "share": with_other / n if n else 0.0,
        "other_numbers": dict(other.most_common(20)),
    }


# --------------------------------------------------------------------------------------------------------------
# vocabulary

#: special tokens, always the first ids in this order: padding 0, begin 1, end 2, unknown 3, separator 4
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>", "<sep>")


class Vocab:
    """Token <-> id table; the specials (:data:`SPECIALS`) come first, then tokens by falling frequency."""

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with the special tokens {', '.join(SPECIALS)}")
        if len(set(tokens)) != len(tokens):
            dup = next(t for t, c in Counter(tokens).items() if c > 1)
            raise ValueError(f"token {dup!r} appears twice in the vocabulary")
        if not all(isinstance(t, str) and t for t in tokens):
            raise ValueError("vocabulary tokens must be non-empty strings")
        self.tokens = tokens
        self.stoi = {t: i for i, t in enumerate(tokens)}

    pad_id, bos_id, eos_id, unk_id, sep_id = range(len(SPECIALS))

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], min_count: int = 1, reserved: Iterable[str] = ()) -> Vocab:
        """From token sequences: tokens seen at least ``min_count`` times (most frequent first, ties by
        token), plus ``reserved`` ones (e.g. ``N0``..``N29``) whether seen or not."""
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1, got {min_count}")
        counts: Counter[str] = Counter()
        for seq in sequences:
            counts.update(seq)
        for t in SPECIALS:
            counts.pop(t, None)
        kept = [t for t, c in sorted(counts.items(), key=lambda tc: (-tc[1], tc[0])) if c >= min_count]
        extra = [t for t in dict.fromkeys(reserved) if t not in counts or counts[t] < min_count]
        return cls(list(SPECIALS) + kept + [t for t in extra if t not in SPECIALS])

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.tokens == other.tokens

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens, hash {self.hash()})"

    def encode(self, tokens: Iterable[str], *, bos: bool = False, eos: bool = False) -> list[int]:
        """Ids of ``tokens`` (unknown ones -> ``<unk>``), optionally framed by ``<bos>`` / ``<eos>``."""
        ids = [self.stoi.get(t, self.unk_id) for t in tokens]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, ids: Iterable[int], *, strip: bool = True) -> list[str]:
        """Tokens of ``ids``; with ``strip`` (default) stop at the first ``<eos>`` and drop ``<pad>``/``<bos>``."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"id {i} is outside the vocabulary (size {len(self.tokens)})")
            if strip and i == self.eos_id:
                break
            if strip and i in (self.pad_id, self.bos_id):
                continue
            out.append(self.tokens[i])
        return out

    def to_json(self) -> str:
        return json.dumps({"tokens": self.tokens}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        try:
            tokens = json.loads(text)["tokens"]
        except (ValueError, KeyError, TypeError):
            raise ValueError("not a saved vocabulary (expected JSON with a 'tokens' list)") from None
        return cls(tokens)

    def hash(self) -> str:
        """A stable 16-hex-digit fingerprint of the token list (order matters)."""
        return hashlib.sha256("\n".join(self.tokens).encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------------------------------------------
# training pool


@dataclass(frozen=True)
class Pool:
    """The training pool: unpacks as ``train, dev = training_pool(...)``; ``report`` has the counts."""

    train: list[Problem]
    dev: list[Problem]
    report: dict

    def __iter__(self):
        return iter((self.train, self.dev))


def _text_key(text: str) -> str:
    return re.sub(r"\s+", "", text)


def training_pool(
    *sources: str | Path | Sequence[Problem],
    dev_size: int = 500,
    seed: int = 0,
    exclude: Iterable[Problem | str] = (),
) -> Pool:
    """Concatenate problem files or lists (e.g. Math23K train, Ape210K valid), drop texts already seen
    (first occurrence wins, whitespace ignored) and texts in ``exclude`` (the test split: problems or
    texts), then split off a seeded random dev set of ``dev_size``. ``report``: per-source kept /
    duplicate / excluded counts and the train and dev sizes."""
    if dev_size < 0:
        raise ValueError(f"dev_size must be >= 0, got {dev_size}")
    banned = {_text_key(x.text if isinstance(x, Problem) else preprocess_text(x)) for x in exclude}
    seen: set[str] = set()
    pool: list[Problem] = []
    per_source = []
    for k, source in enumerate(sources):
        name = str(source) if isinstance(source, (str, Path)) else f"source {k}"
        problems = load_problems(source)[0] if isinstance(source, (str, Path)) else list(source)
        counts = {"name": name, "problems": len(problems), "duplicates": 0, "excluded": 0, "used": 0}
        for p in problems:
            key = _text_key(p.text)
            if key in banned:
                counts["excluded"] += 1
            elif key in seen:
                counts["duplicates"] += 1
            else:
                seen.add(key)
                pool.append(p)
                counts["used"] += 1
        per_source.append(counts)
    if dev_size > len(pool):
        raise ValueError(f"dev_size={dev_size} is larger than the pool ({len(pool)} problems)")
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    dev_idx = set(order[:dev_size])
    dev = [pool[i] for i in sorted(dev_idx)]
    train = [p for i, p in enumerate(pool) if i not in dev_idx]
    report = {"sources": per_source, "train": len(train), "dev": len(dev), "seed": seed}
    return Pool(train=train, dev=dev, report=report)
