"""Torch emulation: run PyTorch / Hugging Face models with every product on a kexue-hw unit.

* :func:`approx_matmul` the kernel (``torch.ops.kexue_hw.approx_bmm``): products on
  the unit, bit-exact with :func:`kexue_hw.arith.mul`, exact accumulation.
* :func:`quantize_` (alias :func:`emulate_`) module swap: ``Linear``, ``Conv1d/2d``,
  ``ConvTranspose1d/2d``, ``Bilinear``, ``MultiheadAttention``, GPT-2's ``Conv1D``.
* :class:`EmulationMode` function mode: every matrix product and contraction torch offers
  (linear, matmul/@, mm, bmm, mv, dot, addmm-like ops, einsum, tensordot, bilinear, SDPA,
  conv and transposed conv, multi-head attention), and optionally elementwise ``*``.
* :class:`EmulationConfig` one dataclass for both; :class:`ModuleConfigs` one per module
  (torchao ``FqnToConfig`` style); :func:`track` coverage counters, which list every product
  left exact. CPU tensors only: others raise :class:`DeviceError` naming the device and layer.

Attributes load lazily, so ``import kexue_hw.emulate.cli`` (the CLI hook) does
not import torch; the core ``kexue_hw`` package never does.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

_EXPORTS = {
    "approx_matmul": "ops",
    "approx_bmm": "ops",
    "check_operands": "ops",
    "EmulationConfig": "config",
    "EmulationMode": "mode",
    "quantize_": "modules",
    "emulate_": "modules",
    "calibrate": "modules",
    "summary": "modules",
    "ApproxLinear": "modules",
    "ApproxConv": "modules",
    "track": "coverage",
    "ModuleConfigs": "per_module",
    "Coverage": "coverage",
    "emulated_matmul": "functional",
    "emulated_linear": "functional",
    "emulated_conv1d": "functional",
    "emulated_conv2d": "functional",
    "emulated_sdpa": "functional",
    "emulated_mul": "functional",
    "exact_region": "functional",
    "DeviceError": "functional",
    "quantize_symmetric": "quant",
    "symmetric_scale": "quant",
    "dequantize_product": "quant",
    "round_to_format": "units",
    "unit_key": "units",
    "unit_from_key": "units",
    "lut_matmul": "ops",
}

_EXPORTS["OperandError"] = "..arith"
__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)
