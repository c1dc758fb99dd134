"""Module-swap front end (torchao style): ``quantize_(model, config)`` replaces layers in place.

``nn.Linear`` -> :class:`ApproxLinear`, ``nn.Conv1d``/``nn.Conv2d`` -> :class:`ApproxConv`
(``mapping`` extends or overrides this, ``{type: from_float}``). The swapped layer
shares the original parameters and computes its product on ``config.unit``
(per-output-channel weight scales for integer units). ``filter_fn(module, name)``
or ``config.exclude`` (``fnmatch`` patterns of module names) keep chosen layers exact.

Calibrated activation scales (``config.act_scale == "calibrated"``): run
representative batches inside ``with calibrate(model):`` (exact forward,
recording the per-tensor input amax), then the fixed scales are used.
"""

from __future__ import annotations

import fnmatch
from contextlib import contextmanager
from typing import Callable

import torch
import torch.nn as nn

from .config import EmulationConfig
from .functional import emulated_conv1d, emulated_conv2d, emulated_linear
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


#: default module mapping of :func:`quantize_`
DEFAULT_MAPPING: dict[type, Callable] = {
    nn.Linear: ApproxLinear.from_float,
    nn.Conv1d: ApproxConv.from_float,
    nn.Conv2d: ApproxConv.from_float,
}


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
    table = dict(DEFAULT_MAPPING if mapping is None else mapping)

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
    for parent_name, parent in list(model.named_modules()):
        if isinstance(parent, _ApproxBase):
            continue
        for child_name, child in list(parent.named_children()):
            full = f"{parent_name}.{child_name}" if parent_name else child_name
            if wanted(child, full):
                setattr(parent, child_name, mapped(child)(child, config_of(full), full))
    return model


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
    """Swapped layers by unit, and the product layers (Linear, Conv) left exact, by name."""
    swapped: dict[str, list[str]] = {}
    exact: list[str] = []
    for name, mod in model.named_modules():
        if isinstance(mod, _ApproxBase):
            swapped.setdefault(mod.config.unit.describe(), []).append(name)
        elif isinstance(mod, tuple(DEFAULT_MAPPING)) and not any(isinstance(p, ApproxConv) for p in _parents(model, name)):
            exact.append(name)
    return {"swapped": swapped, "exact": exact}


def _parents(model, name):
    parts = name.split(".")
    mod = model
    out = []
    for p in parts[:-1]:
        mod = getattr(mod, p)
        out.append(mod)
    return out
