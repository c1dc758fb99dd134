"""Fast paths of ``approx_bmm`` beyond the Mitchell lane kernel: separable units as exact GEMMs, MBM lanes, fp32 in range.

Each entry returns the result as a numpy array, or ``None`` when its preconditions
do not hold (the caller then takes the general path). Results equal the golden
model's products summed exactly (integer units) or in fp32 in ascending ``k``
(float units), as every kernel of :mod:`.ops`.

* **Separable integer units** (ILM with any corrections, Exact): the product is
  a sum of terms ``f(a) * g(b)``, so the matrix product is a sum of ordinary
  matrix products. ILM's error is ``R(a) * R(b)`` (``R`` = the magnitude less
  its top ``c + 1`` set bits, see :mod:`kexue_hw.metrics_rows`), so
  ``ILM(a, b) = a*b - sR(a)*sR(b)`` with ``sR(v) = sign(v) * R(|v|)``, and
  ``A ⊙ B = [A | sR(A)] @ [B ; -sR(B)]``: one GEMM with K doubled. The GEMM runs
  in float32 (float64 above 8 bits) on K slices short enough that every partial
  sum is an integer below ``2**24`` (``2**53``), so it is exact whatever order the
  BLAS adds in; slices are summed in float64 and returned as int64.
* **MBM up to 8 bits**: :func:`.kernels_fast.mbm_small_bmm` on Mitchell's lane codes.
* **FloatMitchell fp32 / bf16, finite operands**: :func:`.kernels_fast.float32_bmm_inrange`, one
  integer add per product; left operands whose products could flush or overflow (against the
  right operand's exponent range) get checked products.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from ..arith import unit_params
from ..spec import ILM, MBM, Exact, FloatMitchell, IntUnit
from . import kernels_fast as KF

#: K slice of the Mitchell/MBM lane kernels (L1-sized), as in :mod:`.ops`
KBLOCK = 256
#: largest integer every partial sum of an exact float32 / float64 GEMM may reach
F32_EXACT = 1 << 24
F64_EXACT = 1 << 53
#: below this many K per slice a float32 GEMM loses too much speed; use float64 instead
MIN_F32_SLICE = 64


# ----------------------------------------------------------------------------- separable units


def _ilm_residual(m: int, drops: int) -> int:
    for _ in range(drops):
        if m == 0:
            break
        m -= 1 << (m.bit_length() - 1)
    return m


@lru_cache(maxsize=None)
def _term_tables(unit: IntUnit, lo: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Factor tables over ``v = lo .. max`` (index ``v - lo``): left ``[v, sR(v)]``, right ``[v, -sR(v)]`` (Exact: ``[v]``)."""
    vals = np.arange(lo, unit.max_value + 1)
    if isinstance(unit, Exact):
        return vals[None].astype(dtype), vals[None].astype(dtype)
    r = np.array([(-1 if v < 0 else 1) * _ilm_residual(abs(int(v)), unit.corrections + 1) for v in vals])
    return np.stack([vals, r]).astype(dtype), np.stack([vals, -r]).astype(dtype)


def separable(unit) -> bool:
    """Units whose product is a short sum of ``f(a) * g(b)``: ILM and Exact."""
    return isinstance(unit, (ILM, Exact))


def separable_bmm(unit: IntUnit, a: torch.Tensor, b: torch.Tensor, sign_magnitude: bool) -> np.ndarray | None:
    """``sum_k product(a, b)`` for ILM / Exact as exact float GEMMs (range-checked integer operands)."""
    if not separable(unit) or torch.get_float32_matmul_precision() != "highest":
        return None
    nb, m, k = a.shape
    n = b.shape[2]
    lo = unit.min_value if unit.signed or not sign_magnitude else -unit.max_value
    max_mag = max(abs(lo), unit.max_value)
    per_k = max_mag * max_mag  # bound of |a*b| + |sR(a)*sR(b)| for ILM (R <= m/2), of |a*b| for Exact
    if isinstance(unit, ILM):
        per_k += (max_mag // 2) ** 2
    if F32_EXACT // per_k >= min(MIN_F32_SLICE, max(k, 1)):
        dtype, step = np.float32, F32_EXACT // per_k
    elif F64_EXACT // per_k >= 1:
        dtype, step = np.float64, F64_EXACT // per_k
    else:
        return None
    step = min(step, max(k, 1))
    left, right = _term_tables(unit, lo, dtype)
    nt = left.shape[0]
    pa = np.empty((nb, m, nt * k), dtype)
    pb = np.empty((nb, nt * k, n), dtype)
    KF.pack_terms(a.detach().contiguous().numpy(), left, lo, step, True, pa)
    KF.pack_terms(b.detach().contiguous().numpy(), right, lo, step, False, pb)
    ta, tb = torch.from_numpy(pa), torch.from_numpy(pb)
    if step >= k:
        return torch.bmm(ta, tb).to(torch.int64).numpy()
    acc = torch.zeros((nb, m, n), dtype=torch.float64)
    for k0 in range(0, k, step):
        k1 = min(k, k0 + step)
        acc += torch.bmm(ta[:, :, nt * k0 : nt * k1], tb[:, nt * k0 : nt * k1, :])
    return acc.to(torch.int64).numpy()


# ----------------------------------------------------------------------------- MBM lanes


@lru_cache(maxsize=None)
def _saturation_excess(unit: MBM) -> tuple[int, np.ndarray]:
    """``(low, excess)``: magnitudes ``>= low`` are the only ones whose products can saturate;
    ``excess[u - low, v - low]`` = unsaturated minus saturated magnitude of MBM's ``u * v``.

    Only products of two magnitudes of the top exponent (``>= 2**(N-1)``) reach the ``2N``-bit
    range (below it, Mitchell's product and the correction stay under ``2**(2N-1) * 1.08``).
    """
    from ..arith import mul
    from ..spec import Mitchell

    top = unit.max_value
    limit = (1 << int(unit_params(unit)[3])) - 1
    mags = np.arange(1 << (unit.width - 1), top + 1)
    mitchell = mul(Mitchell(unit.width, False, unit.frac_bits), mags[:, None], mags[None, :]).astype(np.int64)
    shift = 2 * (unit.width - 1) - 6  # ka + kb - 6 for the top exponent
    corr = (5 << shift) if shift >= 0 else (5 >> -shift)
    excess = np.maximum(mitchell + corr - limit, 0)
    rows = np.flatnonzero(excess.any(axis=1))
    if not rows.size:
        return top + 1, np.zeros((0, 0), np.int64)
    first = int(rows[0])
    return int(mags[first]), np.ascontiguousarray(excess[first:, first:])


def mbm_small(unit: MBM, la: np.ndarray, lbt: np.ndarray, lo: int, out: np.ndarray, a, b) -> None:
    """Add the MBM product (corrected products below ``2**24``) of Mitchell lane codes ``a (B,M,K)``, ``b`` transposed ``(B,N,K)`` to ``out``.

    ``a``, ``b``: the integer operands (tensors), for the saturation of unsigned units.
    """
    max_mag = max(abs(lo), unit.max_value)
    top = max_mag * max_mag * 1.08 + 1  # Mitchell <= exact, correction <= 5/64 of 2**(ka+kb)
    kblock = max(1, min(KBLOCK, int((2**31 - 1) // top)))
    KF.mbm_small_bmm(la, lbt, kblock, out)
    if not unit.signed:  # signed products never reach the output range
        low, excess = _saturation_excess(unit)
        if low <= max_mag:
            an = a.detach().contiguous().numpy()
            bn = b.detach().contiguous().numpy()
            KF.mbm_saturation_fix(an, bn, low, excess, out)


# ----------------------------------------------------------------------------- FloatMitchell in range


def _f32_bits(x: torch.Tensor) -> np.ndarray:
    """int32 view of ``x`` as float32 (fp16 widened exactly); bf16 tensors as their int16 patterns."""
    if x.dtype == torch.bfloat16:
        return x.detach().contiguous().view(torch.int16).numpy()
    return x.detach().to(torch.float32).contiguous().view(torch.int32).numpy()


def float_inrange_bmm(unit: FloatMitchell, a: torch.Tensor, b: torch.Tensor) -> np.ndarray | None:
    """FloatMitchell fp32/bf16 product of finite operands (``None`` when one is inf/NaN).

    Right operand first: its exponent range decides which left operands need the
    checked (flush/overflow) products; the others take the one-add kernel.
    """
    if unit.fmt not in ("fp32", "bf16"):
        return None
    nb, m, k = a.shape
    n = b.shape[2]
    ab = _f32_bits(a).reshape(-1)
    bb = _f32_bits(b).reshape(-1)
    a_codes, a_masks = np.empty(ab.size, np.int32), np.empty(ab.size, np.int32)
    b_codes, b_masks = np.empty(bb.size, np.int32), np.empty(bb.size, np.int32)
    none_lo, none_hi = np.int64(1), np.int64(0)
    b_lo, b_hi, b_zeros, b_nonfinite = KF.encode_f32_inrange(
        bb, bb.dtype == np.int16, True, b_codes, b_masks, none_lo, none_hi
    )
    if b_nonfinite:
        return None
    _, _, _, a_nonfinite = KF.encode_f32_inrange(ab, ab.dtype == np.int16, False, a_codes, a_masks, b_lo, b_hi)
    if a_nonfinite:
        return None
    out = np.zeros((nb, m, n), dtype=np.float32)
    if k == 0 or out.size == 0:
        return out
    KF.float32_bmm_inrange(
        a_codes.reshape(nb, m, k),
        a_masks.reshape(nb, m, k),
        b_codes.reshape(nb, k, n),
        b_masks.reshape(nb, k, n),
        bool(b_zeros),
        out,
    )
    return out
