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
def float_mitchell_mul_bits(a, b, E, M):
    """Bit pattern of the FloatMitchell product of bit patterns ``a`` and ``b``."""
    sign_bit, inf_mag, qnan, one = _fields(E, M)
    s = (a ^ b) & sign_bit
    ma = a & (sign_bit - 1)
    mb = b & (sign_bit - 1)
    if ma > inf_mag or mb > inf_mag:
        return qnan
    a_zero = (ma >> M) == 0
    b_zero = (mb >> M) == 0
    if ma == inf_mag or mb == inf_mag:
        if a_zero or b_zero:
            return qnan
        return s | inf_mag
    if a_zero or b_zero:
        return s
    return _finish(s, ma + mb - one, inf_mag, M)


@njit(inline="always", cache=True)
def float_mitchell_div_bits(a, b, E, M):
    """Bit pattern of the FloatMitchell quotient ``a / b``."""
    sign_bit, inf_mag, qnan, one = _fields(E, M)
    s = (a ^ b) & sign_bit
    ma = a & (sign_bit - 1)
    mb = b & (sign_bit - 1)
    if ma > inf_mag or mb > inf_mag:
        return qnan
    a_zero = (ma >> M) == 0
    b_zero = (mb >> M) == 0
    a_inf = ma == inf_mag
    b_inf = mb == inf_mag
    if (a_inf and b_inf) or (a_zero and b_zero):
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
