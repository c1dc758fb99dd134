"""Numba matrix-product kernels: every elementwise product on a unit, exact accumulation.

All kernels take 3-D operands ``a (B, M, K)``, ``b (B, K, N)`` (the fast Mitchell
kernel: ``b`` transposed, ``(B, N, K)``) and write ``out (B, M, N)``; tiles run in
parallel (``prange``).

* :func:`int_bmm_generic` any integer unit: the golden model's own ``encode`` /
  ``combine`` primitives (:mod:`kexue_hw.arith.dispatch`), products summed in int64
  (two's complement: exact whenever the true sum fits 64 bits).
* :func:`mitchell_small_bmm` fast path for Mitchell units up to 8 bits: each
  operand's log encoding is computed once (O(MK + KN), ``b`` transposed so K is
  contiguous for both) into an int32 lane laid out like an fp32 bit pattern, so
  ``antilog(La + Lb)`` is one int32 add, a bit-reinterpretation as float32
  (exact: 2**e * (1 + f) with <= 7 fraction bits) and a truncating float->int
  conversion. Sign bits add modulo 2**32 (their sum is the XOR) and zero
  operands carry a code whose sum with anything reads as a float below 1, which
  truncates to 0. Accumulates in int32 over K blocks small enough never to
  overflow, then widens to int64.
* :func:`float_bmm_generic` FloatMitchell in any format through the golden
  primitive ``float_mitchell_mul_bits`` (all NaN/inf/subnormal corners);
  :func:`float32_bmm_finite` a fast path for fp32 operands with no NaN/inf.
  Both accumulate in fp32 in ascending ``k`` order, round to nearest even after
  every addition (no FMA, no reassociation).
* :func:`lut_bmm` the lookup-table baseline (AdaPT/TorchApprox style): a
  256 x 256 int32 product table gathered per operand pair; same loop structure.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..arith import dispatch
from ..arith.floating import float_mitchell_mul_bits
from ..arith.mitchell import log_encode
from ._bitcast import add_as_f32, bits_as_f32

#: rows of ``a`` sharing each loaded ``b`` lane; columns per tile of the LUT baseline
ROWS = 4
COLS = 512

#: int32 lane codes of a zero operand (see the module docstring)
ZERO_A = -(1 << 29)
ZERO_B = 1 << 29
FP32_ONE = 127 << 23
FP32_SIGN_AS_INT32 = -(1 << 31)


# ----------------------------------------------------------------------------- Mitchell <= 8 bits


@njit(inline="always", cache=True)
def _mitchell_lane_code(v, p, shift, is_b):
    m = -np.int64(v) if v < 0 else np.int64(v)
    if m == 0:
        return np.int32(ZERO_B if is_b else ZERO_A)
    code = log_encode(m, p) << shift
    if is_b:
        code += FP32_ONE
    if v < 0:
        code += FP32_SIGN_AS_INT32
    return np.int32(code)


@njit(cache=True)
def mitchell_lane_table(lo, hi, p, is_b):
    """int32 lane codes of every operand value ``lo..hi`` (index ``v - lo``) for :func:`mitchell_small_bmm`.

    Nonzero: ``(log_encode(|v|) << (23 - F)) (+ bits(1.0) for b)``, sign in bit 31.
    """
    shift = 23 - p[0]
    table = np.empty(hi - lo + 1, np.int32)
    for v in range(lo, hi + 1):
        table[v - lo] = _mitchell_lane_code(v, p, shift, is_b)
    return table


#: square tile of the blocked transpose in :func:`encode_lanes`
TILE = 64


@njit(parallel=True, cache=True)
def encode_lanes(x, table, lo, transpose, out):
    """``out = table[x - lo]`` for C-contiguous integer ``x (B, R, C)``; ``out (B, C, R)`` when ``transpose``.

    Flat chunks, or 64x64 tiles whose ``out`` rows are written contiguously when
    transposing. No range check here: every ``x - lo`` must index ``table`` (the caller
    checks); the index is unsigned, so Numba emits no negative-index wraparound (which
    would keep the gathers from vectorizing).
    """
    nb, r, c = x.shape
    if not transpose:
        xf = x.reshape(-1)
        of = out.reshape(-1)
        n = xf.size
        for t in prange((n + (1 << 16) - 1) >> 16):
            s0 = t << 16
            s1 = min(n, s0 + (1 << 16))
            xs = xf[s0:s1]
            os_ = of[s0:s1]
            for i in range(s1 - s0):
                os_[i] = table[np.uint64(np.int64(xs[i]) - lo)]
        return
    nr = (r + TILE - 1) // TILE
    nc = (c + TILE - 1) // TILE
    for t in prange(nb * nr * nc):
        bi = t // (nr * nc)
        i0 = ((t // nc) % nr) * TILE
        j0 = (t % nc) * TILE
        i1 = min(i0 + TILE, r)
        j1 = min(j0 + TILE, c)
        xs = x[bi]
        ob = out[bi]
        for j in range(j0, j1):
            orow = ob[j, i0:i1]
            for i in range(i1 - i0):
                orow[i] = table[np.uint64(np.int64(xs[i0 + i, j]) - lo)]


@njit(inline="always", cache=True)
def _lane_product(a_code, b_code):
    """Mitchell product of two lane codes: add, read as float32, truncate toward zero (int32)."""
    return np.int32(add_as_f32(a_code, b_code))


#: columns of ``b`` per parallel task; with a K block of 256 its lane codes (16 KB) stay in L1
COLS_PER_TASK = 16


@njit(parallel=True, cache=True)
def mitchell_small_bmm(a, bt, kblock, out):
    """Mitchell matrix product of lane codes ``a (B,M,K)`` and ``bt (B,N,K)`` (b transposed) into int64 ``out``.

    Parallel over blocks of :data:`COLS_PER_TASK` columns; inside, register tiles of
    4 rows x 2 columns, each output an int32 dot product over a ``kblock`` slice of K
    (``kblock * max product < 2**31``) added into int64 ``out``.
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
                            s00 = np.int32(s00 + _lane_product(a0[kk], x0))
                            s01 = np.int32(s01 + _lane_product(a0[kk], x1))
                            s10 = np.int32(s10 + _lane_product(a1[kk], x0))
                            s11 = np.int32(s11 + _lane_product(a1[kk], x1))
                            s20 = np.int32(s20 + _lane_product(a2[kk], x0))
                            s21 = np.int32(s21 + _lane_product(a2[kk], x1))
                            s30 = np.int32(s30 + _lane_product(a3[kk], x0))
                            s31 = np.int32(s31 + _lane_product(a3[kk], x1))
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
                            s = np.int32(s + _lane_product(ar[kk], bj[kk]))
                        out[b_i, i0 + r, jj] += s


