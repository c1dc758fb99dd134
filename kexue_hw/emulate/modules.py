"""Module-swap front end (torchao style): ``quantize_(model, config)`` replaces layers in place.

``nn.Linear`` (and subclasses such as ``NonDynamicallyQuantizableLinear``) -> :class:`ApproxLinear`,
``nn.Conv1d``/``nn.Conv2d`` -> :class:`ApproxConv`, ``nn.ConvTranspose1d``/``2d`` ->
:class:`ApproxConvTranspose`, ``nn.Bilinear`` -> :class:`ApproxBilinear`, ``nn.MultiheadAttention``
-> :class:`ApproxMultiheadAttention`, and Hugging Face's GPT-2 ``Conv1D`` (a transposed linear,
not an ``nn.Linear``) -> :class:`ApproxTransposedLinear` when transformers is loaded (``mapping``
extends or overrides this, ``{type: from_float}``). The swapped layer shares the original
parameters and computes its product on ``config.unit`` (per-output-channel weight scales for
integer units). ``filter_fn(module, name)`` or ``config.exclude`` (``fnmatch`` patterns of module
names) keep chosen layers exact; product layers with no emulated version (``Conv3d``, RNNs, ...)
stay exact with a warning, and :func:`summary` lists every layer left exact. Swapped layers keep
their parents (``nn.TransformerEncoderLayer``) off torch's fused fast paths, which would skip them.

Calibrated activation scales (``config.act_scale == "calibrated"``): run
representative batches inside ``with calibrate(model):`` (exact forward,
recording the per-tensor input amax), then the fixed scales are used.
"""

from __future__ import annotations

import fnmatch
import sys
import warnings
from contextlib import contextmanager
from typing import Callable

import torch
import torch.nn as nn

from .config import EmulationConfig
from .contractions import emulated_bilinear, emulated_conv_transpose
from .functional import emulated_conv1d, emulated_conv2d, emulated_linear, emulated_matmul
from .per_module import ModuleConfigs
from .quant import symmetric_scale


class _ApproxBase(nn.Module):
    """Shared bits: config, qualified name, calibration state (per-tensor input amax)."""

    config: EmulationConfig
    layer_name: str

    def _init_emulation(self, config: EmulationConfig, name: str):
        self.config = config
        self.layer_name = name
        self.calibrating = False
        self.register_buffer("input_amax", None)

    def _input_scale(self, x: torch.Tensor):
        if not self.config.quantized or self.config.act_scale == "dynamic":
            return None
        if self.input_amax is None:
            raise RuntimeError(
                f"{self.layer_name or type(self).__name__}: act_scale='calibrated' needs a calibration pass "
                "(with kexue_hw.emulate.calibrate(model): model(batch))"
            )
        return symmetric_scale(self.input_amax, self.config.unit.max_value, None)

    def _observe(self, x: torch.Tensor) -> None:
        amax = x.detach().abs().amax().to(torch.float32)
        self.input_amax = amax if self.input_amax is None else torch.maximum(self.input_amax, amax)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, unit={self.config.unit.describe()}"


class ApproxLinear(nn.Linear, _ApproxBase):
    """``nn.Linear`` whose product runs on the unit (see :func:`~kexue_hw.emulate.functional.emulated_linear`)."""

    @classmethod
    def from_float(cls, mod: nn.Linear, config: EmulationConfig, name: str = "") -> ApproxLinear:
        new = cls.__new__(cls)
        nn.Module.__init__(new)
        new.in_features, new.out_features = mod.in_features, mod.out_features
        new.weight = mod.weight
        new.bias = mod.bias
        new._init_emulation(config, name)
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self._observe(x)
            return nn.functional.linear(x, self.weight, self.bias)
        x_scale = self._input_scale(x)
        return emulated_linear(x, self.weight, self.bias, self.config, layer=self.layer_name, x_scale=x_scale)


class ApproxConv(_ApproxBase):
    """``nn.Conv1d``/``nn.Conv2d`` (zero or pre-padded) whose products run on the unit (unfold + matmul)."""

    @classmethod
    def from_float(cls, mod: nn.Module, config: EmulationConfig, name: str = "") -> ApproxConv:
        new = cls()
        new.conv = mod
        new._init_emulation(config, name)
        if config.act_scale == "calibrated" and config.quantized:
            raise NotImplementedError("calibrated activation scales are supported for Linear layers only")
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        if c.padding_mode != "zeros":
            x = nn.functional.pad(x, c._reversed_padding_repeated_twice, mode=c.padding_mode)
            padding = 0
        else:
            padding = c.padding
        conv = emulated_conv2d if isinstance(c, nn.Conv2d) else emulated_conv1d
        return conv(x, c.weight, c.bias, c.stride, padding, c.dilation, c.groups, self.config, layer=self.layer_name)


