"""The approximate matrix product equals the golden model's products summed exactly (zero tolerance)."""

import numpy as np
import pytest
import torch

from kexue_hw import ILM, MBM, Exact, FloatMitchell, Mitchell
from kexue_hw.arith import OperandError, mul
from kexue_hw.emulate import approx_matmul, round_to_format

INT_UNITS = [
    Mitchell(8, signed=True),
    Mitchell(8, signed=False),
    Mitchell(5, signed=True, frac_bits=2),
    Mitchell(10, signed=False),
    Mitchell(12, signed=True),
    Mitchell(12, signed=False, frac_bits=5),
    Mitchell(16, signed=False, frac_bits=5),
    MBM(8, signed=True),
    MBM(8, signed=False),
    MBM(6, signed=True, frac_bits=2),
    MBM(10, signed=False, frac_bits=3),
    MBM(11, signed=False),
    MBM(12, signed=True),
    MBM(13, signed=True),
    ILM(8, signed=True, corrections=0),
    ILM(8, signed=False, corrections=3),
    ILM(11, signed=False, corrections=2),
    ILM(16, signed=True, corrections=1),
    Exact(8, signed=True),
    Exact(12, signed=False),
    Exact(16, signed=True),
]


def golden_sum(unit, a, b):
    """sum_k mul(unit, a[..., i, k], b[..., k, j]) in int64 (golden products, exact sum)."""
    prods = mul(unit, a[..., :, :, None], b[..., None, :, :])
    return prods.sum(axis=-2)


def random_operands(unit, rng, shape_a, shape_b):
    a = rng.integers(unit.min_value, unit.max_value + 1, shape_a)
    b = rng.integers(unit.min_value, unit.max_value + 1, shape_b)
    # extremes (the most negative value included) and zeros in every operand
    a.reshape(-1, shape_a[-1])[0, :] = unit.min_value
    a.reshape(-1, shape_a[-1])[1, :] = unit.max_value
    b.reshape(-1, shape_b[-1])[:, 0] = unit.min_value
    b.reshape(-1, shape_b[-1])[:, 1] = 0
    a.reshape(-1, shape_a[-1])[2, ::3] = 0
    return a, b


@pytest.mark.parametrize("unit", INT_UNITS, ids=lambda u: u.describe())
def test_int_units_bit_exact(unit):
    rng = np.random.default_rng(unit.width)
    a, b = random_operands(unit, rng, (7, 19), (19, 11))
    got = approx_matmul(torch.from_numpy(a), torch.from_numpy(b), unit)
    assert got.dtype == torch.int64
    np.testing.assert_array_equal(got.numpy(), golden_sum(unit, a, b))


