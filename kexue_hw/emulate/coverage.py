"""Proof of coverage: count emulated products and every exact matrix product that still ran.

``with track() as cov: model(x)`` records

* ``cov.emulated``: calls that went through the unit, by kind (``linear``,
  ``matmul``, ``attention_qk``, ``attention_av``, ``conv``, ``elementwise``) with MACs;
* ``cov.layers``: calls per module name (swapped modules, and the scopes of
  :class:`~kexue_hw.emulate.per_module.ModuleConfigs`), ``cov.layer_macs`` their MACs and
  ``cov.layer_units`` the units they ran on;
* ``cov.exact``: products that stayed exact: aten ops of :data:`EXACT_PRODUCT_OP_NAMES` (mm, bmm,
  addmm, addr, _trilinear, convolution, cdist, SDPA, native multi-head attention, RNN kernels,
  ``out=`` and in-place forms, ...) seen at the dispatcher outside the emulation, and calls of
  :data:`ELEMENTWISE_PRODUCT_FUNCTIONS` (outer, kron, vecdot) that no front end emulated.

Elementwise ``*`` (and functions built only on it, such as ``cosine_similarity``) is not a matrix
product: it is counted when emulated (``elementwise_unit``) and never listed as exact.

``cov.table()`` prints it; ``cov.all_emulated`` says whether ``exact`` is empty.
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from ..tables import markdown_table

_aten = torch.ops.aten

#: aten ops that multiply tensors together (matrix products, contractions, convolutions, attention and
#: RNN kernels, in-place forms); names absent from this torch build are skipped
EXACT_PRODUCT_OP_NAMES = (
    "mm", "bmm", "addmm", "addmm_", "_addmm_activation", "addbmm", "addbmm_", "baddbmm", "baddbmm_",
    "mv", "addmv", "addmv_", "dot", "vdot", "inner", "outer", "ger", "addr", "addr_", "matmul", "linear",
    "bilinear", "_trilinear", "tensordot", "einsum", "chain_matmul", "linalg_multi_dot", "kron", "linalg_vecdot",
    "convolution", "_convolution", "convolution_overrideable", "conv1d", "conv2d", "conv3d", "conv_tbc",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "mkldnn_convolution", "_slow_conv2d_forward",
    "slow_conv3d", "slow_conv_transpose2d", "slow_conv_transpose3d", "slow_conv_dilated2d", "slow_conv_dilated3d",
    "_nnpack_spatial_convolution", "thnn_conv2d", "mkldnn_linear",
    "cdist", "_cdist_forward", "_euclidean_dist", "pdist", "_pdist_forward",
    "scaled_dot_product_attention", "_scaled_dot_product_attention_math",
    "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_fused_attention_overrideable", "_native_multi_head_attention",
    "_transformer_encoder_layer_fwd",
    "lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell",
    "_thnn_fused_lstm_cell", "_thnn_fused_gru_cell", "mkldnn_rnn_layer", "mkldnn_rnn",
    "_int_mm", "_weight_int8pack_mm", "_weight_int4pack_mm", "_scaled_mm", "_sparse_mm", "_sparse_addmm",
    "sspaddmm", "hspmm", "smm",
)  # fmt: skip
EXACT_PRODUCT_OPS = {getattr(_aten, name) for name in EXACT_PRODUCT_OP_NAMES if hasattr(_aten, name)}

#: products that reach the dispatcher as elementwise ``mul`` only, so they are counted where they are called
ELEMENTWISE_PRODUCT_FUNCTIONS = {
    torch.outer: "outer",
    torch.Tensor.outer: "outer",
    torch.ger: "outer",
    torch.Tensor.ger: "outer",
    torch.kron: "kron",
    torch.Tensor.kron: "kron",
    torch.linalg.vecdot: "vecdot",
}

_state = threading.local()


def _stack() -> list:
    if not hasattr(_state, "stack"):
        _state.stack = []
    return _state.stack


class Coverage:
    """Counters filled while :func:`track` is active."""

    def __init__(self):
        self.emulated: Counter = Counter()
        self.emulated_macs: Counter = Counter()
        self.layers: Counter = Counter()
        self.layer_macs: Counter = Counter()  # MACs per module name
        self.layer_units: dict[str, set[str]] = {}  # units each module's products ran on
        self.exact: Counter = Counter()
        self.kernel_calls = 0

    @property
    def all_emulated(self) -> bool:
        return not self.exact

    def table(self) -> str:
        rows = [(f"emulated {kind}", self.emulated[kind], f"{self.emulated_macs[kind]:,}") for kind in sorted(self.emulated)]
        rows += [(f"EXACT {op}", self.exact[op], "") for op in sorted(self.exact)] or [("exact (not emulated)", 0, "")]
        return (
            markdown_table(["product", "calls", "MACs"], rows, "lrr")
            + f"\n\n{len(self.layers)} swapped modules called; {self.kernel_calls} approx_bmm kernel calls."
        )


def record(kind: str, macs: int, layer: str | None = None, unit: str | None = None) -> None:
    """Count one emulated product (called by the front ends): its kind, MACs, module and unit."""
    for cov in _stack():
        cov.emulated[kind] += 1
        cov.emulated_macs[kind] += int(macs)
        if layer is not None:
            cov.layers[layer] += 1
            cov.layer_macs[layer] += int(macs)
            if unit:
                cov.layer_units.setdefault(layer, set()).add(unit)


class _FunctionWatcher(TorchFunctionMode):
    """Counts :data:`ELEMENTWISE_PRODUCT_FUNCTIONS` calls that no front end emulated (none recorded during them)."""

    def __init__(self, cov: Coverage):
        super().__init__()
        self.cov = cov

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = ELEMENTWISE_PRODUCT_FUNCTIONS.get(func)
        before = sum(self.cov.emulated.values())
        out = func(*args, **(kwargs or {}))
        if name is not None and sum(self.cov.emulated.values()) == before:
            self.cov.exact[name] += 1
        return out


class _ProductWatcher(TorchDispatchMode):
    """Counts aten matrix products (exact) and ``kexue_hw::approx_bmm`` calls (emulated)."""

    def __init__(self, cov: Coverage):
        super().__init__()
        self.cov = cov

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        packet = func.overloadpacket
        if packet in EXACT_PRODUCT_OPS:
            self.cov.exact[str(packet).replace("aten.", "")] += 1
        elif str(packet) == "kexue_hw.approx_bmm":
            self.cov.kernel_calls += 1
        return func(*args, **(kwargs or {}))


@contextmanager
def track():
    """Record emulated and exact products of the code run inside (forward passes)."""
    cov = Coverage()
    _stack().append(cov)
    try:
        with _FunctionWatcher(cov), _ProductWatcher(cov):
            yield cov
    finally:
        _stack().remove(cov)
