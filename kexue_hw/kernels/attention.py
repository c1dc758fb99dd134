"""Swap the attention kernel of any model: Taylor softmax or Performer in place of softmax.

Models built from plain torch (the MWP solver) and Hugging Face models with
``attn_implementation="sdpa"`` (BERT, ALBERT, Llama, ...) compute attention in
``F.scaled_dot_product_attention``. :class:`AttentionKernelMode` intercepts that call and
computes attention with another kernel, without touching the model's code:

* ``softmax``: unchanged (the mode is not even entered);
* ``taylor<n>`` (``taylor2``, ``taylor4``, any even ``n``): weights ``f_n(s)`` of the scores
  ``s = scale * Q K^T`` (``f_n`` the order-``n`` Taylor polynomial of ``exp``), masked keys
  weigh 0, normalised per query (:func:`kexue_hw.kernels.taylor_weights`);
* ``performer`` / ``performer_m<m>``: FAVOR+ with ``m`` positive random features (default 64,
  orthogonal, seeded, the same features in every call). Without a mask, or with
  ``is_causal``, it is the linear-time :func:`kexue_hw.kernels.performer_attention`; any other
  mask (padding, the UniLM prefix mask) is applied to the explicit kernel matrix
  ``phi(Q) phi(K)^T``, which is the same FAVOR+ approximation computed in quadratic time.

Every product inside is a ``torch.matmul``, so an enclosing
:class:`kexue_hw.emulate.EmulationMode` puts them on the unit (enter the emulation first, then
this mode). :func:`kexue_hw.emulate.track` counts each swapped call as ``attention_<kernel>``.
Additive float masks are accepted when they only hold ``0`` and ``-inf``-like values.
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from .performer import favor_features, performer_attention, random_features
from .taylor_minimum import check_order
from .taylor_torch import taylor_weights

__all__ = ["AttentionKernel", "attention_kernel", "AttentionKernelMode", "attention_context", "KERNEL_NAMES"]

#: kernel names the study and the CLI accept (``taylor<n>`` for any even n, ``performer_m<m>`` for any m)
KERNEL_NAMES = ("softmax", "taylor2", "taylor4", "performer")
DEFAULT_FEATURES = 64
#: a float mask entry at or below this counts as "masked" (HF uses the dtype's minimum)
_MASKED = -1e30


@dataclass(frozen=True)
class AttentionKernel:
    """An attention kernel: ``family`` (``softmax``, ``taylor``, ``performer``) and its parameter."""

    family: str
    order: int = 0  # taylor
    features: int = 0  # performer
    seed: int = 0  # performer

    @property
    def name(self) -> str:
        if self.family == "taylor":
            return f"taylor{self.order}"
        if self.family == "performer":
            return "performer" if self.features == DEFAULT_FEATURES else f"performer_m{self.features}"
        return "softmax"

    def __call__(self, q, k, v, mask: torch.Tensor | None, is_causal: bool, scale: float) -> torch.Tensor:
        if self.family == "taylor":
            return _taylor_attention(q, k, v, mask, is_causal, scale, self.order)
        if self.family == "performer":
            return _performer_attention(q, k, v, mask, is_causal, scale, self.features, self.seed)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal, scale=scale)


def attention_kernel(name) -> AttentionKernel:
    """Parse ``softmax``, ``taylor<n>`` (even n), ``performer`` or ``performer_m<m>``; ``ValueError`` otherwise."""
    if isinstance(name, AttentionKernel):
        return name
    key = str(name).strip().lower()
    if key == "softmax":
        return AttentionKernel("softmax")
    m = re.fullmatch(r"taylor(\d+)", key)
    if m:
        try:
            return AttentionKernel("taylor", order=check_order(int(m.group(1))))
        except ValueError as e:
            raise ValueError(f"attention kernel {name!r}: {e}") from None
    m = re.fullmatch(r"performer(?:_m(\d+))?", key)
    if m:
        features = int(m.group(1)) if m.group(1) else DEFAULT_FEATURES
        if features < 1:
            raise ValueError(f"attention kernel {name!r}: a performer needs at least one feature")
        return AttentionKernel("performer", features=features)
    raise ValueError(f"unknown attention kernel {name!r}: choose softmax, taylor2, taylor4 (any even order), performer "
                     "or performer_m<features>")


def _keep_mask(mask: torch.Tensor | None, is_causal: bool, L: int, S: int, device) -> torch.Tensor | None:
    """A boolean mask (True = attend), broadcastable to ``(..., L, S)``, or None for no mask."""
    keep = None
    if mask is not None:
        if mask.dtype == torch.bool:
            keep = mask
        else:
            finite = mask[mask > _MASKED]
            if finite.numel() and finite.abs().max() > 0:
                raise ValueError("additive attention biases (other than 0 / -inf masks) cannot be swapped for a kernel")
            keep = mask > _MASKED
    if is_causal:
        causal = torch.ones(L, S, dtype=torch.bool, device=device).tril(S - L)
        keep = causal if keep is None else keep & causal
    return keep


def _taylor_attention(q, k, v, mask, is_causal, scale, order):
    scores = torch.matmul(q, k.transpose(-2, -1)) * scale
    w = taylor_weights(scores, order)
    keep = _keep_mask(mask, is_causal, q.shape[-2], k.shape[-2], q.device)
    if keep is not None:
        w = w * keep
    return torch.matmul(w / w.sum(-1, keepdim=True).clamp_min(1e-30), v)


def _performer_attention(q, k, v, mask, is_causal, scale, features, seed):
    d = q.shape[-1]
    q = q * (scale * math.sqrt(d))  # performer assumes the 1/sqrt(d) scale
    gen = torch.Generator(device=q.device).manual_seed(seed)
    w = random_features(features, d, orthogonal=True, generator=gen, dtype=q.dtype, device=q.device)
    if mask is None:
        return performer_attention(q, k, v, features=w, causal=is_causal)
    keep = _keep_mask(mask, is_causal, q.shape[-2], k.shape[-2], q.device)
    pq = favor_features(q, w, is_query=True)
    pk = favor_features(k, w, is_query=False)
    a = torch.matmul(pq, pk.transpose(-2, -1)) * keep
    return torch.matmul(a, v) / a.sum(-1, keepdim=True).clamp_min(1e-30)


class AttentionKernelMode(TorchFunctionMode):
    """Inside ``with AttentionKernelMode("taylor4"):`` every ``F.scaled_dot_product_attention`` uses the kernel."""

    def __init__(self, kernel):
        super().__init__()
        self.kernel = attention_kernel(kernel)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is not F.scaled_dot_product_attention:
            return func(*args, **kwargs)
        names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")
        a = dict(zip(names, args)) | kwargs
        q, k, v = a["query"], a["key"], a["value"]
        if a.get("enable_gqa") and k.shape[-3] != q.shape[-3]:
            rep = q.shape[-3] // k.shape[-3]
            k, v = k.repeat_interleave(rep, dim=-3), v.repeat_interleave(rep, dim=-3)
        scale = a.get("scale")
        scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
        if a.get("dropout_p", 0.0):
            raise ValueError("attention dropout is not supported with a swapped kernel (evaluate in eval mode)")
        from ..emulate import coverage

        coverage.record(f"attention_{self.kernel.name}", q.shape[:-1].numel() * k.shape[-2] * (q.shape[-1] + v.shape[-1]))
        return self.kernel(q, k, v, a.get("attn_mask"), bool(a.get("is_causal", False)), scale)


def attention_context(kernel):
    """A context that swaps the attention kernel (``softmax``: a no-op context)."""
    k = attention_kernel(kernel)
    return contextlib.nullcontext() if k.family == "softmax" else AttentionKernelMode(k)
