"""Exhaustive error metrics row by row in closed form: MBM, ILM and Mitchell's divider.

:func:`rows_error_metrics` returns what ``error_metrics(unit, op, exhaustive=True,
method="brute")`` returns (same :class:`~kexue_hw.metrics.ErrorMetrics`, same
per-row statistics summarized by the same code) without visiting every pair.
For one outer operand ``a`` (a row of the sweep) the inner operands of an
exponent block ``2**kb <= b < 2**(kb+1)`` (``b = B + rb``, ``B = 2**kb``; ``a =
A + ra`` likewise) fall into a few runs of consecutive ``rb`` on which the error
is one simple expression, so each run costs O(1):

* **MBM** (and Mitchell's product, ``c = 0``): ``e = approx - exact`` is
  ``c - ra*rb`` before the carry threshold ``rb < t = ceil((A - ra) * B / A)``
  and ``c - (A - ra)*(B - rb)`` from it on, ``c = floor(5 * 2**(ka+kb) / 64)``;
  both are linear in ``rb`` and change sign at most once, and a saturated tail
  (``approx + c`` above the output range) has ``e = L - a*b``. Runs of constant
  sign and form: sums of ``e`` and ``e**2`` from Faulhaber sums (``sum |e|`` in
  exact integers), relative sums from prefix sums of ``1/b``, ``rb/b``,
  ``(B - rb)/b`` (double-double, so differences keep full precision).
* **ILM** with ``c`` corrections: the error is ``-R(a) * R(b)`` with ``R(x)``
  = ``x`` less its top ``c + 1`` set bits (each correction block computes the
  product dropped by the previous one, again up to its ``R(xa) * R(xb)``), so
  every row is a multiple of a few totals over the inner operands.
* **Mitchell's divider** (no truncation; the quotient holds Mitchell's value
  exactly, ``quotient_frac >= 2N - 1``): with ``K = ra*B``, no borrow for ``rb*A
  <= K`` and error ``rb*(K - A*rb) / (B**2 * b)`` (as a real number), else, with
  ``v = B - rb`` and ``K' = (A - ra)*B``, ``v*(K' - A*v) / (2 * B**2 * b)``:
  quadratic over ``b``, summed from prefix sums of ``rb**k / b**m`` (``v`` likewise);
  the relative error is a quadratic polynomial in ``rb`` (``v``).

Extremes come from candidates evaluated by the brute force's own pair function
(:func:`kexue_hw.metrics._pair_error`, same float arithmetic): the ends of each
run (``|e|`` and ``e / (a*b)`` are monotone on a run of the multipliers) and,
for the divider, both ends plus the integers around the vertex of each
unimodal piece. So the per-row maxima equal the brute force's bit for bit;
the worst pairs are then found as the brute force finds them: the first row (in
sweep order) reaching the maximum is swept once by the brute-force kernel,
which returns its first column reaching it. Ties therefore break identically:
the first pair in sweep order (``a`` ascending over the signed domain, then
``b``).

Precision: ``ep``, ``wce``, ``wcre``, ``rel_min``, ``rel_max``, the worst pairs
and (multipliers) ``mae``, ``nmed`` equal the brute force exactly; the other
sums are float64 closed forms whose terms are bounded by a small multiple of the
summed quantity (relative deviation ~1e-15, checked to 1e-12 against the brute
force at every width up to 16 by ``benchmarks/metrics_analytic.py --check``).
"""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
from numba import njit, prange

from .arith import dispatch, unit_params
from .arith._bits import leading_one
from .metrics_analytic import _add as _two_sum  # TwoSum, shared with the Mitchell path
from .metrics_core import ErrorMetrics
from .metrics_sweep import (
    _ARG_ABS,
    _ARG_REL,
    _MAX_ABS,
    _MAX_EXACT,
    _N_ERR,
    _N_REL,
    _NCOLS,
    _REL_MAX,
    _REL_MIN,
    _SUM_ABS,
    _SUM_ABSREL,
    _SUM_REL,
    _SUM_SQ,
    _domain,
    _init_stats,
    _pair_error,
    _summarize,
    _sweep_grid,
)
from .spec import ILM, MBM, MBM_C_NUM, MBM_C_SHIFT, IntUnit, Mitchell, SpecError

