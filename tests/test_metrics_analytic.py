"""The analytic Mitchell metrics equal the brute-force sweep, figure for figure (worst pairs included)."""

from fractions import Fraction

import pytest
from metrics_compare import assert_same_metrics

from kexue_hw import MBM, Mitchell
from kexue_hw.arith.reference import mitchell_mul
from kexue_hw.metrics import error_metrics
from kexue_hw.metrics_analytic import analytic_error_metrics
from kexue_hw.spec import SpecError


def _pair_error(unit, pair):
    a, b = pair
    e = abs(mitchell_mul(a, b, unit.kept_frac_bits) - a * b)
    return e, e / abs(a * b)


def assert_same(unit):
    """Figures equal the brute force's (extremes and worst pairs exactly, ties broken alike)."""
    fast = analytic_error_metrics(unit)
    slow = error_metrics(unit, exhaustive=True, method="brute")
    assert_same_metrics(fast, slow, unit.describe())
    for p in (fast.worst_abs_pair, fast.worst_rel_pair):
        assert all(unit.min_value <= v <= unit.max_value for v in p)


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("width", range(2, 13))
def test_equals_brute_force_every_width(width, signed):
    assert_same(Mitchell(width, signed))


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("width", range(2, 10))
def test_equals_brute_force_every_truncation(width, signed):
    for t in range(width):  # frac_bits = width - 1 keeps everything
        assert_same(Mitchell(width, signed, t))


@pytest.mark.parametrize("width,signed,t", [(12, False, 3), (12, True, 0), (11, True, 7), (12, False, 10)])
def test_equals_brute_force_truncated_12bit(width, signed, t):
    assert_same(Mitchell(width, signed, t))


@pytest.mark.parametrize("unit", [Mitchell(14, True, 5), Mitchell(14, False)], ids=lambda u: u.describe())
def test_equals_brute_force_14bit(unit):
    assert_same(unit)


def test_known_8bit_figures():
    m = analytic_error_metrics(Mitchell(8))
    assert m.pairs == 65536 and m.exhaustive and m.op == "mul"
    assert m.wce == 4096 and m.worst_abs_pair == (192, 192)
    assert m.wcre == pytest.approx(1 / 9, rel=1e-15) and m.rel_max == 0.0
    assert _pair_error(Mitchell(8), m.worst_rel_pair)[1] == m.wcre
    assert m.mre == pytest.approx(0.03788, abs=5e-6) and m.bias == -m.mre


@pytest.mark.parametrize("unit", [Mitchell(8), Mitchell(7, True, 2)], ids=lambda u: u.describe())
def test_sums_match_exact_rational_arithmetic(unit):
    """mae, mse, mre against exact integer/rational sums: float64 agreement to a few ulps."""
    vals = range(unit.min_value, unit.max_value + 1)
    s_abs = s_sq = 0
    s_rel = Fraction(0)
    for a in vals:
        for b in vals:
            e = abs(mitchell_mul(a, b, unit.kept_frac_bits) - a * b)
            s_abs += e
            s_sq += e * e
            if a and b:
                s_rel += Fraction(e, abs(a * b))
    m = analytic_error_metrics(unit)
    n = m.pairs
    n_rel = (2**unit.width - 1) ** 2
    assert m.mae == pytest.approx(s_abs / n, rel=2e-16, abs=0)
    assert m.mse == pytest.approx(s_sq / n, rel=2e-16, abs=0)
    assert m.mre == pytest.approx(float(s_rel / n_rel), rel=1e-15, abs=0)


@pytest.mark.parametrize("width", [20, 24])
def test_wide_closed_form_figures(width):
    """Figures with closed forms at widths no brute force reaches (unsigned, untruncated; 32 bits: the benchmark)."""
    m = analytic_error_metrics(Mitchell(width))
    assert m.pairs == 4**width
    assert m.wce == 4.0 ** (width - 2)  # a = b = 3 * 2**(N-2)
    assert m.wcre == pytest.approx(1 / 9, rel=1e-15)
    # exact pairs: one operand a power of two (N of them) -> 2N(2**N - 1) - N**2 exact non-zero pairs
    exact = 2 * width * (2**width - 1) - width**2 + 2 * 2**width - 1
    assert m.ep * m.pairs == 4**width - exact
    assert 0.0384 < m.mre < 0.0386 and m.bias == -m.mre


def test_rejects_other_units():
    with pytest.raises(SpecError):
        analytic_error_metrics(MBM(8))
