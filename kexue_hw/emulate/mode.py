"""Function-level front end: a ``TorchFunctionMode`` that sends every matrix product to the unit.

Inside ``with EmulationMode(config):`` these calls on floating-point tensors are emulated:
``F.linear``, ``torch.matmul``/``@``, ``mm``, ``bmm``, ``addmm``, ``baddbmm``, ``addbmm``, ``mv``,
``addmv``, ``dot``, ``vdot``, ``inner``, ``outer``/``ger``, ``addr``, ``tensordot``, ``einsum``,
``linalg.multi_dot``, ``chain_matmul``, ``F.bilinear``, ``F.scaled_dot_product_attention``
(``Q K^T`` and ``P V``), ``F.conv1d``/``F.conv2d`` (unfold + matmul), ``F.conv_transpose1d``/``2d``
(zero insertion + conv), ``F.multi_head_attention_forward`` (``nn.MultiheadAttention``; the mode
keeps it off its fused fast path), their ``Tensor`` methods, in-place forms (``addmm_``, ...) and
``out=`` forms; with ``config.elementwise_unit`` also ``torch.mul``/``*``. Integer tensors run
unchanged. Products the mode does not emulate (``conv3d``, ``conv_transpose3d``, ``cdist``, RNN
kernels, ...) run exactly and :func:`~kexue_hw.emulate.track` lists them. Activations are quantized
dynamically (calibrated scales need the module swap). Tensors must be on the CPU: others raise
:class:`~kexue_hw.emulate.functional.DeviceError` naming the device and the layer.

On several threads, export ``OMP_WAIT_POLICY=PASSIVE`` before starting Python: torch
and the Numba kernels each keep an OpenMP pool, and spinning idle threads of one
starve the other (measured: up to 10x slower forwards; see ``benchmarks/emulate.md``).
"""

from __future__ import annotations

import functools
import types

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from . import contractions as C
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


def _into(out, res):
    """``res`` written into ``out`` (an ``out=`` argument) when one is given; ``NotImplemented`` passes through."""
    if out is None or res is NotImplemented:
        return res
    out.resize_(res.shape)
    return out.copy_(res)


def _or_exact(out, res):
    """A contraction's result, or ``NotImplemented`` (run it exactly) when it returned ``None``."""
    return NotImplemented if res is None else _into(out, res)


