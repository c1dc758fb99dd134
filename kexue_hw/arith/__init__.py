"""Golden models: bit-exact, vectorized, the single source of truth for every other face.

>>> from kexue_hw import Mitchell
>>> from kexue_hw.arith import mul, div
>>> int(mul(Mitchell(8), 3, 3))            # Mitchell's worst case: 8 instead of 9
8

Integer units take integer operands (Python ints or numpy integer arrays, any
broadcastable shapes) inside the unit's range and return ``int64`` arrays
(``uint64`` for 32-bit unsigned products, which need all 64 bits). Values outside
the format raise :class:`OperandError`; nothing wraps silently.

Hardware corners (division by zero; float NaN, inf and subnormal inputs) raise by
default (``strict=True``). ``strict=False`` returns what the hardware does, as
documented in :mod:`.floating` and :func:`div`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..registry import SpecRegistry
from ..spec import FloatMitchell, IntUnit, SpecError, Unit
from ..table import MAX_TABLE_WIDTH, FunctionUnit, Table
from . import dispatch, floating
from ._bits import U64

__all__ = [
    "mul",
    "div",
    "mul_bits",
    "div_bits",
    "OperandError",
    "unit_params",
    "float_to_bits",
    "bits_to_float",
    "round_to_bf16",
    "round_to_format",
    "tabulate",
    "GOLDEN",
]

#: the golden model of each unit family: an object with ``mul(unit, a, b, *, strict)`` and
#: ``div(unit, a, b, *, strict, return_flags)`` (see :func:`mul` and :func:`div`)
GOLDEN = SpecRegistry("the golden model (kexue_hw.arith)")


class OperandError(ValueError):
    """An operand outside the unit's format (or of a non-integer type)."""


# ----------------------------------------------------------------------------- dispatch


def unit_params(unit: IntUnit, op: str = "mul") -> tuple:
    """The ``(F, T, Q, extra)`` int64 tuple the Numba primitives take.

    ``F`` log fraction bits (``N-1``), ``T`` kept fraction bits, ``Q`` quotient
    fraction bits, ``extra`` = output bits (MBM saturation) or corrections (ILM).
    """
    extra = dispatch.INT_FAMILIES.lookup(unit).extra(unit)
    return (np.int64(unit.log_frac_bits), np.int64(unit.kept_frac_bits), np.int64(unit.quotient_frac_bits),
            np.int64(extra))  # fmt: skip


@njit(parallel=True, cache=True)
def _int_apply(code, a, b, p, out):
    """Sign-magnitude elementwise op over flat int64 arrays; writes two's complement uint64."""
    for i in prange(a.size):
        out[i] = int_pattern(code, a[i], b[i], p)


@njit(inline="always", cache=True)
def int_pattern(code, x, y, p):
    """One integer result as a two's complement ``uint64`` pattern (``y != 0`` for division).

    The scalar core of :func:`mul` and :func:`div`, for other Numba loops that
    must agree with them bit for bit (the RTL checkers of :mod:`kexue_hw.hdl`).
    """
    ma = -x if x < 0 else x
    mb = -y if y < 0 else y
    mag = dispatch.combine(code, dispatch.encode(code, ma, p), dispatch.encode(code, mb, p), ma, mb, p)
    if (x < 0) != (y < 0):
        return U64(0) - mag
    return mag


# ----------------------------------------------------------------------------- operands


def _is_scalar(x) -> bool:
    return np.ndim(x) == 0


