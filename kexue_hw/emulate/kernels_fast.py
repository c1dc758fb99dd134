"""Numba kernels of the fast paths: MBM up to 8 bits and FloatMitchell fp32/bf16 in range.

Same operand layouts and accumulation contract as :mod:`.kernels`.

* :func:`mbm_small_bmm` MBM up to 8 bits on the lane codes of
  :func:`.kernels.mitchell_small_bmm`: ``la + lb`` reads (as float32) as
  Mitchell's product ``x``; the codes' exponent fields give MBM's correction
  ``c = ca * cb = 5/64 * 2**(ka+kb)`` with the product's sign (``ca = ±5 *
  2**(ka-6)``, ``cb = ±2**kb``; a zero operand's code makes both ``x`` and
  ``c`` far below 1). ``x`` is an integer and ``x + c`` is exact in float32 (at
  most 23 significant bits; one FMA), so truncating it toward zero gives ``x +
  floor(c)`` with the sign applied after: MBM's product.
  Unsigned units clamp the magnitude to the ``2N``-bit output (saturation);
  signed ones never reach it.
* :func:`float32_bmm_inrange` FloatMitchell on finite fp32 bit patterns: where
  a product cannot under- or overflow (:func:`encode_f32_inrange` marks the left
  operands that could, against the right operand's exponent range) its bit
  pattern is ``a + (b - bits(1.0))`` modulo ``2**32`` (the sign bits add to
  their XOR), one integer add per product, masked to +0 where an operand is
  zero or subnormal (the unit reads those as zero; adding +0 leaves an fp32 sum
  that started at +0 unchanged, so zero products are skipped). Products of the
  marked operands are computed with flush and overflow, as the golden model.
  Accumulation in fp32 in ascending ``k``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._bitcast import add_as_f32, bits_as_f32
from .kernels import COLS_PER_TASK, F32_R_INF, F32_R_MIN, FP32_ONE, ROWS



# ----------------------------------------------------------------------------- MBM <= 8 bits

#: the exponent field (and sign) of a lane code; bits(5/64) = 1.25 * 2**-4
EXP_MASK = np.int32(-(1 << 23))
C5_BITS = np.int32(0x3DA00000)


@njit(inline="always", cache=True)
def _mbm_product(la, lb):
    """MBM product (int32) of two Mitchell lane codes, unsaturated: ``trunc(x + ca*cb)``, exact in float32.

    ``x = bits(la + lb)`` is Mitchell's product; ``ca = bits((la & exp) + bits(5/64)) = ±5 * 2**(ka-6)``
    and ``cb = bits(lb & exp) = ±2**kb`` (``b``'s code carries ``bits(1.0)``).
    """
    ca = bits_as_f32(np.int32((la & EXP_MASK) + C5_BITS))
    cb = bits_as_f32(np.int32(lb & EXP_MASK))
    return np.int32(add_as_f32(la, lb) + ca * cb)


@njit(parallel=True, cache=True, fastmath={"contract"})
def mbm_small_bmm(a, bt, kblock, out):
    """MBM matrix product (unsaturated) of Mitchell lane codes ``a (B,M,K)`` and ``bt (B,N,K)`` into int64 ``out``.

    Register tiles of 4 rows x 2 columns, int32 sums over ``kblock`` slices of K
    (``kblock * max product < 2**31``) added into int64 ``out``. Unsigned units' saturation
    is applied afterwards by :func:`mbm_saturation_fix`.
    """
    nb, m, k = a.shape
    n = bt.shape[1]
    ncb = (n + COLS_PER_TASK - 1) // COLS_PER_TASK
    for t in prange(nb * ncb):
        b_i = t // ncb
        j0 = (t % ncb) * COLS_PER_TASK
        j1 = min(j0 + COLS_PER_TASK, n)
        for k0 in range(0, k, kblock):
            k1 = min(k0 + kblock, k)
            for i0 in range(0, m, ROWS):
                rows = min(ROWS, m - i0)
                j = j0
                if rows == ROWS:
                    a0 = a[b_i, i0, k0:k1]
                    a1 = a[b_i, i0 + 1, k0:k1]
                    a2 = a[b_i, i0 + 2, k0:k1]
                    a3 = a[b_i, i0 + 3, k0:k1]
                    while j + 1 < j1:
                        b0 = bt[b_i, j, k0:k1]
                        b1 = bt[b_i, j + 1, k0:k1]
                        s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = np.int32(0)
                        for kk in range(k1 - k0):
                            x0 = b0[kk]
                            x1 = b1[kk]
                            s00 = np.int32(s00 + _mbm_product(a0[kk], x0))
                            s01 = np.int32(s01 + _mbm_product(a0[kk], x1))
                            s10 = np.int32(s10 + _mbm_product(a1[kk], x0))
                            s11 = np.int32(s11 + _mbm_product(a1[kk], x1))
                            s20 = np.int32(s20 + _mbm_product(a2[kk], x0))
                            s21 = np.int32(s21 + _mbm_product(a2[kk], x1))
                            s30 = np.int32(s30 + _mbm_product(a3[kk], x0))
                            s31 = np.int32(s31 + _mbm_product(a3[kk], x1))
                        out[b_i, i0, j] += s00
                        out[b_i, i0, j + 1] += s01
                        out[b_i, i0 + 1, j] += s10
                        out[b_i, i0 + 1, j + 1] += s11
                        out[b_i, i0 + 2, j] += s20
                        out[b_i, i0 + 2, j + 1] += s21
                        out[b_i, i0 + 3, j] += s30
                        out[b_i, i0 + 3, j + 1] += s31
                        j += 2
                for r in range(rows):
                    ar = a[b_i, i0 + r, k0:k1]
                    for jj in range(j if rows == ROWS else j0, j1):
                        bj = bt[b_i, jj, k0:k1]
                        s = np.int32(0)
                        for kk in range(k1 - k0):
                            s = np.int32(s + _mbm_product(ar[kk], bj[kk]))
                        out[b_i, i0 + r, jj] += s


@njit(parallel=True, cache=True)
def mbm_saturation_fix(a, b, low, excess, out):
    """Subtract the saturation excess of every product of magnitudes ``>= low`` (int operands ``a (B,M,K)``, ``b (B,K,N)``).

    ``excess[u - low, v - low]`` = unsaturated minus saturated MBM magnitude of ``u * v``
    (0 where it does not saturate); the product's sign is applied. Only the few largest
    magnitudes can saturate, so rows skip every ``a`` below ``low``.
    """
    nb, m, k = a.shape
    n = b.shape[2]
    for t in prange(nb * m):
        bi = t // m
        i = t % m
        orow = out[bi, i]
        for kk in range(k):
            x = np.int64(a[bi, i, kk])
            u = -x if x < 0 else x
            if u < low:
                continue
            erow = excess[u - low]
            brow = b[bi, kk]
            for j in range(n):
                y = np.int64(brow[j])
                v = -y if y < 0 else y
                if v >= low:
                    e = erow[v - low]
                    orow[j] -= -e if (x < 0) != (y < 0) else e


# ----------------------------------------------------------------------------- FloatMitchell fp32 in range

F32_MAG_BITS = 0x7FFFFFFF


#: block of the encoding pass (one partial range per block)
ENC_BLOCK = 1 << 14
_I32_MAX = np.int32(2**31 - 1)
_I32_MIN = np.int32(-(2**31))


@njit(parallel=True, cache=True)
def encode_f32_inrange(bits, widen16, is_b, codes, masks, other_lo, other_hi):
    """Codes of fp32 bit patterns (int32, flat; with ``widen16``: bf16 patterns, shifted up 16 bits)
    for :func:`float32_bmm_inrange`, and their range.

    ``codes``: the bits (``b``: minus ``bits(1.0)``); ``masks``: -1 for a normal value, 0 for
    zero/subnormal (read as zero), 1 for a left operand whose product with some right operand
    of range ``[other_lo, other_hi]`` (of ``|b| - bits(1.0)``) could flush or overflow (``a``
    only; pass ``other_lo > other_hi`` for none). Returns ``(lo, hi, zeros, nonfinite)``:
    ``lo``/``hi`` the range of ``r = |x| - bits(1.0)`` over the normal values (``lo > hi``
    when there are none), whether any value was zero/subnormal, and whether any was inf/NaN
    (read from ``r``: below ``F32_R_MIN`` exactly for zero/subnormal, from ``F32_R_INF`` on
    exactly for inf/NaN).
    """
    n = bits.size
    nblk = (n + ENC_BLOCK - 1) // ENC_BLOCK
    lo = np.empty(nblk, np.int32)
    hi = np.empty(nblk, np.int32)
    lo_all = np.empty(nblk, np.int32)
    shift = np.int32(FP32_ONE) if is_b else np.int32(0)
    one = np.int32(FP32_ONE)
    mag_bits = np.int32(F32_MAG_BITS)
    r_min = np.int32(F32_R_MIN)
    check = other_lo <= other_hi
    risky_below = np.int64(F32_R_MIN) - other_lo  # r < this: some product flushes
    risky_from = np.int64(F32_R_INF) - other_hi  # r >= this: some product overflows
    for t in prange(nblk):
        s0 = t * ENC_BLOCK
        s1 = min(n, s0 + ENC_BLOCK)
        xs = bits[s0:s1]
        cs = codes[s0:s1]
        ms = masks[s0:s1]
        lo_t = _I32_MAX
        hi_t = _I32_MIN
        all_t = _I32_MAX
        for i in range(s1 - s0):
            x = np.int32(np.int32(xs[i]) << 16) if widen16 else np.int32(xs[i])
            r = np.int32(np.int32(x & mag_bits) - one)
            cs[i] = np.int32(x - shift)
            ms[i] = np.int32(-1) if r >= r_min else np.int32(0)
            if check and r >= r_min and (r < risky_below or r >= risky_from):
                ms[i] = np.int32(1)
            lo_t = min(lo_t, r if r >= r_min else _I32_MAX)
            hi_t = max(hi_t, r)
            all_t = min(all_t, r)
        lo[t] = lo_t
        hi[t] = hi_t
        lo_all[t] = all_t
    if n == 0:
        return np.int64(1), np.int64(0), False, False
    h = np.int64(hi.max())
    return np.int64(lo.min()), h, lo_all.min() < r_min, h >= F32_R_INF


#: fp32 in-range kernel tiles: rows sharing each loaded ``b`` lane, ``k`` steps per pass, columns per task
F32_ROWS = 4
F32_KSTEP = 4
F32_COLS = 256


@njit(parallel=True, cache=True)
def float32_bmm_inrange(ab, am, bp, bm, b_zeros, out):
    """FloatMitchell fp32 products ``bits = a + (b - bits(1))`` (no under/overflow), fp32 sums in ascending ``k``.

    ``ab``/``am``: left codes and masks ``(B,M,K)``; ``bp``/``bm``: right codes and masks
    ``(B,K,N)``; ``b_zeros``: whether any right mask is 0 (otherwise the mask is skipped).
    Each pass adds 4 consecutive ``k`` (in order) into 4 rows of a 256-column strip, so every
    output is loaded and stored once per 4 products; a pass with a zero or a risky left operand
    (mask 1: some product may flush or overflow) goes row by row, the risky one with every
    product checked as the golden model does.
    """
    nb, m, k = ab.shape
    n = bp.shape[2]
    nrb = (m + F32_ROWS - 1) // F32_ROWS
    ncb = (n + F32_COLS - 1) // F32_COLS
    for t in prange(nb * nrb * ncb):
        b_i = t // (nrb * ncb)
        i0 = ((t // ncb) % nrb) * F32_ROWS
        j0 = (t % ncb) * F32_COLS
        j1 = min(j0 + F32_COLS, n)
        rows = min(F32_ROWS, m - i0)
        kk = 0
        if rows == F32_ROWS:
            while kk + F32_KSTEP <= k:
                live = np.int32(-1)
                for r in range(F32_ROWS):
                    for q in range(F32_KSTEP):
                        live &= am[b_i, i0 + r, kk + q]
                if live != -1:
                    for q in range(F32_KSTEP):
                        _f32_rows_step(ab, am, bp, bm, b_zeros, b_i, i0, rows, kk + q, j0, j1, out)
                elif b_zeros:
                    _f32_block_masked(ab, bp, bm, b_i, i0, kk, j0, j1, out)
                else:
                    _f32_block(ab, bp, b_i, i0, kk, j0, j1, out)
                kk += F32_KSTEP
        while kk < k:
            _f32_rows_step(ab, am, bp, bm, b_zeros, b_i, i0, rows, kk, j0, j1, out)
            kk += 1


@njit(inline="always", cache=True)
def _f32_block(ab, bp, b_i, i0, kk, j0, j1, out):
    """4 rows x 4 consecutive ``k`` into the strip ``j0:j1`` (no zero operands), in ascending ``k``."""
    a00, a01, a02, a03 = ab[b_i, i0, kk], ab[b_i, i0, kk + 1], ab[b_i, i0, kk + 2], ab[b_i, i0, kk + 3]
    a10, a11, a12, a13 = ab[b_i, i0 + 1, kk], ab[b_i, i0 + 1, kk + 1], ab[b_i, i0 + 1, kk + 2], ab[b_i, i0 + 1, kk + 3]
    a20, a21, a22, a23 = ab[b_i, i0 + 2, kk], ab[b_i, i0 + 2, kk + 1], ab[b_i, i0 + 2, kk + 2], ab[b_i, i0 + 2, kk + 3]
    a30, a31, a32, a33 = ab[b_i, i0 + 3, kk], ab[b_i, i0 + 3, kk + 1], ab[b_i, i0 + 3, kk + 2], ab[b_i, i0 + 3, kk + 3]
    b0 = bp[b_i, kk, j0:j1]
    b1 = bp[b_i, kk + 1, j0:j1]
    b2 = bp[b_i, kk + 2, j0:j1]
    b3 = bp[b_i, kk + 3, j0:j1]
    o0 = out[b_i, i0, j0:j1]
    o1 = out[b_i, i0 + 1, j0:j1]
    o2 = out[b_i, i0 + 2, j0:j1]
    o3 = out[b_i, i0 + 3, j0:j1]
    for j in range(j1 - j0):
        x0 = b0[j]
        x1 = b1[j]
        x2 = b2[j]
        x3 = b3[j]
        o0[j] = o0[j] + add_as_f32(a00, x0) + add_as_f32(a01, x1) + add_as_f32(a02, x2) + add_as_f32(a03, x3)
        o1[j] = o1[j] + add_as_f32(a10, x0) + add_as_f32(a11, x1) + add_as_f32(a12, x2) + add_as_f32(a13, x3)
        o2[j] = o2[j] + add_as_f32(a20, x0) + add_as_f32(a21, x1) + add_as_f32(a22, x2) + add_as_f32(a23, x3)
        o3[j] = o3[j] + add_as_f32(a30, x0) + add_as_f32(a31, x1) + add_as_f32(a32, x2) + add_as_f32(a33, x3)


@njit(inline="always", cache=True)
def _masked(a, x, mk):
    return bits_as_f32(np.int32((a + x) & mk))


@njit(inline="always", cache=True)
def _f32_block_masked(ab, bp, bm, b_i, i0, kk, j0, j1, out):
    """:func:`_f32_block` with the right operand's zero masks applied (products with a zero ``b`` are +0)."""
    a00, a01, a02, a03 = ab[b_i, i0, kk], ab[b_i, i0, kk + 1], ab[b_i, i0, kk + 2], ab[b_i, i0, kk + 3]
    a10, a11, a12, a13 = ab[b_i, i0 + 1, kk], ab[b_i, i0 + 1, kk + 1], ab[b_i, i0 + 1, kk + 2], ab[b_i, i0 + 1, kk + 3]
    a20, a21, a22, a23 = ab[b_i, i0 + 2, kk], ab[b_i, i0 + 2, kk + 1], ab[b_i, i0 + 2, kk + 2], ab[b_i, i0 + 2, kk + 3]
    a30, a31, a32, a33 = ab[b_i, i0 + 3, kk], ab[b_i, i0 + 3, kk + 1], ab[b_i, i0 + 3, kk + 2], ab[b_i, i0 + 3, kk + 3]
    b0, m0 = bp[b_i, kk, j0:j1], bm[b_i, kk, j0:j1]
    b1, m1 = bp[b_i, kk + 1, j0:j1], bm[b_i, kk + 1, j0:j1]
    b2, m2 = bp[b_i, kk + 2, j0:j1], bm[b_i, kk + 2, j0:j1]
    b3, m3 = bp[b_i, kk + 3, j0:j1], bm[b_i, kk + 3, j0:j1]
    o0 = out[b_i, i0, j0:j1]
    o1 = out[b_i, i0 + 1, j0:j1]
    o2 = out[b_i, i0 + 2, j0:j1]
    o3 = out[b_i, i0 + 3, j0:j1]
    for j in range(j1 - j0):
        x0, k0 = b0[j], m0[j]
        x1, k1 = b1[j], m1[j]
        x2, k2 = b2[j], m2[j]
        x3, k3 = b3[j], m3[j]
        o0[j] = o0[j] + _masked(a00, x0, k0) + _masked(a01, x1, k1) + _masked(a02, x2, k2) + _masked(a03, x3, k3)
        o1[j] = o1[j] + _masked(a10, x0, k0) + _masked(a11, x1, k1) + _masked(a12, x2, k2) + _masked(a13, x3, k3)
        o2[j] = o2[j] + _masked(a20, x0, k0) + _masked(a21, x1, k1) + _masked(a22, x2, k2) + _masked(a23, x3, k3)
        o3[j] = o3[j] + _masked(a30, x0, k0) + _masked(a31, x1, k1) + _masked(a32, x2, k2) + _masked(a33, x3, k3)


@njit(inline="always", cache=True)
def _f32_checked(a, x, mk):
    """FloatMitchell fp32 product of ``a`` (bits) and ``x = b - bits(1.0)`` with flush and overflow (float32)."""
    b = np.int32(x + np.int32(FP32_ONE))
    r = np.int64(a & np.int32(F32_MAG_BITS)) + np.int64(b & np.int32(F32_MAG_BITS)) - 2 * FP32_ONE
    mag = np.int32(r + FP32_ONE) if r >= F32_R_MIN else np.int32(0)
    mag = mag if r < F32_R_INF else np.int32(0xFF << 23)
    sign = np.int32((a ^ b) & np.int32(-(1 << 31)))
    return bits_as_f32(np.int32(np.int32(mag | sign) & mk))


@njit(inline="always", cache=True)
def _f32_rows_step(ab, am, bp, bm, b_zeros, b_i, i0, rows, kk, j0, j1, out):
    """One ``k`` step of single rows (zero left operands skipped: their products are +0; risky ones checked)."""
    brow = bp[b_i, kk, j0:j1]
    bmsk = bm[b_i, kk, j0:j1]
    for r in range(rows):
        state = am[b_i, i0 + r, kk]
        if state == 0:
            continue
        a = ab[b_i, i0 + r, kk]
        orow = out[b_i, i0 + r, j0:j1]
        if state == 1:
            for j in range(j1 - j0):
                orow[j] += _f32_checked(a, brow[j], bmsk[j])
        elif b_zeros:
            for j in range(j1 - j0):
                orow[j] += bits_as_f32(np.int32((a + brow[j]) & bmsk[j]))
        else:
            for j in range(j1 - j0):
                orow[j] += add_as_f32(a, brow[j])


# ----------------------------------------------------------------------------- separable units


@njit(parallel=True, cache=True)
def pack_terms(x, tables, lo, step, left, out):
    """Factor matrices of a separable product: ``out`` holds ``tables[t][x - lo]`` for each term ``t``.

    K is cut into slices of ``step``; slice ``[k0, k0 + w)`` occupies ``T*w`` consecutive
    positions from ``T*k0`` on, term after term, so one slice of every term is one
    contiguous range of the packed K. ``left``: ``x (B,M,K) -> out (B,M,T*K)``;
    else ``x (B,K,N) -> out (B,T*K,N)``. ``x`` C-contiguous; no range check (the caller checks).
    """
    nt = tables.shape[0]
    nb, r, c = x.shape
    if left:
        for t in prange(nb * r):
            bi = t // r
            i = t % r
            xr = x[bi, i]
            orow = out[bi, i]
            for k0 in range(0, c, step):
                w = min(step, c - k0)
                for term in range(nt):
                    tab = tables[term]
                    dst = orow[nt * k0 + term * w : nt * k0 + (term + 1) * w]
                    src = xr[k0 : k0 + w]
                    for q in range(w):
                        dst[q] = tab[np.uint64(np.int64(src[q]) - lo)]
    else:
        for t in prange(nb * r):
            bi = t // r
            k = t % r
            k0 = (k // step) * step
            w = min(step, r - k0)
            xr = x[bi, k]
            for term in range(nt):
                tab = tables[term]
                orow = out[bi, nt * k0 + term * w + (k - k0)]
                for q in range(c):
                    orow[q] = tab[np.uint64(np.int64(xr[q]) - lo)]