# ----------------------------------------------------------------------------- any integer unit


@njit(parallel=True, cache=True)
def encode_int_operand(code, x, p, codes):
    """Per-operand pass: the unit's encoding of every |element| (flat int64)."""
    for i in prange(x.size):
        v = x[i]
        codes[i] = dispatch.encode(code, -v if v < 0 else v, p)


@njit(parallel=True, cache=True)
def int_bmm_generic(code, a, la, b, lb, p, out):
    """``out[.., i, j] = sum_k sign * combine(la, lb, |a|, |b|)`` in int64 (wrapping beyond 2**63).

    ``code`` (:func:`kexue_hw.arith.dispatch.op_code`) picks the golden primitives, as in
    the golden model itself; dispatching on a code keeps this kernel cacheable.
    """
    nb, m, k = a.shape
    n = b.shape[2]
    for t in prange(nb * m):
        bt = t // m
        i = t % m
        orow = out[bt, i]
        for kk in range(k):
            x = a[bt, i, kk]
            if x == 0:
                continue
            ma = -x if x < 0 else x
            lx = la[bt, i, kk]
            for j in range(n):
                y = b[bt, kk, j]
                mb = -y if y < 0 else y
                mag = np.int64(dispatch.combine(code, lx, lb[bt, kk, j], ma, mb, p))
                if (x < 0) != (y < 0):
                    orow[j] -= mag
                else:
                    orow[j] += mag


# ----------------------------------------------------------------------------- FloatMitchell


@njit(inline="always", cache=True)
def _product_to_f32(bits, fmt_code, f16_table):
    """float32 value of a product bit pattern (fmt_code 0 fp32, 1 bf16, 2 fp16: exact widening)."""
    if fmt_code == 0:
        return bits_as_f32(np.int32(np.int64(bits) - ((np.int64(bits) >> 31) << 32)))
    if fmt_code == 1:
        return bits_as_f32(np.int32(np.int64(bits << 16) - ((np.int64(bits) >> 15) << 32)))
    return f16_table[bits]


@njit(parallel=True, cache=True)
def float_bmm_generic(a, b, e_bits, m_bits, fmt_code, f16_table, out):
    """FloatMitchell products of bit patterns (int64) through the golden primitive, fp32 accumulation."""
    nb, m, k = a.shape
    n = b.shape[2]
    for t in prange(nb * m):
        bt = t // m
        i = t % m
        orow = out[bt, i]
        for kk in range(k):
            x = a[bt, i, kk]
            for j in range(n):
                pb = float_mitchell_mul_bits(x, b[bt, kk, j], e_bits, m_bits)
                orow[j] += _product_to_f32(pb, fmt_code, f16_table)


#: fp32 fast path, int32 lanes: ``r = (|a| - bits(1)) + (|b| - bits(1))`` never overflows for normal
#: operands, and the product's bit pattern is ``r + bits(1)`` unless it under- or overflows
F32_R_MIN = (1 << 23) - FP32_ONE  # below: the product flushes to zero
F32_R_INF = (0xFF << 23) - FP32_ONE  # from here: the product overflows to inf
F32_MAG_BITS = 0x7FFFFFFF
FLOAT_ROWS = 4
FLOAT_COLS = 256


