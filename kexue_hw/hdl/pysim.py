"""Run built components in Amaranth's Python simulator.

:func:`run_combinational` applies operand pairs to a ``stages=0`` unit;
:func:`run_stream` pushes them through a pipelined unit's streams with
optionally random ``valid`` gaps and random ``ready`` back-pressure and
records the handshake timing. Both return output bit patterns (uint64) and
division-by-zero flags in vector order, ready to compare with
:func:`kexue_hw.hdl.vectors.expected`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
from amaranth.sim import Simulator

__all__ = ["StreamStats", "run_combinational", "run_stream"]


@dataclass
class StreamStats:
    """Handshake timing of one stream run (cycles counted from the first clock edge)."""

    cycles: int = 0
    accepted: int = 0
    latencies: list[int] = field(default_factory=list)
    stall_cycles: int = 0  # cycles with result.valid high but result.ready low

    @property
    def latency(self) -> int:
        return min(self.latencies) if self.latencies else -1


def _result_ports(component):
    names = list(component.datapath.result_shapes)
    return names[0], ("div_by_zero" in names)


def run_combinational(component, a, b, vcd: str | None = None, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Apply each pair to a combinational unit; returns ``(bits, flags)``.

    ``progress``: an optional :class:`~.progress.Progress`, told the pairs done.
    """
    main, has_flag = _result_ports(component)
    width = len(getattr(component, main))
    mask = (1 << width) - 1
    out = np.zeros(len(a), dtype=np.uint64)
    flags = np.zeros(len(a), dtype=bool)
    port_a, port_b, port_out = component.a, component.b, getattr(component, main)
    port_flag = getattr(component, "div_by_zero", None)

    async def bench(ctx):
        for i, (x, y) in enumerate(zip(np.asarray(a).tolist(), np.asarray(b).tolist())):
            ctx.set(port_a, x)
            ctx.set(port_b, y)
            out[i] = ctx.get(port_out) & mask
            if has_flag:
                flags[i] = ctx.get(port_flag)
            if vcd is not None:
                await ctx.delay(1e-9)
            if progress is not None and not i & 1023:
                progress.update(done=i)

    sim = Simulator(component)
    sim.add_testbench(bench)
    with sim.write_vcd(vcd) if vcd else contextlib.nullcontext():
        sim.run()
    return out, flags


def run_stream(
    component,
    a,
    b,
    *,
    valid_probability: float = 1.0,
    ready_probability: float = 1.0,
    seed: int = 0,
    vcd: str | None = None,
    max_cycles: int | None = None,
    progress=None,
) -> tuple[np.ndarray, np.ndarray, StreamStats]:
    """Stream the pairs through a pipelined unit; returns ``(bits, flags, stats)``.

    The producer offers the next pair with probability ``valid_probability``
    each cycle and holds it until accepted; the consumer raises
    ``result.ready`` with probability ``ready_probability``. Stops after all
    results arrive, or raises ``RuntimeError`` after ``max_cycles``
    (default ``4 * n + 100`` scaled by the probabilities). ``progress`` as in
    :func:`run_combinational`.
    """
    main, has_flag = _result_ports(component)
    n = len(a)
    width = len(getattr(component.result.payload, main))
    mask = (1 << width) - 1
    out = np.zeros(n, dtype=np.uint64)
    flags = np.zeros(n, dtype=bool)
    stats = StreamStats()
    rng = np.random.default_rng(seed)
    limit = max_cycles or int((4 * n + 100) / max(min(valid_probability, ready_probability), 0.05))
    av, bv = np.asarray(a).tolist(), np.asarray(b).tolist()
    ops, res = component.operands, component.result

    async def bench(ctx):
        sent = received = 0
        offered = False
        sent_cycle = []
        cycle = 0
        while received < n:
            if cycle >= limit:
                raise RuntimeError(f"stream stalled: {received}/{n} results after {cycle} cycles")
            if not offered and sent < n and rng.random() < valid_probability:
                offered = True
                ctx.set(ops.payload.a, av[sent])
                ctx.set(ops.payload.b, bv[sent])
            ctx.set(ops.valid, offered)
            ready = bool(rng.random() < ready_probability)
            ctx.set(res.ready, ready)
            in_fire = offered and ctx.get(ops.ready)
            out_valid = ctx.get(res.valid)
            if out_valid and ready:
                out[received] = ctx.get(getattr(res.payload, main)) & mask
                if has_flag:
                    flags[received] = ctx.get(res.payload.div_by_zero)
                stats.latencies.append(cycle - sent_cycle[received])
                received += 1
                if progress is not None and not received & 1023:
                    progress.update(done=received)
            elif out_valid:
                stats.stall_cycles += 1
            if in_fire:
                sent_cycle.append(cycle)
                sent += 1
                offered = False
            await ctx.tick()
            cycle += 1
        stats.cycles = cycle
        stats.accepted = sent

    sim = Simulator(component)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    with sim.write_vcd(vcd) if vcd else contextlib.nullcontext():
        sim.run()
    return out, flags, stats
