"""Bit-level helpers shared by the golden models (Numba, inlined).

All magnitudes here are non-negative ``int64`` values below ``2**33``;
products are returned as ``uint64`` because a 32 x 32-bit product needs 64 bits.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

U64 = np.uint64


@intrinsic
def _ctlz64(typingctx, x):
    """LLVM ``ctlz`` on an int64: leading zero bits (64 for 0)."""
    if x != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctlz(args[0], ir.Constant(ir.IntType(1), 0))

    return types.int64(types.int64), codegen


@njit(inline="always", cache=True)
def leading_one(x):
    """Index of the highest set bit of ``x`` (``x`` in ``1 .. 2**63 - 1``), i.e. ``floor(log2 x)``."""
    return 63 - _ctlz64(np.int64(x))


@njit(inline="always", cache=True)
def shift_u64(m, s):
    """``floor(m * 2**s)`` for ``m >= 0`` as ``uint64`` (``s`` may be negative; truncates)."""
    if s >= 0:
        return U64(m) << U64(s)
    if s <= -64:
        return U64(0)
    return U64(m) >> U64(-s)
