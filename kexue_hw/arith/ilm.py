"""Iterative Logarithmic Multiplier (Babic et al. 2011) and the exact unit: scalar Numba primitives.

Same calling convention as :mod:`.mitchell` (``la, lb`` are the encodings, which
for these units are the magnitudes themselves; ``p = (F, T, Q, extra)``).
"""

from __future__ import annotations

from numba import njit

from ._bits import U64, leading_one


@njit(inline="always", cache=True)
def identity_encode(m, p):
    """These units work on the plain magnitude."""
    return m


@njit(inline="always", cache=True)
def ilm_mul_mag(la, lb, ma, mb, p):
    """ILM product with ``p[3]`` correction terms (uint64, never above the exact product).

    Basic block: ``2**(ka+kb) + xa*2**kb + xb*2**ka`` with ``x = m - 2**k``; the
    dropped term ``xa*xb`` is approximated by the next block, and so on.
    """
    total = U64(0)
    a = ma
    b = mb
    for _ in range(p[3] + 1):
        if a == 0 or b == 0:
            break
        ka = leading_one(a)
        kb = leading_one(b)
        xa = a - (1 << ka)
        xb = b - (1 << kb)
        total += (U64(1) << U64(ka + kb)) + (U64(xa) << U64(kb)) + (U64(xb) << U64(ka))
        a = xa
        b = xb
    return total


@njit(inline="always", cache=True)
def exact_mul_mag(la, lb, ma, mb, p):
    """Exact product of magnitudes (uint64)."""
    return U64(ma) * U64(mb)


@njit(inline="always", cache=True)
def exact_div_mag(la, lb, ma, mb, p):
    """``floor(ma / mb * 2**Q)`` with ``Q = p[2]`` (``mb > 0``; ``N + Q <= 63`` keeps it in range)."""
    return (U64(ma) << U64(p[2])) // U64(mb)
