"""Unit specs: one small frozen object describes an arithmetic unit once.

Every face of kexue-hw (golden model, metrics, RTL, torch emulation, kernels)
takes the same spec object. Specs validate their parameters on construction and
raise :class:`SpecError` (a ``ValueError``) with a message that says what is
allowed.

Integer units are sign-magnitude internally. An ``N``-bit unsigned unit takes
operands ``0 .. 2**N - 1``; a signed unit takes two's complement operands
``-2**(N-1) .. 2**(N-1) - 1`` (the most negative value included: its magnitude
``2**(N-1)`` still fits the ``N``-bit magnitude datapath). Products are
``2N``-bit; quotients are fixed point with ``quotient_frac_bits`` fraction bits.
"""

from __future__ import annotations

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
    "unit_from_name",
    "parse_unit",
]

MIN_WIDTH = 2
MAX_WIDTH = 32


class SpecError(ValueError):
    """An impossible unit parameter (width, fraction bits, format, ...)."""


@dataclass(frozen=True)
class FloatFormat:
    """An IEEE-754 style binary format: 1 sign bit, ``exp_bits``, ``man_bits``."""

    name: str
    exp_bits: int
    man_bits: int

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


FLOAT_FORMATS = {
    "fp32": FloatFormat("fp32", 8, 23),
    "bf16": FloatFormat("bf16", 8, 7),
    "fp16": FloatFormat("fp16", 5, 10),
}


def _check_int(name: str, value, lo: int, hi: int, hint: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{name} must be an int, got {value!r}")
    if not lo <= value <= hi:
        extra = f" ({hint})" if hint else ""
        raise SpecError(f"{name}={value} is impossible: allowed {lo}..{hi}{extra}")


class Unit:
    """Base class of all unit specs (frozen dataclasses)."""

    #: short family name used by the CLI and file names
    family: str = "unit"
    is_float: bool = False

    def describe(self) -> str:
        """Compact identifier such as ``mitchell_s16_t8``."""
        raise NotImplementedError

    def params(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    # Convenience: the golden model, reachable from the spec itself.
    def mul(self, a, b, **kw):
        from . import arith

        return arith.mul(self, a, b, **kw)

    def div(self, a, b, **kw):
        from . import arith

        return arith.div(self, a, b, **kw)


@dataclass(frozen=True)
class IntUnit(Unit):
    """Common fields of integer units: operand ``width`` and ``signed``."""

    width: int = 8
    signed: bool = False

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
    def product_bits(self) -> int:
        """Width of the product: ``2N`` bits (two's complement when signed)."""
        return 2 * self.width

    @property
    def log_frac_bits(self) -> int:
        """Fraction bits of the log datapath: ``N - 1`` (exact for N-bit magnitudes)."""
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


def default_quotient_frac(width: int) -> int:
    """Default quotient fraction bits: the exact Mitchell quotient (2N-1 bits) when it fits 63 bits."""
    return min(2 * width - 1, 63 - width)


def _check_quotient_frac(width: int, q) -> None:
    if q is not None:
        _check_int("quotient_frac", q, 0, 63 - width, "the quotient must fit 63 bits")


def _check_frac_bits(width: int, t) -> None:
    if t is not None:
        _check_int(
            "frac_bits", t, 0, width - 1, f"a {width}-bit operand has at most {width - 1} bits after its leading one"
        )


@dataclass(frozen=True)
class Exact(IntUnit):
    """The exact integer multiplier/divider: the baseline every unit is measured against.

    Division truncates the real quotient to ``quotient_frac_bits`` fraction bits.
    """

    quotient_frac: int | None = None
    family = "exact"

    def __post_init__(self):
        super().__post_init__()
        _check_quotient_frac(self.width, self.quotient_frac)

    def describe(self) -> str:
        return f"exact_{self._tag()}"


@dataclass(frozen=True)
class Mitchell(IntUnit):
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

    frac_bits: int | None = None
    quotient_frac: int | None = None
    family = "mitchell"

    def __post_init__(self):
        super().__post_init__()
        _check_frac_bits(self.width, self.frac_bits)
        _check_quotient_frac(self.width, self.quotient_frac)

    @property
    def kept_frac_bits(self) -> int:
        return self.width - 1 if self.frac_bits is None else self.frac_bits

    def describe(self) -> str:
        t = "" if self.frac_bits is None else f"_t{self.frac_bits}"
        return f"mitchell_{self._tag()}{t}"


#: MBM's bias-compensating constant C = 5/64 (binary 0.000101): the product gets
#: ``floor(C * 2**(ka+kb))`` added (C in the no-carry case, C/2 of the doubled
#: mantissa in the carry case), which centres Mitchell's error around zero.
MBM_C_NUM = 5
MBM_C_SHIFT = 6


@dataclass(frozen=True)
class MBM(IntUnit):
    """Minimally Biased Multiplier (Saadat, Bokhari, Parameswaran, TCAD 2018).

    Mitchell's multiplier plus a constant correction ``C * 2**(ka+kb)`` with
    ``C = 5/64``, truncated to an integer. Products that would exceed the
    ``2N``-bit output saturate to its largest value. ``frac_bits`` truncates the
    log fractions as in :class:`Mitchell` (MBM-t).
    """

    frac_bits: int | None = None
    family = "mbm"

    def __post_init__(self):
        super().__post_init__()
        _check_frac_bits(self.width, self.frac_bits)

    @property
    def kept_frac_bits(self) -> int:
        return self.width - 1 if self.frac_bits is None else self.frac_bits

    def describe(self) -> str:
        t = "" if self.frac_bits is None else f"_t{self.frac_bits}"
        return f"mbm_{self._tag()}{t}"


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

    def __post_init__(self):
        super().__post_init__()
        _check_int("corrections", self.corrections, 0, 3)

    def describe(self) -> str:
        return f"ilm_{self._tag()}_c{self.corrections}"


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
    is_float = True

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
    """Build a spec from a CLI-style family name (``exact mitchell mbm ilm``, ``float``)."""
    name = name.lower().replace("-", "_")
    if fmt is not None or name in ("float", "float_mitchell", "floatmitchell"):
        if name not in ("mitchell", "float", "float_mitchell", "floatmitchell"):
            raise SpecError(f"--format applies to the mitchell unit only, not {name!r}")
        return FloatMitchell(fmt or "fp32")
    if name == "exact":
        return Exact(width, signed, quotient_frac)
    if name == "mitchell":
        return Mitchell(width, signed, frac_bits, quotient_frac)
    if name == "mbm":
        return MBM(width, signed, frac_bits)
    if name == "ilm":
        return ILM(width, signed, corrections)
    raise SpecError(f"unknown unit {name!r}: choose one of exact, mitchell, mbm, ilm (or --format for floats)")


def parse_unit(name: str) -> Unit:
    """The spec whose :meth:`Unit.describe` is ``name`` (``mitchell_s8_t3``, ``ilm_u16_c2``, ``float_mitchell_bf16``).

    Inverse of ``describe()`` for every built-in spec with default quotient format; a name that
    does not parse raises :class:`SpecError` naming it.
    """
    import re

    if not isinstance(name, str):
        raise SpecError(f"unit name must be a string, got {name!r}")
    key = name.strip().lower()
    m = re.fullmatch(r"float_mitchell_(\w+)", key)
    if m:
        return FloatMitchell(m.group(1))
    m = re.fullmatch(r"(exact|mitchell|mbm|ilm)_([su])(\d+)(?:_t(\d+))?(?:_c(\d+))?", key)
    if m is None:
        raise SpecError(
            f"unknown unit name {name!r}: expected e.g. exact_s8, mitchell_u16, mitchell_s8_t3, mbm_s8, ilm_s8_c1, "
            "float_mitchell_bf16"
        )
    family, sign, width, t, c = m.groups()
    width, signed = int(width), sign == "s"
    t = None if t is None else int(t)
    if family == "ilm":
        if t is not None or c is None:
            raise SpecError(f"unknown unit name {name!r}: an ILM name ends in _c<corrections>, e.g. ilm_s8_c1")
        return ILM(width, signed, int(c))
    if c is not None or (family == "exact" and t is not None):
        raise SpecError(f"unknown unit name {name!r}: _c applies to ilm, _t to mitchell and mbm")
    if family == "exact":
        return Exact(width, signed)
    return (Mitchell if family == "mitchell" else MBM)(width, signed, t)
