"""Symmetric integer quantization for the integer units (scales in fp32, rounding to nearest even).

``q = clamp(round(x / s), -qmax, qmax)`` with ``s = amax / qmax`` (``s = 1`` where
``amax == 0``); ``qmax = 2**(N-1) - 1`` for signed units and ``2**N - 1`` for
unsigned ones (which then see sign-magnitude data). ``dim`` is the contraction
dimension: reducing ``|x|`` over it gives one scale per row of a left operand
or per column of a right operand (``per_vector``); ``per_tensor`` reduces all.
"""

from __future__ import annotations

import numpy as np
import torch
from numba import njit, prange

from ..spec import IntUnit


def int_dtype_for(qmax: int) -> torch.dtype:
    """Narrowest integer dtype holding ``±qmax``."""
    for dtype in (torch.int8, torch.int16, torch.int32):
        if qmax <= torch.iinfo(dtype).max:
            return dtype
    return torch.int64


def symmetric_scale(x: torch.Tensor, qmax: int, dim: int | None) -> torch.Tensor:
    """fp32 scale ``amax(|x|) / qmax`` over ``dim`` (kept as size 1) or over all elements (``dim=None``)."""
    x = x.detach().to(torch.float32)
    amax = x.abs().amax() if dim is None else x.abs().amax(dim=dim, keepdim=True)
    scale = amax / qmax
    return torch.where(scale > 0, scale, torch.ones_like(scale))


def quantize_symmetric(x: torch.Tensor, unit: IntUnit, dim: int | None = -1, scale: torch.Tensor | None = None):
    """``(q, scale)``: ``x`` as integers inside ``unit``'s range (see the module docstring).

    Per-row scales of a float32 tensor take one fused Numba pass (same IEEE operations
    as :func:`quantize_symmetric_torch`, which handles every other case).
    """
    qmax = unit.max_value
    dtype = int_dtype_for(qmax)
    if scale is None and dim in (-1, x.dim() - 1) and x.dtype == torch.float32 and x.dim() >= 1 and qmax <= 32767:
        x2 = x.detach().reshape(-1, x.shape[-1]).contiguous() if x.numel() else None
        if x2 is not None and x2.shape[1] > 0:
            q = torch.empty(x2.shape, dtype=dtype)
            s = torch.empty(x2.shape[0], dtype=torch.float32)
            quantize_rows(x2.numpy(), np.float32(qmax), q.numpy(), s.numpy())
            return q.reshape(x.shape), s.reshape(*x.shape[:-1], 1)
    return quantize_symmetric_torch(x, unit, dim, scale)


def quantize_symmetric_torch(x: torch.Tensor, unit: IntUnit, dim: int | None = -1, scale: torch.Tensor | None = None):
    """Reference quantizer in torch ops: ``clamp(round(x / scale), -qmax, qmax)``."""
    qmax = unit.max_value
    if scale is None:
        scale = symmetric_scale(x, qmax, dim)
    q = torch.round(x.detach().to(torch.float32) / scale).clamp_(-qmax, qmax)
    return q.to(int_dtype_for(qmax)), scale


@njit(parallel=True, cache=True)
def quantize_rows(x, qmax, q, scale):
    """Per-row symmetric quantization of float32 ``x (R, C)``: fp32 ``scale = amax / qmax``, round half even."""
    rows, cols = x.shape
    for r in prange(rows):
        amax = np.float32(0.0)
        for c in range(cols):
            v = abs(x[r, c])
            if v > amax or v != v:
                amax = v
        s = np.float32(amax / qmax)
        if not s > 0:
            s = np.float32(1.0)
        scale[r] = s
        for c in range(cols):
            v = np.rint(np.float32(x[r, c] / s))
            v = min(max(v, -qmax), qmax)
            q[r, c] = v


def dequantize_product(acc: torch.Tensor, scale_a: torch.Tensor, scale_b: torch.Tensor, dtype) -> torch.Tensor:
    """``(acc * scale_a) * scale_b`` in float64 (exact integer sum), then cast to ``dtype``.

    ``acc (..., M, N)``; ``scale_a`` broadcasts as ``(..., M, 1)``, ``scale_b`` as ``(..., 1, N)``.
    One fused Numba pass; the same IEEE operations as the torch expression.
    """
    if acc.dim() < 2 or acc.numel() == 0 or dtype != torch.float32:
        return (acc.to(torch.float64) * scale_a.to(torch.float64) * scale_b.to(torch.float64)).to(dtype)
    m, n = acc.shape[-2:]
    acc3 = acc.reshape(-1, m, n)
    lead = acc.shape[:-2]
    sa = scale_a.to(torch.float64).expand(*lead, m, 1).reshape(-1, m)
    sb = scale_b.to(torch.float64).expand(*lead, 1, n).reshape(-1, n)
    out = torch.empty(acc3.shape, dtype=torch.float32)
    rescale_to_f32(acc3.numpy(), sa.contiguous().numpy(), sb.contiguous().numpy(), out.numpy())
    return out.reshape(acc.shape)


@njit(parallel=True, cache=True)
def rescale_to_f32(acc, sa, sb, out):
    """``out = float32((float64(acc) * sa[i]) * sb[j])`` over ``(B, M, N)``."""
    nb, m, n = acc.shape
    for t in prange(nb * m):
        b = t // m
        i = t % m
        s = sa[b, i]
        for j in range(n):
            out[b, i, j] = np.float32((np.float64(acc[b, i, j]) * s) * sb[b, j])
