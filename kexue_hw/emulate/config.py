"""One configuration for both front ends (module swap and function mode): a plain dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..spec import FloatMitchell, Mitchell, SpecError, Unit

GRANULARITIES = ("per_vector", "per_tensor")
SCALE_MODES = ("dynamic", "calibrated")


@dataclass(frozen=True)
class EmulationConfig:
    """How products are emulated.

    ``unit``: the multiplier every matrix product uses (integer or float spec).

    Integer units quantize both operands symmetrically to ``±(2**(N-1) - 1)``
    (signed) or ``±(2**N - 1)`` (unsigned units, fed sign-magnitude), rounding to
    nearest even; scales are ``amax / qmax`` in fp32:

    * ``weight_granularity``: ``per_vector`` = one scale per output channel
      (a column of ``W^T``), or ``per_tensor``.
    * ``act_granularity``: ``per_vector`` = one scale per token (a row of the
      left operand; a column of a right-hand activation such as ``K^T``), or
      ``per_tensor``.
    * ``act_scale``: ``dynamic`` (from each call's data) or ``calibrated``
      (per-tensor scale fixed by :func:`kexue_hw.emulate.calibrate`; module swap only).

    Float units round operands to their format (bf16/fp16: round to nearest
    even) and accumulate in fp32; no quantization.

    ``approx_backward``: backward products also use the unit (Mogami-style);
    otherwise gradients are those of the exact product (straight-through).
    ``elementwise_unit``: a :class:`FloatMitchell` that also takes elementwise
    ``*`` (norm scales, gates, rotary) inside :class:`EmulationMode`; ``None`` keeps them exact.
    ``exclude``: ``fnmatch`` patterns of module names kept exact by :func:`quantize_`.
    ``min_inner_dim``: products whose contraction length is below it stay exact
    in the mode (1 = emulate everything, including outer products).
    """

    unit: Unit = field(default_factory=lambda: Mitchell(8, signed=True))
    weight_granularity: str = "per_vector"
    act_granularity: str = "per_vector"
    act_scale: str = "dynamic"
    approx_backward: bool = False
    elementwise_unit: FloatMitchell | None = None
    exclude: tuple[str, ...] = ()
    min_inner_dim: int = 1

    def __post_init__(self):
        if not isinstance(self.unit, Unit):
            raise SpecError(f"unit must be a unit spec, got {self.unit!r}")
        for name in ("weight_granularity", "act_granularity"):
            if getattr(self, name) not in GRANULARITIES:
                raise SpecError(f"{name}={getattr(self, name)!r}: choose one of {GRANULARITIES}")
        if self.act_scale not in SCALE_MODES:
            raise SpecError(f"act_scale={self.act_scale!r}: choose one of {SCALE_MODES}")
        if self.elementwise_unit is not None and not isinstance(self.elementwise_unit, FloatMitchell):
            raise SpecError("elementwise_unit must be a FloatMitchell spec (elementwise products stay in float)")
        if isinstance(self.exclude, str):
            object.__setattr__(self, "exclude", (self.exclude,))

    @property
    def quantized(self) -> bool:
        return not self.unit.is_float

    def with_unit(self, unit: Unit) -> EmulationConfig:
        return replace(self, unit=unit)
