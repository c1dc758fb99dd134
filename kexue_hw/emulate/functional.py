"""Emulated products on float tensors: quantize (integer units) or round (float units), run the unit, rescale.

Every function takes an :class:`EmulationConfig`. Matrix products go through
``torch.ops.kexue_hw.approx_bmm`` (exact accumulation), integer results are
rescaled in float64 and cast back to the input dtype.

Autograd: straight-through by default (the gradient of the exact product of the
unquantized operands); ``config.approx_backward`` runs the two backward
products on the unit too (dynamic per-vector/per-tensor quantization of the
incoming gradient as configured for activations).
"""

from __future__ import annotations

import math
import threading
import weakref
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F

from ..arith import bits_to_float, mul_bits
from ..spec import FloatMitchell
from . import coverage
from .config import EmulationConfig
from .ops import _float_bits, approx_matmul, mark_static
from .quant import dequantize_product, quantize_symmetric
from .units import round_to_format, unit_key

_state = threading.local()


def in_emulation() -> bool:
    """True while emulation code runs (the function mode then passes every call through)."""
    return getattr(_state, "depth", 0) > 0


@contextmanager
def exact_region():
    """Let torch calls inside run exactly, even under :class:`EmulationMode`."""
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


# ----------------------------------------------------------------------------- device


class DeviceError(ValueError):
    """A product reached the emulation with tensors off the CPU (the unit's kernels are Numba CPU code)."""


def check_cpu(what: str, layer: str | None, *tensors) -> None:
    """:class:`DeviceError` naming the device and the layer (or the product kind) unless every tensor is on the CPU."""
    for t in tensors:
        if isinstance(t, torch.Tensor) and t.device.type != "cpu":
            where = f"layer {layer!r}" if layer else f"a {what} product (layer not named: quantize_ or ModuleConfigs name it)"
            raise DeviceError(
                f"{where}: tensors on {t.device}; kexue_hw emulation runs on the CPU, "
                "move the model and its inputs there first (model.cpu())"
            )


# ----------------------------------------------------------------------------- matrix product


#: quantized weights by ``id(weight)``: (weakref, version, (unit key, granularity), q (N, K), scale)
_weight_cache: dict = {}


def _quantized_weight(weight: torch.Tensor, config: EmulationConfig):
    """``(q, scale)`` of a ``(N, K)`` weight, per output channel (row) or per tensor, cached until it changes."""
    unit = config.unit
    key = (unit_key(unit), config.weight_granularity)
    hit = _weight_cache.get(id(weight))
    if hit is not None and hit[0]() is weight and hit[1] == weight._version and hit[2] == key:
        return hit[3], hit[4]
    q, s = quantize_symmetric(weight, unit, -1 if config.weight_granularity == "per_vector" else None)
    mark_static(q)  # the kernel may keep its encoding too
    if hit is None or hit[0]() is not weight:
        weakref.finalize(weight, _weight_cache.pop, id(weight), None)
    _weight_cache[id(weight)] = (weakref.ref(weight), weight._version, key, q, s)
    return q, s


def _product_value(a, b, config: EmulationConfig, a_scale=None, b_scale=None, b_is_weight=False, weight=None):
    """Forward value of ``a @ b`` (``a (..., M, K)``, ``b (..., K, N)`` or ``(K, N)``) on the unit.

    ``weight``: the ``(N, K)`` tensor with ``b == weight.T`` (its quantization is cached).
    """
    unit = config.unit
    out_dtype = torch.promote_types(a.dtype, b.dtype)
    if unit.is_float:
        return approx_matmul(round_to_format(a, unit), round_to_format(b, unit), unit).to(out_dtype)
    a_dim = -1 if config.act_granularity == "per_vector" else None
    b_gran = config.weight_granularity if b_is_weight else config.act_granularity
    b_dim = -2 if b_gran == "per_vector" else None
    qa, sa = quantize_symmetric(a, unit, a_dim, a_scale)
    if weight is not None and b_scale is None:
        qw, sw = _quantized_weight(weight, config)
        qb, sb = qw.t(), sw.t()
    else:
        qb, sb = quantize_symmetric(b, unit, b_dim, b_scale)
    acc = approx_matmul(qa, qb, unit, sign_magnitude=not unit.signed)
    return dequantize_product(acc, sa, sb, out_dtype)