@pytest.mark.parametrize("unit", [Mitchell(8, signed=True), ILM(8, signed=True)], ids=lambda u: u.describe())
def test_batched_and_broadcast(unit):
    rng = np.random.default_rng(1)
    a, b = random_operands(unit, rng, (2, 3, 5, 9), (3, 9, 6))
    got = approx_matmul(torch.from_numpy(a), torch.from_numpy(b), unit).numpy()
    np.testing.assert_array_equal(got, golden_sum(unit, a, np.broadcast_to(b, (2, 3, 9, 6))))
    w = rng.integers(unit.min_value, unit.max_value + 1, (9, 4))  # shared 2-D right operand
    got = approx_matmul(torch.from_numpy(a), torch.from_numpy(w), unit).numpy()
    np.testing.assert_array_equal(got, golden_sum(unit, a, np.broadcast_to(w, (2, 3, 9, 4))))


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("width", [2, 3, 5, 8])
def test_fast_mitchell_path_exhaustive(width, signed):
    """Every operand pair of the int32-lane fast path (Mitchell <= 8 bits), all truncations."""
    for frac_bits in [None, *sorted({0, width // 2})]:
        unit = Mitchell(width, signed=signed, frac_bits=frac_bits)
        vals = np.arange(unit.min_value, unit.max_value + 1)
        got = approx_matmul(torch.from_numpy(vals[:, None]), torch.from_numpy(vals[None, :]), unit).numpy()
        np.testing.assert_array_equal(got, mul(unit, vals[:, None], vals[None, :]))


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("width", [2, 3, 5, 8])
def test_fast_mbm_path_exhaustive(width, signed):
    """Every operand pair of MBM on the lane kernel (up to 8 bits), truncated too; unsigned ones saturate."""
    for frac_bits in [None, *sorted({0, width // 2})]:
        unit = MBM(width, signed=signed, frac_bits=frac_bits)
        vals = np.arange(unit.min_value, unit.max_value + 1)
        got = approx_matmul(torch.from_numpy(vals[:, None]), torch.from_numpy(vals[None, :]), unit).numpy()
        np.testing.assert_array_equal(got, mul(unit, vals[:, None], vals[None, :]))


@pytest.mark.parametrize("unit", [ILM(w, s, c) for w in (3, 8) for s in (False, True) for c in range(4)] + [Exact(8)],
                         ids=lambda u: u.describe())
def test_separable_path_exhaustive(unit):
    """ILM (a*b - sR(a)*sR(b)) and Exact as float GEMMs: every operand pair, K = 1."""
    vals = np.arange(unit.min_value, unit.max_value + 1)
    got = approx_matmul(torch.from_numpy(vals[:, None]), torch.from_numpy(vals[None, :]), unit).numpy()
    np.testing.assert_array_equal(got, mul(unit, vals[:, None], vals[None, :]))


@pytest.mark.parametrize(
    "unit",
    [MBM(8), MBM(8, signed=True), MBM(11), Mitchell(12), ILM(8, corrections=1), ILM(8, True, 3), Exact(8)],
    ids=lambda u: u.describe(),
)
def test_long_k_extremes_every_fast_path(unit):
    """K crossing the int32 blocks (lanes) and the exact float32 slices (GEMMs); saturating MBM products."""
    rng = np.random.default_rng(5)
    lo = unit.min_value
    for m, k, n in [(5, 1100, 3), (6, 2100, 9)]:
        a = rng.integers(lo, unit.max_value + 1, (m, k))
        b = rng.integers(lo, unit.max_value + 1, (k, n))
        a[0, :] = unit.max_value  # saturating MBM products (unsigned), the largest sums
        b[:, 0] = unit.max_value
        a[1, :] = lo
        b[:, 1] = lo
        got = approx_matmul(torch.from_numpy(a), torch.from_numpy(b), unit)
        np.testing.assert_array_equal(got.numpy(), golden_sum(unit, a, b))


def test_unsigned_units_take_sign_magnitude_data_on_every_fast_path():
    rng = np.random.default_rng(9)
    for unit in (Mitchell(8), MBM(8), ILM(8, corrections=2), Exact(8)):
        a = rng.integers(-255, 256, (6, 300))
        b = rng.integers(-255, 256, (300, 7))
        a[0, :] = -255
        b[:, 0] = 255
        got = approx_matmul(torch.from_numpy(a), torch.from_numpy(b), unit, sign_magnitude=True).numpy()
        # magnitudes through the unit, the sign of the product outside it
        signs = np.sign(a)[:, :, None] * np.sign(b)[None, :, :]
        want = (mul(unit, np.abs(a)[:, :, None], np.abs(b)[None, :, :]) * signs).sum(1)
        np.testing.assert_array_equal(got, want)


def test_fast_path_long_k_and_edges():
    """K crossing the int32 block, row/column counts not multiples of the 4x2 register tile."""
    unit = Mitchell(8, signed=True)
    rng = np.random.default_rng(3)
    for m, k, n in [(1, 1100, 3), (6, 1300, 5), (9, 2, 1)]:
        a = rng.integers(-128, 128, (m, k))
        b = rng.integers(-128, 128, (k, n))
        a[0, :] = -128
        b[:, 0] = -128
        got = approx_matmul(torch.from_numpy(a).to(torch.int8), torch.from_numpy(b).to(torch.int16), unit)
        np.testing.assert_array_equal(got.numpy(), golden_sum(unit, a, b))
    unit = Mitchell(8, signed=False)
    a = np.full((5, 1100), 255)
    got = approx_matmul(torch.from_numpy(a), torch.from_numpy(a.T.copy()), unit)
    np.testing.assert_array_equal(got.numpy(), golden_sum(unit, a, a.T))


def golden_float_sum(unit, a, b):
    """Golden products (hardware corners), summed in fp32 in ascending k."""
    cast = np.float16 if unit.fmt == "fp16" else np.float32
    prods = mul(unit, a.numpy().astype(cast)[:, :, None], b.numpy().astype(cast)[None, :, :], strict=False)
    acc = np.zeros((a.shape[0], b.shape[1]), np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        for k in range(a.shape[1]):
            acc += prods[:, k, :].astype(np.float32)
    return acc


def float_specials(unit):
    vals = [0.0, -0.0, 1.0, -1.0, 3.0e38, -2.5e38, 1.0e-37, 6.0e4, 1.0e-5, 2.0**-140]
    if unit.fmt == "fp16":
        vals = [0.0, -0.0, 1.0, -1.0, 6.0e4, -3.0e4, 6.2e-5, 1.0e-6, 300.0, 0.01]
    return round_to_format(torch.tensor(vals), unit)


@pytest.mark.parametrize("fmt", ["fp32", "bf16", "fp16"])
def test_float_units_bit_exact(fmt):
    """Finite operands incl. zeros, subnormals, overflow and underflow (the fp32 fast path)."""
    unit = FloatMitchell(fmt)
    a = round_to_format(torch.randn(9, 40) * 4, unit)
    b = round_to_format(torch.randn(40, 13), unit)
    a[0, :10] = float_specials(unit)
    b[:10, 0] = float_specials(unit)
    b[:10, 1] = float_specials(unit).flip(0)
    got = approx_matmul(a, b, unit)
    assert got.dtype == torch.float32
    np.testing.assert_array_equal(got.numpy().view(np.int32), golden_float_sum(unit, a, b).view(np.int32))


@pytest.mark.parametrize("fmt", ["fp32", "bf16", "fp16"])
def test_float_units_nan_inf(fmt):
    unit = FloatMitchell(fmt)
    a = round_to_format(torch.randn(4, 6), unit)
    b = round_to_format(torch.randn(6, 5), unit)
    a[0, 0] = float("inf")
    a[1, 1] = float("nan")
    b[2, 2] = float("-inf")
    b[3, 0] = 0.0
    got = approx_matmul(a, b, unit).numpy()
    want = golden_float_sum(unit, a, b)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_array_equal(got[ok].view(np.int32), want[ok].view(np.int32))


@pytest.mark.parametrize("fmt", ["fp32", "bf16"])
def test_float_in_range_fast_path(fmt):
    """Operands whose products cannot flush or overflow: the one-add kernel, with zeros and subnormals
    in both operands (products +0), rows/K not multiples of its 4x4 blocks, and bf16 tensors as such."""
    unit = FloatMitchell(fmt)
    for m, k, n in [(9, 40, 13), (4, 8, 300), (3, 5, 2)]:
        a = round_to_format(torch.randn(m, k) * 3, unit)
        b = round_to_format(torch.randn(k, n), unit)
        want = golden_float_sum(unit, a, b)
        got = approx_matmul(a, b, unit)
        np.testing.assert_array_equal(got.numpy().view(np.int32), want.view(np.int32))
        a[0, ::3] = 0.0
        a[-1, 1] = -0.0
        b[::4, 0] = 0.0
        b[1, -1] = 1e-40 if fmt == "fp32" else 0.0  # subnormal: read as zero
        want = golden_float_sum(unit, a, b)
        for x, y in ((a, b), (a.to(torch.bfloat16), b.to(torch.bfloat16))) if fmt == "bf16" else ((a, b),):
            got = approx_matmul(x, y, unit)
            np.testing.assert_array_equal(got.numpy().view(np.int32), want.view(np.int32))


@pytest.mark.parametrize("fmt", ["fp32", "bf16"])
def test_float_fast_path_flush_and_overflow_inside_blocks(fmt):
    """Left operands whose products flush (tiny) or overflow (huge) against part of the right operand,
    scattered among ordinary ones: they take checked products, the rest the one-add kernel."""
    unit = FloatMitchell(fmt)
    gen = torch.Generator().manual_seed(7)
    a = round_to_format(torch.randn(9, 44, generator=gen), unit)
    b = round_to_format(torch.randn(44, 300, generator=gen), unit)
    a[1, 5] = 1e-36  # flushes against small b
    a[4, 9] = -3e35  # overflows against large b
    a[8, 43] = 2e-38
    b[5, :7] = round_to_format(torch.tensor([1e-3, 1e-5, 3.0, -2e-4, 1e4, 0.0, -1e-6]), unit)
    b[9, 10:14] = round_to_format(torch.tensor([1e4, -2e3, 5.0, 1e-2]), unit)
    a = round_to_format(a, unit)
    want = golden_float_sum(unit, a, b)
    got = approx_matmul(a, b, unit)
    np.testing.assert_array_equal(got.numpy().view(np.int32), want.view(np.int32))
    assert torch.isinf(got).any() and torch.isfinite(got[0]).all()


def test_out_of_range_and_wrong_types_raise():
    unit = Mitchell(8, signed=True)
    ok = torch.zeros(2, 3, dtype=torch.int64)
    with pytest.raises(OperandError, match="outside the 8-bit signed range -128..127"):
        approx_matmul(torch.full((2, 3), 128), ok.T, unit)
    with pytest.raises(OperandError, match="outside"):
        approx_matmul(ok, torch.full((3, 2), -1), Mitchell(8, signed=False))
    with pytest.raises(OperandError, match="integer tensors"):
        approx_matmul(torch.zeros(2, 3), ok.T, unit)
    with pytest.raises(OperandError, match="not exact in bf16"):
        approx_matmul(torch.full((2, 3), 1.001), torch.ones(3, 2), FloatMitchell("bf16"))
    with pytest.raises(ValueError, match="cannot be multiplied"):
        approx_matmul(ok, ok, unit)


def test_bf16_fast_path_at_the_exponent_limits():
    """bf16 shares fp32's exponent range: products near overflow and flush go through the fp32 fast path."""
    unit = FloatMitchell("bf16")
    big = round_to_format(torch.tensor([3.0e38, -1.7e38, 2.0**64, 2.0**-60, 1.2e-38, 2.0**-126, 0.0]), unit)
    a = big[:, None].repeat(1, 3)
    b = big[None, :].repeat(3, 1)
    got = approx_matmul(a, b, unit)
    np.testing.assert_array_equal(got.numpy().view(np.int32), golden_float_sum(unit, a, b).view(np.int32))
