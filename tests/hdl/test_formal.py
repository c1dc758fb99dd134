"""Yosys SAT proof: the exported Mitchell multiplier equals the independent closed-form reference."""

import pytest

from kexue_hw.hdl import formal

from hdl_tools import requires_yosys

pytestmark = requires_yosys


@pytest.mark.slow
def test_16bit_unsigned_proof():
    res = formal.prove_mitchell_mul(16, timeout=300)
    assert res.proved, res.log_tail


def test_8bit_signed_proof():
    res = formal.prove_mitchell_mul(8, signed=True, timeout=120)
    assert res.proved, res.log_tail


def test_proof_can_fail(monkeypatch):
    """A reference off by one LSB on one input pair must not be proved equal."""
    broken = formal.REFERENCE_VERILOG.replace(
        "assign p = (a == 0 || b == 0) ? 0 : full[2*N-1:0];",
        "assign p = ((a == 0 || b == 0) ? 0 : full[2*N-1:0]) ^ (a == 3 && b == 5);",
    )
    assert broken != formal.REFERENCE_VERILOG
    monkeypatch.setattr(formal, "REFERENCE_VERILOG", broken)
    res = formal.prove_mitchell_mul(8, timeout=120)
    assert not res.proved
