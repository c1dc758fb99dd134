"""Yosys + nextpnr flow on iCE40: the 8-bit Mitchell multiplier is smaller than the exact one."""

import pytest

from kexue_hw import Exact, Mitchell
from kexue_hw.hdl import synth

from hdl_tools import requires_nextpnr

pytestmark = [requires_nextpnr, pytest.mark.slow]


def test_mitchell_8bit_ice40_cheaper_than_exact():
    row = synth.compare_with_reference(Mitchell(8), "mul", 0, "ice40")
    assert row["luts"] > 0 and row["exact_luts"] > 0 and 0 < row["fmax_mhz"] < 1000
    assert row["lut_ratio"] < 0.8
    assert row["ffs"] >= 32  # the harness registers a, b and p


def test_unknown_target_is_rejected():
    from kexue_hw import SpecError

    with pytest.raises(SpecError, match="choose one of"):
        synth.synthesize(Exact(8), target="virtex2")


def test_xilinx_is_synthesis_only():
    res = synth.synthesize(Mitchell(8), target="xilinx")
    assert res.luts > 0 and res.ffs >= 32 and res.fmax_mhz is None
