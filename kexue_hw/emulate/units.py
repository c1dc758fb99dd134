"""Unit specs as custom-op arguments, and float-format helpers for the torch side.

A ``torch.library`` op takes strings, not spec objects: :func:`unit_key` writes a
spec as its name (:meth:`~kexue_hw.spec.Unit.describe`) and :func:`unit_from_key`
reads it back (:func:`~kexue_hw.spec.parse_unit`).
"""

from __future__ import annotations

from functools import lru_cache

import torch

from ..spec import FloatMitchell, SpecError, Unit, parse_unit


def unit_key(unit: Unit) -> str:
    """Stable string naming ``unit`` (its ``describe()`` name)."""
    if not isinstance(unit, Unit):
        raise SpecError(f"not a unit spec: {unit!r}")
    return unit.describe()


@lru_cache(maxsize=None)
def unit_from_key(key: str) -> Unit:
    """Inverse of :func:`unit_key`."""
    return parse_unit(key)


def as_unit(unit) -> Unit:
    """Accept a spec object or a key string."""
    if isinstance(unit, str):
        return unit_from_key(unit)
    if not isinstance(unit, Unit):
        raise SpecError(f"not a unit spec: {unit!r}")
    return unit


def round_to_format(x: torch.Tensor, unit: FloatMitchell) -> torch.Tensor:
    """``x`` rounded to ``unit``'s format (round to nearest even), returned as float32.

    A cast through the format's torch dtype (``torch.bfloat16``, ``torch.float16``;
    fp16 overflows to inf above 65504 and keeps its subnormals, which the unit reads as zero).
    """
    return x.to(torch.float32).to(unit.format.torch_dtype).to(torch.float32)
