"""Every unit family is covered by every face's registry, and the faces agree with the spec's facts."""

import pytest

from kexue_hw import arith
from kexue_hw.arith.dispatch import INT_FAMILIES
from kexue_hw.metrics import METRICS
from kexue_hw.registry import SpecRegistry
from kexue_hw.spec import _FAMILIES, IntUnit, Mitchell, SpecError, parse_unit

EXAMPLES = [parse_unit(cls.example) for cls in _FAMILIES.values()]
INTEGER = [u for u in EXAMPLES if isinstance(u, IntUnit)]


@pytest.mark.parametrize("unit", EXAMPLES, ids=lambda u: u.describe())
def test_golden_model_and_metrics_cover_every_family(unit):
    assert arith.GOLDEN.covers(unit) and METRICS.covers(unit)


@pytest.mark.parametrize("unit", INTEGER, ids=lambda u: u.describe())
def test_integer_op_codes_agree_with_has_divider(unit):
    family = INT_FAMILIES.lookup(unit)
    assert (family.div is not None) == unit.has_divider


@pytest.mark.parametrize("unit", INTEGER, ids=lambda u: u.describe())
def test_rtl_covers_every_integer_multiplier_and_only_real_dividers(unit):
    from kexue_hw.hdl.datapaths import DIVIDERS, MULTIPLIERS

    assert MULTIPLIERS.covers(unit)
    assert not DIVIDERS.covers(unit) or unit.has_divider


@pytest.mark.parametrize("unit", EXAMPLES, ids=lambda u: u.describe())
def test_emulation_covers_every_family(unit):
    pytest.importorskip("torch")
    from kexue_hw.emulate.ops import KERNELS

    assert KERNELS.covers(unit)


def test_lookup_walks_the_class_hierarchy_and_names_the_face():
    reg = SpecRegistry("a test face")
    reg.register(IntUnit, "generic")
    assert reg.lookup(Mitchell(8)) == "generic"
    reg.register(Mitchell, "own")
    assert reg.lookup(Mitchell(8)) == "own" and reg.lookup(parse_unit("ilm_u8_c1")) == "generic"
    with pytest.raises(SpecError, match="a test face does not cover FloatMitchell"):
        reg.lookup(parse_unit("float_mitchell_fp32"))
    with pytest.raises(SpecError, match="not a unit spec"):
        reg.lookup("mitchell_u8")
    with pytest.raises(TypeError):
        reg.register(int, "x")