__all__ = ["rows_error_metrics", "rows_supported", "ROWS_MAX_WIDTH"]

#: the row engines work in int64 up to this width (sums of |e| per row < 2**63)
ROWS_MAX_WIDTH = 20
#: Mitchell's divider: widths where a non-zero error is always far above the quotient's float64 rounding
DIV_ROWS_MAX_WIDTH = 16


# ----------------------------------------------------------------------------- prefix tables


@njit(cache=True)
def _offsets(n):
    """Start of block ``kb`` in the concatenated tables (block ``kb`` has ``2**kb + 1`` entries)."""
    off = np.empty(n + 1, np.int64)
    off[0] = 0
    for kb in range(n):
        off[kb + 1] = off[kb] + (np.int64(1) << kb) + 1
    return off


@njit(cache=True)
def _mul_tables(n):
    """Per block ``kb``: prefix sums over ``rb < j`` of ``1/b``, ``rb/b``, ``(B - rb)/b`` (double-double hi, lo)."""
    off = _offsets(n)
    hi = np.zeros((3, off[n]))
    lo = np.zeros((3, off[n]))
    for kb in range(n):
        B = np.int64(1) << kb
        h0 = l0 = h1 = l1 = h2 = l2 = 0.0
        o = off[kb]
        for rb in range(B):
            fb = float(B + rb)
            h0, l0 = _two_sum(h0, l0, 1.0 / fb)
            h1, l1 = _two_sum(h1, l1, rb / fb)
            h2, l2 = _two_sum(h2, l2, (B - rb) / fb)
            hi[0, o + rb + 1], lo[0, o + rb + 1] = h0, l0
            hi[1, o + rb + 1], lo[1, o + rb + 1] = h1, l1
            hi[2, o + rb + 1], lo[2, o + rb + 1] = h2, l2
    return hi, lo, off


@njit(cache=True)
def _div_tables(n):
    """Per block ``kb``, entry ``j``: no borrow, sums over ``rb < j`` of ``rb/b, rb**2/b, rb**2/b**2,
    rb**3/b**2, rb**4/b**2`` (``b = B + rb``); borrow (rows 5..9), the same over ``1 <= v <= j`` with ``b = 2B - v``."""
    off = _offsets(n)
    tab = np.zeros((10, off[n]))
    acc = np.zeros(10)
    cmp = np.zeros(10)
    x = np.empty(10)
    for kb in range(n):
        B = np.int64(1) << kb
        acc[:] = 0.0
        cmp[:] = 0.0
        o = off[kb]
        for j in range(B):
            r = float(j)  # rb = j (no borrow, entry j + 1); v = j + 1 (borrow, entry j + 1)
            v = float(j + 1)
            b1 = float(B + j)
            b2 = float(2 * B - (j + 1))
            x[0] = r / b1
            x[1] = r * r / b1
            x[2] = (r / b1) * (r / b1)
            x[3] = x[2] * r
            x[4] = x[3] * r
            x[5] = v / b2
            x[6] = v * v / b2
            x[7] = (v / b2) * (v / b2)
            x[8] = x[7] * v
            x[9] = x[8] * v
            for i in range(10):
                acc[i], cmp[i] = _two_sum(acc[i], cmp[i], x[i])
                tab[i, o + j + 1] = acc[i] + cmp[i]
    return tab, off


@lru_cache(maxsize=None)
def _cached_mul_tables(n: int):
    return _mul_tables(n)


@lru_cache(maxsize=None)
def _cached_div_tables(n: int):
    return _div_tables(n)