class ApproxConvTranspose(_ApproxBase):
    """``nn.ConvTranspose1d``/``2d`` whose products run on the unit (zero insertion + convolution)."""

    @classmethod
    def from_float(cls, mod: nn.Module, config: EmulationConfig, name: str = "") -> ApproxConvTranspose:
        if mod.padding_mode != "zeros":
            raise ValueError(f"{name or type(mod).__name__}: transposed convolutions pad with zeros only")
        new = cls()
        new.conv = mod
        new._init_emulation(config, name)
        return new

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        c = self.conv
        dims = 1 if isinstance(c, nn.ConvTranspose1d) else 2
        output_padding = c._output_padding(x, output_size, c.stride, c.padding, c.kernel_size, dims, c.dilation)
        return emulated_conv_transpose(x, c.weight, c.bias, c.stride, c.padding, output_padding, c.groups, c.dilation,
                                       self.config, dims=dims, layer=self.layer_name)  # fmt: skip


class ApproxBilinear(_ApproxBase):
    """``nn.Bilinear`` whose products run on the unit (two matrix products)."""

    @classmethod
    def from_float(cls, mod: nn.Bilinear, config: EmulationConfig, name: str = "") -> ApproxBilinear:
        new = cls()
        new.weight, new.bias = mod.weight, mod.bias
        new._init_emulation(config, name)
        return new

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return emulated_bilinear(x1, x2, self.weight, self.bias, self.config, layer=self.layer_name)


class ApproxTransposedLinear(_ApproxBase):
    """A linear layer stored transposed, ``y = x @ W + b`` with ``W (in, out)`` (Hugging Face GPT-2's ``Conv1D``)."""

    @classmethod
    def from_float(cls, mod: nn.Module, config: EmulationConfig, name: str = "") -> ApproxTransposedLinear:
        new = cls()
        new.weight, new.bias = mod.weight, mod.bias
        new._init_emulation(config, name)
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = emulated_matmul(x, self.weight, self.config, kind="linear", layer=self.layer_name, b_is_weight=True)
        return out if self.bias is None else out + self.bias


class ApproxMultiheadAttention(nn.MultiheadAttention, _ApproxBase):
    """``nn.MultiheadAttention`` (same parameters) whose projections and attention products run on the unit.

    Its forward runs torch's own under :class:`~kexue_hw.emulate.EmulationMode` (which also keeps it
    off the fused fast path, whose products the emulation cannot reach).
    """

    @classmethod
    def from_float(cls, mod: nn.MultiheadAttention, config: EmulationConfig, name: str = "") -> ApproxMultiheadAttention:
        if config.act_scale == "calibrated" and config.quantized:
            raise NotImplementedError("calibrated activation scales are supported for Linear layers only")
        new = cls.__new__(cls)
        new.__dict__.update(mod.__dict__)
        for key in ("_parameters", "_buffers", "_modules"):  # own dicts, same tensors and submodules
            new.__dict__[key] = dict(mod.__dict__[key])
        new._init_emulation(config, name)
        return new

    def forward(self, *args, **kwargs):
        from .mode import EmulationMode

        mode = EmulationMode(self.config)
        mode.layer = self.layer_name
        with mode:
            return super().forward(*args, **kwargs)


#: default module mapping of :func:`quantize_` (plus :func:`hf_mapping` when transformers is loaded)
DEFAULT_MAPPING: dict[type, Callable] = {
    nn.Linear: ApproxLinear.from_float,
    nn.Conv1d: ApproxConv.from_float,
    nn.Conv2d: ApproxConv.from_float,
    nn.ConvTranspose1d: ApproxConvTranspose.from_float,
    nn.ConvTranspose2d: ApproxConvTranspose.from_float,
    nn.Bilinear: ApproxBilinear.from_float,
    nn.MultiheadAttention: ApproxMultiheadAttention.from_float,
}

#: layers that multiply tensors; those not swapped are reported exact by :func:`summary`
PRODUCT_MODULES: tuple[type, ...] = (nn.Linear, nn.Bilinear, nn.modules.conv._ConvNd, nn.MultiheadAttention,
                                     nn.RNNBase)  # fmt: skip


def hf_mapping() -> dict[type, Callable]:
    """Hugging Face layers that are products but not ``nn.Linear`` (GPT-2's ``Conv1D``), if transformers is loaded.

    Only looked up when ``transformers`` is already imported (a model holding such a layer imported it).
    """
    utils = sys.modules.get("transformers.pytorch_utils")
    conv1d = getattr(utils, "Conv1D", None)
    return {conv1d: ApproxTransposedLinear.from_float} if conv1d is not None else {}


