"""Proof of coverage: count emulated products and every exact matrix product that still ran.

``with track() as cov: model(x)`` records

* ``cov.emulated``: calls that went through the unit, by kind (``linear``,
  ``matmul``, ``attention_qk``, ``attention_av``, ``conv``, ``elementwise``) with MACs;
* ``cov.layers``: calls per module name (swapped modules, and the scopes of
  :class:`~kexue_hw.emulate.per_module.ModuleConfigs`), ``cov.layer_macs`` their MACs and
  ``cov.layer_units`` the units they ran on;
* ``cov.exact``: aten matrix-product ops (mm, bmm, addmm, convolution, SDPA, ...)
  seen at the dispatcher level outside the emulation, i.e. products that stayed exact.

``cov.table()`` prints it; ``cov.all_emulated`` says whether ``exact`` is empty.
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ..tables import markdown_table

_aten = torch.ops.aten

#: aten ops that compute a matrix product (any overload)
EXACT_PRODUCT_OPS = {
    _aten.mm,
    _aten.bmm,
    _aten.addmm,
    _aten.addbmm,
    _aten.baddbmm,
    _aten.mv,
    _aten.addmv,
    _aten.dot,
    _aten.vdot,
    _aten.matmul,
    _aten.linear,
    _aten.convolution,
    _aten._convolution,
    _aten.conv1d,
    _aten.conv2d,
    _aten.conv3d,
    _aten.scaled_dot_product_attention,
    _aten._scaled_dot_product_flash_attention_for_cpu,
    _aten._scaled_dot_product_attention_math,
    _aten.einsum,
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
        with _ProductWatcher(cov):
            yield cov
    finally:
        _stack().remove(cov)
