"""Test vectors and golden expectations shared by both simulators.

Operands are the unit's integer values (two's complement range when signed);
:func:`expected` asks the golden model (:func:`kexue_hw.arith.mul`, or
:func:`kexue_hw.arith.div` with ``strict=False``) and returns the output *bit
patterns* the RTL must produce: ``p`` as ``2N``-bit unsigned, ``q`` as
``quotient_bits``-bit unsigned, and the division-by-zero flags.
"""

from __future__ import annotations

import numpy as np

from ..spec import IntUnit, SpecError

__all__ = ["exhaustive", "random_pairs", "expected", "output_bits", "to_bits", "pattern_values"]


def exhaustive(unit: IntUnit) -> tuple[np.ndarray, np.ndarray]:
    """All ``2**(2N)`` operand pairs, ``a`` major (int64 arrays)."""
    values = np.arange(unit.min_value, unit.max_value + 1, dtype=np.int64)
    return np.repeat(values, values.size), np.tile(values, values.size)


def random_pairs(unit: IntUnit, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` operand pairs: the corner pairs (0, 1, extremes) first, then uniform random ones."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise SpecError(f"samples must be a positive int, got {samples!r}")
    rng = np.random.default_rng(seed)
    corners = np.array(sorted({0, 1, unit.max_value, unit.min_value, unit.max_value - 1}), dtype=np.int64)
    ca, cb = np.repeat(corners, corners.size), np.tile(corners, corners.size)
    n = max(samples - ca.size, 0)
    a = rng.integers(unit.min_value, unit.max_value, size=n, endpoint=True, dtype=np.int64)
    b = rng.integers(unit.min_value, unit.max_value, size=n, endpoint=True, dtype=np.int64)
    return np.concatenate([ca, a])[:samples], np.concatenate([cb, b])[:samples]


def output_bits(unit: IntUnit, op: str) -> int:
    """Width of the main output port: ``2N`` for ``p``, ``quotient_bits`` for ``q``."""
    return unit.product_bits if op == "mul" else unit.quotient_bits


def pattern_values(patterns: np.ndarray, unit: IntUnit) -> np.ndarray:
    """Operand values (int64) of ``N``-bit patterns: two's complement when the unit is signed."""
    vals = np.asarray(patterns).astype(np.int64)
    if unit.signed:
        vals = np.where(vals >= (1 << (unit.width - 1)), vals - (1 << unit.width), vals)
    return vals


def to_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement bit patterns of ``values`` on ``bits`` bits, as uint64."""
    values = np.asarray(values)
    raw = values if values.dtype == np.uint64 else values.astype(np.int64, copy=False).view(np.uint64)
    if bits >= 64:
        return raw.astype(np.uint64)
    return raw & np.uint64((1 << bits) - 1)


def expected(unit: IntUnit, op: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Golden ``(bits, div_by_zero)`` for the pairs; ``bits`` as uint64 patterns of the output port."""
    from .. import arith

    if op == "mul":
        out = arith.mul(unit, a, b)
        flags = np.zeros(np.shape(out), dtype=bool)
    else:
        out, flags = arith.div(unit, a, b, strict=False, return_flags=True)
    return to_bits(out, output_bits(unit, op)), np.asarray(flags, dtype=bool)
