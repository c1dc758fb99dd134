"""Numba intrinsics that reinterpret 32-bit integer lanes as float32 (no conversion, no rounding).

LLVM sees a plain ``add`` + ``bitcast``, so loops calling these still vectorize.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def add_as_f32(typingctx, x, y):
    """``float32`` whose bit pattern is ``(x + y) mod 2**32`` for two ``int32`` values."""
    if x != types.int32 or y != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(builder.add(args[0], args[1]), ir.FloatType())

    return types.float32(types.int32, types.int32), codegen


@intrinsic
def bits_as_f32(typingctx, x):
    """``float32`` whose bit pattern is the ``int32`` value ``x``."""
    if x != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen
