"""Fixed-point helpers shared by the kernel golden models (numpy + :mod:`kexue_hw.arith`, no torch).

* :func:`signed_mul`: signed products on any integer unit. Signed units take the
  operands as they are; unsigned units get sign-magnitude around them (the
  unit multiplies magnitudes, the sign is XORed), which is what the signed
  golden models do internally too.
* :func:`unit_error_bounds`: proven relative-error bounds ``(lo, hi)`` of a unit's
  product or quotient *before* output truncation, used to state output bounds.
* :func:`quantize_symmetric` / :func:`unit_matmul`: per-tensor symmetric
  quantization to the unit's operand width and a matmul whose every scalar product
  is ``arith.mul`` (sums exact in int64 / Python ints, then one float rescale).
"""

from __future__ import annotations

import numpy as np

from .. import arith
from ..spec import IntUnit, SpecError

__all__ = [
    "operand_magnitude_bits",
    "signed_mul",
    "unit_error_bounds",
    "bit_length",
    "shift_floor",
    "quantize_symmetric",
    "unit_matmul",
]


def _int_unit(unit) -> IntUnit:
    if not isinstance(unit, IntUnit):
        raise SpecError(f"the fixed-point kernels need an integer unit (Exact, Mitchell, MBM, ILM), got {unit!r}")
    return unit


def operand_magnitude_bits(unit: IntUnit) -> int:
    """Bits of the largest operand magnitude accepted as a *signed* value: ``N-1`` (signed) or ``N`` (unsigned)."""
    return unit.max_value.bit_length()


def signed_mul(unit: IntUnit, a, b) -> np.ndarray:
    """``a * b`` on ``unit`` for signed int operands with ``|a|, |b| < 2**operand_magnitude_bits``."""
    unit = _int_unit(unit)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if unit.signed:
        return np.asarray(arith.mul(unit, a, b), dtype=np.int64)
    mag = np.asarray(arith.mul(unit, np.abs(a), np.abs(b))).astype(np.int64)
    return np.where((a < 0) != (b < 0), -mag, mag)


def unit_error_bounds(unit: IntUnit, op: str) -> tuple[float, float]:
    """Relative error ``(lo, hi)`` of ``op`` (``mul|div``) before output truncation (the spec's
    :meth:`~kexue_hw.spec.Unit.error_interval`): result in ``[(1+lo)x, (1+hi)x]``."""
    return _int_unit(unit).error_interval(op)


def bit_length(a) -> np.ndarray:
    """Elementwise ``int.bit_length`` of non-negative int64 values."""
    a = np.asarray(a, dtype=np.int64)
    n = np.zeros(a.shape, dtype=np.int64)
    v = a.copy()
    while np.any(v):
        nz = v != 0
        n += nz
        v >>= 1
    return n


def shift_floor(a, s) -> np.ndarray:
    """``floor(a * 2**-s)`` for int64 ``a`` and (broadcast) shift ``s`` of either sign."""
    a = np.asarray(a, dtype=np.int64)
    s = np.asarray(s, dtype=np.int64)
    return np.where(s >= 0, a >> np.maximum(s, 0), a << np.maximum(-s, 0))


def quantize_symmetric(x, bits: int) -> tuple[np.ndarray, float]:
    """Round ``x`` to ints in ``[-(2**bits - 1), 2**bits - 1]`` with one per-tensor scale: ``x ~= q * scale``."""
    x = np.asarray(x, dtype=np.float64)
    top = (1 << bits) - 1
    amax = float(np.max(np.abs(x))) if x.size else 0.0
    scale = amax / top if amax > 0 else 1.0
    q = np.clip(np.rint(x / scale), -top, top).astype(np.int64)
    return q, scale


def unit_matmul(unit: IntUnit, a, b, *, chunk: int = 1 << 22) -> np.ndarray:
    """``a @ b`` (float64, batched over leading dims) with every scalar product on ``unit``.

    Both operands are quantized per tensor to ``operand_magnitude_bits(unit)``
    magnitude bits (round to nearest), products come from :func:`signed_mul`,
    the sums are exact int64, and the result is rescaled once.
    """
    unit = _int_unit(unit)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    bits = operand_magnitude_bits(unit)
    qa, sa = quantize_symmetric(a, bits)
    qb, sb = quantize_symmetric(b, bits)
    if 2 * bits + int(np.ceil(np.log2(max(a.shape[-1], 2)))) > 62:
        raise SpecError(f"{unit.describe()}: exact int64 sums overflow for inner dimension {a.shape[-1]}")
    batch = np.broadcast_shapes(qa.shape[:-2], qb.shape[:-2])
    qa = np.broadcast_to(qa, batch + qa.shape[-2:])
    qb = np.broadcast_to(qb, batch + qb.shape[-2:])
    n, k = qa.shape[-2:]
    m = qb.shape[-1]
    out = np.empty(batch + (n, m), dtype=np.int64)
    rows = max(1, chunk // max(1, k * m))
    for i in range(0, n, rows):
        prod = signed_mul(unit, qa[..., i : i + rows, :, None], qb[..., None, :, :])
        out[..., i : i + rows, :] = prod.sum(axis=-2)
    return out.astype(np.float64) * (sa * sb)
