"""Per-module emulation configs (in the style of torchao's ``FqnToConfig``): each layer its own unit.

``ModuleConfigs({"blocks.0.*": EmulationConfig(unit=Exact(8, True)), "blocks.1.ff1": None},
default=EmulationConfig(unit=Mitchell(8, True)))`` maps module names (exact names first, then
``fnmatch`` patterns in the order given) to a config; ``None`` keeps that module exact.

* :func:`kexue_hw.emulate.quantize_` takes it and swaps each Linear/Conv for its own config.
* :class:`kexue_hw.emulate.EmulationMode` takes it with ``model=``: function-level products
  (attention's ``Q K^T`` and ``P V``, ``F.linear`` calls outside ``nn.Linear``) run on the config of
  the innermost module of ``model`` whose forward is running (:class:`ModuleScope`), the default
  outside any named module.

:func:`kexue_hw.emulate.track` reports which unit each layer used (``Coverage.layer_units``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

import torch.nn as nn

from ..spec import SpecError
from .config import EmulationConfig

__all__ = ["ModuleConfigs", "ModuleScope", "DEFAULT_SITE"]

_UNSET = object()
#: the name under which products outside every configured module are reported
DEFAULT_SITE = "<default>"


class ModuleConfigs:
    """Module name (exact or ``fnmatch`` pattern) -> :class:`EmulationConfig` or ``None`` (exact)."""

    def __init__(self, configs: Mapping[str, EmulationConfig | None], default: EmulationConfig | None = None):
        for name, cfg in list(configs.items()) + [("default", default)]:
            if cfg is not None and not isinstance(cfg, EmulationConfig):
                raise SpecError(f"ModuleConfigs[{name!r}] must be an EmulationConfig or None, got {cfg!r}")
        self.configs = dict(configs)
        self.default = default

    def lookup(self, name: str):
        """The config given for ``name`` (exact name, then the first matching pattern), else ``_UNSET``."""
        if name in self.configs:
            return self.configs[name]
        for pattern, cfg in self.configs.items():
            if fnmatch.fnmatch(name, pattern):
                return cfg
        return _UNSET

    def config_for(self, name: str) -> EmulationConfig | None:
        cfg = self.lookup(name)
        return self.default if cfg is _UNSET else cfg

    def units(self) -> dict[str, str]:
        """Readable form: name or pattern -> unit name (``exact`` for ``None``)."""
        out = {k: ("exact" if v is None else v.unit.describe()) for k, v in self.configs.items()}
        out["<default>"] = "exact" if self.default is None else self.default.unit.describe()
        return out

    def __repr__(self) -> str:
        return f"ModuleConfigs({self.units()})"


class ModuleScope:
    """While active, knows the innermost running module of ``model`` that ``configs`` names.

    Forward pre/post hooks on every submodule keep a stack of names; :meth:`current` returns
    ``(name, config)`` of the innermost module with an entry in ``configs``, or ``(None, default)``.
    """

    def __init__(self, model: nn.Module, configs: ModuleConfigs):
        self.model = model
        self.configs = configs
        self.stack: list[str] = []
        self._handles: list = []

    def __enter__(self):
        for name, module in self.model.named_modules():
            self._handles.append(module.register_forward_pre_hook(self._push(name)))
            self._handles.append(module.register_forward_hook(self._pop))
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self.stack.clear()
        return False

    def _push(self, name):
        def hook(module, args):
            self.stack.append(name)

        return hook

    def _pop(self, module, args, output):
        if self.stack:
            self.stack.pop()

    def current(self) -> tuple[str, EmulationConfig | None]:
        """``(module name, config)``; products outside every named module report as ``<default>``."""
        for name in reversed(self.stack):
            cfg = self.configs.lookup(name)
            if cfg is not _UNSET:
                return name, cfg
        return DEFAULT_SITE, self.configs.default
