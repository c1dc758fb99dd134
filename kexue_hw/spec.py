"""Unit specs: one small frozen object describes an arithmetic unit once.

Every face of kexue-hw (golden model, metrics, RTL, torch emulation, kernels)
takes the same spec object. Specs validate their parameters on construction and
raise :class:`SpecError` (a ``ValueError``) with a message that says what is
allowed. What a face needs to know about a unit (does it divide, its proven error
interval, its operand and product widths, a float format's dtypes) is a property
of the spec; each face keeps its implementations in a registry keyed by spec type
(:mod:`kexue_hw.registry`).

Integer units are sign-magnitude internally. An ``N``-bit unsigned unit takes
operands ``0 .. 2**N - 1``; a signed unit takes two's complement operands
``-2**(N-1) .. 2**(N-1) - 1`` (the most negative value included: its magnitude
``2**(N-1)`` still fits the ``N``-bit magnitude datapath). Products are
``2N``-bit; quotients are fixed point with ``quotient_frac_bits`` fraction bits.

Names: ``describe()`` gives a compact identifier (``mitchell_s8_t3``,
``exact_u16_q12``, ``ilm_s8_c1``, ``float_mitchell_bf16``) and :func:`parse_unit`
reads it back: ``parse_unit(u.describe()) == u`` for every spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

__all__ = [
    "SpecError",
    "Unit",
    "IntUnit",
    "Exact",
    "Mitchell",
    "MBM",
    "ILM",
    "FloatMitchell",
    "FLOAT_FORMATS",
    "FloatFormat",
    "OPS",
    "unit_from_name",
    "parse_unit",
    "unit_families",
    "is_family",
]

MIN_WIDTH = 2
MAX_WIDTH = 32

#: the operations a unit may have
OPS = ("mul", "div")


class SpecError(ValueError):
    """An impossible unit parameter (width, fraction bits, format, ...)."""


@dataclass(frozen=True)
class FloatFormat:
    """An IEEE-754 style binary format: 1 sign bit, ``exp_bits``, ``man_bits``.

    ``container_bits``: width of the IEEE type (numpy ``float32``/``float16``) that
    holds every value of the format exactly; a format narrower than its container
    (bf16 in float32) is the container's bit pattern shifted right by :attr:`shift`.
    ``torch_name``: the torch dtype with exactly the format's values.
    """

    name: str
    exp_bits: int
    man_bits: int
    container_bits: int = 32
    torch_name: str = "float32"

    @property
    def bits(self) -> int:
        return 1 + self.exp_bits + self.man_bits

    @property
    def bias(self) -> int:
        return (1 << (self.exp_bits - 1)) - 1

    @property
    def one_bits(self) -> int:
        """Bit pattern of 1.0 (the constant the float trick subtracts)."""
        return self.bias << self.man_bits

    @property
    def sign_bit(self) -> int:
        return 1 << (self.bits - 1)

    @property
    def inf_bits(self) -> int:
        """Bit pattern of +inf (all exponent bits set, zero mantissa); larger magnitudes are NaN."""
        return ((1 << self.exp_bits) - 1) << self.man_bits

    @property
    def max_finite(self) -> float:
        """The largest finite value, ``(2 - 2**-man_bits) * 2**bias``."""
        return (2.0 - 2.0**-self.man_bits) * 2.0**self.bias

    @property
    def min_normal(self) -> float:
        """The smallest positive normal value, ``2**(1 - bias)`` (smaller magnitudes are subnormal)."""
        return 2.0 ** (1 - self.bias)

    @property
    def shift(self) -> int:
        """Left shift from the format's bit pattern to its container's (bf16: 16, else 0)."""
        return self.container_bits - self.bits

    @property
    def numpy_dtype(self):
        """The numpy dtype holding the values exactly (imports numpy on first use)."""
        import numpy as np

        return np.dtype(f"float{self.container_bits}")

    @property
    def torch_dtype(self):
        """The torch dtype of the format (imports torch on first use; the core never does)."""
        import torch

        return getattr(torch, self.torch_name)


FLOAT_FORMATS = {
    "fp32": FloatFormat("fp32", 8, 23, 32, "float32"),
    "bf16": FloatFormat("bf16", 8, 7, 32, "bfloat16"),
    "fp16": FloatFormat("fp16", 5, 10, 16, "float16"),
}


def _check_int(name: str, value, lo: int, hi: int, hint: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{name} must be an int, got {value!r}")
    if not lo <= value <= hi:
        extra = f" ({hint})" if hint else ""
        raise SpecError(f"{name}={value} is impossible: allowed {lo}..{hi}{extra}")


#: family name -> spec class, filled as the classes are defined (see :meth:`Unit.__init_subclass__`)
_FAMILIES: dict[str, type] = {}


class Unit:
    """Base class of all unit specs (frozen dataclasses).

    A subclass that sets ``family`` is a unit family: :func:`parse_unit` and
    :func:`unit_from_name` find it by that name.
    """

    #: short family name used by the CLI and file names
    family: str = "unit"
    #: an example name, shown in parse errors
    example: str = ""
    is_float: bool = False
    #: whether the golden model has a divider (``op="div"``)
    has_divider: bool = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "family" in cls.__dict__:
            if cls.family in _FAMILIES:
                raise TypeError(f"unit family {cls.family!r} is defined twice")
            _FAMILIES[cls.family] = cls

    def describe(self) -> str:
        """Compact identifier such as ``mitchell_s16_t8`` (:func:`parse_unit` reads it back)."""
        raise NotImplementedError

    @classmethod
    def parse_name(cls, rest: str) -> Unit:
        """The spec of this family named ``<family>_<rest>``."""
        raise NotImplementedError

    @classmethod
    def from_options(cls, options: dict) -> Unit:
        """The spec from CLI-style options (``width signed frac_bits corrections fmt quotient_frac``)."""
        raise NotImplementedError

    def params(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def check_op(self, op: str) -> str:
        """``op`` if this unit has it; otherwise a :class:`SpecError` that says which units do."""
        if op not in OPS:
            raise SpecError(f"op must be 'mul' or 'div', got {op!r}")
        if op == "div" and not self.has_divider:
            dividers = ", ".join(c.__name__ for c in _FAMILIES.values() if c.has_divider)
            raise SpecError(f"{type(self).__name__} has no divider: division is defined for {dividers}")
        return op

    def error_interval(self, op: str = "mul") -> tuple[float, float]:
        """Proven relative error ``(lo, hi)`` of ``op`` before output truncation: result in ``[(1+lo)x, (1+hi)x]``."""
        self.check_op(op)
        raise SpecError(f"no proven error interval for {self.describe()} {op}")


@dataclass(frozen=True)
class IntUnit(Unit):
    """Common fields of integer units: operand ``width`` and ``signed``.

    Names are ``<family>_<u|s><width>`` followed by ``_<letter><value>`` for each
    field listed in ``name_fields`` whose value is not ``None``.
    """

    width: int = 8
    signed: bool = False

    #: (letter, field) pairs written after the ``u8``/``s8`` tag by :meth:`describe`
    name_fields = ()

    def __post_init__(self):
        _check_int("width", self.width, MIN_WIDTH, MAX_WIDTH)
        if not isinstance(self.signed, bool):
            raise SpecError(f"signed must be a bool, got {self.signed!r}")

    @property
    def min_value(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_value(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def max_magnitude(self) -> int:
        """Largest operand magnitude: ``2**(N-1)`` (signed, for ``-2**(N-1)``) or ``2**N - 1``."""
        return (1 << (self.width - 1)) if self.signed else (1 << self.width) - 1

    @property
    def product_bits(self) -> int:
        """Width of the product: ``2N`` bits (two's complement when signed)."""
        return 2 * self.width

    @property
    def product_magnitude_bits(self) -> int:
        """Bits of the largest product magnitude the output holds: ``2N - 1`` signed, ``2N`` unsigned."""
        return 2 * self.width - (1 if self.signed else 0)

    @property
    def log_frac_bits(self) -> int:
        """Fraction bits of the log datapath: ``N - 1`` (exact for N-bit magnitudes)."""
        return self.width - 1

    @property
    def kept_frac_bits(self) -> int:
        """Log fraction bits the unit keeps (all ``N - 1`` unless it truncates)."""
        return self.width - 1

    @property
    def quotient_frac_bits(self) -> int:
        """Fraction bits of the fixed-point quotient (the divider's output)."""
        q = getattr(self, "quotient_frac", None)
        return default_quotient_frac(self.width) if q is None else q

    @property
    def quotient_bits(self) -> int:
        """Width of the quotient output: ``N + quotient_frac_bits`` (+1 sign bit when signed)."""
        return self.width + self.quotient_frac_bits + (1 if self.signed else 0)

    def _tag(self) -> str:
        return f"{'s' if self.signed else 'u'}{self.width}"

    def describe(self) -> str:
        parts = [self.family, self._tag()]
        for letter, name in self.name_fields:
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{letter}{value}")
        return "_".join(parts)

    @classmethod
    def parse_name(cls, rest: str) -> Unit:
        m = re.fullmatch(r"(?P<sign>[us])(?P<width>\d+)(?P<suffixes>(?:_[a-z]\d+)*)", rest)
        if m is None:
            raise SpecError(f"expected {cls.family}_<u|s><width>{_suffix_help(cls)}, e.g. {cls.example}")
        kwargs: dict = {"width": int(m["width"]), "signed": m["sign"] == "s"}
        letters = dict(cls.name_fields)
        for letter, value in re.findall(r"_([a-z])(\d+)", m["suffixes"]):
            if letter not in letters:
                raise SpecError(f"{cls.family} has no _{letter} suffix (it takes{_suffix_help(cls) or ' none'})")
            if letters[letter] in kwargs:
                raise SpecError(f"suffix _{letter} given twice")
            kwargs[letters[letter]] = int(value)
        return cls(**kwargs)

    @classmethod
    def from_options(cls, options: dict) -> Unit:
        own = {f.name for f in fields(cls)}
        defaults = {"frac_bits": None, "quotient_frac": None, "corrections": 1, "fmt": None}
        for name, default in defaults.items():
            if name not in own and options.get(name, default) != default:
                flag = "--format" if name == "fmt" else "--" + name.replace("_", "-")
                raise SpecError(f"{flag} does not apply to {cls.family} units")
        return cls(**{k: v for k, v in options.items() if k in own})


def _suffix_help(cls) -> str:
    fields_by_letter = {"t": "frac bits", "q": "quotient frac bits", "c": "corrections"}
    return "".join(f"[_{letter}<{fields_by_letter.get(letter, name)}>]" for letter, name in cls.name_fields)


def default_quotient_frac(width: int) -> int:
    """Default quotient fraction bits: the exact Mitchell quotient (2N-1 bits) when it fits 63 bits."""
    return min(2 * width - 1, 63 - width)


def _check_quotient_frac(width: int, q) -> None:
    if q is not None:
        _check_int("quotient_frac", q, 0, 63 - width, "the quotient must fit 63 bits")


@dataclass(frozen=True)
class Exact(IntUnit):
    """The exact integer multiplier/divider: the baseline every unit is measured against.

    Division truncates the real quotient to ``quotient_frac_bits`` fraction bits.
    """

    quotient_frac: int | None = None
    family = "exact"
    example = "exact_s8"
    has_divider = True
    name_fields = (("q", "quotient_frac"),)

    def __post_init__(self):
        super().__post_init__()
        _check_quotient_frac(self.width, self.quotient_frac)

    def error_interval(self, op: str = "mul") -> tuple[float, float]:
        self.check_op(op)
        return 0.0, 0.0


@dataclass(frozen=True)
class _LogUnit(IntUnit):
    """Units built on Mitchell's log encoding; ``frac_bits`` truncates the log fractions (Mitch-w)."""

    frac_bits: int | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.frac_bits is not None:
            w = self.width
            _check_int("frac_bits", self.frac_bits, 0, w - 1, f"a {w}-bit operand has at most {w - 1} bits after its leading one")

    @property
    def kept_frac_bits(self) -> int:
        return self.width - 1 if self.frac_bits is None else self.frac_bits

    @property
    def _encoding_loss(self) -> float:
        """Keeping ``T < N-1`` fraction bits lowers each encoded operand by a factor in ``(1 - 2**-T, 1]``."""
        t = self.kept_frac_bits
        return 0.0 if t >= self.width - 1 else 2.0**-t

    @property
    def _mitchell_product_low(self) -> float:
        """Mitchell's product is in ``[8/9, 1]`` times the exact product of the encoded operands."""
        return 8 / 9 * (1 - self._encoding_loss) ** 2 - 1


@dataclass(frozen=True)
class Mitchell(_LogUnit):
    """Mitchell's binary-logarithm multiplier and divider (1962).

    ``a = 2**k * (1 + f)`` is approximated in the log domain as ``k + f``; the
    product is the antilog of the sum (``2**(ka+kb) * (1 + fa + fb)``, or
    ``2**(ka+kb+1) * (fa + fb)`` when the fractions carry), the quotient the
    antilog of the difference. Product error is in ``[-1/9, 0]``, quotient error
    in ``[0, 1/8]``.

    ``frac_bits`` (Mitch-w): keep only ``frac_bits`` fraction bits after the
    leading one of each operand (truncation); ``None`` keeps all ``N - 1``.
    ``quotient_frac``: fraction bits of the divider's fixed-point output
    (truncating); ``None`` gives ``min(2N - 1, 63 - N)``, which holds the exact
    Mitchell quotient whenever it fits.
    """

    quotient_frac: int | None = None
    family = "mitchell"
    example = "mitchell_s8_t3"
    has_divider = True
    name_fields = (("t", "frac_bits"), ("q", "quotient_frac"))

    def __post_init__(self):
        super().__post_init__()
        _check_quotient_frac(self.width, self.quotient_frac)

    def error_interval(self, op: str = "mul") -> tuple[float, float]:
        """Product in ``[8/9, 1]``, quotient in ``[1, 9/8]`` times the exact result of the encoded operands."""
        if self.check_op(op) == "mul":
            return self._mitchell_product_low, 0.0
        lose = self._encoding_loss
        return -lose, 9 / 8 / (1 - lose) - 1


#: MBM's bias-compensating constant C = 5/64 (binary 0.000101): the product gets
#: ``floor(C * 2**(ka+kb))`` added (C in the no-carry case, C/2 of the doubled
#: mantissa in the carry case), which centres Mitchell's error around zero.
MBM_C_NUM = 5
MBM_C_SHIFT = 6


@dataclass(frozen=True)
class MBM(_LogUnit):
    """Minimally Biased Multiplier (Saadat, Bokhari, Parameswaran, TCAD 2018).

    Mitchell's multiplier plus a constant correction ``C * 2**(ka+kb)`` with
    ``C = 5/64``, truncated to an integer. Products that would exceed the
    ``2N``-bit output saturate to its largest value. ``frac_bits`` truncates the
    log fractions as in :class:`Mitchell` (MBM-t).
    """

    family = "mbm"
    example = "mbm_s8"
    name_fields = (("t", "frac_bits"),)

    def error_interval(self, op: str = "mul") -> tuple[float, float]:
        """Mitchell's product plus ``floor(5/64 * 2**(ka+kb)) <= 5/64 * a*b``."""
        self.check_op(op)
        return self._mitchell_product_low, MBM_C_NUM / 2**MBM_C_SHIFT


@dataclass(frozen=True)
class ILM(IntUnit):
    """Iterative Logarithmic Multiplier (Babic, Avramovic, Bulic 2011).

    The basic block computes ``2**(ka+kb) + xa*2**kb + xb*2**ka`` (``x`` the
    operand without its leading one), dropping the term ``xa*xb``; each of
    ``corrections`` (0..3) further blocks approximates the dropped term the same
    way. Always under-estimates; error shrinks by roughly 10x per correction.
    """

    corrections: int = 1
    family = "ilm"
    example = "ilm_s8_c1"
    name_fields = (("c", "corrections"),)

    def __post_init__(self):
        super().__post_init__()
        _check_int("corrections", self.corrections, 0, 3)

    def error_interval(self, op: str = "mul") -> tuple[float, float]:
        """The basic block drops ``xa*xb <= a*b/4``; corrections add back part of it."""
        self.check_op(op)
        return -0.25, 0.0


@dataclass(frozen=True)
class FloatMitchell(Unit):
    """Mitchell multiplication of IEEE floats by adding bit patterns (Mogami, arXiv 2012.03458).

    ``bits(a*b) ~= bits(a) + bits(b) - bits(1.0)`` on the magnitudes, sign
    ``sa ^ sb``; division subtracts and adds ``bits(1.0)`` back.
    Hardware corners (modelled; the strict API raises on them instead): NaN in
    -> NaN out; inf * 0 -> NaN; inf * x -> inf; subnormal inputs are treated as
    zero and subnormal results flush to (signed) zero; exponent overflow gives
    inf. ``fmt`` is one of ``fp32``, ``bf16``, ``fp16``.
    """

    fmt: str = "fp32"
    family = "float_mitchell"
    example = "float_mitchell_bf16"
    is_float = True
    has_divider = True

    def __post_init__(self):
        if self.fmt not in FLOAT_FORMATS:
            raise SpecError(f"fmt={self.fmt!r} is not supported: choose one of {sorted(FLOAT_FORMATS)}")

    @property
    def format(self) -> FloatFormat:
        return FLOAT_FORMATS[self.fmt]

    @property
    def width(self) -> int:
        return self.format.bits

    def describe(self) -> str:
        return f"float_mitchell_{self.fmt}"

    @classmethod
    def parse_name(cls, rest: str) -> Unit:
        return cls(rest)

    @classmethod
    def from_options(cls, options: dict) -> Unit:
        return cls(options.get("fmt") or "fp32")

    def error_interval(self, op: str = "mul") -> tuple[float, float]:
        """Mitchell's bounds on the significands, for normal and finite results (no flush, no overflow)."""
        return (-1 / 9, 0.0) if self.check_op(op) == "mul" else (0.0, 1 / 8)


def unit_families(integer_only: bool = False) -> list[str]:
    """Names of the unit families, in definition order."""
    return [name for name, cls in _FAMILIES.items() if not (integer_only and cls.is_float)]


def parse_unit(name: str) -> Unit:
    """The spec named ``name``, as :meth:`Unit.describe` writes it: ``parse_unit(u.describe()) == u``.

    ``mitchell_s8_t3`` -> ``Mitchell(8, True, 3)``, ``exact_u16_q12``, ``mbm_s8``,
    ``ilm_s8_c1``, ``float_mitchell_bf16``. A name that does not parse raises
    :class:`SpecError` saying what was expected.
    """
    if not isinstance(name, str):
        raise SpecError(f"a unit name must be a string, got {name!r}")
    key = name.strip().lower().replace("-", "_")
    if key in _FAMILIES:
        example = _FAMILIES[key].example
        raise SpecError(f"unit name {name!r} names a family only; give the whole unit, e.g. {example}")
    matches = [f for f in _FAMILIES if key.startswith(f + "_")]
    if not matches:
        examples = ", ".join(cls.example for cls in _FAMILIES.values())
        raise SpecError(f"unit name {name!r} does not parse: expected <family>_..., e.g. {examples}")
    family = max(matches, key=len)
    try:
        return _FAMILIES[family].parse_name(key[len(family) + 1 :])
    except SpecError as e:
        raise SpecError(f"unit name {name!r}: {e}") from None


#: other spellings of family names accepted by :func:`unit_from_name`
_ALIASES = {"float": "float_mitchell", "floatmitchell": "float_mitchell"}


def is_family(name: str) -> bool:
    """True when ``name`` is a family name (or an alias :func:`unit_from_name` accepts), not a full unit name."""
    key = name.lower().replace("-", "_")
    return _ALIASES.get(key, key) in _FAMILIES


def unit_from_name(
    name: str,
    *,
    width: int = 8,
    signed: bool = False,
    frac_bits: int | None = None,
    corrections: int = 1,
    fmt: str | None = None,
    quotient_frac: int | None = None,
) -> Unit:
    """Build a spec from a family name and CLI-style options, or from a full name (:func:`parse_unit`).

    Families: ``exact mitchell mbm ilm`` (``float`` or ``mitchell`` with ``fmt`` for
    :class:`FloatMitchell`). An option that does not apply to the family is a
    :class:`SpecError`, not silently ignored.
    """
    key = _ALIASES.get(name.lower().replace("-", "_"), name.lower().replace("-", "_"))
    if fmt is not None:
        if key not in ("mitchell", "float_mitchell"):
            raise SpecError(f"--format applies to the mitchell unit only, not {name!r}")
        key = "float_mitchell"
    options = dict(width=width, signed=signed, frac_bits=frac_bits, corrections=corrections, fmt=fmt,
                   quotient_frac=quotient_frac)  # fmt: skip
    if key in _FAMILIES:
        return _FAMILIES[key].from_options(options)
    if any(key.startswith(f + "_") for f in _FAMILIES):
        return parse_unit(name)
    raise SpecError(
        f"unknown unit {name!r}: choose one of {', '.join(unit_families(integer_only=True))}, "
        "or a full name such as mitchell_s8_t3 or float_mitchell_bf16"
    )
