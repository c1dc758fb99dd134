"""Plain-Python reference models: the published closed forms, written independently of the Numba code.

Slow and obviously correct; the property tests check the golden models against
them. Integers only (``fractions.Fraction`` for the divider), arbitrary precision.
"""

from __future__ import annotations

import struct
from fractions import Fraction

from ..spec import FloatMitchell


def _split(m: int, keep: int) -> tuple[int, int]:
    """``m = 2**k + x``; ``x`` truncated to its top ``keep`` bits below the leading one."""
    k = m.bit_length() - 1
    x = m - (1 << k)
    if k > keep:
        x = (x >> (k - keep)) << (k - keep)
    return k, x


def _signed(result: int, a: int, b: int) -> int:
    return -result if (a < 0) != (b < 0) else result


def mitchell_mul(a: int, b: int, keep: int = 64) -> int:
    """Mitchell (1962): ``2**(ka+kb) + xa*2**kb + xb*2**ka``, or ``2*(xa*2**kb + xb*2**ka)`` on carry."""
    ma, mb = abs(a), abs(b)
    if ma == 0 or mb == 0:
        return 0
    (ka, xa), (kb, xb) = _split(ma, keep), _split(mb, keep)
    rem = xa * 2**kb + xb * 2**ka
    p = 2 ** (ka + kb) + rem if rem < 2 ** (ka + kb) else 2 * rem
    return _signed(p, a, b)


def mbm_mul(a: int, b: int, width: int, signed: bool, keep: int = 64) -> int:
    """MBM: Mitchell plus ``floor(5/64 * 2**(ka+kb))``, saturated to the output range."""
    ma, mb = abs(a), abs(b)
    if ma == 0 or mb == 0:
        return 0
    ka, kb = ma.bit_length() - 1, mb.bit_length() - 1
    p = abs(mitchell_mul(ma, mb, keep)) + (5 * 2 ** (ka + kb)) // 64
    limit = 2 ** (2 * width - 1) - 1 if signed else 2 ** (2 * width) - 1
    return _signed(min(p, limit), a, b)


def ilm_mul(a: int, b: int, corrections: int) -> int:
    """ILM (Babic et al. 2011): basic block plus ``corrections`` blocks on the dropped ``xa*xb``."""
    ma, mb = abs(a), abs(b)
    total = 0
    for _ in range(corrections + 1):
        if ma == 0 or mb == 0:
            break
        ka, kb = ma.bit_length() - 1, mb.bit_length() - 1
        xa, xb = ma - 2**ka, mb - 2**kb
        total += 2 ** (ka + kb) + xa * 2**kb + xb * 2**ka
        ma, mb = xa, xb
    return _signed(total, a, b)


def mitchell_div(a: int, b: int, qbits: int, keep: int = 64) -> int:
    """Mitchell's quotient ``floor(q * 2**qbits)`` (toward zero), from the two-case closed form."""
    ma, mb = abs(a), abs(b)
    if mb == 0:
        raise ZeroDivisionError
    if ma == 0:
        return 0
    (ka, xa), (kb, xb) = _split(ma, keep), _split(mb, keep)
    fa, fb = Fraction(xa, 2**ka), Fraction(xb, 2**kb)
    if fa >= fb:
        q = Fraction(2) ** (ka - kb) * (1 + fa - fb)
    else:
        q = Fraction(2) ** (ka - kb - 1) * (2 + fa - fb)
    return _signed(int(q * 2**qbits), a, b)


_FMT = {"fp32": ("<f", "<I", 32, 23), "fp16": ("<e", "<H", 16, 10)}


def float_mitchell_mul(unit: FloatMitchell, a: float, b: float) -> float:
    """Normal, finite, non-zero operands: the C trick ``bits(a) + bits(b) - bits(1.0)`` with the sign xor'ed."""
    fmt = unit.format
    if unit.fmt == "bf16":
        ia = struct.unpack("<I", struct.pack("<f", a))[0] >> 16
        ib = struct.unpack("<I", struct.pack("<f", b))[0] >> 16
    else:
        ff, ii, _, _ = _FMT[unit.fmt]
        ia = struct.unpack(ii, struct.pack(ff, a))[0]
        ib = struct.unpack(ii, struct.pack(ff, b))[0]
    sign = 1 << (fmt.bits - 1)
    s = (ia ^ ib) & sign
    r = (ia & (sign - 1)) + (ib & (sign - 1)) - fmt.one_bits
    bits = s | r
    if unit.fmt == "bf16":
        return struct.unpack("<f", struct.pack("<I", bits << 16))[0]
    ff, ii, _, _ = _FMT[unit.fmt]
    return struct.unpack(ff, struct.pack(ii, bits))[0]