@njit(inline="always", cache=True)
def _tsum(hi, lo, f, o, a, b):
    """Sum of table ``f`` over ``rb`` in ``[a, b)`` of the block at offset ``o`` (double-double difference)."""
    return (hi[f, o + b] - hi[f, o + a]) + (lo[f, o + b] - lo[f, o + a])


# ----------------------------------------------------------------------------- row helpers


@njit(inline="always", cache=True)
def _inner_block(signed, n, kb):
    """``(count, weight)`` of the inner block ``kb``: signed units hold ``2**(n-1)`` once, the rest twice."""
    if signed:
        if kb == n - 1:
            return np.int64(1), np.int64(1)
        return np.int64(1) << kb, np.int64(2)
    return np.int64(1) << kb, np.int64(1)


@njit(inline="always", cache=True)
def _candidate(code, op_div, ea, a, b, p, ext):
    """Fold the brute force's error of the pair ``(a, b)`` into ``ext = [max |e|, min rel, max rel]``."""
    eb = dispatch.encode(code, b, p)
    d, exact = _pair_error(code, op_div, ea, eb, a, b, p)
    ad = abs(d)
    if ad > ext[0]:
        ext[0] = ad
    if exact != 0.0:
        rel = d / exact
        if rel < ext[1]:
            ext[1] = rel
        if rel > ext[2]:
            ext[2] = rel


@njit(inline="always", cache=True)
def _finish_row(out, a, n_err, s_abs, s_sq, s_rel, s_absrel, n_rel, ext, max_exact):
    out[a, _N_ERR] = float(n_err)
    out[a, _SUM_ABS] = float(s_abs)
    out[a, _SUM_SQ] = s_sq
    out[a, _SUM_REL] = s_rel
    out[a, _SUM_ABSREL] = s_absrel
    out[a, _N_REL] = float(n_rel)
    out[a, _MAX_ABS] = ext[0]
    out[a, _REL_MIN] = ext[1]
    out[a, _REL_MAX] = ext[2]
    out[a, _MAX_EXACT] = max_exact


# ----------------------------------------------------------------------------- MBM / Mitchell product

_NC, _C, _SAT = 0, 1, 2


@njit(inline="always", cache=True)
def _approx_mul(A, ra, B, rb, t_carry):
    """Mitchell's product of ``A + ra`` and ``B + rb`` (carry from ``rb >= t_carry`` on)."""
    if rb < t_carry:
        return A * B + ra * B + rb * A
    return 2 * (ra * B + rb * A)


