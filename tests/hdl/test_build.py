"""Component construction: signatures, widths, pipeline planning and input validation."""

import pytest
from amaranth.lib import wiring

from kexue_hw import ILM, MBM, Exact, FloatMitchell, Mitchell, SpecError
from kexue_hw.hdl import CombinationalUnit, PipelinedUnit, build, max_stages, plan_cuts


def test_combinational_ports_and_widths():
    mul = build(Mitchell(16, signed=True), "mul")
    assert isinstance(mul, CombinationalUnit) and isinstance(mul, wiring.Component)
    assert len(mul.a) == 16 and mul.a.shape().signed and len(mul.p) == 32
    div = build(Mitchell(8), "div")
    assert len(div.q) == Mitchell(8).quotient_bits and len(div.div_by_zero) == 1
    assert div.latency == 0


def test_pipelined_streams():
    unit = build(Mitchell(16), "mul", stages=2)
    assert isinstance(unit, PipelinedUnit) and unit.latency == 2
    assert set(unit.signature.members) == {"operands", "result"}
    assert unit.cuts[-1] == len(unit.datapath.steps) - 1  # output always registered


@pytest.mark.parametrize(
    "unit,op",
    [
        (Mitchell(8), "mul"),
        (Mitchell(8), "div"),
        (MBM(8), "mul"),
        (ILM(8, corrections=2), "mul"),
        (Exact(8), "mul"),
        (Exact(8), "div"),
    ],
)
def test_every_family_builds(unit, op):
    assert build(unit, op, stages=0) is not None
    assert build(unit, op, stages=max_stages(unit, op)).latency == max_stages(unit, op)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(unit=Mitchell(8), op="mul", stages=-1), "stages=-1"),
        (dict(unit=Mitchell(8), op="mul", stages=99), "allowed 0.."),
        (dict(unit=Mitchell(8), op="mul", stages=True), "stages must be an int"),
        (dict(unit=Mitchell(8), op="sqrt", stages=0), "op must be"),
        (dict(unit=MBM(8), op="div", stages=0), "no RTL divider"),
        (dict(unit=ILM(8), op="div", stages=0), "no RTL divider"),
        (dict(unit=FloatMitchell("bf16"), op="mul", stages=0), "integer units only"),
    ],
)
def test_impossible_requests_raise(kwargs, match):
    with pytest.raises(SpecError, match=match):
        build(**kwargs)


def test_impossible_widths_come_from_the_spec():
    with pytest.raises(SpecError, match="width=33"):
        Mitchell(33)
    with pytest.raises(SpecError, match="width=1"):
        Mitchell(1)


def test_plan_cuts_balances_weights():
    assert plan_cuts([1, 1, 1, 1], 1) == [3]
    assert plan_cuts([1, 1, 1, 1], 2) == [1, 3]
    assert plan_cuts([4, 1, 1, 1, 1], 2) == [0, 4]
    with pytest.raises(SpecError):
        plan_cuts([1, 1], 3)
