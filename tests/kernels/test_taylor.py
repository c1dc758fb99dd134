"""Taylor softmax: minima table, torch function/module, fixed-point golden model properties."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kexue_hw import ILM, MBM, Exact, Mitchell
from kexue_hw.kernels.taylor_fixed import TaylorSoftmaxFixed
from kexue_hw.kernels.taylor_minimum import check_order, taylor_exp, taylor_minimum
from kexue_hw.spec import SpecError

# (order, x_n*, f_n(x_n*)) from issue #5, with the digits given there
TABLE = [(2, "-1", "0.5"), (4, "-1.59607", "0.270395"), (6, "-2.18061", "0.149325"),
         (8, "-2.759", "0.0832715"), (10, "-3.33355", "0.0466991")]


def _digits(s: str) -> int:
    return len(s.split(".")[1]) if "." in s else 0


@pytest.mark.parametrize("order,xs,fs", TABLE)
def test_minima_table(order, xs, fs):
    x, f = taylor_minimum(order)
    assert round(x, _digits(xs)) == float(xs)
    assert round(f, _digits(fs)) == float(fs)
    assert abs(taylor_exp(x, order - 1)) < 1e-12  # root of the derivative f_{n-1}
    grid = np.linspace(x - 3, x + 3, 601)
    assert min(taylor_exp(g, order) for g in grid) >= f - 1e-15


@pytest.mark.parametrize("bad", [1, 3, 5, 0, -2, 2.0, True])
def test_odd_and_bad_orders_rejected(bad):
    with pytest.raises(ValueError, match="order"):
        check_order(bad)


torch = pytest.importorskip("torch")


def test_torch_matches_float64_and_is_a_distribution():
    from kexue_hw.kernels import TaylorSoftmax, taylor_softmax

    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 7, generator=g, dtype=torch.float64) * 3
    for order in (2, 4, 6, 8, 10):
        for dim in (0, 1, -1):
            y = taylor_softmax(x, order=order, dim=dim)
            assert torch.all(y > 0)
            assert torch.allclose(y.sum(dim), torch.ones(()).double())
            f = x.clone().apply_(lambda v: taylor_exp(v, order))
            assert torch.allclose(y, f / f.sum(dim, keepdim=True))
            assert torch.equal(TaylorSoftmax(dim, order)(x), y)
    with pytest.raises(ValueError, match="even"):
        taylor_softmax(x, order=3)


def test_clamped_variant_is_monotone_and_gradients_flow():
    from kexue_hw.kernels import TaylorSoftmax, taylor_softmax

    xs = torch.linspace(-6, 2, 200, dtype=torch.float64)
    for order in (2, 4, 6):
        x_star = taylor_minimum(order)[0]
        rows = torch.stack([xs, torch.zeros_like(xs)], dim=-1)
        p = taylor_softmax(rows, order=order, clamp=True)[:, 0]
        assert torch.all(p[1:] >= p[:-1] - 1e-15)  # non-decreasing in its own input
        unclamped = taylor_softmax(rows, order=order)[:, 0]
        assert not torch.all(unclamped[1:] >= unclamped[:-1])  # the plain one is not monotone
        assert torch.allclose(p[xs <= x_star], p[0])
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: taylor_softmax(t, order=4, dim=0), (x,))
    m = TaylorSoftmax(dim=-1, order=4, clamp=True)
    assert "order=4" in repr(m)


# ----------------------------------------------------------------------------- fixed point

UNITS = [
    Mitchell(16, True), Mitchell(10, True), Mitchell(16, False), Mitchell(16, True, frac_bits=5),
    Exact(16, True), Exact(12, True, quotient_frac=6), MBM(12, True, frac_bits=4), ILM(16, True, 0),
]


@st.composite
def configs_and_rows(draw):
    unit = draw(st.sampled_from(UNITS))
    order = draw(st.sampled_from([2, 4, 6, 8, 10]))
    in_frac = draw(st.integers(2, 10))
    try:
        cfg = TaylorSoftmaxFixed(
            unit, order=order, in_frac=in_frac, clamp=draw(st.booleans()),
            normalize=draw(st.sampled_from(["divide", "reciprocal"])),
        )
    except SpecError:
        assume(False)
    length = draw(st.integers(1, 48))
    edge = st.sampled_from([v for v in (-cfg.x_max_int, cfg.x_max_int, cfg.x_star_int, 0) if abs(v) <= cfg.x_max_int])
    vals = st.one_of(st.integers(-cfg.x_max_int, cfg.x_max_int), edge)
    rows = draw(st.lists(st.lists(vals, min_size=length, max_size=length), min_size=1, max_size=4))
    return cfg, np.array(rows, dtype=np.int64)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(configs_and_rows())
def test_fixed_point_outputs_are_probabilities(case):
    cfg, x = case
    f = cfg.numerators(x)
    assert np.all(f >= 1)  # the guard: no zero or negative numerator, whatever the products did
    y = cfg(x)
    one = 1 << cfg.out_frac
    assert np.all(y >= 0) and np.all(y <= one)
    lo, hi = cfg.sum_bounds(x.shape[-1])
    sums = y.sum(axis=-1) / one
    assert np.all(sums >= lo) and np.all(sums <= hi), (sums, lo, hi)


def test_guard_is_needed_for_coarse_units():
    cfg = TaylorSoftmaxFixed(Mitchell(10, True), order=4, in_frac=4)
    x = np.arange(-cfg.x_max_int, cfg.x_max_int + 1)
    assert cfg.numerators(x, guard=False).min() <= 0  # approximate Horner went negative
    assert cfg.numerators(x).min() >= 1


def test_exact_unit_tracks_float_reference():
    cfg = TaylorSoftmaxFixed(Exact(16, True), order=4)
    x = cfg.quantize(np.random.default_rng(1).uniform(-4, 4, (64, 32)))
    err = np.abs(cfg(x) / 2**cfg.out_frac - cfg.reference(x)).max()
    assert err < 4e-3


def test_input_range_is_validated():
    cfg = TaylorSoftmaxFixed(Mitchell(16, True), order=4)
    with pytest.raises(ValueError, match="outside"):
        cfg(np.array([cfg.x_max_int + 1]))
    with pytest.raises(ValueError, match="integers"):
        cfg(np.array([0.5]))
    with pytest.raises(ValueError, match="outside"):
        cfg.quantize([5.0])
    with pytest.raises(ValueError, match="even"):
        TaylorSoftmaxFixed(Mitchell(16, True), order=3)


@pytest.mark.parametrize("unit", [Mitchell(16, True), Mitchell(12, False), Mitchell(16, True, frac_bits=6)])
def test_mitchell_reciprocal_equals_divide_bit_for_bit(unit):
    # log(antilog(z)) == z in Mitchell's encoding: f * (2**(D-1) / S') is La + (L1 - LS'), i.e. f / S'
    a = TaylorSoftmaxFixed(unit, order=4, in_frac=unit.width - 5)
    b = TaylorSoftmaxFixed(unit, order=4, in_frac=unit.width - 5, normalize="reciprocal")
    x = a.quantize(np.random.default_rng(0).uniform(-4, 4, (200, 24)))
    assert np.array_equal(a(x), b(x))


def test_normalization_study_prefers_divider():
    from kexue_hw.kernels.taylor_normalization import compare_normalizations

    res = compare_normalizations(rows=100, length=16)
    for r in res["results"]:
        assert r["divide"]["norm_mean_rel"] <= r["reciprocal"]["norm_mean_rel"] + 1e-12
        for mode in ("divide", "reciprocal"):
            lo, hi = r[mode]["bounds"]
            assert lo <= r[mode]["sum_min"] and r[mode]["sum_max"] <= hi