@njit(parallel=True, cache=True)
def encode_f32_finite(bits, mags, masks):
    """Split finite fp32 bit patterns (int64) into int32 words ``|x| - bits(1.0)`` and sign/zero masks.

    ``masks``: the sign bit, plus all ones below it when ``x`` is normal (zero and
    subnormal operands read as 0, so their products flush to signed zero).
    """
    for i in prange(bits.size):
        x = bits[i]
        mag = x & F32_MAG_BITS
        normal = (mag >> 23) != 0
        sign = np.int32(-(1 << 31)) if x >> 31 else np.int32(0)
        masks[i] = np.int32(sign | np.int32(F32_MAG_BITS)) if normal else sign
        mags[i] = np.int32(mag - FP32_ONE)


@njit(inline="always", cache=True)
def _f32_product(ra, ma, rb, mb):
    """FloatMitchell fp32 product from the split words of :func:`encode_f32_finite` (float32)."""
    r = np.int32(ra + rb)
    mag = np.int32(r + FP32_ONE) if r >= F32_R_MIN else np.int32(0)
    mag = mag if r < F32_R_INF else np.int32(0xFF << 23)
    bits = np.int32(np.int32(mag & np.int32(ma & mb)) | np.int32(np.int32(ma ^ mb) & np.int32(-(1 << 31))))
    return bits_as_f32(bits)


@njit(parallel=True, cache=True)
def float32_bmm_finite(ar, am, br, bm, out):
    """FloatMitchell fp32 product (no NaN/inf operands): ``bits = |a| + |b| - bits(1)``, FTZ, overflow to inf.

    Vectorized over columns; tiles of 4 rows share each loaded ``b`` lane; every
    output accumulates in fp32 in ascending ``k``.
    """
    nb, m, k = ar.shape
    n = br.shape[2]
    nrb = (m + FLOAT_ROWS - 1) // FLOAT_ROWS
    ncb = (n + FLOAT_COLS - 1) // FLOAT_COLS
    for t in prange(nb * nrb * ncb):
        b_i = t // (nrb * ncb)
        i0 = ((t // ncb) % nrb) * FLOAT_ROWS
        j0 = (t % ncb) * FLOAT_COLS
        j1 = min(j0 + FLOAT_COLS, n)
        rows = min(FLOAT_ROWS, m - i0)
        if rows == FLOAT_ROWS:
            o0 = out[b_i, i0, j0:j1]
            o1 = out[b_i, i0 + 1, j0:j1]
            o2 = out[b_i, i0 + 2, j0:j1]
            o3 = out[b_i, i0 + 3, j0:j1]
            for kk in range(k):
                ra0, ma0 = ar[b_i, i0, kk], am[b_i, i0, kk]
                ra1, ma1 = ar[b_i, i0 + 1, kk], am[b_i, i0 + 1, kk]
                ra2, ma2 = ar[b_i, i0 + 2, kk], am[b_i, i0 + 2, kk]
                ra3, ma3 = ar[b_i, i0 + 3, kk], am[b_i, i0 + 3, kk]
                brow = br[b_i, kk, j0:j1]
                bmsk = bm[b_i, kk, j0:j1]
                for j in range(j1 - j0):
                    rb = brow[j]
                    mb = bmsk[j]
                    o0[j] += _f32_product(ra0, ma0, rb, mb)
                    o1[j] += _f32_product(ra1, ma1, rb, mb)
                    o2[j] += _f32_product(ra2, ma2, rb, mb)
                    o3[j] += _f32_product(ra3, ma3, rb, mb)
        else:
            for r in range(rows):
                orow = out[b_i, i0 + r, j0:j1]
                for kk in range(k):
                    ra, ma = ar[b_i, i0 + r, kk], am[b_i, i0 + r, kk]
                    brow = br[b_i, kk, j0:j1]
                    bmsk = bm[b_i, kk, j0:j1]
                    for j in range(j1 - j0):
                        orow[j] += _f32_product(ra, ma, brow[j], bmsk[j])


# ----------------------------------------------------------------------------- lookup-table baseline


@njit(parallel=True, cache=True)
def lut_bmm(a, b, table, out):
    """Lookup-table product: ``table[(a & 255) << 8 | (b & 255)]`` summed in int32 then int64.

    ``a``, ``b`` hold uint8 table indices (two's complement bytes); same tiles as the fast kernel.
    """
    nb, m, k = a.shape
    n = b.shape[2]
    nrb = (m + ROWS - 1) // ROWS
    ncb = (n + COLS - 1) // COLS
    for t in prange(nb * nrb * ncb):
        bt = t // (nrb * ncb)
        rem = t % (nrb * ncb)
        i0 = (rem // ncb) * ROWS
        j0 = (rem % ncb) * COLS
        rows = min(ROWS, m - i0)
        w = min(COLS, n - j0)
        acc = np.zeros(COLS, np.int32)
        for r in range(rows):
            for kk in range(k):
                trow = table[np.int64(a[bt, i0 + r, kk]) << 8 :]
                brow = b[bt, kk, j0 : j0 + w]
                for j in range(w):
                    acc[j] += trow[brow[j]]
            orow = out[bt, i0 + r, j0 : j0 + w]
            for j in range(w):
                orow[j] += acc[j]
                acc[j] = 0
