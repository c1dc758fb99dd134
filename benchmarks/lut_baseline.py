"""The lookup-table kernel as it was before table units existed: the baseline ``benchmarks/matmul.py`` times
the table path (:class:`kexue_hw.table.Table` through ``approx_matmul``) against.

A 256 x 256 int32 table holds the golden product of every operand pair, indexed by the two's
complement bytes; the matrix product gathers one entry per MAC (how AdaPT / TorchApprox emulate
8-bit approximate multipliers). 8-bit units only; benchmark code, not part of the package.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from numba import njit, prange

from kexue_hw.arith import mul
from kexue_hw.spec import IntUnit, SpecError

ROWS = 4
COLS = 512


@njit(parallel=True, cache=True)
def lut_bmm(a, b, table, out):
    """Lookup-table product: ``table[(a & 255) << 8 | (b & 255)]`` summed in int32 then int64.

    ``a``, ``b`` hold uint8 table indices (two's complement bytes).
    """
    nb, m, k = a.shape
    n = b.shape[2]
    nrb = (m + ROWS - 1) // ROWS
    ncb = (n + COLS - 1) // COLS
    for t in prange(nb * nrb * ncb):
        bt = t // (nrb * ncb)
        rem = t % (nrb * ncb)
        i0 = (rem // ncb) * ROWS
        j0 = (rem % ncb) * COLS
        rows = min(ROWS, m - i0)
        w = min(COLS, n - j0)
        acc = np.zeros(COLS, np.int32)
        for r in range(rows):
            for kk in range(k):
                trow = table[np.int64(a[bt, i0 + r, kk]) << 8 :]
                brow = b[bt, kk, j0 : j0 + w]
                for j in range(w):
                    acc[j] += trow[brow[j]]
            orow = out[bt, i0 + r, j0 : j0 + w]
            for j in range(w):
                orow[j] += acc[j]
                acc[j] = 0


@lru_cache(maxsize=None)
def product_table(unit: IntUnit) -> np.ndarray:
    """Flat int32 table: ``table[(a & 255) << 8 | (b & 255)] = mul(unit, a, b)`` for an 8-bit ``unit``."""
    if not isinstance(unit, IntUnit) or unit.width != 8:
        raise SpecError("the lookup-table baseline covers 8-bit integer units only")
    byte = np.arange(256)
    vals = np.where(byte >= 128, byte - 256, byte) if unit.signed else byte
    return np.asarray(mul(unit, vals[:, None], vals[None, :]), dtype=np.int32).ravel()


def lut_matmul(a: torch.Tensor, b: torch.Tensor, unit: IntUnit) -> torch.Tensor:
    """``a (M,K) @ b (K,N)`` by table lookup (int8/uint8 tensors), int64 result."""
    dtype = torch.int8 if unit.signed else torch.uint8
    an = a.to(dtype).contiguous().view(torch.uint8).numpy()[None]
    bn = b.to(dtype).contiguous().view(torch.uint8).numpy()[None]
    out = np.zeros((1, an.shape[1], bn.shape[2]), np.int64)
    lut_bmm(an, bn, product_table(unit), out)
    return torch.from_numpy(out[0])