def _int_operands(unit: IntUnit, a, b):
    arrs = []
    for name, x in (("a", a), ("b", b)):
        arr = np.asarray(x)
        if arr.dtype == object:
            try:
                arr = arr.astype(np.int64)
            except OverflowError as e:
                raise OperandError(f"operand {name} does not fit a {unit.width}-bit format: {e}") from None
        if arr.dtype.kind not in "iu" or arr.dtype == np.bool_:
            raise OperandError(
                f"operand {name} must hold integers for {unit.describe()}, got dtype {arr.dtype}"
                " (quantize floats first, e.g. with kexue_hw.emulate)"
            )
        if arr.size:
            lo, hi = arr.min(), arr.max()
            if lo < unit.min_value or hi > unit.max_value:
                bad = int(np.count_nonzero((arr < unit.min_value) | (arr > unit.max_value)))
                raise OperandError(
                    f"operand {name}: {bad} value(s) outside the {unit.width}-bit "
                    f"{'signed' if unit.signed else 'unsigned'} range {unit.min_value}..{unit.max_value}"
                    f" (e.g. {int(lo) if lo < unit.min_value else int(hi)})"
                )
        arrs.append(arr.astype(np.int64, copy=False))
    return np.broadcast_arrays(*arrs)


def _finish_int(unit: IntUnit, raw: np.ndarray, shape, scalar: bool, unsigned_bits: int):
    if unit.signed or unsigned_bits <= 63:
        res = raw.view(np.int64)
    else:
        res = raw
    res = res.reshape(shape)
    if scalar:
        return int(res[()])
    return res


def _int_op(unit: IntUnit, op: str, a, b):
    a2, b2 = _int_operands(unit, a, b)
    code = dispatch.op_code(unit, op)
    p = unit_params(unit, op)
    out = np.empty(a2.size, dtype=np.uint64)
    _int_apply(code, np.ascontiguousarray(a2).ravel(), np.ascontiguousarray(b2).ravel(), p, out)
    return out, a2.shape


# ----------------------------------------------------------------------------- public API


def mul(unit: Unit, a, b, *, strict: bool = True):
    """Approximate product ``a * b`` on ``unit`` (bit-exact golden model).

    Integer units: ``2N``-bit products as int64 (uint64 for unsigned 32-bit);
    Python ints in, Python int out. Float units: float values in the unit's
    format in, the same out (see :mod:`.floating` for the corners).
    """
    return GOLDEN.lookup(unit).mul(unit, a, b, strict=strict)


def div(unit: Unit, a, b, *, strict: bool = True, return_flags: bool = False):
    """Approximate quotient ``a / b`` on ``unit`` as a fixed-point integer.

    The result ``q`` stands for ``q / 2**unit.quotient_frac_bits`` (truncated
    toward zero). Division by zero raises :class:`ZeroDivisionError` when
    ``strict``; otherwise the hardware result is returned: the largest quotient
    magnitude ``2**(N + Q) - 1`` with the dividend's sign, and (with
    ``return_flags=True``) a boolean array flagging those lanes.
    Float units: ``a / b`` by bit-pattern subtraction (see :mod:`.floating`).
    """
    golden = GOLDEN.lookup(unit)
    unit.check_op("div")
    return golden.div(unit, a, b, strict=strict, return_flags=return_flags)


@GOLDEN.register(IntUnit)
class _IntGolden:
    """Integer families: sign-magnitude Numba loops over the :mod:`.dispatch` primitives."""

    @staticmethod
    def mul(unit: IntUnit, a, b, *, strict: bool):
        scalar = _is_scalar(a) and _is_scalar(b)
        out, shape = _int_op(unit, "mul", a, b)
        return _finish_int(unit, out, shape, scalar, 2 * unit.width)

    @staticmethod
    def div(unit: IntUnit, a, b, *, strict: bool, return_flags: bool):
        scalar = _is_scalar(a) and _is_scalar(b)
        a2, b2 = _int_operands(unit, a, b)
        zero = b2 == 0
        n_zero = int(np.count_nonzero(zero))
        if n_zero and strict:
            raise ZeroDivisionError(
                f"{n_zero} divisor(s) are zero; pass strict=False for the hardware result (saturated quotient and a flag)"
            )
        safe_b = np.where(zero, 1, b2)
        out, shape = _int_op(unit, "div", a2, safe_b)
        q = _finish_int(unit, out, shape, False, unit.width + unit.quotient_frac_bits)
        if n_zero:
            sat = (1 << (unit.width + unit.quotient_frac_bits)) - 1
            q = np.where(zero, np.where(a2 < 0, -sat, sat), q)
        if scalar:
            q = int(q[()])
            zero = bool(zero[()])
        return (q, zero) if return_flags else q


