"""Corners as hardware defines them, and loud errors for bad input."""

import struct

import numpy as np
import pytest

from kexue_hw import ILM, MBM, Exact, FloatMitchell, Mitchell, SpecError, unit_from_name
from kexue_hw.arith import OperandError, bits_to_float, div, mul, mul_bits


def test_published_worst_cases():
    u = Mitchell(8)
    assert mul(u, 3, 3) == 8
    assert mul(u, 192, 192) == 32768
    assert mul(u, 0, 255) == 0 and mul(u, 255, 0) == 0


def test_signed_is_sign_magnitude_of_unsigned():
    s, u = Mitchell(8, signed=True), Mitchell(8)
    vals = np.arange(-128, 128)
    a, b = vals[:, None], vals[None, :]
    got = mul(s, a, b)
    mag = mul(u, np.abs(a), np.abs(b))
    assert np.array_equal(got, np.where((a < 0) != (b < 0), -mag, mag))
    assert mul(s, -128, -128) == 16384  # the most negative operand is accepted


def test_32bit_unsigned_products_use_all_64_bits():
    u = Mitchell(32)
    p = mul(u, np.array([2**32 - 1]), np.array([2**32 - 1]))
    assert p.dtype == np.uint64
    assert int(p[0]) <= (2**32 - 1) ** 2 and int(p[0]) > 2**63
    assert mul(Mitchell(32, True), -(2**31), -(2**31)) == 2**62


def test_mbm_saturates_at_the_output_range():
    u = MBM(8)
    assert mul(u, 255, 255) == 2**16 - 1
    assert int(mul(MBM(32), np.array([2**32 - 1]), np.array([2**32 - 1]))[0]) == 2**64 - 1


def test_out_of_range_operands_raise():
    with pytest.raises(OperandError, match="outside the 8-bit unsigned range"):
        mul(Mitchell(8), 256, 1)
    with pytest.raises(OperandError, match="signed range -128..127"):
        mul(Mitchell(8, True), np.array([1, 128]), 1)
    with pytest.raises(OperandError, match="integers"):
        mul(Mitchell(8), np.array([1.5]), 1)
    with pytest.raises(OperandError):
        mul(Mitchell(8), -1, 1)


def test_division_by_zero_raises_or_returns_the_hardware_result():
    u = Mitchell(8)
    with pytest.raises(ZeroDivisionError, match="1 divisor"):
        div(u, np.array([3, 4]), np.array([1, 0]))
    q, flag = div(u, np.array([3, 4]), np.array([1, 0]), strict=False, return_flags=True)
    assert list(flag) == [False, True]
    assert q[1] == 2 ** (8 + u.quotient_frac_bits) - 1
    assert q[0] == 3 << u.quotient_frac_bits
    qs = div(Mitchell(8, True), -5, 0, strict=False)
    assert qs == -(2 ** (8 + Mitchell(8, True).quotient_frac_bits) - 1)


def test_divider_is_exact_for_powers_of_two_and_zero_dividend():
    u = Mitchell(16)
    assert div(u, 40000, 8) == 5000 << u.quotient_frac_bits
    assert div(u, 0, 77) == 0


def test_no_divider_for_mbm_and_ilm():
    with pytest.raises(SpecError, match="no divider"):
        div(ILM(8), 1, 1)
    with pytest.raises(SpecError, match="no divider"):
        div(MBM(8), 1, 1)


@pytest.mark.parametrize(
    "make,msg",
    [
        (lambda: Mitchell(1), "width=1"),
        (lambda: Mitchell(33), "width=33"),
        (lambda: Mitchell(8, frac_bits=8), "frac_bits=8"),
        (lambda: Mitchell(8, frac_bits=-1), "frac_bits=-1"),
        (lambda: ILM(8, corrections=4), "corrections=4"),
        (lambda: Mitchell(32, quotient_frac=32), "quotient_frac=32"),
        (lambda: FloatMitchell("fp8"), "fp8"),
        (lambda: Mitchell(8.0), "int"),
        (lambda: Mitchell(8, signed=1), "bool"),
        (lambda: unit_from_name("booth"), "unknown unit"),
    ],
)
def test_impossible_specs_are_rejected(make, msg):
    with pytest.raises(SpecError, match=msg):
        make()


def test_specs_are_frozen_and_hashable():
    u = Mitchell(16, True, 8)
    with pytest.raises(AttributeError):
        u.width = 8
    assert {u: 1}[Mitchell(16, True, 8)] == 1
    assert u.describe() == "mitchell_s16_t8"


def _c_trick(a, b):
    ia = struct.unpack("<i", struct.pack("<f", a))[0]
    ib = struct.unpack("<i", struct.pack("<f", b))[0]
    return struct.unpack("<f", struct.pack("<i", ia + ib - 0x3F800000))[0]


def test_float_mitchell_fp32_matches_the_c_trick():
    got = mul(FloatMitchell("fp32"), np.float32(12.3), np.float32(4.56))
    assert got.dtype == np.float32
    assert float(got) == _c_trick(12.3, 4.56)
    assert abs(float(got) - 53.68) < 1e-5


def test_float_corners_strict_and_hardware():
    u = FloatMitchell("fp32")
    nan, inf = np.float32(np.nan), np.float32(np.inf)
    sub = np.float32(1e-40)
    for bad in (nan, inf, sub):
        with pytest.raises(OperandError, match="NaN|inf|subnormal"):
            mul(u, bad, np.float32(2))
    with pytest.raises(ZeroDivisionError):
        div(u, np.float32(1), np.float32(0))
    hw = dict(strict=False)
    assert np.isnan(mul(u, nan, np.float32(2), **hw))
    assert np.isnan(mul(u, inf, np.float32(0), **hw))
    assert mul(u, -inf, np.float32(2), **hw) == -np.inf
    assert mul(u, sub, np.float32(2), **hw) == 0  # subnormal read as zero
    assert mul(u, np.float32(3e38), np.float32(10), **hw) == np.inf  # overflow -> inf
    tiny = mul(u, np.float32(1e-30), np.float32(1e-30), **hw)
    assert tiny == 0 and not np.signbit(tiny)  # underflow flushes to zero
    assert np.signbit(mul(u, np.float32(-1e-30), np.float32(1e-30), **hw))
    assert div(u, np.float32(1), np.float32(0), **hw) == np.inf
    assert np.isnan(div(u, np.float32(0), np.float32(0), **hw))
    assert div(u, np.float32(10), np.float32(4)) == np.float32(2.5)


def test_bf16_needs_representable_values_and_fp16_range():
    with pytest.raises(OperandError, match="bf16"):
        mul(FloatMitchell("bf16"), np.float32(1.00001), np.float32(1))
    with pytest.raises(OperandError, match="fp16"):
        mul(FloatMitchell("fp16"), 70000.0, 1.0)
    assert float(mul(FloatMitchell("bf16"), np.float32(1.5), np.float32(2.5))) == 3.5


def test_float_bits_interface_rejects_out_of_range_patterns():
    u = FloatMitchell("fp16")
    with pytest.raises(OperandError):
        mul_bits(u, 1 << 16, 0)
    one = 0x3C00
    assert float(bits_to_float(u, mul_bits(u, one, one))) == 1.0


def test_scalars_in_scalars_out_and_broadcasting():
    assert isinstance(mul(Exact(8), 3, 4), int)
    out = mul(Mitchell(8), np.arange(4)[:, None], np.arange(3)[None, :])
    assert out.shape == (4, 3) and out.dtype == np.int64
