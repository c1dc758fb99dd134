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

from ..spec import ILM, FloatMitchell, IntUnit, SpecError, Unit
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
]


class OperandError(ValueError):
    """An operand outside the unit's format (or of a non-integer type)."""


# ----------------------------------------------------------------------------- dispatch


def unit_params(unit: IntUnit, op: str = "mul") -> tuple:
    """The ``(F, T, Q, extra)`` int64 tuple the Numba primitives take.

    ``F`` log fraction bits (``N-1``), ``T`` kept fraction bits, ``Q`` quotient
    fraction bits, ``extra`` = output bits (MBM saturation) or corrections (ILM).
    """
    F = unit.width - 1
    T = getattr(unit, "kept_frac_bits", F)
    Q = unit.quotient_frac_bits
    if isinstance(unit, ILM):
        extra = unit.corrections
    else:
        extra = 2 * unit.width - (1 if unit.signed else 0)  # magnitude bits of the output
    return (np.int64(F), np.int64(T), np.int64(Q), np.int64(extra))


@njit(parallel=True, cache=True)
def _int_apply(code, a, b, p, out):
    """Sign-magnitude elementwise op over flat int64 arrays; writes two's complement uint64."""
    for i in prange(a.size):
        x = a[i]
        y = b[i]
        ma = -x if x < 0 else x
        mb = -y if y < 0 else y
        mag = dispatch.combine(code, dispatch.encode(code, ma, p), dispatch.encode(code, mb, p), ma, mb, p)
        if (x < 0) != (y < 0):
            out[i] = U64(0) - mag
        else:
            out[i] = mag


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
    Python ints in, Python int out. Float units: see :func:`float_mul`.
    """
    if isinstance(unit, FloatMitchell):
        return _float_op(unit, a, b, divide=False, strict=strict)
    if not isinstance(unit, IntUnit):
        raise SpecError(f"not a unit spec: {unit!r}")
    scalar = _is_scalar(a) and _is_scalar(b)
    out, shape = _int_op(unit, "mul", a, b)
    return _finish_int(unit, out, shape, scalar, 2 * unit.width)


def div(unit: Unit, a, b, *, strict: bool = True, return_flags: bool = False):
    """Approximate quotient ``a / b`` on ``unit`` as a fixed-point integer.

    The result ``q`` stands for ``q / 2**unit.quotient_frac_bits`` (truncated
    toward zero). Division by zero raises :class:`ZeroDivisionError` when
    ``strict``; otherwise the hardware result is returned: the largest quotient
    magnitude ``2**(N + Q) - 1`` with the dividend's sign, and (with
    ``return_flags=True``) a boolean array flagging those lanes.
    Float units: ``a / b`` by bit-pattern subtraction (see :mod:`.floating`).
    """
    if isinstance(unit, FloatMitchell):
        q = _float_op(unit, a, b, divide=True, strict=strict)
        if return_flags:
            fmt = unit.format
            bb = np.broadcast_to(float_to_bits(unit, b, strict=strict), np.shape(q))
            return q, ((bb & ((1 << (fmt.bits - 1)) - 1)) >> fmt.man_bits) == 0  # zero or subnormal divisor
        return q
    if not isinstance(unit, IntUnit):
        raise SpecError(f"not a unit spec: {unit!r}")
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


# ----------------------------------------------------------------------------- floats


def float_to_bits(unit: FloatMitchell, x, *, strict: bool = True) -> np.ndarray:
    """Bit patterns (int64) of float values in ``unit``'s format.

    fp32 takes anything exactly representable as float32, fp16 as float16, bf16
    as float32 with the low 16 bits zero (round first with :func:`round_to_bf16`);
    values that would change are an :class:`OperandError`. With ``strict``,
    NaN, inf and subnormal values are an :class:`OperandError` too.
    """
    fmt = unit.format
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu" or arr.dtype == np.bool_:
        raise OperandError(f"{unit.describe()} takes floating-point values, got dtype {arr.dtype}")
    if fmt.name == "fp16":
        with np.errstate(over="ignore"):  # overflow is reported below as "not representable"
            conv = arr.astype(np.float16)
        bits = conv.view(np.uint16).astype(np.int64)
    else:
        with np.errstate(over="ignore"):
            conv = arr.astype(np.float32)
        bits = conv.view(np.uint32).astype(np.int64)
        if fmt.name == "bf16":
            low = bits & 0xFFFF
            if np.any(low != 0):
                n = int(np.count_nonzero(low))
                raise OperandError(f"{n} value(s) are not representable in bf16; round them first (round_to_bf16)")
            bits = bits >> 16
    same = (conv.astype(np.float64) == arr.astype(np.float64)) | np.isnan(arr.astype(np.float64))
    if not np.all(same):
        n = int(np.count_nonzero(~same))
        raise OperandError(f"{n} value(s) are not exactly representable in {fmt.name} (overflow or rounding)")
    if strict:
        mag = bits & ((1 << (fmt.bits - 1)) - 1)
        exp = mag >> fmt.man_bits
        n_nan = int(np.count_nonzero(mag > (((1 << fmt.exp_bits) - 1) << fmt.man_bits)))
        n_inf = int(np.count_nonzero(mag == (((1 << fmt.exp_bits) - 1) << fmt.man_bits)))
        n_sub = int(np.count_nonzero((exp == 0) & (mag != 0)))
        if n_nan or n_inf or n_sub:
            raise OperandError(
                f"{fmt.name} operands hold {n_nan} NaN, {n_inf} inf and {n_sub} subnormal value(s); "
                "pass strict=False for the hardware behaviour (NaN propagates, inf saturates, subnormals read as 0)"
            )
    return bits


def bits_to_float(unit: FloatMitchell, bits) -> np.ndarray:
    """Float values (float32, or float16 for fp16) of bit patterns in ``unit``'s format."""
    bits = np.asarray(bits, dtype=np.int64)
    if unit.fmt == "fp16":
        return bits.astype(np.uint16).view(np.float16)
    if unit.fmt == "bf16":
        bits = bits << 16
    return bits.astype(np.uint32).view(np.float32)


def round_to_bf16(x) -> np.ndarray:
    """Round float32 values to the nearest bf16 (ties to even), returned as float32."""
    b = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    rounded = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16
    rounded = np.where(nan, b | 0x00400000, rounded)
    return rounded.astype(np.uint32).view(np.float32)


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
        fmt = unit.format
        bz = (np.broadcast_to(bb, np.broadcast(ba, bb).shape) & ((1 << (fmt.bits - 1)) - 1)) == 0
        if np.any(bz):
            raise ZeroDivisionError(
                f"{int(np.count_nonzero(bz))} divisor(s) are zero; pass strict=False for the hardware result (inf)"
            )
    res = bits_to_float(unit, _float_bits_op(unit, ba, bb, divide))
    if scalar:
        return res[()]
    return res
