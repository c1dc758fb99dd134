"""The Numba golden models equal the plain-Python closed forms (property-based and exhaustive)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kexue_hw import ILM, MBM, Exact, FloatMitchell, Mitchell
from kexue_hw.arith import div, mul, round_to_bf16
from kexue_hw.arith import reference as ref


@st.composite
def int_case(draw, max_width=32):
    width = draw(st.integers(2, max_width))
    signed = draw(st.booleans())
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    extremes = st.sampled_from([lo, hi, 0, 1, lo + 1, hi - 1] if signed else [0, 1, hi, hi - 1, 1 << (width - 1)])
    vals = st.one_of(st.integers(lo, hi), extremes)
    a = draw(st.lists(vals, min_size=1, max_size=24))
    b = draw(st.lists(vals, min_size=len(a), max_size=len(a)))
    return width, signed, a, b


def _check(unit, a, b, expected_fn):
    got = mul(unit, np.array(a), np.array(b))
    want = [expected_fn(x, y) for x, y in zip(a, b)]
    assert [int(v) for v in got] == want


@given(int_case(), st.data())
def test_mitchell_mul_matches_reference(case, data):
    width, signed, a, b = case
    t = data.draw(st.one_of(st.none(), st.integers(0, width - 1)))
    unit = Mitchell(width, signed, frac_bits=t)
    _check(unit, a, b, lambda x, y: ref.mitchell_mul(x, y, unit.kept_frac_bits))


@given(int_case(), st.data())
def test_mbm_mul_matches_reference(case, data):
    width, signed, a, b = case
    t = data.draw(st.one_of(st.none(), st.integers(0, width - 1)))
    unit = MBM(width, signed, frac_bits=t)
    _check(unit, a, b, lambda x, y: ref.mbm_mul(x, y, width, signed, unit.kept_frac_bits))


@given(int_case(), st.integers(0, 3))
def test_ilm_mul_matches_reference(case, corrections):
    width, signed, a, b = case
    _check(ILM(width, signed, corrections), a, b, lambda x, y: ref.ilm_mul(x, y, corrections))


@given(int_case())
def test_exact_mul_is_exact(case):
    width, signed, a, b = case
    _check(Exact(width, signed), a, b, lambda x, y: x * y)


@given(int_case(), st.data())
def test_mitchell_div_matches_reference(case, data):
    width, signed, a, b = case
    b = [y if y != 0 else 1 for y in b]
    t = data.draw(st.one_of(st.none(), st.integers(0, width - 1)))
    q = data.draw(st.one_of(st.none(), st.integers(0, 63 - width)))
    unit = Mitchell(width, signed, frac_bits=t, quotient_frac=q)
    got = div(unit, np.array(a), np.array(b))
    want = [ref.mitchell_div(x, y, unit.quotient_frac_bits, unit.kept_frac_bits) for x, y in zip(a, b)]
    assert [int(v) for v in got] == want


@pytest.mark.parametrize(
    "unit,fn",
    [
        (Mitchell(6), lambda x, y: ref.mitchell_mul(x, y)),
        (Mitchell(6, True, frac_bits=2), lambda x, y: ref.mitchell_mul(x, y, 2)),
        (MBM(6, True), lambda x, y: ref.mbm_mul(x, y, 6, True)),
        (MBM(6), lambda x, y: ref.mbm_mul(x, y, 6, False)),
        (ILM(6, True, 2), lambda x, y: ref.ilm_mul(x, y, 2)),
    ],
    ids=lambda u: getattr(u, "describe", lambda: "")(),
)
def test_exhaustive_6bit_equals_reference(unit, fn):
    vals = np.arange(unit.min_value, unit.max_value + 1)
    got = mul(unit, vals[:, None], vals[None, :])
    want = np.array([[fn(int(x), int(y)) for y in vals] for x in vals])
    assert np.array_equal(got, want)


@given(
    st.sampled_from(["fp32", "bf16", "fp16"]),
    st.lists(st.tuples(st.floats(-8, 8), st.floats(-8, 8)), min_size=1, max_size=16),
)
def test_float_mitchell_matches_bit_trick(fmt, pairs):
    unit = FloatMitchell(fmt)
    dtype = np.float16 if fmt == "fp16" else np.float32
    a = np.array([p[0] for p in pairs]).astype(dtype)
    b = np.array([p[1] for p in pairs]).astype(dtype)
    if fmt == "bf16":
        a, b = round_to_bf16(a), round_to_bf16(b)
    keep = (np.abs(a.astype(float)) >= 2.0**-6) & (np.abs(b.astype(float)) >= 2.0**-6)  # normal, non-zero
    a, b = a[keep], b[keep]
    got = mul(unit, a, b)
    want = [ref.float_mitchell_mul(unit, float(x), float(y)) for x, y in zip(a, b)]
    assert [float(g) for g in got] == want
