"""Amaranth simulation against the golden model: exhaustive 8-bit Mitchell, random others, stream handshake."""

import numpy as np
import pytest

from kexue_hw import ILM, MBM, Exact, Mitchell
from kexue_hw.hdl import build
from kexue_hw.hdl import pysim
from kexue_hw.hdl import vectors as V


def _check_combinational(unit, op, a, b):
    exp, exp_flags = V.expected(unit, op, a, b)
    got, flags = pysim.run_combinational(build(unit, op), a, b)
    bad = np.nonzero((got != exp) | (flags != exp_flags))[0]
    assert bad.size == 0, [(int(a[i]), int(b[i]), int(got[i]), int(exp[i])) for i in bad[:5]]


@pytest.mark.slow
@pytest.mark.parametrize("op", ["mul", "div"])
def test_mitchell_8bit_exhaustive(op):
    unit = Mitchell(8)
    a, b = V.exhaustive(unit)
    assert a.size == 65536
    _check_combinational(unit, op, a, b)


@pytest.mark.parametrize(
    "unit,op",
    [
        (Mitchell(8, signed=True), "mul"),
        (Mitchell(8, signed=True), "div"),
        (Mitchell(8, frac_bits=3), "mul"),
        (Mitchell(8, signed=True, frac_bits=4, quotient_frac=5), "div"),
        (Mitchell(6, quotient_frac=0), "div"),
        (MBM(8), "mul"),
        (MBM(8, signed=True, frac_bits=3), "mul"),
        (ILM(8, corrections=0), "mul"),
        (ILM(8, signed=True, corrections=2), "mul"),
        (Exact(8, signed=True), "mul"),
        (Exact(8, signed=True), "div"),
        (Exact(16, signed=True, quotient_frac=5), "div"),
        (Mitchell(16, signed=True), "mul"),
        (Mitchell(16), "mul"),
        (Mitchell(32), "div"),
    ],
    ids=lambda x: x if isinstance(x, str) else x.describe(),
)
def test_random_pairs(unit, op):
    a, b = V.random_pairs(unit, 600, seed=1)
    _check_combinational(unit, op, a, b)


def test_stream_throughput_and_latency():
    unit = Mitchell(8, signed=True)
    dut = build(unit, "mul", stages=3)
    a, b = V.random_pairs(unit, 200, seed=2)
    got, _, stats = pysim.run_stream(dut, a, b)
    exp, _ = V.expected(unit, "mul", a, b)
    assert np.array_equal(got, exp)
    assert stats.latency == 3 and set(stats.latencies) == {3}
    assert stats.cycles == len(a) + 3  # one pair per cycle, then the pipeline drains
    assert stats.stall_cycles == 0


@pytest.mark.parametrize("op", ["mul", "div"])
def test_stream_back_pressure(op):
    unit = Mitchell(8, signed=True)
    dut = build(unit, op, stages=2)
    a, b = V.random_pairs(unit, 300, seed=3)
    got, flags, stats = pysim.run_stream(dut, a, b, valid_probability=0.7, ready_probability=0.5, seed=4)
    exp, exp_flags = V.expected(unit, op, a, b)
    assert np.array_equal(got, exp) and np.array_equal(flags, exp_flags)  # nothing lost, duplicated or reordered
    assert stats.stall_cycles > 0 and stats.cycles > len(a)


@pytest.mark.parametrize("op,stages", [("mul", 3), ("div", 5)])
def test_pipelined_exact_units(op, stages):
    """The exact units pipelined as the synthesis references are (rows of the multiplier, quotient bits)."""
    unit = Exact(8, signed=True)
    dut = build(unit, op, stages=stages)
    a, b = V.random_pairs(unit, 400, seed=9)
    got, flags, stats = pysim.run_stream(dut, a, b, ready_probability=0.7, seed=10)
    exp, exp_flags = V.expected(unit, op, a, b)
    assert np.array_equal(got, exp) and np.array_equal(flags, exp_flags)
    assert stats.latency == stages


@pytest.mark.parametrize(
    "unit", [MBM(8, signed=True), ILM(8, corrections=2), ILM(8, signed=True, corrections=1), Exact(8, signed=True)],
    ids=lambda u: u.describe(),
)
def test_pipelined_units_other_than_mitchell(unit):
    """MBM, ILM and Exact pipelines (two stages, back-pressure) give the golden model's products in order."""
    from kexue_hw.hdl import max_stages

    stages = min(2, max_stages(unit, "mul"))
    a, b = V.random_pairs(unit, 150, seed=5)
    got, flags, stats = pysim.run_stream(build(unit, "mul", stages=stages), a, b, ready_probability=0.7, seed=6)
    exp, exp_flags = V.expected(unit, "mul", a, b)
    assert stages >= 1 and stats.latency == stages
    assert np.array_equal(got, exp) and np.array_equal(flags, exp_flags)
