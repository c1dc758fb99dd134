"""Amaranth components of the arithmetic units: combinational and pipelined.

:class:`CombinationalUnit` (``stages=0``) has plain ports ``a``, ``b`` and the
result ports (``p``; or ``q`` and ``div_by_zero``), settled in the same cycle.

:class:`PipelinedUnit` (``stages=S >= 1``) has an ``operands`` input stream
(payload ``{a, b}``) and a ``result`` output stream (payload ``{p}`` or
``{q, div_by_zero}``), both :mod:`amaranth.lib.stream` valid/ready
interfaces. Latency is exactly ``S`` cycles; it accepts one operand pair per
cycle while ``result.ready`` is high and stalls as a whole (global enable)
when the consumer holds ``result.ready`` low; ``operands.ready`` is then low.
The output is always registered; the other ``S - 1`` register ranks sit at the
datapath step boundaries that best balance the logic depth.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..spec import SpecError
from .datapaths import Datapath

__all__ = ["CombinationalUnit", "PipelinedUnit", "plan_cuts"]


def plan_cuts(weights: list[int], stages: int) -> list[int]:
    """Indices of the steps after which a register rank goes, ``stages`` of them.

    The last step always ends with a rank (registered output); the other
    ``stages - 1`` minimise the heaviest segment (ties go to later cuts).
    """
    n = len(weights)
    if not 1 <= stages <= n:
        raise SpecError(f"stages={stages} is impossible for this datapath: allowed 0..{n}")
    # best[s][i]: minimal max-segment weight splitting steps[:i] into s segments
    inf = float("inf")
    prefix = [0]
    for w in weights:
        prefix.append(prefix[-1] + w)
    best = [[inf] * (n + 1) for _ in range(stages + 1)]
    choice = [[0] * (n + 1) for _ in range(stages + 1)]
    best[0][0] = 0
    for s in range(1, stages + 1):
        for i in range(s, n + 1):
            for j in range(s - 1, i):
                cost = max(best[s - 1][j], prefix[i] - prefix[j])
                if cost <= best[s][i]:
                    best[s][i], choice[s][i] = cost, j
    cuts, i = [], n
    for s in range(stages, 0, -1):
        cuts.append(i - 1)
        i = choice[s][i]
    return sorted(cuts)


class CombinationalUnit(wiring.Component):
    """Combinational unit (latency 0): ``a``, ``b`` in; ``p`` (or ``q``, ``div_by_zero``) out.

    Mirrors the golden model named by ``datapath.golden`` bit for bit.
    """

    def __init__(self, datapath: Datapath):
        self.datapath = datapath
        self.stages = 0
        members = {"a": In(datapath.operand_shape), "b": In(datapath.operand_shape)}
        members.update({name: Out(shape) for name, shape in datapath.result_shapes.items()})
        super().__init__(members)

    @property
    def latency(self) -> int:
        return 0

    def elaborate(self, platform):
        m = Module()
        dp = self.datapath
        outputs = dp.combinational(self.a, self.b) if dp.combinational else dp.evaluate(m, self.a, self.b)
        for name, value in outputs.items():
            m.d.comb += getattr(self, name).eq(value)
        return m


def operand_layout(datapath: Datapath) -> data.StructLayout:
    return data.StructLayout({"a": datapath.operand_shape, "b": datapath.operand_shape})


def result_layout(datapath: Datapath) -> data.StructLayout:
    return data.StructLayout(dict(datapath.result_shapes))


class PipelinedUnit(wiring.Component):
    """Pipelined unit with stream interfaces: latency ``stages`` cycles, throughput 1/cycle.

    ``operands``: input stream, payload ``{a, b}``; ``result``: output stream,
    payload ``{p}`` (or ``{q, div_by_zero}``). Back-pressure stalls the whole
    pipeline; nothing is dropped or duplicated. Results leave in input order.
    """

    def __init__(self, datapath: Datapath, stages: int):
        self.datapath = datapath
        self.stages = stages
        self.cuts = plan_cuts([s.weight for s in datapath.steps], stages)
        super().__init__(
            {
                "operands": In(stream.Signature(operand_layout(datapath))),
                "result": Out(stream.Signature(result_layout(datapath))),
            }
        )

    @property
    def latency(self) -> int:
        return self.stages

    def elaborate(self, platform):
        m = Module()
        advance = Signal()
        state = {"valid": self.operands.valid, "rank": 0}

        def register(index, vals):
            if index not in self.cuts:
                return vals
            state["rank"] += 1
            rank = state["rank"]
            regs = {}
            for name, value in vals.items():
                if isinstance(value, Const):
                    regs[name] = value  # constants need no register
                    continue
                reg = Signal(value.shape(), name=f"r{rank}_{name}", reset_less=True)
                with m.If(advance):
                    m.d.sync += reg.eq(value)
                regs[name] = reg
            valid_reg = Signal(name=f"r{rank}_valid")
            with m.If(advance):
                m.d.sync += valid_reg.eq(state["valid"])
            state["valid"] = valid_reg
            return regs

        vals = self.datapath.evaluate(m, self.operands.payload.a, self.operands.payload.b, cut=register)
        valid = state["valid"]
        m.d.comb += [
            advance.eq(~valid | self.result.ready),
            self.operands.ready.eq(advance),
            self.result.valid.eq(valid),
        ]
        for name in self.datapath.result_shapes:
            m.d.comb += getattr(self.result.payload, name).eq(vals[name])
        return m
