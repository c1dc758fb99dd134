"""Yosys + nextpnr flow on iCE40: Mitchell units against the exact unit of the same op and depth."""

import pytest

from kexue_hw import Exact, Mitchell
from kexue_hw.hdl import max_stages, synth

from hdl_tools import requires_nextpnr


@pytest.mark.parametrize(
    "unit,op,stages,name",
    [
        (Mitchell(16), "mul", 0, "exact_u16_mul"),
        (Mitchell(16, True), "mul", 2, "exact_s16_mul_p2"),
        (Mitchell(16), "div", 3, "exact_u16_div_q31_p3"),
        (Mitchell(16, quotient_frac=8), "div", 0, "exact_u16_q8_div_q8"),
        (Mitchell(8), "mul", 9, "exact_u8_mul_p3"),  # as deep as the exact multiplier goes
    ],
)
def test_reference_is_the_exact_unit_of_the_same_op_and_depth(unit, op, stages, name):
    from kexue_hw.hdl.export import top_name

    ref, ref_stages = synth.reference_for(unit, op, stages)
    assert isinstance(ref, Exact) and ref.width == unit.width and ref.signed == unit.signed
    assert ref_stages == min(stages, max_stages(ref, op))
    assert top_name(ref, op, ref_stages) == name
    if op == "div":
        assert ref.quotient_frac_bits == unit.quotient_frac_bits


@pytest.mark.slow
@requires_nextpnr
def test_mitchell_8bit_ice40_cheaper_than_exact():
    row = synth.compare_with_reference(Mitchell(8), "mul", 0, "ice40")
    assert row["luts"] > 0 and row["exact_luts"] > 0 and 0 < row["fmax_mhz"] < 1000
    assert row["lut_ratio"] < 0.8
    assert row["ffs"] >= 32  # the harness registers a, b and p
    assert row["reference"]["name"] == "exact_u8_mul" and row["reference"]["luts"] == row["exact_luts"]


@pytest.mark.slow
@requires_nextpnr
def test_divider_rows_compare_with_the_exact_divider():
    cache = {}
    row = synth.compare_with_reference(Mitchell(8), "div", 2, "ice40", cache=cache)
    ref = row["reference"]
    assert ref["name"] == "exact_u8_div_q15_p2" and ref["stages"] == 2 and ref["op"] == "div"
    assert row["lut_ratio"] == round(row["luts"] / ref["luts"], 3)
    assert row["fmax_ratio"] > 1  # the exact divider is a long chain of subtractions
    again = synth.compare_with_reference(Mitchell(8), "div", 2, "ice40", cache=cache)
    assert again["reference"] == ref and len(cache) == 1  # the reference was synthesized once


def test_unknown_target_is_rejected():
    from kexue_hw import SpecError

    with pytest.raises(SpecError, match="choose one of"):
        synth.synthesize(Exact(8), target="virtex2")


@pytest.mark.slow
@requires_nextpnr
def test_xilinx_is_synthesis_only():
    res = synth.synthesize(Mitchell(8), target="xilinx")
    assert res.luts > 0 and res.ffs >= 32 and res.fmax_mhz is None
