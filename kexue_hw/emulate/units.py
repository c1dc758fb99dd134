"""Unit specs as custom-op arguments, and float-format helpers for the torch side.

A ``torch.library`` op takes strings, not spec objects: :func:`unit_key` writes a
spec as ``"Mitchell:{json params}"`` and :func:`unit_from_key` reads it back.
"""

from __future__ import annotations

import json
from functools import lru_cache

import torch

from .. import spec as _spec
from ..spec import FloatMitchell, SpecError, Unit

_SPEC_CLASSES = {cls.__name__: cls for cls in (_spec.Exact, _spec.Mitchell, _spec.MBM, _spec.ILM, _spec.FloatMitchell)}


def unit_key(unit: Unit) -> str:
    """Stable string naming ``unit`` (class name and parameters)."""
    if type(unit).__name__ not in _SPEC_CLASSES:
        raise SpecError(f"not a unit spec: {unit!r}")
    return f"{type(unit).__name__}:{json.dumps(unit.params(), sort_keys=True)}"


@lru_cache(maxsize=None)
def unit_from_key(key: str) -> Unit:
    """Inverse of :func:`unit_key`."""
    name, _, params = key.partition(":")
    if name not in _SPEC_CLASSES:
        raise SpecError(f"unknown unit key {key!r}")
    return _SPEC_CLASSES[name](**json.loads(params))


def as_unit(unit) -> Unit:
    """Accept a spec object or a key string."""
    if isinstance(unit, str):
        return unit_from_key(unit)
    if not isinstance(unit, Unit):
        raise SpecError(f"not a unit spec: {unit!r}")
    return unit


def round_to_format(x: torch.Tensor, unit: FloatMitchell) -> torch.Tensor:
    """``x`` rounded to ``unit``'s format (round to nearest even), returned as float32.

    fp32: a float32 cast; bf16 and fp16: through ``torch.bfloat16``/``torch.float16``
    (fp16 overflows to inf above 65504, and keeps its subnormals, which the unit reads as zero).
    """
    x = x.to(torch.float32)
    if unit.fmt == "bf16":
        return x.to(torch.bfloat16).to(torch.float32)
    if unit.fmt == "fp16":
        return x.to(torch.float16).to(torch.float32)
    return x