class _EmulatedMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, config, a_scale, b_scale, b_is_weight, weight):
        ctx.save_for_backward(a, b)
        ctx.config = config
        with exact_region():
            return _product_value(a, b, config, a_scale, b_scale, b_is_weight, weight)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        config = ctx.config
        grad_a = grad_b = None
        with exact_region():
            bt = b.transpose(-1, -2)
            at = a.transpose(-1, -2)
            if config.approx_backward:
                if ctx.needs_input_grad[0]:
                    grad_a = _product_value(grad, bt, config)
                if ctx.needs_input_grad[1]:
                    grad_b = _product_value(at, grad, config)
            else:
                if ctx.needs_input_grad[0]:
                    grad_a = torch.matmul(grad, bt.to(grad.dtype))
                if ctx.needs_input_grad[1]:
                    grad_b = torch.matmul(at.to(grad.dtype), grad)
            if grad_a is not None:
                grad_a = grad_a.sum_to_size(a.shape).to(a.dtype)
            if grad_b is not None:
                grad_b = grad_b.sum_to_size(b.shape).to(b.dtype)
        return grad_a, grad_b, None, None, None, None, None


def emulated_matmul(
    a: torch.Tensor,
    b: torch.Tensor,
    config: EmulationConfig,
    *,
    kind: str = "matmul",
    layer: str | None = None,
    a_scale: torch.Tensor | None = None,
    b_scale: torch.Tensor | None = None,
    b_is_weight: bool = False,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """``torch.matmul(a, b)`` for float tensors with every product on ``config.unit``.

    ``a_scale``/``b_scale`` fix (calibrated) quantization scales; ``b_is_weight``
    picks ``config.weight_granularity`` for ``b``; ``weight`` (with ``b == weight.T``)
    lets the weight's quantization be cached between calls.
    """
    check_cpu(kind, layer, a, b)
    squeeze_a = a.dim() == 1
    squeeze_b = b.dim() == 1
    a2 = a.unsqueeze(0) if squeeze_a else a
    b2 = b.unsqueeze(-1) if squeeze_b else b
    batch = torch.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    coverage.record(kind, math.prod(batch) * a2.shape[-2] * a2.shape[-1] * b2.shape[-1], layer, config.unit.describe())
    out = _EmulatedMatmul.apply(a2, b2, config, a_scale, b_scale, b_is_weight, weight)
    if squeeze_a:
        out = out.squeeze(-2)
    if squeeze_b:
        out = out.squeeze(-1)
    return out


def emulated_linear(x, weight, bias, config: EmulationConfig, *, layer=None, x_scale=None, weight_scale=None):
    """``F.linear`` on the unit: ``x @ weight.T (+ bias)``, per-output-channel weight scales."""
    out = emulated_matmul(
        x,
        weight.t(),
        config,
        kind="linear",
        layer=layer,
        a_scale=x_scale,
        b_scale=weight_scale,
        b_is_weight=True,
        weight=weight if weight.dim() == 2 else None,
    )
    return out if bias is None else out + bias


# ----------------------------------------------------------------------------- convolution


def _pair(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def emulated_conv2d(x, weight, bias, stride, padding, dilation, groups, config: EmulationConfig, *, layer=None):
    """``F.conv2d`` as unfold (im2col) + emulated matmul per group; zero padding, int/tuple/'valid'/'same'."""
    unbatched = x.dim() == 3
    if unbatched:
        x = x.unsqueeze(0)
    kh, kw = weight.shape[-2:]
    stride, dilation = _pair(stride, 2), _pair(dilation, 2)
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same":
        total = [d * (k - 1) for d, k in zip(dilation, (kh, kw))]
        x = F.pad(x, (total[1] // 2, total[1] - total[1] // 2, total[0] // 2, total[0] - total[0] // 2))
        padding = (0, 0)
    padding = _pair(padding, 2)
    n, c, h, w = x.shape
    cols = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)  # (n, c*kh*kw, L)
    h_out = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    cg = c // groups
    og = weight.shape[0] // groups
    outs = []
    for g in range(groups):
        cols_g = cols[:, g * cg * kh * kw : (g + 1) * cg * kh * kw].transpose(1, 2)  # (n, L, cg*kh*kw)
        w_g = weight[g * og : (g + 1) * og].reshape(og, -1).t()
        outs.append(emulated_matmul(cols_g, w_g, config, kind="conv", layer=layer, b_is_weight=True))
    out = torch.cat(outs, dim=-1).transpose(1, 2).reshape(n, -1, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out.squeeze(0) if unbatched else out


def emulated_conv1d(x, weight, bias, stride, padding, dilation, groups, config: EmulationConfig, *, layer=None):
    """``F.conv1d`` through :func:`emulated_conv2d` on a height-1 image."""
    unbatched = x.dim() == 2
    if unbatched:
        x = x.unsqueeze(0)
    pad = padding if isinstance(padding, str) else (0, _pair(padding, 1)[0])
    out = emulated_conv2d(
        x.unsqueeze(2),
        weight.unsqueeze(2),
        bias,
        (1, _pair(stride, 1)[0]),
        pad,
        (1, _pair(dilation, 1)[0]),
        groups,
        config,
        layer=layer,
    ).squeeze(2)
    return out.squeeze(0) if unbatched else out


# ----------------------------------------------------------------------------- attention


def emulated_sdpa(
    q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False, *, config: EmulationConfig,
    layer: str | None = None,
):
    """``F.scaled_dot_product_attention`` with ``Q K^T`` and ``P V`` on the unit (softmax exact, fp32 or input dtype).

    The scale multiplies the scores after the product; boolean masks keep
    ``True`` entries, float masks are added.
    """
    L, S = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    if enable_gqa and q.dim() >= 3 and k.shape[-3] != q.shape[-3]:
        rep = q.shape[-3] // k.shape[-3]
        k = k.repeat_interleave(rep, dim=-3)
        v = v.repeat_interleave(rep, dim=-3)
    scores = emulated_matmul(q, k.transpose(-2, -1), config, kind="attention_qk", layer=layer) * scale
    with exact_region():
        if is_causal:
            keep = torch.ones(L, S, dtype=torch.bool, device=q.device).tril()
            scores = scores.masked_fill(~keep, float("-inf"))
        if attn_mask is not None:
            if attn_mask.dtype == torch.bool:
                scores = scores.masked_fill(~attn_mask, float("-inf"))
            else:
                scores = scores + attn_mask
        probs = torch.softmax(scores, dim=-1)
        if dropout_p > 0.0:
            probs = F.dropout(probs, p=dropout_p)
    return emulated_matmul(probs, v, config, kind="attention_av", layer=layer)


# ----------------------------------------------------------------------------- elementwise


class _ElementwiseMul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, unit):
        ctx.save_for_backward(a, b)
        with exact_region():
            out_dtype = torch.promote_types(a.dtype, b.dtype)
            a32, b32 = torch.broadcast_tensors(round_to_format(a, unit), round_to_format(b, unit))
            bits = mul_bits(unit, _float_bits(unit, a32), _float_bits(unit, b32))
            return torch.from_numpy(bits_to_float(unit, bits).astype(np.float32)).to(out_dtype)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        with exact_region():
            grad_a = (grad * b).sum_to_size(a.shape).to(a.dtype) if ctx.needs_input_grad[0] else None
            grad_b = (grad * a).sum_to_size(b.shape).to(b.dtype) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b, None


def emulated_mul(a, b, unit: FloatMitchell) -> torch.Tensor:
    """Elementwise ``a * b`` (broadcasting) on a float unit; straight-through gradient."""
    check_cpu("elementwise", None, a, b)
    if not isinstance(a, torch.Tensor):
        a = torch.tensor(a, dtype=b.dtype)
    if not isinstance(b, torch.Tensor):
        b = torch.tensor(b, dtype=a.dtype)
    out = _ElementwiseMul.apply(a, b, unit)
    coverage.record("elementwise", out.numel())
    return out
