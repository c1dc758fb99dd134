"""Function-level front end: a ``TorchFunctionMode`` that sends every matrix product to the unit.

Inside ``with EmulationMode(config):`` these calls on floating-point tensors are emulated:
``F.linear``, ``torch.matmul``/``@``, ``mm``, ``bmm``, ``addmm``, ``baddbmm``,
``F.scaled_dot_product_attention`` (``Q K^T`` and ``P V``), ``F.conv1d``/``F.conv2d``
(unfold + matmul); with ``config.elementwise_unit`` also ``torch.mul``/``*``.
Integer tensors, and everything else, run unchanged. So attention products and
any model code calling functions directly are covered, not just ``nn.Linear``.
Activations are quantized dynamically (calibrated scales need the module swap).

On several threads, export ``OMP_WAIT_POLICY=PASSIVE`` before starting Python: torch
and the Numba kernels each keep an OpenMP pool, and spinning idle threads of one
starve the other (measured: up to 10x slower forwards; see ``benchmarks/emulate.md``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from .config import EmulationConfig
from .per_module import ModuleConfigs, ModuleScope
from .functional import (
    emulated_conv1d,
    emulated_conv2d,
    emulated_linear,
    emulated_matmul,
    emulated_mul,
    emulated_sdpa,
    in_emulation,
)

_T = torch.Tensor


def _operands(args, kwargs, first_names, second_names):
    """The two operands of a binary op, positional or by any of their keyword names."""
    args = list(args)
    for names in (first_names, second_names):
        if len(args) < 2:
            for name in names:
                if name in kwargs:
                    args.insert(0 if names is first_names else len(args), kwargs[name])
                    break
    return (args + [None, None])[:2]


def _floats(*xs) -> bool:
    return all(isinstance(x, torch.Tensor) and x.is_floating_point() for x in xs)


class EmulationMode(TorchFunctionMode):
    """Emulate matrix products (and optionally elementwise products) of the code run inside.

    ``config`` is one :class:`EmulationConfig` for every product, or a
    :class:`~kexue_hw.emulate.per_module.ModuleConfigs` with ``model``: then each product uses the
    config of the innermost running module of ``model`` that it names (``None``: that module's
    products stay exact), and :func:`~kexue_hw.emulate.track` records the module and its unit.
    """

    def __init__(self, config: EmulationConfig | ModuleConfigs | None = None, *, model=None):
        super().__init__()
        self._scope = None
        self.layer = None
        if isinstance(config, ModuleConfigs):
            if model is None:
                raise ValueError("EmulationMode(ModuleConfigs(...)) needs model= (the module whose layers are named)")
            self._scope = ModuleScope(model, config)
            self.config = config.default
            elementwise = config.default.elementwise_unit if config.default is not None else None
        else:
            self.config = config or EmulationConfig()
            elementwise = self.config.elementwise_unit
        self._handlers = self._build_handlers(elementwise)

    def __enter__(self):
        if self._scope is not None:
            self._scope.__enter__()
        return super().__enter__()

    def __exit__(self, *exc):
        try:
            return super().__exit__(*exc)
        finally:
            if self._scope is not None:
                self._scope.__exit__(*exc)

    def _build_handlers(self, elementwise_unit):
        matmul = self._matmul
        h = {
            F.linear: self._linear,
            torch.matmul: matmul,
            _T.matmul: matmul,
            _T.__matmul__: matmul,
            _T.__rmatmul__: lambda a, b: matmul(b, a),
            torch.mm: matmul,
            _T.mm: matmul,
            torch.bmm: matmul,
            _T.bmm: matmul,
            torch.addmm: self._addmm,
            _T.addmm: self._addmm,
            torch.baddbmm: self._addmm,
            _T.baddbmm: self._addmm,
            F.scaled_dot_product_attention: self._sdpa,
            F.conv2d: self._conv2d,
            F.conv1d: self._conv1d,
        }
        if elementwise_unit is not None:
            for fn in (torch.mul, _T.mul, _T.__mul__, _T.__rmul__, torch.multiply, _T.multiply):
                h[fn] = self._mul
        return h

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        handler = None if in_emulation() else self._handlers.get(func)
        if handler is not None and self._scope is not None:
            self.layer, self.config = self._scope.current()
            if self.config is None:
                handler = None  # this module's products stay exact
        if handler is not None:
            out = handler(*args, **kwargs)
            if out is not NotImplemented:
                return out
        return func(*args, **kwargs)

    # ------------------------------------------------------------------------- handlers

    def _emulate(self, a, b) -> bool:
        return _floats(a, b) and a.dim() > 0 and b.dim() > 0 and a.shape[-1] >= self.config.min_inner_dim

    def _matmul(self, *args, out=None, **kwargs):
        a, b = _operands(args, kwargs, ("input", "mat1", "self"), ("other", "mat2"))
        if out is not None or not self._emulate(a, b):
            return NotImplemented
        return emulated_matmul(a, b, self.config, layer=self.layer)

    def _addmm(self, input=None, *args, beta=1, alpha=1, out=None, **kwargs):
        a, b = _operands(args, kwargs, ("mat1", "batch1"), ("mat2", "batch2"))
        if out is not None or not self._emulate(a, b):
            return NotImplemented
        prod = emulated_matmul(a, b, self.config, layer=self.layer)
        prod = prod if alpha == 1 else prod * alpha
        return prod + (input if beta == 1 else input * beta) if beta != 0 else prod

    def _linear(self, input, weight, bias=None):
        if not self._emulate(input, weight):
            return NotImplemented
        return emulated_linear(input, weight, bias, self.config, layer=self.layer)

    def _sdpa(self, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
        if not _floats(query, key, value):
            return NotImplemented
        return emulated_sdpa(
            query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, config=self.config, layer=self.layer
        )

    def _conv2d(self, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        if not _floats(input, weight):
            return NotImplemented
        return emulated_conv2d(input, weight, bias, stride, padding, dilation, groups, self.config)

    def _conv1d(self, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        if not _floats(input, weight):
            return NotImplemented
        return emulated_conv1d(input, weight, bias, stride, padding, dilation, groups, self.config)

    def _mul(self, *args, out=None, **kwargs):
        a, b = _operands(args, kwargs, ("input", "self"), ("other",))
        if out is not None:
            return NotImplemented
        ta = isinstance(a, torch.Tensor)
        tb = isinstance(b, torch.Tensor)
        if not (ta or tb):
            return NotImplemented
        if (ta and not a.is_floating_point()) or (tb and not b.is_floating_point()):
            return NotImplemented
        for x in (a, b):
            if not isinstance(x, torch.Tensor) and (isinstance(x, bool) or not isinstance(x, (int, float))):
                return NotImplemented
        return emulated_mul(a, b, self.config.elementwise_unit)
