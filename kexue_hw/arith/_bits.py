"""Bit-level helpers shared by the golden models (Numba, inlined).

All magnitudes here are non-negative ``int64`` values below ``2**33``;
products are returned as ``uint64`` because a 32 x 32-bit product needs 64 bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

U64 = np.uint64


@njit(inline="always", cache=True)
def leading_one(x):
    """Index of the highest set bit of ``x`` (``x`` in ``1 .. 2**33 - 1``), i.e. ``floor(log2 x)``."""
    k = 0
    if x >> 32:
        x >>= 32
        k += 32
    if x >> 16:
        x >>= 16
        k += 16
    if x >> 8:
        x >>= 8
        k += 8
    if x >> 4:
        x >>= 4
        k += 4
    if x >> 2:
        x >>= 2
        k += 2
    if x >> 1:
        k += 1
    return k


@njit(inline="always", cache=True)
def shift_u64(m, s):
    """``floor(m * 2**s)`` for ``m >= 0`` as ``uint64`` (``s`` may be negative; truncates)."""
    if s >= 0:
        return U64(m) << U64(s)
    if s <= -64:
        return U64(0)
    return U64(m) >> U64(-s)
