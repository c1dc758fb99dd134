"""Unit specs: names that round-trip, facts on the spec, clear errors for names that do not parse."""

import pytest

from kexue_hw import ILM, MBM, Exact, FloatMitchell, Mitchell, SpecError, unit_from_name
from kexue_hw.spec import FLOAT_FORMATS, IntUnit, parse_unit, unit_families

UNITS = [
    Exact(16),
    Exact(8, True, 12),
    Mitchell(8, True, 3),
    Mitchell(16, quotient_frac=12),
    Mitchell(7, False, 3, 4),
    Mitchell(32, True),
    MBM(8, True),
    MBM(12, False, 5),
    ILM(8, True, 1),
    ILM(5, False, 0),
    FloatMitchell("bf16"),
    FloatMitchell("fp16"),
    FloatMitchell("fp32"),
]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.describe())
def test_every_name_round_trips(unit):
    assert parse_unit(unit.describe()) == unit


@pytest.mark.parametrize(
    "name,unit",
    [
        ("mitchell_s8_t3", Mitchell(8, True, 3)),
        ("exact_u16", Exact(16)),
        ("mbm_s8", MBM(8, True)),
        ("ilm_s8_c1", ILM(8, True, 1)),
        ("float_mitchell_bf16", FloatMitchell("bf16")),
        ("mitchell_u16_q12", Mitchell(16, quotient_frac=12)),
        ("Mitchell-S8-T3", Mitchell(8, True, 3)),
    ],
)
def test_names_from_the_brief(name, unit):
    assert parse_unit(name) == unit


def test_describe_is_unchanged_for_the_committed_names():
    # rtl/ file names and report rows use these
    assert Mitchell(16, True, 8).describe() == "mitchell_s16_t8"
    assert Mitchell(16).describe() == "mitchell_u16"
    assert MBM(16, True).describe() == "mbm_s16"
    assert ILM(8, corrections=2).describe() == "ilm_u8_c2"
    assert Exact(8, True).describe() == "exact_s8"


@pytest.mark.parametrize(
    "name,needle",
    [
        ("booth_u8", "does not parse"),
        ("mitchell", "names a family only"),
        ("mitchell_x8", "mitchell_<u|s><width>"),
        ("mitchell_u8_c1", "no _c suffix"),
        ("ilm_u8_c1_c2", "given twice"),
        ("mitchell_u8_t9", "frac_bits=9"),
        ("mitchell_u40", "width=40"),
        ("float_mitchell_fp8", "fp8"),
        ("", "does not parse"),
    ],
)
def test_bad_names_are_refused_clearly(name, needle):
    with pytest.raises(SpecError, match=needle):
        parse_unit(name)


def test_parse_unit_wants_a_string():
    with pytest.raises(SpecError, match="string"):
        parse_unit(8)


def test_unit_from_name_takes_families_and_full_names():
    assert unit_from_name("mitchell", width=8, signed=True, frac_bits=3) == Mitchell(8, True, 3)
    assert unit_from_name("float") == FloatMitchell("fp32")
    assert unit_from_name("mitchell", fmt="bf16") == FloatMitchell("bf16")
    assert unit_from_name("ilm_s8_c2") == ILM(8, True, 2)
    with pytest.raises(SpecError, match="--frac-bits does not apply to ilm"):
        unit_from_name("ilm", frac_bits=3)
    with pytest.raises(SpecError, match="--quotient-frac does not apply to mbm"):
        unit_from_name("mbm", quotient_frac=12)
    with pytest.raises(SpecError, match="--format applies to the mitchell unit only"):
        unit_from_name("ilm", fmt="bf16")


def test_families_are_listed_once_in_definition_order():
    assert unit_families()[:5] == ["exact", "mitchell", "mbm", "ilm", "float_mitchell"]
    assert "float_mitchell" not in unit_families(integer_only=True)


def test_dividers_and_error_intervals_are_facts_of_the_spec():
    assert [u.has_divider for u in (Exact(8), Mitchell(8), MBM(8), ILM(8), FloatMitchell())] == [
        True, True, False, False, True
    ]  # fmt: skip
    with pytest.raises(SpecError, match="MBM has no divider"):
        MBM(8).check_op("div")
    with pytest.raises(SpecError, match="op must be"):
        Mitchell(8).check_op("sqrt")
    assert Mitchell(8).error_interval("mul") == pytest.approx((-1 / 9, 0.0))
    assert Mitchell(8).error_interval("div") == pytest.approx((0.0, 1 / 8))
    lo, hi = Mitchell(8, frac_bits=3).error_interval("div")
    assert lo == -1 / 8 and hi > 1 / 8  # truncation widens both sides
    assert MBM(8).error_interval() == pytest.approx((-1 / 9, 5 / 64))
    assert ILM(8).error_interval() == (-0.25, 0.0)
    assert Exact(8).error_interval("div") == (0.0, 0.0)


@pytest.mark.parametrize("unit", [u for u in UNITS if isinstance(u, IntUnit)], ids=lambda u: u.describe())
def test_integer_facts(unit):
    lo, hi = unit.min_value, unit.max_value
    assert unit.max_magnitude == max(abs(lo), abs(hi))
    assert (unit.max_magnitude**2).bit_length() <= unit.product_magnitude_bits
    assert unit.product_magnitude_bits == unit.product_bits - unit.signed
    assert unit.product_bits == 2 * unit.width


def test_float_formats_know_their_dtypes():
    import numpy as np

    torch = pytest.importorskip("torch")
    assert FLOAT_FORMATS["bf16"].torch_dtype is torch.bfloat16
    assert FLOAT_FORMATS["fp16"].numpy_dtype == np.float16
    assert FLOAT_FORMATS["bf16"].numpy_dtype == np.float32 and FLOAT_FORMATS["bf16"].shift == 16
    assert FLOAT_FORMATS["fp32"].one_bits == 0x3F800000


def test_the_core_package_does_not_import_torch():
    import subprocess
    import sys

    code = "import kexue_hw, kexue_hw.spec, kexue_hw.arith, kexue_hw.metrics, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
