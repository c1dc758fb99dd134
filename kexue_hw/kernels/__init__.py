"""Kernels on approximate units: Taylor softmax and Performer (FAVOR+) attention.

Only the pure-Python Taylor helpers import eagerly; the rest loads on first attribute access,
so ``import kexue_hw.kernels`` needs neither torch nor Numba (the command line imports it).

* :func:`taylor_minimum`, :class:`TaylorSoftmaxFixed` (numpy golden model)
* :func:`taylor_softmax`, :class:`TaylorSoftmax` (torch)
* :func:`performer_attention`, :class:`PerformerAttention`, :func:`softmax_attention`,
  :func:`random_features` (torch)
* :class:`AttentionKernelMode`, :func:`attention_context` (torch): swap Taylor softmax or
  Performer into any model's ``F.scaled_dot_product_attention`` calls
* :func:`performer_attention_fixed` (numpy, products on ``kexue_hw.arith.mul``)
* :mod:`.softmax_rtl` (Amaranth streaming unit; imports amaranth)
"""

from __future__ import annotations

from .._lazy import lazy_attributes

# eager: pure Python, and the function ``taylor_minimum`` must shadow its submodule's name
from .taylor_minimum import check_order, taylor_coefficients, taylor_exp, taylor_minimum

_LAZY = {
    "TaylorSoftmaxFixed": ".taylor_fixed",
    "taylor_softmax": ".taylor_torch",
    "TaylorSoftmax": ".taylor_torch",
    "taylor_weights": ".taylor_torch",
    "AttentionKernel": ".attention",
    "AttentionKernelMode": ".attention",
    "attention_kernel": ".attention",
    "attention_context": ".attention",
    "performer_attention": ".performer",
    "PerformerAttention": ".performer",
    "softmax_attention": ".performer",
    "random_features": ".performer",
    "favor_features": ".performer",
    "performer_attention_fixed": ".performer_fixed",
}

__all__ = ["check_order", "taylor_coefficients", "taylor_exp", "taylor_minimum", *_LAZY]


__getattr__, _ = lazy_attributes(__name__, _LAZY)  # the module's own names stay in dir()