def _product_modules() -> tuple[type, ...]:
    return PRODUCT_MODULES + tuple(hf_mapping())


def _keep_regular_path(module, args) -> None:
    """No-op forward pre-hook: torch's fused ``TransformerEncoderLayer`` path skips hooked submodules' forwards,
    so it is not taken while a swapped layer is inside."""


def quantize_(
    model: nn.Module,
    config: EmulationConfig | ModuleConfigs | None = None,
    filter_fn: Callable[[nn.Module, str], bool] | None = None,
    mapping: dict[type, Callable] | None = None,
) -> nn.Module:
    """Swap, in place, every mapped layer of ``model`` for its emulated version; returns ``model``.

    ``config`` is one :class:`EmulationConfig` for every layer, or a
    :class:`~kexue_hw.emulate.per_module.ModuleConfigs` giving each layer its own (``None``: exact).
    A layer is kept exact when ``filter_fn(module, name)`` is false or its name matches a
    ``config.exclude`` pattern. Already-swapped layers are left alone. Layers are matched by
    ``isinstance``, so subclasses of ``nn.Linear``/``nn.Conv*`` are swapped too; :func:`summary` lists
    what stayed exact.
    """
    per_module = config if isinstance(config, ModuleConfigs) else None
    config = config or EmulationConfig()
    table = {**DEFAULT_MAPPING, **hf_mapping()} if mapping is None else dict(mapping)

    def mapped(mod):
        return next((fn for cls, fn in table.items() if type(mod) is cls), None) or next(
            (fn for cls, fn in table.items() if isinstance(mod, cls)), None
        )

    def config_of(name):
        return per_module.config_for(name) if per_module is not None else config

    def wanted(mod, name):
        if isinstance(mod, _ApproxBase) or mapped(mod) is None:
            return False
        cfg = config_of(name)
        if cfg is None or any(fnmatch.fnmatch(name, pat) for pat in cfg.exclude):
            return False
        return filter_fn is None or filter_fn(mod, name)

    if wanted(model, ""):
        raise ValueError("quantize_ swaps submodules; wrap a bare layer in nn.Sequential first")
    swapped: list[str] = []
    for parent_name, parent in list(model.named_modules()):
        if isinstance(parent, _ApproxBase) or any(_inside(parent_name, s) for s in swapped):
            continue
        for child_name, child in list(parent.named_children()):
            full = f"{parent_name}.{child_name}" if parent_name else child_name
            if wanted(child, full):
                new = mapped(child)(child, config_of(full), full)
                new.register_forward_pre_hook(_keep_regular_path)
                setattr(parent, child_name, new)
                swapped.append(full)
    unmapped = [f"{n} ({type(m).__name__})" for n, m in model.named_modules()
                if isinstance(m, _product_modules()) and mapped(m) is None and not _under_swapped(model, n)]  # fmt: skip
    if unmapped:
        warnings.warn(f"quantize_: {len(unmapped)} product layer(s) have no emulated version and stay exact: "
                      f"{', '.join(unmapped[:5])}{' ...' if len(unmapped) > 5 else ''}", stacklevel=2)  # fmt: skip
    return model


def _inside(name: str, ancestor: str) -> bool:
    return name == ancestor or name.startswith(ancestor + ".")


emulate_ = quantize_


@contextmanager
def calibrate(model: nn.Module):
    """Run exact forwards inside, recording each swapped Linear's input amax (per-tensor scales)."""
    layers = [m for m in model.modules() if isinstance(m, ApproxLinear)]
    for m in layers:
        m.calibrating = True
    try:
        yield model
    finally:
        for m in layers:
            m.calibrating = False


def summary(model: nn.Module) -> dict:
    """Swapped layers by unit, and the product layers left exact (:data:`PRODUCT_MODULES`, GPT-2 ``Conv1D``), by name."""
    swapped: dict[str, list[str]] = {}
    exact: list[str] = []
    for name, mod in model.named_modules():
        if isinstance(mod, _ApproxBase):
            swapped.setdefault(mod.config.unit.describe(), []).append(name)
        elif isinstance(mod, _product_modules()) and not _under_swapped(model, name):
            exact.append(name)
    return {"swapped": swapped, "exact": exact}


def _under_swapped(model, name) -> bool:
    """Whether a module above ``name`` is a swapped layer (which runs ``name``'s products itself)."""
    parts = name.split(".") if name else []
    mod = model
    for p in parts[:-1]:
        mod = getattr(mod, p)
        if isinstance(mod, _ApproxBase):
            return True
    return False
