"""FloatMitchell: IEEE floats multiplied by adding bit patterns (Mogami, arXiv 2012.03458).

Works on raw bit patterns (``int64`` holding 16- or 32-bit words) of a format
with ``E`` exponent and ``M`` mantissa bits::

    bits(|a*b|) = bits(|a|) + bits(|b|) - bits(1.0)      sign = sa ^ sb
    bits(|a/b|) = bits(|a|) - bits(|b|) + bits(1.0)

For normal operands this is Mitchell's multiplier on ``(exponent + mantissa)``
read as a fixed-point log2. Hardware corners, modelled exactly:

* NaN in -> canonical quiet NaN out (sign clear); ``inf * 0``, ``0 / 0`` and
  ``inf / inf`` -> NaN.
* ``inf * x`` -> inf; ``x / 0`` -> inf (division-by-zero flag); ``x / inf`` -> 0.
* Subnormal operands are read as zero (DAZ); results below the smallest normal
  flush to signed zero (FTZ); exponent overflow gives signed inf.
"""

from __future__ import annotations

from numba import njit, prange


@njit(inline="always", cache=True)
def _fields(E, M):
    sign_bit = 1 << (E + M)
    inf_mag = ((1 << E) - 1) << M
    qnan = inf_mag | (1 << (M - 1))
    one = ((1 << (E - 1)) - 1) << M
    return sign_bit, inf_mag, qnan, one


@njit(inline="always", cache=True)
def _finish(s, r, inf_mag, M):
    """Saturate an exponent overflow to inf and flush an underflow to zero."""
    if r >= inf_mag:
        return s | inf_mag
    if r < (1 << M):
        return s
    return s | r


@njit(inline="always", cache=True)
def _classify(a, b, E, M):
    """Result sign, operand magnitudes, and the corner flags: any NaN, zero (or subnormal), inf."""
    sign_bit, inf_mag, _, _ = _fields(E, M)
    ma = a & (sign_bit - 1)
    mb = b & (sign_bit - 1)
    nan = ma > inf_mag or mb > inf_mag
    return (a ^ b) & sign_bit, ma, mb, nan, (ma >> M) == 0, (mb >> M) == 0, ma == inf_mag, mb == inf_mag


@njit(inline="always", cache=True)
def float_mitchell_mul_bits(a, b, E, M):
    """Bit pattern of the FloatMitchell product of bit patterns ``a`` and ``b``."""
    _, inf_mag, qnan, one = _fields(E, M)
    s, ma, mb, nan, a_zero, b_zero, a_inf, b_inf = _classify(a, b, E, M)
    if nan or ((a_inf or b_inf) and (a_zero or b_zero)):
        return qnan
    if a_inf or b_inf:
        return s | inf_mag
    if a_zero or b_zero:
        return s
    return _finish(s, ma + mb - one, inf_mag, M)


@njit(inline="always", cache=True)
def float_mitchell_div_bits(a, b, E, M):
    """Bit pattern of the FloatMitchell quotient ``a / b``."""
    _, inf_mag, qnan, one = _fields(E, M)
    s, ma, mb, nan, a_zero, b_zero, a_inf, b_inf = _classify(a, b, E, M)
    if nan or (a_inf and b_inf) or (a_zero and b_zero):
        return qnan
    if a_inf or b_zero:
        return s | inf_mag
    if b_inf or a_zero:
        return s
    return _finish(s, ma - mb + one, inf_mag, M)


@njit(parallel=True, cache=True)
def float_apply(a, b, E, M, divide, out):
    """Elementwise FloatMitchell over flat int64 bit-pattern arrays."""
    for i in prange(a.size):
        if divide:
            out[i] = float_mitchell_div_bits(a[i], b[i], E, M)
        else:
            out[i] = float_mitchell_mul_bits(a[i], b[i], E, M)
