"""Verilator runs of the exported Verilog against the golden model (8-bit exhaustive, random 16/32-bit)."""

import numpy as np
import pytest

from kexue_hw import MBM, Mitchell
from kexue_hw.hdl import vectors as V

from hdl_tools import requires_verilator

pytestmark = [requires_verilator, pytest.mark.slow]


@pytest.fixture(scope="module")
def vl():
    from kexue_hw.hdl import verilator

    return verilator


@pytest.mark.parametrize(
    "unit,op",
    [(Mitchell(8), "mul"), (Mitchell(8, signed=True), "div")],
    ids=lambda x: x if isinstance(x, str) else x.describe(),
)
def test_8bit_exhaustive(vl, unit, op):
    run = vl.run_exhaustive(unit, op)
    assert run.vectors == 65536 and run.mismatches == 0, run.details


def test_random_16_and_32_bit_pipelined_with_back_pressure(vl):
    unit = Mitchell(32, signed=True)
    a, b = V.random_pairs(unit, 20000, seed=5)
    run = vl.run_vectors(unit, "mul", a, b, stages=2, ready_probability=0.6, seed=6)
    assert run.vectors == 20000 and run.mismatches == 0, run.details
    assert run.cycles > 20000  # back-pressure stalled the stream


def test_random_16_bit_mbm(vl):
    unit = MBM(16, signed=True)
    a, b = V.random_pairs(unit, 100000, seed=7)
    run = vl.run_vectors(unit, "mul", a, b)
    assert run.vectors == 100000 and run.mismatches == 0, run.details


def test_harness_reports_mismatches(vl, monkeypatch):
    """The comparison can fail: corrupt one golden value and expect exactly one mismatch."""
    unit = Mitchell(8)
    real = V.expected

    def corrupted(u, op, a, b):
        exp, flags = real(u, op, a, b)
        exp = exp.copy()
        exp[7] ^= np.uint64(1)
        return exp, flags

    monkeypatch.setattr(V, "expected", corrupted)
    a, b = V.random_pairs(unit, 100, seed=8)
    run = vl.run_vectors(unit, "mul", a, b)
    assert run.mismatches == 1 and len(run.details) == 1
