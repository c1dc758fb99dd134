"""Mitchell's logarithmic multiplier and divider, and MBM: scalar Numba primitives.

The log encoding of an ``N``-bit magnitude ``m = 2**k + x`` (``0 <= x < 2**k``)
is the fixed-point number ``L = k * 2**F + (x << (F - k))`` with ``F = N - 1``
fraction bits, exact for every ``N``-bit magnitude. Mitch-w truncation keeps the
top ``T`` fraction bits (``T = F`` keeps all).

* multiply: ``antilog(La + Lb)``; a carry out of the fraction sum moves into the
  exponent by itself, which is Mitchell's second case.
* divide: ``antilog(La - Lb)`` scaled by ``2**Q`` (``Q`` quotient fraction bits);
  a borrow gives Mitchell's ``2**(ka-kb-1) * (2 + fa - fb)`` case.

``antilog(S) = floor((1 + frac(S)) * 2**int(S))`` is computed with shifts only.
For multiplication the result is always an integer (no bits are lost); the
divider truncates below ``2**-Q``.

Every function here takes a parameter tuple ``p = (F, T, Q, extra)`` so the
vectorized wrappers and the metrics sweep can treat all families alike.
"""

from __future__ import annotations

from numba import njit

from ..spec import MBM_C_NUM, MBM_C_SHIFT
from ._bits import U64, leading_one, shift_u64


@njit(inline="always", cache=True)
def log_encode(m, p):
    """Fixed-point log2 of magnitude ``m > 0``: ``k << F | top-T fraction bits``; 0 for ``m == 0``."""
    F = p[0]
    T = p[1]
    if m == 0:
        return 0
    k = leading_one(m)
    frac = (m - (1 << k)) << (F - k)
    frac = (frac >> (F - T)) << (F - T)
    return (k << F) | frac


@njit(inline="always", cache=True)
def antilog(S, F, scale):
    """``floor((1 + frac) * 2**(int + scale))`` of the ``F``-fraction-bit log value ``S`` (uint64)."""
    e = S >> F  # arithmetic shift: floor for negative S
    mant = (1 << F) | (S & ((1 << F) - 1))
    return shift_u64(mant, e + scale - F)


@njit(inline="always", cache=True)
def mitchell_mul_mag(la, lb, ma, mb, p):
    """Mitchell product of magnitudes ``ma, mb`` given their log encodings (uint64)."""
    if ma == 0 or mb == 0:
        return U64(0)
    return antilog(la + lb, p[0], 0)


@njit(inline="always", cache=True)
def mbm_mul_mag(la, lb, ma, mb, p):
    """MBM product: Mitchell's plus ``floor(5/64 * 2**(ka+kb))``, saturating to ``p[3]`` output bits (uint64)."""
    if ma == 0 or mb == 0:
        return U64(0)
    F = p[0]
    base = antilog(la + lb, F, 0)
    ksum = (la >> F) + (lb >> F)
    corr = shift_u64(MBM_C_NUM, ksum - MBM_C_SHIFT)
    total = base + corr
    limit = ~U64(0) >> U64(64 - p[3])  # largest value of the p[3]-bit output
    if total < base or total > limit:  # wrapped past 2**64, or above the output range
        return limit
    return total


@njit(inline="always", cache=True)
def mitchell_div_mag(la, lb, ma, mb, p):
    """Mitchell quotient ``ma / mb`` as a fixed-point uint64 with ``p[2]`` fraction bits (``mb > 0``)."""
    if ma == 0:
        return U64(0)
    return antilog(la - lb, p[0], p[2])
