"""Config validation, unit keys, the lookup-table baseline, benchmark rows, CLI and report hooks."""

import pathlib

import pytest
import torch

from kexue_hw import ILM, MBM, Exact, FloatMitchell, Mitchell, SpecError
from kexue_hw.emulate import EmulationConfig, approx_matmul, lut_matmul, unit_from_key, unit_key


@pytest.mark.parametrize(
    "unit", [Exact(8, True), Mitchell(7, False, 3, 4), MBM(9, True), ILM(8, False, 2), FloatMitchell("fp16")]
)
def test_unit_key_round_trip(unit):
    assert unit_from_key(unit_key(unit)) == unit


def test_config_validation():
    with pytest.raises(SpecError, match="granularity"):
        EmulationConfig(weight_granularity="per_row")
    with pytest.raises(SpecError, match="act_scale"):
        EmulationConfig(act_scale="static")
    with pytest.raises(SpecError, match="FloatMitchell"):
        EmulationConfig(elementwise_unit=Mitchell(8))
    assert EmulationConfig(exclude="lm_head").exclude == ("lm_head",)


@pytest.mark.parametrize("unit", [Mitchell(8, signed=True), MBM(8, signed=False)], ids=lambda u: u.describe())
def test_lookup_table_baseline_matches_kernel(unit):
    a = torch.randint(unit.min_value, unit.max_value + 1, (5, 40))
    b = torch.randint(unit.min_value, unit.max_value + 1, (40, 7))
    assert torch.equal(lut_matmul(a, b, unit), approx_matmul(a, b, unit))


def test_benchmark_row_keys():
    from kexue_hw.emulate.throughput import markdown_table, measure_matmul

    row = measure_matmul((8, 32, 16), reps=1)
    for key in ("shape", "native_fp32_gmacs", "mitchell_int8_gmacs", "float_mitchell_fp32_gmacs", "lut_baseline_gmacs"):
        assert key in row
    assert "8x32x16" in markdown_table([row])


def test_cli_registers_and_runs(capsys):
    from kexue_hw.cli import main

    assert main(["emulate-bench", "--shapes", "4x16x8", "--reps", "1", "--no-accuracy", "--threads", "1"]) == 0
    assert "4x16x8" in capsys.readouterr().out


def test_report_section_quick(tmp_path: pathlib.Path):
    from kexue_hw.emulate.report import section

    text = section(tmp_path, quick=True)
    assert text.startswith("## Torch emulation") and "mitchell_s8" in text
    assert (tmp_path / "emulate.json").exists()