@njit(inline="always", cache=True)
def _run_sums(form, lo, hi, a, A, ra, B, c, L, sign, th, tl, o):
    """(sum |e|, sum e**2, sum rel) over ``rb`` in ``[lo, hi)`` of one run; ``sign`` of ``e`` on it (+1/-1)."""
    n = hi - lo
    if form == _NC:  # e = c - ra*rb
        e0 = c - ra * lo
        beta = -ra
    elif form == _C:  # e = c - (A - ra)*(B - rb)
        e0 = c - (A - ra) * (B - lo)
        beta = A - ra
    else:  # saturated: e = L - a*b
        e0 = L - a * (B + lo)
        beta = -a
    s_e = n * e0 + beta * ((n * (n - 1)) // 2)
    fn = float(n)
    k1 = fn * (fn - 1.0) / 2.0
    k2 = (fn - 1.0) * fn * (2.0 * fn - 1.0) / 6.0
    fe0 = float(e0)
    fbeta = float(beta)
    s_sq = fn * fe0 * fe0 + 2.0 * fe0 * fbeta * k1 + fbeta * fbeta * k2
    s0 = _tsum(th, tl, 0, o, lo, hi)
    if form == _NC:
        s_rel = (float(c) * s0 - float(ra) * _tsum(th, tl, 1, o, lo, hi)) / float(a)
    elif form == _C:
        s_rel = (float(c) * s0 - float(A - ra) * _tsum(th, tl, 2, o, lo, hi)) / float(a)
    else:
        s_rel = float(L) * s0 / float(a) - fn
    return sign * s_e, s_sq, s_rel


@njit(parallel=True, cache=True)
def _mbm_rows(n, signed, code, p, with_c, L, saturate, th, tl, off, out):
    """Row statistics of every outer magnitude ``a`` (``out[a]``) of MBM (``with_c``) or Mitchell's product."""
    max_mag = (np.int64(1) << (n - 1)) if signed else (np.int64(1) << n) - 1
    n_nonzero = (np.int64(1) << n) - 1  # inner operands with b != 0 (signed or not)
    for a in prange(1, max_mag + 1):
        ka = leading_one(a)
        A = np.int64(1) << ka
        ra = a - A
        ea = dispatch.encode(code, a, p)
        ext = np.array([0.0, np.inf, -np.inf])
        n_err = np.int64(0)
        s_abs = np.int64(0)
        s_sq = 0.0
        s_rel = 0.0
        s_absrel = 0.0
        bounds = np.empty(6, np.int64)
        forms = np.empty(5, np.int64)
        signs = np.empty(5, np.int64)
        for kb in range(n):
            B = np.int64(1) << kb
            nrb, w = _inner_block(signed, n, kb)
            c = np.int64(0)
            if with_c:
                sh = ka + kb - MBM_C_SHIFT
                c = (np.int64(MBM_C_NUM) << sh) if sh >= 0 else (np.int64(MBM_C_NUM) >> -sh)
            t_carry = ((A - ra) * B + A - 1) // A  # carry iff rb >= t_carry
            t = min(t_carry, nrb)
            # sign changes: no carry e = c - ra*rb >= 0 iff rb <= c // ra; carry e < 0 iff B - rb > c // (A - ra)
            p_nc = t if ra == 0 else min(t, c // ra + 1)
            q_c = min(max(B - c // (A - ra), t), nrb)
            # saturation: approx + c > L from rb = s on (approx is non-decreasing in rb)
            s = nrb
            if saturate and _approx_mul(A, ra, B, nrb - 1, t_carry) + c > L:
                lo_s = np.int64(0)
                hi_s = nrb - 1
                while lo_s < hi_s:
                    mid = (lo_s + hi_s) // 2
                    if _approx_mul(A, ra, B, mid, t_carry) + c > L:
                        hi_s = mid
                    else:
                        lo_s = mid + 1
                s = lo_s
            # zero errors (never saturated: approx + c = a*b <= L)
            zeros = np.int64(0)
            if ra == 0:
                if c == 0:
                    zeros += min(t, s)
            elif c % ra == 0 and c // ra < min(t, s):
                zeros += 1
            if c % (A - ra) == 0:
                v = c // (A - ra)
                if v >= 1 and t <= B - v < min(nrb, s):
                    zeros += 1
            n_err += w * (nrb - zeros)
            # runs of one form and sign, cut at the saturation point
            bounds[0] = 0
            bounds[1] = p_nc
            bounds[2] = t
            bounds[3] = q_c
            bounds[4] = nrb
            forms[0] = _NC
            forms[1] = _NC
            forms[2] = _C
            forms[3] = _C
            signs[0] = 1
            signs[1] = -1
            signs[2] = -1
            signs[3] = 1
            o = off[kb]
            for r in range(4):
                lo = bounds[r]
                hi = bounds[r + 1]
                if lo >= hi:
                    continue
                for part in range(2):
                    if part == 0:
                        plo, phi, form, sg = lo, min(hi, s), forms[r], signs[r]
                    else:
                        plo, phi, form, sg = max(lo, s), hi, _SAT, np.int64(1)
                    if plo >= phi:
                        continue
                    sa, sq, sr = _run_sums(form, plo, phi, a, A, ra, B, c, L, sg, th, tl, o)
                    s_abs += w * sa
                    s_sq += w * sq
                    s_rel += w * sr
                    s_absrel += w * sg * sr
                    _candidate(code, False, ea, a, B + plo, p, ext)
                    _candidate(code, False, ea, a, B + phi - 1, p, ext)
        _finish_row(out, a, n_err, s_abs, s_sq, s_rel, s_absrel, n_nonzero, ext, float(a) * float(max_mag))


# ----------------------------------------------------------------------------- ILM


@njit(inline="always", cache=True)
def _ilm_residual(x, drops):
    """``x`` with its top ``drops`` set bits cleared (ILM's error is ``R(a) * R(b)``)."""
    for _ in range(drops):
        if x == 0:
            break
        x -= np.int64(1) << leading_one(x)
    return x


@njit(parallel=True, cache=True)
def _ilm_rows(n, signed, code, p, drops, out):
    """Row statistics of ILM: ``e(a, b) = -R(a) * R(b)``, every row a multiple of totals over ``b``."""
    max_mag = (np.int64(1) << (n - 1)) if signed else (np.int64(1) << n) - 1
    n_nonzero = (np.int64(1) << n) - 1
    # inner totals (weighted over the domain): sum R, sum R**2, sum R/b, count R != 0, argmax/argmin R/b
    s_r = np.int64(0)
    s_r2 = 0.0
    h = 0.0
    lo = 0.0
    nz = np.int64(0)
    best_u = -1.0
    worst_u = np.inf
    b_max = np.int64(1)
    b_min = np.int64(1)
    for b in range(1, max_mag + 1):
        w = 1 if (signed and b == max_mag) else (2 if signed else 1)
        r = _ilm_residual(b, drops)
        s_r += w * r
        s_r2 += w * float(r) * float(r)
        h, lo = _two_sum(h, lo, w * (r / b))
        if r != 0:
            nz += w
        u = r / b  # compared only to pick the pairs evaluated exactly below (ties: any maximizer)
        if u > best_u:
            best_u = u
            b_max = b
        if u < worst_u:
            worst_u = u
            b_min = b
    s_u = h + lo
    r_max = np.int64(0)
    for b in range(1, max_mag + 1):
        r_max = max(r_max, _ilm_residual(b, drops))
    for a in prange(1, max_mag + 1):
        ra = _ilm_residual(a, drops)
        ea = dispatch.encode(code, a, p)
        ext = np.array([float(ra * r_max), np.inf, -np.inf])
        _candidate(code, False, ea, a, b_max, p, ext)
        _candidate(code, False, ea, a, b_min, p, ext)
        fr = float(ra)
        s_absrel = (fr / a) * s_u
        _finish_row(
            out,
            a,
            nz if ra != 0 else 0,
            ra * s_r,
            fr * fr * s_r2,
            -s_absrel,
            s_absrel,
            n_nonzero,
            ext,
            float(a) * float(max_mag),
        )


# ----------------------------------------------------------------------------- Mitchell divider


@njit(inline="always", cache=True)
def _div_vertex_candidates(code, ea, a, B, p, ext, lo, hi, x_err, x_rel):
    """Evaluate the ends of ``rb`` in ``[lo, hi)`` and the integers around the vertices ``x_err``, ``x_rel``."""
    _candidate(code, True, ea, a, B + lo, p, ext)
    _candidate(code, True, ea, a, B + hi - 1, p, ext)
    for x in (x_err, x_rel):
        base = np.int64(np.floor(x))
        for dx in range(-1, 3):
            rb = base + dx
            if lo <= rb < hi:
                _candidate(code, True, ea, a, B + rb, p, ext)


@njit(parallel=True, cache=True)
def _div_rows(n, signed, code, p, tab, off, out):
    """Row statistics of Mitchell's divider (dividend magnitude ``a``, every non-zero divisor)."""
    max_mag = (np.int64(1) << (n - 1)) if signed else (np.int64(1) << n) - 1
    n_nonzero = (np.int64(1) << n) - 1
    for a in prange(1, max_mag + 1):
        ka = leading_one(a)
        A = np.int64(1) << ka
        ra = a - A
        fa = float(a)
        fA = float(A)
        ea = dispatch.encode(code, a, p)
        ext = np.array([0.0, np.inf, -np.inf])
        n_err = np.int64(0)
        s_abs = 0.0
        s_sq = 0.0
        s_rel = 0.0
        for kb in range(n):
            B = np.int64(1) << kb
            nrb, w = _inner_block(signed, n, kb)
            fB = float(B)
            o = off[kb]
            K = ra * B  # no borrow iff rb * A <= K
            t = K // A + 1
            T = min(t, nrb)
            zeros = np.int64(1)  # rb = 0: b a power of two
            if K % A == 0 and 0 < K // A < nrb:
                zeros += 1  # fa == fb
            n_err += w * (nrb - zeros)
            fK = float(K)
            inv_b2 = 1.0 / (fB * fB)
            # no borrow, rb in [0, T): err = rb*(K - A*rb)/(B**2 b), rel = rb*(K - A*rb)/(B**2 a)
            e1 = (fK * tab[0, o + T] - fA * tab[1, o + T]) * inv_b2
            e2 = (fK * fK * tab[2, o + T] - 2.0 * fK * fA * tab[3, o + T] + fA * fA * tab[4, o + T]) * inv_b2 * inv_b2
            fT = float(T)
            f1 = fT * (fT - 1.0) / 2.0
            f2 = (fT - 1.0) * fT * (2.0 * fT - 1.0) / 6.0
            r1 = (fK * f1 - fA * f2) * inv_b2 / fa
            s_abs += w * e1
            s_sq += w * e2
            s_rel += w * r1
            phi = fK / fA
            _div_vertex_candidates(
                code, ea, a, B, p, ext, np.int64(0), T, -fB + np.sqrt(fB * (fB + phi)), phi / 2.0
            )
            # borrow, rb in [t, B), v = B - rb in [1, V]: err = v*(K' - A*v)/(2 B**2 b), rel = v*(K' - A*v)/(2 B**2 a)
            if nrb == B and t < B:
                V = B - t
                fK2 = float((A - ra) * B)
                e1 = (fK2 * tab[5, o + V] - fA * tab[6, o + V]) * inv_b2 / 2.0
                e2 = (
                    (fK2 * fK2 * tab[7, o + V] - 2.0 * fK2 * fA * tab[8, o + V] + fA * fA * tab[9, o + V])
                    * inv_b2
                    * inv_b2
                    / 4.0
                )
                fV = float(V)
                g1 = fV * (fV + 1.0) / 2.0
                g2 = fV * (fV + 1.0) * (2.0 * fV + 1.0) / 6.0
                r1 = (fK2 * g1 - fA * g2) * inv_b2 / (2.0 * fa)
                s_abs += w * e1
                s_sq += w * e2
                s_rel += w * r1
                # vertices in rb: err at -B + sqrt(2B(B + phi)), rel at (phi + B)/2
                _div_vertex_candidates(
                    code, ea, a, B, p, ext, t, B, -fB + np.sqrt(2.0 * fB * (fB + phi)), (phi + fB) / 2.0
                )
        _finish_row(out, a, n_err, s_abs, s_sq, s_rel, s_rel, n_nonzero, ext, fa)


# ----------------------------------------------------------------------------- driver


def rows_supported(unit, op: str = "mul") -> bool:
    """True where :func:`rows_error_metrics` applies: MBM, ILM and untruncated Mitchell products,
    Mitchell's untruncated divider with an exact quotient."""
    if not isinstance(unit, IntUnit) or unit.width > ROWS_MAX_WIDTH:
        return False
    if op == "mul":
        if isinstance(unit, (MBM, Mitchell)):
            return unit.kept_frac_bits == unit.width - 1
        return isinstance(unit, ILM)
    if op == "div" and isinstance(unit, Mitchell):
        return (
            unit.width <= DIV_ROWS_MAX_WIDTH
            and unit.kept_frac_bits == unit.width - 1
            and unit.quotient_frac_bits >= 2 * unit.width - 1
        )
    return False


def _row_table(unit, op: str) -> np.ndarray:
    """Statistics of every outer magnitude ``0 .. max`` (row ``m``), as the brute force's rows."""
    n, signed = unit.width, unit.signed
    max_mag = (1 << (n - 1)) if signed else (1 << n) - 1
    out = _init_stats(max_mag + 1)
    code = dispatch.op_code(unit, op)
    p = unit_params(unit, op)
    if op == "div":
        tab, off = _cached_div_tables(n)
        _div_rows(n, signed, code, p, tab, off, out)
    elif isinstance(unit, ILM):
        _ilm_rows(n, signed, code, p, unit.corrections + 1, out)
    else:
        th, tl, off = _cached_mul_tables(n)
        limit = (1 << int(p[3])) - 1
        saturate = isinstance(unit, MBM) and limit < (1 << 62)
        _mbm_rows(n, signed, code, p, isinstance(unit, MBM), min(limit, (1 << 62)), saturate, th, tl, off, out)
    return out


def _pin_worst_pairs(code, op_div, avals, bvals, p, st) -> None:
    """Sweep the first rows reaching the maxima with the brute-force kernel; set their worst columns."""
    row = np.empty((1, _NCOLS))
    r_abs = int(np.argmax(st[:, _MAX_ABS]))
    row_wcre = np.maximum(-st[:, _REL_MIN], st[:, _REL_MAX])
    r_rel = int(np.argmax(row_wcre))
    for r in sorted({r_abs, r_rel}):
        row[:] = _init_stats(1)
        _sweep_grid(code, op_div, avals[r : r + 1], bvals, p, row)
        for col in (_MAX_ABS, _REL_MIN, _REL_MAX):
            if row[0, col] != st[r, col]:  # the closed forms and the brute force disagree: a bug, never a figure
                raise AssertionError(f"row {avals[r]}: column {col} {st[r, col]!r} != brute force {row[0, col]!r}")
        st[r, _ARG_ABS] = row[0, _ARG_ABS]
        st[r, _ARG_REL] = row[0, _ARG_REL]


_WARM: set = set()


def _warm_up(unit, op: str) -> None:
    """Compile the kernels outside the timed region (on a 4-bit twin of the unit)."""
    key = (type(unit), op, unit.signed)
    if key in _WARM:
        return
    params = unit.params()
    params["width"] = 4
    if "frac_bits" in params:
        params["frac_bits"] = None
    if "quotient_frac" in params:
        params["quotient_frac"] = None
    tiny = type(unit)(**params)
    _summarize_rows(tiny, op, 0.0)
    _WARM.add(key)


def _summarize_rows(unit, op: str, t0: float | None) -> ErrorMetrics:
    op_div = op == "div"
    code = dispatch.op_code(unit, op)
    p = unit_params(unit, op)
    avals = _domain(unit)
    bvals = _domain(unit, divisor=op_div)
    start = time.perf_counter() if t0 is None else t0
    st = _row_table(unit, op)[np.abs(avals)]
    _pin_worst_pairs(code, op_div, avals, bvals, p, st)
    seconds = time.perf_counter() - start

    def pair_of(row: int, col: int) -> tuple:
        return (int(avals[row]), int(bvals[col]))

    return _summarize(unit, op, st, avals.size * bvals.size, True, seconds, pair_of, None)


def rows_error_metrics(unit, op: str = "mul") -> ErrorMetrics:
    """Exhaustive metrics of ``unit`` for ``op``, equal to the brute-force sweep (see the module docstring).

    Applies where :func:`rows_supported` holds (MBM and ILM products up to 20
    bits, Mitchell's divider up to 16 bits without truncation); ``seconds``
    excludes JIT compilation.
    """
    if not rows_supported(unit, op):
        raise SpecError(f"no closed-form row engine for {getattr(unit, 'describe', lambda: unit)()} {op}")
    _warm_up(unit, op)
    return _summarize_rows(unit, op, None)
