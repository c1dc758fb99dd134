"""RTL face of kexue-hw: Amaranth components mirroring the golden models bit for bit.

Build a unit from its spec::

    from kexue_hw import Mitchell
    from kexue_hw.hdl import build

    mul = build(Mitchell(16, signed=True), op="mul")            # combinational
    div = build(Mitchell(16), op="div", stages=3)               # pipelined, streams

Combinational units (``stages=0``) have ports ``a``, ``b`` (``N`` bits, signed
shapes for signed units) and ``p`` (``2N`` bits) or ``q``
(``unit.quotient_bits``) plus ``div_by_zero``. Pipelined units have an
``operands`` input stream (payload ``{a, b}``) and a ``result`` output stream
(payload ``{p}`` or ``{q, div_by_zero}``), latency ``stages`` cycles,
throughput one pair per cycle, honouring back-pressure. To reuse one inside a
larger design (e.g. a streaming softmax), add it as a submodule and
``wiring.connect`` its streams, or drive the combinational ports directly::

    m.submodules.mul = mul = build(Mitchell(16), "mul", stages=2)
    wiring.connect(m, producer.o, mul.operands)
    wiring.connect(m, mul.result, consumer.i)

``max_stages(unit, op)`` tells how deep a unit can be pipelined. The
reference for every output bit is :func:`kexue_hw.arith.mul` /
:func:`kexue_hw.arith.div` (``strict=False``, flags for division by zero).
"""

from __future__ import annotations

from ..spec import SpecError, Unit

__all__ = [
    "build",
    "max_stages",
    "CombinationalUnit",
    "PipelinedUnit",
    "Datapath",
    "datapath_for",
    "plan_cuts",
    "GENERATOR",
]

#: identifies the RTL generator in exported file headers
GENERATOR = "kexue-hw.hdl 1"


_LAZY = {
    "CombinationalUnit": "components",
    "PipelinedUnit": "components",
    "plan_cuts": "components",
    "Datapath": "datapaths",
    "datapath_for": "datapaths",
}


def __getattr__(name):  # amaranth is imported on first use, keeping `kexue-hw --help` fast
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def max_stages(unit: Unit, op: str = "mul") -> int:
    """Deepest pipeline ``build`` accepts for ``unit``/``op`` (one rank per datapath step)."""
    from .datapaths import datapath_for

    return len(datapath_for(unit, op).steps)


def build(unit: Unit, op: str = "mul", stages: int = 0):
    """Amaranth component for ``unit``'s ``op`` (``mul``/``div``): combinational or ``stages``-deep.

    Raises :class:`~kexue_hw.spec.SpecError` for impossible combinations (no
    divider for the unit, ``stages`` negative or deeper than the datapath).
    """
    from .components import CombinationalUnit, PipelinedUnit
    from .datapaths import datapath_for

    if isinstance(stages, bool) or not isinstance(stages, int):
        raise SpecError(f"stages must be an int, got {stages!r}")
    dp = datapath_for(unit, op)
    if stages == 0:
        return CombinationalUnit(dp)
    if stages < 0 or stages > len(dp.steps):
        raise SpecError(f"stages={stages} is impossible for {unit.describe()} {op}: allowed 0..{len(dp.steps)}")
    return PipelinedUnit(dp, stages)
