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
    """Mitchell's published bounds (Mitchell 1962, IRE Trans. Electronic Computers EC-11(4): the product's
    relative error lies in [-1/9, 0]) against the analytic figures and a pure-Python sweep of every pair."""
    unit = Mitchell(8)
    m = analytic_error_metrics(unit)
    assert m.pairs == 65536 and m.exhaustive and m.op == "mul"
    rels = [_pair_error(unit, (a, b))[1] * -1 for a in range(1, 256) for b in range(1, 256)]  # errors are <= 0
    assert all(mitchell_mul(a, b, unit.kept_frac_bits) <= a * b for a in range(256) for b in range(256))
    assert m.wcre == max(-r for r in rels) and m.rel_min == min(rels) and m.rel_max == 0.0
    assert m.wcre == pytest.approx(1 / 9, rel=1e-15)  # published: reached at a = b = 3 * 2**k
    assert m.bias == pytest.approx(sum(rels) / len(rels), rel=1e-12)
    assert m.wce == 4096 and _pair_error(unit, m.worst_abs_pair)[0] == 4096  # derived: a = b = 3 * 2**(N-2)
    assert _pair_error(unit, m.worst_rel_pair)[1] == m.wcre
    assert m.mre == pytest.approx(0.03788, abs=5e-6)  # regression pin: this code's own output


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
    """Figures at widths no brute force reaches (unsigned, untruncated; 32 bits: the benchmark), checked against
    closed forms, the golden model at the reported worst pairs, and 20,000 random pairs."""
    import numpy as np

    from kexue_hw.arith import mul

    unit = Mitchell(width)
    m = analytic_error_metrics(unit)
    assert m.pairs == 4**width
    assert m.wce == 4.0 ** (width - 2) == _pair_error(unit, m.worst_abs_pair)[0]  # a = b = 3 * 2**(N-2)
    assert m.wcre == _pair_error(unit, m.worst_rel_pair)[1] == pytest.approx(1 / 9, rel=1e-15)  # Mitchell 1962
    # exact pairs: one operand a power of two (N of them) -> 2N(2**N - 1) - N**2 exact non-zero pairs
    exact = 2 * width * (2**width - 1) - width**2 + 2 * 2**width - 1
    assert m.ep * m.pairs == 4**width - exact
    rng = np.random.default_rng(width)
    a, b = rng.integers(1, 2**width, size=(2, 20_000), dtype=np.int64)
    rel = (mul(unit, a, b) - a * b) / (a * b).astype(float)
    assert m.rel_min <= rel.min() and rel.max() <= m.rel_max == 0.0
    assert m.mre == pytest.approx(np.abs(rel).mean(), abs=1e-3) and 0.0384 < m.mre < 0.0386
    assert m.bias == pytest.approx(rel.mean(), abs=1e-3)


def test_rejects_other_units():
    with pytest.raises(SpecError):
        analytic_error_metrics(MBM(8))