@functools.cache
def _unchecked(fn):
    """``fn`` (a Python-level torch function) without its ``has_torch_function`` check, for re-entering modes."""
    names = dict(fn.__globals__, has_torch_function=lambda *_: False)
    body = types.FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__, fn.__closure__)
    body.__kwdefaults__ = fn.__kwdefaults__
    return body


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
            torch.mv: matmul,
            _T.mv: matmul,
            torch.dot: self._dot,
            _T.dot: self._dot,
            torch.vdot: self._dot,
            _T.vdot: self._dot,
            torch.inner: self._inner,
            _T.inner: self._inner,
            torch.outer: self._outer,
            _T.outer: self._outer,
            torch.ger: self._outer,
            _T.ger: self._outer,
            torch.tensordot: self._tensordot,
            torch.einsum: self._einsum,
            torch.linalg.multi_dot: self._chain,
            torch.chain_matmul: lambda *ms, out=None: self._chain(ms, out=out),
            F.bilinear: self._bilinear,
            F.scaled_dot_product_attention: self._sdpa,
            F.conv2d: self._conv2d,
            F.conv1d: self._conv1d,
            F.conv_transpose1d: functools.partial(self._conv_transpose, dims=1),
            F.conv_transpose2d: functools.partial(self._conv_transpose, dims=2),
            F.multi_head_attention_forward: self._multi_head_attention,
        }
        # addmm-like ops: beta * input + alpha * product; the in-place forms write into input
        for product, names in ((self._mm, ("addmm", "baddbmm", "addmv")), (self._addbmm_product, ("addbmm",)),
                               (self._outer_product, ("addr",))):  # fmt: skip
            for name in names:
                h[getattr(torch, name)] = h[getattr(_T, name)] = functools.partial(self._add_product, product)
                h[getattr(_T, name + "_")] = functools.partial(self._add_product, product, inplace=True)
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
        a, b = _operands(args, kwargs, ("input", "mat1", "self", "mat"), ("other", "mat2", "vec"))
        if not self._emulate(a, b):
            return NotImplemented
        return _into(out, emulated_matmul(a, b, self.config, layer=self.layer))

    def _mm(self, a, b):
        return emulated_matmul(a, b, self.config, layer=self.layer) if self._emulate(a, b) else NotImplemented

    def _addbmm_product(self, a, b):
        prod = self._mm(a, b)
        return prod if prod is NotImplemented else prod.sum(0)

    def _outer_product(self, a, b):
        if not (_floats(a, b) and a.dim() == 1 and b.dim() == 1) or 1 < self.config.min_inner_dim:
            return NotImplemented
        return emulated_matmul(a.unsqueeze(-1), b.unsqueeze(0), self.config, kind="outer", layer=self.layer)

    def _add_product(self, product, input, *args, beta=1, alpha=1, out=None, inplace=False, **kwargs):
        """``beta * input + alpha * product(a, b)`` (addmm, baddbmm, addmv, addbmm, addr and their ``_`` forms)."""
        a, b = _operands(args, kwargs, ("mat1", "batch1", "mat", "vec1"), ("mat2", "batch2", "vec", "vec2"))
        prod = product(a, b)
        if prod is NotImplemented:
            return NotImplemented
        prod = prod if alpha == 1 else prod * alpha
        res = prod + (input if beta == 1 else input * beta) if beta != 0 else prod
        return input.copy_(res) if inplace else _into(out, res)

    def _dot(self, input, other=None, *, out=None, tensor=None):
        other = tensor if other is None else other
        if not (self._emulate(input, other) and input.dim() == 1 and other.dim() == 1):
            return NotImplemented
        return _into(out, emulated_matmul(input, other, self.config, kind="dot", layer=self.layer))

    def _inner(self, input, other, *, out=None):
        if not _floats(input, other):
            return NotImplemented
        return _or_exact(out, C.emulated_inner(input, other, self.config, layer=self.layer))

    def _outer(self, input, vec2, *, out=None):
        return _into(out, self._outer_product(input, vec2))

    def _tensordot(self, a, b, dims=2, out=None):
        if not _floats(a, b):
            return NotImplemented
        return _or_exact(out, C.emulated_tensordot(a, b, dims, self.config, layer=self.layer))

    def _einsum(self, equation, *operands):
        return _or_exact(None, C.emulated_einsum(equation, operands, self.config, layer=self.layer))

    def _chain(self, tensors, *, out=None):
        tensors = list(tensors)
        if len(tensors) < 2 or not _floats(*tensors) or any(t.dim() == 0 for t in tensors):
            return NotImplemented
        return _into(out, functools.reduce(lambda x, y: emulated_matmul(x, y, self.config, layer=self.layer), tensors))

    def _bilinear(self, input1, input2, weight, bias=None):
        if not _floats(input1, input2, weight):
            return NotImplemented
        return C.emulated_bilinear(input1, input2, weight, bias, self.config, layer=self.layer)

    def _conv_transpose(self, input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                        dilation=1, *, dims):  # fmt: skip
        if not _floats(input, weight):
            return NotImplemented
        return C.emulated_conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                                         self.config, dims=dims, layer=self.layer)  # fmt: skip

    def _multi_head_attention(self, *args, **kwargs):
        """Run torch's Python body of ``F.multi_head_attention_forward`` with this mode active inside it.

        The body is a Python function that would hand itself back to the mode (its own
        ``__torch_function__`` check); run without that check, its ``linear``, ``bmm``,
        ``baddbmm`` and ``scaled_dot_product_attention`` calls reach the handlers above.
        """
        TorchFunctionMode.__enter__(self)  # the mode only: the module scope stays as it is
        try:
            return _unchecked(F.multi_head_attention_forward)(*args, **kwargs)
        finally:
            TorchFunctionMode.__exit__(self, None, None, None)

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
        return emulated_conv2d(input, weight, bias, stride, padding, dilation, groups, self.config, layer=self.layer)

    def _conv1d(self, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        if not _floats(input, weight):
            return NotImplemented
        return emulated_conv1d(input, weight, bias, stride, padding, dilation, groups, self.config, layer=self.layer)

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
