"""External Verilog multipliers: tabulated through the Verilator harness, synthesized beside the exact one."""

import json

import numpy as np
import pytest
from hdl_tools import requires_nextpnr, requires_verilator

from kexue_hw import Exact
from kexue_hw.arith import tabulate
from kexue_hw.cli import main
from kexue_hw.hdl.external import operand_width, read_module, table_from_verilog
from kexue_hw.spec import SpecError

ANSI = """// a 4-bit multiplier that is one too high for odd x
module approx4 (input [3:0] x, input [3:0] y, output [7:0] z);
  assign z = x * y + {7'd0, x[0]};
endmodule
"""

NON_ANSI = """module gated (en, a, b, p);
input en;
input [3:0] a;
input [3:0] b;
output [7:0] p;
assign p = en ? a * b : 8'd0;
endmodule

module other (q);
output q;
assign q = 1'b1;
endmodule
"""

SIGNED = """module s4 (input signed [3:0] a, input signed [3:0] b, output signed [7:0] p);
  assign p = a * b;
endmodule
"""


@pytest.fixture(scope="module")
def _shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("verilator-cache")


@pytest.fixture
def cache(_shared_cache, monkeypatch):
    """One Verilator build cache for this module's tests (each module is built once)."""
    monkeypatch.setenv("KEXUE_HW_CACHE", str(_shared_cache))


def test_ports_and_widths_are_read_from_the_declarations(tmp_path):
    (tmp_path / "a.v").write_text(ANSI)
    (tmp_path / "n.v").write_text(NON_ANSI)
    assert read_module(tmp_path / "a.v", "approx4")[1] == ("x", "y", "z")
    assert operand_width(tmp_path / "a.v", "approx4") == 4
    with pytest.raises(SpecError, match="inputs \\['en', 'a', 'b'\\].*--ports"):
        read_module(tmp_path / "n.v", "gated")
    assert read_module(tmp_path / "n.v", "gated", "a,b,p")[1] == ("a", "b", "p")
    with pytest.raises(SpecError, match="no module 'mul'.*gated, other"):
        read_module(tmp_path / "n.v", "mul")
    with pytest.raises(SpecError, match="three names"):
        read_module(tmp_path / "n.v", "gated", "a,b")


@requires_verilator
@pytest.mark.slow  # two Verilator builds, ~20 s each on 2 cores (shared with the tests below)
def test_tabulated_modules_match_their_function(tmp_path, cache):
    (tmp_path / "a.v").write_text(ANSI)
    (tmp_path / "s.v").write_text(SIGNED)
    t = table_from_verilog(tmp_path / "a.v", "approx4", width=4)
    v = np.arange(16)
    assert np.array_equal(t.values, v[:, None] * v[None, :] + (v[:, None] & 1))
    s = table_from_verilog(tmp_path / "s.v", "s4", width=4, signed=True, ports="a,b,p")
    assert s == tabulate(Exact(4, signed=True))


@requires_verilator
@pytest.mark.slow  # one Verilator build (the signed module)
def test_cli_error_on_a_signed_module_with_named_ports(tmp_path, cache, capsys):
    (tmp_path / "s.v").write_text(SIGNED)
    assert main(["error", "table", "--verilog", str(tmp_path / "s.v"), "--top", "s4", "--ports", "a,b,p",
                 "--width", "4", "--signed", "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["signed"] and out["ep"] == 0.0 and out["evoapprox"]["MAE"] == 0.0  # an exact signed multiplier


def test_cli_verilog_errors_exit_2(tmp_path, capsys):
    (tmp_path / "n.v").write_text(NON_ANSI)
    assert main(["error", "table", "--verilog", str(tmp_path / "n.v"), "--width", "4"]) == 2
    assert "--verilog needs --top" in capsys.readouterr().err
    assert main(["error", "table", "--verilog", str(tmp_path / "n.v"), "--top", "gated", "--width", "4"]) == 2
    assert "--ports" in capsys.readouterr().err


@requires_nextpnr
@pytest.mark.slow  # two synthesis + place-and-route runs of 4-bit multipliers (a few seconds each)
def test_synth_wraps_the_module_like_the_builtin_units(tmp_path, capsys):
    (tmp_path / "a.v").write_text(ANSI)
    assert main(["synth", "--verilog", str(tmp_path / "a.v"), "--top", "approx4", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["unit"] == "approx4" and row["width"] == 4
    assert row["ffs"] == 4 + 4 + 8 and row["exact_ffs"] == 16  # the same register wrapper on both
    assert row["luts"] > 0 and row["lut_ratio"] == round(row["luts"] / row["exact_luts"], 3) and row["fmax_mhz"] > 0


@requires_verilator
@requires_nextpnr
@pytest.mark.slow  # one synthesis (the module's Verilator build is shared with the test above)
def test_a_table_from_verilog_keeps_its_hardware_for_the_cost(tmp_path, cache):
    from kexue_hw.hdl.synth import compare_verilog_with_exact, synthesize

    (tmp_path / "a.v").write_text(ANSI)
    t = table_from_verilog(tmp_path / "a.v", "approx4", width=4)
    assert t.verilog[1:] == ("approx4", ("x", "y", "z"))
    res = synthesize(t)
    assert res.luts == compare_verilog_with_exact(tmp_path / "a.v", "approx4", width=4)["luts"]
    with pytest.raises(SpecError, match="stages 0 only"):
        synthesize(t, stages=2)
