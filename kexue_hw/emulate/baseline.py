"""The lookup-table baseline (how AdaPT / TorchApprox emulate 8-bit approximate multipliers).

A 256 x 256 int32 table holds the golden product of every operand pair, indexed
by the two's complement bytes; the matrix product gathers one entry per MAC
(:func:`kexue_hw.emulate.kernels.lut_bmm`, Numba like our kernel). Only for 8-bit
units; used by the benchmarks to compare against the closed-form kernel.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from ..spec import IntUnit, SpecError
from . import kernels as K
from .ops import approx_matmul


@lru_cache(maxsize=None)
def product_table(unit: IntUnit) -> np.ndarray:
    """Flat int32 table: ``table[(a & 255) << 8 | (b & 255)] = mul(unit, a, b)`` for 8-bit ``unit``."""
    if not isinstance(unit, IntUnit) or unit.width != 8:
        raise SpecError("the lookup-table baseline covers 8-bit integer units only")
    byte = torch.arange(256)
    vals = torch.where(byte >= 128, byte - 256, byte) if unit.signed else byte
    # the outer product (K = 1) through the kernel is every golden product (tested exhaustively)
    return approx_matmul(vals[:, None], vals[None, :], unit).numpy().astype(np.int32).ravel()


def lut_matmul(a: torch.Tensor, b: torch.Tensor, unit: IntUnit) -> torch.Tensor:
    """``a (M,K) @ b (K,N)`` by table lookup (int8/uint8 tensors), int64 result."""
    dtype = torch.int8 if unit.signed else torch.uint8
    an = a.to(dtype).contiguous().view(torch.uint8).numpy()[None]
    bn = b.to(dtype).contiguous().view(torch.uint8).numpy()[None]
    out = np.zeros((1, an.shape[1], bn.shape[2]), np.int64)
    K.lut_bmm(an, bn, product_table(unit), out)
    return torch.from_numpy(out[0])