@GOLDEN.register(FloatMitchell)
class _FloatGolden:
    """FloatMitchell: bit-pattern arithmetic of :mod:`.floating`, with the strict checks of :func:`float_to_bits`."""

    @staticmethod
    def mul(unit: FloatMitchell, a, b, *, strict: bool):
        return _float_op(unit, a, b, divide=False, strict=strict)

    @staticmethod
    def div(unit: FloatMitchell, a, b, *, strict: bool, return_flags: bool):
        q = _float_op(unit, a, b, divide=True, strict=strict)
        if return_flags:
            fmt = unit.format
            bb = np.broadcast_to(float_to_bits(unit, b, strict=strict), np.shape(q))
            return q, ((bb & (fmt.sign_bit - 1)) >> fmt.man_bits) == 0  # zero or subnormal divisor
        return q


@GOLDEN.register(Table)
@GOLDEN.register(FunctionUnit)
class _ProductGolden:
    """Units given by their products: the table lookup, or the function with its output range checked."""

    @staticmethod
    def mul(unit: Table | FunctionUnit, a, b, *, strict: bool):
        scalar = _is_scalar(a) and _is_scalar(b)
        a2, b2 = _int_operands(unit, a, b)
        out = unit.products(a2, b2)
        return int(out[()]) if scalar else out


def tabulate(unit: IntUnit) -> Table:
    """The :class:`~kexue_hw.table.Table` of an integer unit's golden product (every pair; width <= 12)."""
    if not isinstance(unit, IntUnit) or unit.width > MAX_TABLE_WIDTH:
        raise SpecError(f"tabulate takes an integer unit of 2..{MAX_TABLE_WIDTH} bits, got {unit!r}")
    table = Table.from_function(lambda a, b: mul(unit, a, b), unit.width, signed=unit.signed, name=unit.describe())
    return table


# ----------------------------------------------------------------------------- floats


def float_to_bits(unit: FloatMitchell, x, *, strict: bool = True) -> np.ndarray:
    """Bit patterns (int64) of float values in ``unit``'s format.

    Takes anything exactly representable in the format (fp32 and bf16 values as
    float32, bf16 with the low 16 bits zero: round first with :func:`round_to_format`);
    values that would change are an :class:`OperandError`. With ``strict``,
    NaN, inf and subnormal values are an :class:`OperandError` too.
    """
    fmt = unit.format
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu" or arr.dtype == np.bool_:
        raise OperandError(f"{unit.describe()} takes floating-point values, got dtype {arr.dtype}")
    with np.errstate(over="ignore"):  # overflow is reported below as "not representable"
        conv = arr.astype(fmt.numpy_dtype)
    bits = conv.view(f"uint{fmt.container_bits}").astype(np.int64)
    if fmt.shift:
        low = bits & ((1 << fmt.shift) - 1)
        if np.any(low != 0):
            n = int(np.count_nonzero(low))
            raise OperandError(f"{n} value(s) are not representable in {fmt.name}; round them first (round_to_format)")
        bits = bits >> fmt.shift
    same = (conv.astype(np.float64) == arr.astype(np.float64)) | np.isnan(arr.astype(np.float64))
    if not np.all(same):
        n = int(np.count_nonzero(~same))
        raise OperandError(f"{n} value(s) are not exactly representable in {fmt.name} (overflow or rounding)")
    if strict:
        mag = bits & (fmt.sign_bit - 1)
        exp = mag >> fmt.man_bits
        n_nan = int(np.count_nonzero(mag > fmt.inf_bits))
        n_inf = int(np.count_nonzero(mag == fmt.inf_bits))
        n_sub = int(np.count_nonzero((exp == 0) & (mag != 0)))
        if n_nan or n_inf or n_sub:
            raise OperandError(
                f"{fmt.name} operands hold {n_nan} NaN, {n_inf} inf and {n_sub} subnormal value(s); "
                "pass strict=False for the hardware behaviour (NaN propagates, inf saturates, subnormals read as 0)"
            )
    return bits


def bits_to_float(unit: FloatMitchell, bits) -> np.ndarray:
    """Float values (float32, or float16 for fp16) of bit patterns in ``unit``'s format."""
    fmt = unit.format
    bits = np.asarray(bits, dtype=np.int64) << fmt.shift
    return bits.astype(f"uint{fmt.container_bits}").view(fmt.numpy_dtype)


def round_to_format(unit: FloatMitchell, x) -> np.ndarray:
    """``x`` rounded to the nearest value of ``unit``'s format (ties to even), in the format's numpy dtype.

    fp32 and fp16 are numpy casts; bf16 rounds float32 values to their top 16 bits (NaN stays NaN).
    """
    fmt = unit.format
    conv = np.asarray(x).astype(fmt.numpy_dtype)
    if not fmt.shift:
        return conv
    b = conv.view(f"uint{fmt.container_bits}").astype(np.uint64)
    half = (1 << (fmt.shift - 1)) - 1
    rounded = ((b + half + ((b >> fmt.shift) & 1)) >> fmt.shift) << fmt.shift
    rounded = np.where(np.isnan(conv), b | (1 << (fmt.man_bits - 1 + fmt.shift)), rounded)  # keep NaN quiet
    return rounded.astype(f"uint{fmt.container_bits}").view(fmt.numpy_dtype)


def round_to_bf16(x) -> np.ndarray:
    """Round float32 values to the nearest bf16 (ties to even), returned as float32."""
    return round_to_format(FloatMitchell("bf16"), np.asarray(x, dtype=np.float32))


def mul_bits(unit: FloatMitchell, a_bits, b_bits) -> np.ndarray:
    """Hardware view: FloatMitchell product of raw bit patterns (no checks on the values)."""
    return _float_bits_op(unit, a_bits, b_bits, False)


def div_bits(unit: FloatMitchell, a_bits, b_bits) -> np.ndarray:
    """Hardware view: FloatMitchell quotient of raw bit patterns (no checks on the values)."""
    return _float_bits_op(unit, a_bits, b_bits, True)


def _float_bits_op(unit, a_bits, b_bits, divide):
    a2, b2 = np.broadcast_arrays(np.asarray(a_bits, dtype=np.int64), np.asarray(b_bits, dtype=np.int64))
    limit = 1 << unit.format.bits
    if a2.size and (min(a2.min(), b2.min()) < 0 or max(a2.max(), b2.max()) >= limit):
        raise OperandError(f"bit patterns must be in 0..{limit - 1} for {unit.fmt}")
    out = np.empty(a2.size, dtype=np.int64)
    fmt = unit.format
    floating.float_apply(
        np.ascontiguousarray(a2).ravel(), np.ascontiguousarray(b2).ravel(), fmt.exp_bits, fmt.man_bits, divide, out
    )
    return out.reshape(a2.shape)


def _float_op(unit: FloatMitchell, a, b, *, divide: bool, strict: bool):
    scalar = _is_scalar(a) and _is_scalar(b)
    ba = float_to_bits(unit, a, strict=strict)
    bb = float_to_bits(unit, b, strict=strict)
    if divide and strict:
        bz = (np.broadcast_to(bb, np.broadcast(ba, bb).shape) & (unit.format.sign_bit - 1)) == 0
        if np.any(bz):
            raise ZeroDivisionError(
                f"{int(np.count_nonzero(bz))} divisor(s) are zero; pass strict=False for the hardware result (inf)"
            )
    res = bits_to_float(unit, _float_bits_op(unit, ba, bb, divide))
    if scalar:
        return res[()]
    return res
