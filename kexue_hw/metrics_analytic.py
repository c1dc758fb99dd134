"""Exact exhaustive error metrics of Mitchell's multiplier without visiting every operand pair.

:func:`analytic_error_metrics` returns the same :class:`~kexue_hw.metrics.ErrorMetrics`
as ``error_metrics(unit, "mul", exhaustive=True)`` for a :class:`~kexue_hw.spec.Mitchell`
unit of any width 2..32 (signed or unsigned, with or without ``frac_bits``
truncation), in time linear in the number of operand *values* instead of pairs:
about ``4 * 2**N`` cheap steps instead of ``4**N`` pair evaluations.

Derivation
----------
Write a magnitude ``a = 2**ka + ra`` and its truncated remainder ``ra' = ra - da``
(``da = ra mod 2**(ka-T)`` the dropped bits, 0 without truncation), ``A' = 2**ka + ra'``
and ``ua' = 2**ka - ra'``; likewise for ``b``. Mitchell's product carries iff
``ra'*2**kb + rb'*2**ka >= 2**(ka+kb)``, a condition on the kept bits only. With
``ka <= kb`` it reads ``rb >= t(ra') = 2**kb - ra'*2**(kb-ka)``, and ``t`` is a multiple
of the truncation step of ``b``, so it is a threshold on ``rb`` itself. The error is
never positive and splits into non-negative separable terms::

    no carry:  exact - approx = ra'*rb' + A'*db + da*b
    carry:     exact - approx = ua'*ub' + A'*db + da*b

(without truncation: ``ra*rb`` and ``(2**ka - ra)(2**kb - rb)``, Mitchell's terms).
Squares are sums of six products ``f(a) * g(b)``; relative errors divide the ``a``
terms by ``a`` and the ``b`` terms by ``b``. For a fixed exponent pair
``ka <= kb`` every outer value ``a`` therefore needs, from the inner operand,
only prefix sums (``rb < t``) and suffix sums (``rb >= t``) of a dozen functions
of ``b``. The thresholds of all ``ka <= kb`` are multiples of ``2**(kb-ka)``, so
one ascending pass over the ``2**kb`` inner values (prefix sums, no-carry part)
and one descending pass (suffix sums, carry part) serve every outer exponent
at once: the outer values of level ``kb - ka`` sit at every ``2**(kb-ka)``-th
inner position, each processed in O(1). With truncation a dozen prefix/suffix
sums are streamed. Without truncation the sums of ``|e|`` and ``e**2`` are
polynomial in ``ra`` per exponent pair (Faulhaber sums, exact integers) and only
``sum rb/b`` (ascending) and ``sum (2**kb - rb)/b`` (descending) are streamed.

Extremes come from monotonicity: for fixed ``a`` the absolute error grows with
``b`` up to the threshold and is largest at the end of the first carry group
after it (a group: the ``b`` sharing ``rb'``); the relative error is largest at
``t - 1``, at the end of the first group, or at the end of the first carry group.
With truncation these three candidates per outer value are evaluated bit-exactly;
without it ``|e|`` is a concave quadratic in ``ra`` on each side of the threshold
(vertex, exact integers, every maximizer kept) and the relative error is
largest at ``rb = t - 1`` or ``t`` for ``ra`` next to ``2**ka / 2`` (along the
threshold ``|rel| = x(1-x)/((1+x)(2-x))``, ``x = ra/2**ka``): those candidates
are evaluated as the brute force evaluates a pair. Ties go to the pair the
brute-force sweep meets first (``a`` then ``b`` ascending over the values; the
error is symmetric, so a magnitude pair first appears as ``(min, max)``, or
``(-max, -min)`` when signed).

Signed units are sign-magnitude inside: magnitudes ``1 .. 2**(N-1) - 1`` occur
twice (pair weight 4), ``2**(N-1)`` once (its pairs are added as one direct row).
Pairs with a zero operand are exact. Pairs with ``ka > kb`` mirror ``ka < kb``.

Precision
---------
``ep`` is an exact integer count (closed form: a pair is exact iff no bits are
dropped and one remainder is zero). ``wce`` and the worst pairs are exact
integers. Without truncation ``mae``, ``mse`` and ``nmed`` come from exact
integer sums (correctly rounded); ``mre``/``bias``
are sums of non-negative terms (no cancellation), each term within a few ulps,
accumulated per 4096-value block (vectorized) and then with TwoSum
compensation and ``math.fsum``: relative error ~1e-15 (measured 2e-16 against
``math.fsum`` of every pair's error at 12-13 bits). With truncation every sum is
such a compensated float64 sum of non-negative terms (~1e-15). ``wcre`` is
``float(|e|) / float(a*b)`` maximized over the candidates, as the brute force
computes it (exact when the products fit 53 bits, i.e. up to 26 bits). Every
error is ``<= 0``, so ``bias = -mre``, ``rel_min = -wcre`` and ``rel_max = 0``
(reached by the exact pairs, which always exist: ``a = 1``).
"""

from __future__ import annotations

import math
import time
from fractions import Fraction

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange
from numba.extending import intrinsic

from .arith.reference import mitchell_mul
from .metrics_core import ErrorMetrics, progress_bar
from .spec import Mitchell, SpecError

__all__ = ["analytic_error_metrics"]

U64 = np.uint64

# task kinds
_ASC, _DESC, _EXT = 0, 1, 2
# per-task outputs: compensated sums (hi, lo) of |e|, e**2, |rel| (ordered pairs, unweighted)
_NSUM = 6


@njit(inline="always", cache=True)
def _add(s, c, x):
    """TwoSum: ``s + c`` accumulates ``x`` with the rounding error kept in ``c``."""
    t = s + x
    z = t - s
    c += (s - (t - z)) + (x - z)
    return t, c


@intrinsic
def _cttz(typingctx, x):
    """LLVM ``cttz``: trailing zero bits of an integer."""

    def codegen(context, builder, sig, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return x(x), codegen


@njit(inline="always", cache=True)
def _ctz(j, cap):
    """Trailing zero bits of ``j > 0``, at most ``cap``."""
    return min(_cttz(j), cap)


@njit(inline="always", cache=True)
def _step(k, T):
    return np.int64(1) << (k - T) if k > T else np.int64(1)


@njit(inline="always", cache=True)
def _abs_err(ka, rap, a, kb, rbp, b):
    """``(exact - approx, exact)`` of Mitchell's product (uint64), given the kept remainders."""
    rem = (U64(rap) << U64(kb)) + (U64(rbp) << U64(ka))
    base = U64(1) << U64(ka + kb)
    approx = base + rem if rem < base else rem + rem
    ex = U64(a) * U64(b)
    return ex - approx, ex


# ----------------------------------------------------------------------------- no truncation
# Without truncation the sums of |e| and e**2 and the extremes have closed forms (exact integers,
# see _closed_forms); only the relative sums are streamed: sum_{rb<t} rb/b (ascending) and
# sum_{rb>=t} (2**kb - rb)/b (descending), buffered per block and consumed level by level
# (level sh = kb - ka: thresholds at every multiple of 2**sh).

_BLOCK = 4096


@njit(cache=True, fastmath={"reassoc", "nsz"})
def _level_sum(buf, first_i, stride, count, ra0, A, carry):
    """sum over k < count of f(ra0 - k) * buf[first_i + k*stride]; f = ra/a, or (A - ra)/a for carry."""
    s = 0.0
    fA = float(A)
    fr0 = float(ra0)
    for k in range(count):
        ra = fr0 - k
        num = fA - ra if carry else ra
        s += num / (fA + ra) * buf[first_i + k * stride]
    return s


@njit(cache=True)
def _asc_full(kb):
    """sum over ka <= kb, outer ra, of (ra/a) * sum_{rb < t} rb/b (no-carry relative errors; x2 for ka < kb)."""
    X = np.int64(1) << kb
    terms = np.empty(_BLOCK)
    pref = np.empty(_BLOCK)  # pref[i] = sum_{rb <= c0 + i} = P(j = c0 + i + 1)
    ph = 0.0
    pl = 0.0
    acc_h = 0.0
    acc_l = 0.0
    for c0 in range(0, X, _BLOCK):
        n = min(_BLOCK, X - c0)
        for i in range(n):
            rb = c0 + i
            terms[i] = rb / (X + rb)
        for i in range(n):
            ph, pl = _add(ph, pl, terms[i])
            pref[i] = ph + pl
        # events j in (c0, c0 + n], j a multiple of g = 2**sh: outer ra = (X - j) >> sh, ka = kb - sh
        blk = 0.0
        for sh in range(kb + 1):
            g = np.int64(1) << sh
            first = (c0 // g + 1) * g
            if first > c0 + n:
                continue
            count = (c0 + n - first) // g + 1
            part = _level_sum(pref, first - c0 - 1, g, count, (X - first) >> sh, np.int64(1) << (kb - sh), False)
            blk += part if sh == 0 else 2.0 * part
        acc_h, acc_l = _add(acc_h, acc_l, blk)
    return acc_h, acc_l


@njit(cache=True)
def _desc_full(kb):
    """sum over ka <= kb, outer ra, of ((2**ka - ra)/a) * sum_{rb >= t} (2**kb - rb)/b (carry relative errors)."""
    X = np.int64(1) << kb
    terms = np.empty(_BLOCK)
    suf = np.empty(_BLOCK)  # suf[i] = sum_{rb >= c0 + i} = Q(j = c0 + i)
    qh = 0.0
    ql = 0.0
    acc_h = 0.0
    acc_l = 0.0
    nblocks = (X + _BLOCK - 1) // _BLOCK
    for cb in range(nblocks - 1, -1, -1):
        c0 = cb * _BLOCK
        n = min(_BLOCK, X - c0)
        for i in range(n):
            rb = c0 + i
            terms[i] = (X - rb) / (X + rb)
        for i in range(n - 1, -1, -1):
            qh, ql = _add(qh, ql, terms[i])
            suf[i] = qh + ql
        # events j in [c0, c0 + n), j >= 1 a multiple of 2**sh (j = X - ra * 2**sh, ra >= 1)
        blk = 0.0
        for sh in range(kb + 1):
            g = np.int64(1) << sh
            first = ((c0 + g - 1) // g) * g
            if first == 0:
                first = g
            if first >= c0 + n:
                continue
            count = (c0 + n - 1 - first) // g + 1
            part = _level_sum(suf, first - c0, g, count, (X - first) >> sh, np.int64(1) << (kb - sh), True)
            blk += part if sh == 0 else 2.0 * part
        acc_h, acc_l = _add(acc_h, acc_l, blk)
    return acc_h, acc_l


# ----------------------------------------------------------------------------- truncation


@njit(cache=True)
def _stream_trunc(kb, T, carry):
    """Sums with truncation to ``T`` fraction bits (12 streamed sums): no-carry part by ascending prefix
    sums over ``rb`` (``carry=False``), carry part by descending suffix sums (``carry=True``)."""
    X = np.int64(1) << kb
    sb = _step(kb, T)
    H = np.zeros(11)
    L = np.zeros(11)
    v = np.empty(11)
    P = np.empty(11)
    acc = np.zeros(6)  # (hi, lo) of sum |e|, sum e**2, sum |rel|
    start, stop, step = (X - 1, 0, -1) if carry else (0, X, 1)
    for rb in range(start, stop, step):
        b = X + rb
        db = rb & (sb - 1)
        fr = float(X - (rb - db)) if carry else float(rb - db)  # the term of b: rb' (no carry), 2**kb - rb' (carry)
        fd = float(db)
        fb = float(b)
        v[0] = fr
        v[1] = fd
        v[2] = fb
        v[3] = fr * fr
        v[4] = fd * fd
        v[5] = fb * fb
        v[6] = fr * fd
        v[7] = fr * fb
        v[8] = fd * fb
        v[9] = fr / fb
        v[10] = fd / fb
        for i in range(11):
            H[i], L[i] = _add(H[i], L[i], v[i])
        j = rb if carry else rb + 1  # the threshold these sums end at
        if j & (sb - 1):
            continue  # every threshold is a multiple of the inner truncation step
        for i in range(11):
            P[i] = H[i] + L[i]
        tz = _ctz(j, kb)
        for ka in range(kb - tz, kb + 1):
            sh = kb - ka
            rap = (X - j) >> sh
            sa = _step(ka, T)
            if rap & (sa - 1):
                continue
            Ap = (np.int64(1) << ka) + rap
            fac = 1.0 if sh == 0 else 2.0
            f0 = float((np.int64(1) << ka) - rap) if carry else float(rap)
            f1 = float(Ap)
            fj = float(X - j) if carry else float(j)
            for da in range(sa):
                f2 = float(da)
                a = Ap + da
                ab = f0 * P[0] + f1 * P[1] + f2 * P[2]
                sq = (
                    f0 * f0 * P[3]
                    + f1 * f1 * P[4]
                    + f2 * f2 * P[5]
                    + 2.0 * (f0 * f1 * P[6] + f0 * f2 * P[7] + f1 * f2 * P[8])
                )
                rel = (f0 * P[9] + f1 * P[10] + f2 * fj) / a
                acc[0], acc[1] = _add(acc[0], acc[1], fac * ab)
                acc[2], acc[3] = _add(acc[2], acc[3], fac * sq)
                acc[4], acc[5] = _add(acc[4], acc[5], fac * rel)
    return acc


# ----------------------------------------------------------------------------- extremes


@njit(inline="always", cache=True)
def _earlier(a, b, a0, b0, signed):
    """Whether the magnitude pair ``(a, b)`` (or its mirror) comes before ``(a0, b0)`` in the brute force's sweep.

    The sweep runs ``a`` then ``b`` ascending over the values; the error is symmetric, so a
    pair's first appearance is ``(min, max)`` unsigned and ``(-max, -min)`` signed.
    """
    lo, hi = min(a, b), max(a, b)
    lo0, hi0 = min(a0, b0), max(a0, b0)
    if signed:
        return hi > hi0 or (hi == hi0 and lo > lo0)
    return lo < lo0 or (lo == lo0 and hi < hi0)


@njit(cache=True)
def _extremes(kb, T, signed, ext_pair):
    """Largest ``|e|`` and ``|e|/(a*b)`` over ``ka <= kb``: three candidate ``b`` per outer ``a``.

    Ties go to the pair that comes first in the brute force's sweep (:func:`_earlier`).
    """
    X = np.int64(1) << kb
    sb = _step(kb, T)
    best_abs = U64(0)
    best_rel = -1.0
    for ka in range(kb + 1):
        sa = _step(ka, T)
        sh = kb - ka
        for rap in range(0, np.int64(1) << ka, sa):
            t = X - (rap << sh)  # no carry iff rb < t
            Ap = (np.int64(1) << ka) + rap
            for da in range(sa):
                a = Ap + da
                for c in range(3):
                    if c == 0:
                        if sb == 1:
                            continue  # first group end = rb 0: exact
                        rb = sb - 1
                    elif c == 1:
                        rb = t - 1
                    else:
                        if t >= X:
                            continue
                        rb = min(t + sb, X) - 1
                    b = X + rb
                    e, ex = _abs_err(ka, rap, a, kb, rb & ~(sb - 1), b)
                    if e > best_abs or (e == best_abs and e > 0 and _earlier(a, b, ext_pair[0], ext_pair[1], signed)):
                        best_abs = e
                        ext_pair[0] = a
                        ext_pair[1] = b
                    r = float(e) / float(ex)
                    if r > best_rel or (r == best_rel and _earlier(a, b, ext_pair[2], ext_pair[3], signed)):
                        best_rel = r
                        ext_pair[2] = a
                        ext_pair[3] = b
    return best_abs, best_rel


@njit(parallel=True, cache=True)
def _run(kbs, kinds, T, trunc, signed, sums, ext_abs, ext_rel, ext_pair):
    for i in prange(kbs.size):
        kb = kbs[i]
        kind = kinds[i]
        if kind == 2:
            ea, er = _extremes(kb, T, signed, ext_pair[i])
            ext_abs[i] = ea
            ext_rel[i] = er
        elif trunc:
            r = _stream_trunc(kb, T, kind == _DESC)
            for c in range(_NSUM):
                sums[i, c] = r[c]
        else:  # relative sums only; |e| and e**2 have closed forms
            h, lo = _asc_full(kb) if kind == 0 else _desc_full(kb)
            sums[i, 4] = h
            sums[i, 5] = lo


@njit(parallel=True, cache=True)
def _top_row(K, T, chunk, sums, ext_abs, ext_rel, ext_pair):
    """Signed units: every main magnitude ``a < 2**K`` against the lone magnitude ``M = 2**K``.

    Ties go to the larger ``a`` (the sweep meets ``(-M, -a)`` first for the largest ``a``).
    """
    M = np.int64(1) << K
    for c in prange(sums.shape[0]):
        ah = al = qh = ql = rh = rl = 0.0
        best_abs = U64(0)
        best_rel = -1.0
        for a in range(max(1, c * chunk), min(M, (c + 1) * chunk)):
            ka = 0
            while (a >> (ka + 1)) != 0:
                ka += 1
            ra = a - (np.int64(1) << ka)
            sa = _step(ka, T)
            rap = ra & ~(sa - 1)
            e, ex = _abs_err(ka, rap, a, K, 0, M)
            fe = float(e)
            r = fe / float(ex)
            ah, al = _add(ah, al, fe)
            qh, ql = _add(qh, ql, fe * fe)
            rh, rl = _add(rh, rl, r)
            if e >= best_abs and e > 0:
                best_abs = e
                ext_pair[c, 0] = a
                ext_pair[c, 1] = M
            if r >= best_rel:
                best_rel = r
                ext_pair[c, 2] = a
                ext_pair[c, 3] = M
        sums[c, 0] = ah
        sums[c, 1] = al
        sums[c, 2] = qh
        sums[c, 3] = ql
        sums[c, 4] = rh
        sums[c, 5] = rl
        ext_abs[c] = best_abs
        ext_rel[c] = best_rel


# ----------------------------------------------------------------------------- closed forms

def _power_sums(m: int) -> tuple[int, ...]:
    """sum_{i=0}^{m-1} i**p for p = 0..5 (Faulhaber, exact integers)."""
    n = m - 1
    s1 = n * (n + 1) // 2
    s2 = n * (n + 1) * (2 * n + 1) // 6
    s4 = n * (n + 1) * (2 * n + 1) * (3 * n * n + 3 * n - 1) // 30
    s5 = n * n * (n + 1) * (n + 1) * (2 * n * n + 2 * n - 1) // 12
    return (m, s1, s2, s1 * s1, s4, s5)


def _pmul(*polys):
    """Product of integer polynomials (coefficient lists, lowest degree first)."""
    out = [1]
    for q in polys:
        r = [0] * (len(out) + len(q) - 1)
        for i, x in enumerate(out):
            for j, y in enumerate(q):
                r[i + j] += x * y
        out = r
    return out


def _psum(poly, sums, div: int) -> int:
    """sum_{x=0}^{m-1} poly(x) / div, exactly (``sums`` = _power_sums(m); the division is exact)."""
    total = sum(c * sums[p] for p, c in enumerate(poly))
    q, r = divmod(total, div)
    assert r == 0
    return q


def _closed_forms(K: int):
    """Untruncated main block (magnitudes 1 .. 2**K - 1, each once): exact sum |e|, sum e**2 and the extremes.

    For ``ka <= kb``, ``g = 2**(kb-ka)``, outer ``ra`` has threshold ``t = X - g*ra`` (``X = 2**kb``):
    no carry ``sum_{rb<t} ra*rb``, carry ``sum_{rb>=t} (A - ra)(X - rb)`` with ``n = X - t = g*ra``.
    """
    s_abs = s_sq = 0
    best, best_pairs = 0, []  # largest |e| and every magnitude pair (ka <= kb) reaching it
    for kb in range(K):
        X = 1 << kb
        for ka in range(kb + 1):
            A, g = 1 << ka, 1 << (kb - ka)
            ps = _power_sums(A)
            ra, ua = [0, 1], [A, -1]
            t, tm1, t2 = [X, -g], [X - 1, -g], [2 * X - 1, -2 * g]
            n, n1, n2 = [0, g], [1, g], [1, 2 * g]
            nab = _psum(_pmul(ra, t, tm1), ps, 2) + _psum(_pmul(ua, n, n1), ps, 2)
            nsq = _psum(_pmul(ra, ra, tm1, t, t2), ps, 6) + _psum(_pmul(ua, ua, n, n1, n2), ps, 6)
            f = 1 if ka == kb else 2
            s_abs += f * nab
            s_sq += f * nsq
            # extremes: no carry ra*(X - 1 - g*ra) at rb = t - 1; carry (A - ra)*ra*g at rb = t (ra >= 1)
            v = (X - 1) // (2 * g)
            no_carry = {min(max(x, 0), A - 1) for x in (v, v + 1)}
            carry = {min(max(x, 1), A - 1) for x in (A // 2, A // 2 + 1)} if A > 1 else set()
            cands = [(r * (X - 1 - g * r), A + r, 2 * X - g * r - 1) for r in no_carry]
            cands += [((A - r) * r * g, A + r, 2 * X - g * r) for r in carry]
            for e, a, b in cands:
                if e > best:
                    best, best_pairs = e, []
                if e == best:
                    best_pairs.append((a, b))
    return s_abs, s_sq, best, best_pairs


def _rel_candidates(K: int) -> list[tuple[int, int]]:
    """Untruncated: magnitude pairs (``ka <= kb``) that can reach the largest ``|e|/(a*b)``.

    On a run of fixed ``ra`` the relative error grows with ``rb`` up to the carry threshold ``t``
    and falls after it, so per ``ra`` only ``rb = t - 1`` and ``t`` count; along them it is
    ``x(1-x)/((1+x)(2-x))`` (``x = ra/2**ka``, carry side) or less, largest at ``ra = 2**ka / 2``.
    The neighbours of that ``ra`` are included as well.
    """
    out = []
    for kb in range(1, K):
        X = 1 << kb
        for ka in range(1, kb + 1):
            A, g = 1 << ka, 1 << (kb - ka)
            for ra in {r for r in (A // 2 - 1, A // 2, A // 2 + 1) if 0 <= r < A}:
                t = X - g * ra
                out += [(A + ra, X + rb) for rb in (t - 1, t) if 0 <= rb < X]
    return out


def _alloc(n):
    return np.zeros((n, _NSUM)), np.zeros(n, dtype=np.uint64), np.full(n, -1.0), np.zeros((n, 4), dtype=np.int64)


def _run_tasks(tasks, T, trunc, signed=False):
    kbs = np.array([t[0] for t in tasks], dtype=np.int64)
    kinds = np.array([t[1] for t in tasks], dtype=np.int64)
    out = _alloc(len(tasks))
    with numba.parallel_chunksize(1):  # tasks are uneven: hand them out one at a time
        _run(kbs, kinds, np.int64(T), trunc, signed, *out)
    return out


def _warm_up():
    """Compile every kernel outside the timed region (cached on disk after the first run)."""
    tasks = [(2, k) for k in (_ASC, _DESC, _EXT)]
    _run_tasks(tasks, 0, True)
    _run_tasks(tasks, 2, False)
    _top_row(np.int64(2), np.int64(0), np.int64(2), *_alloc(2))


def _exact_pairs(N: int, signed: bool, T: int) -> tuple[int, int]:
    """(non-zero-operand pairs, exact ones among them), weighted, as Python ints."""
    K = N - 1 if signed else N
    w = 2 if signed else 1
    powers = w * K  # magnitudes with r = 0
    untruncated = w * sum(1 << min(k, T) for k in range(K))  # magnitudes with no dropped bits
    if signed:  # 2**(N-1), once
        powers += 1
        untruncated += 1
    nonzero = (1 << N) - 1
    return nonzero * nonzero, 2 * powers * untruncated - powers * powers


def _first_in_sweep(pairs: list, signed: bool) -> tuple:
    """The pair among magnitude pairs ``pairs`` (and their mirrors) that the brute-force sweep meets first, as values.

    The sweep runs ``a`` then ``b`` ascending over the values: unsigned, the smallest
    ``(min, max)``; signed, ``(-max, -min)`` for the largest magnitudes (negative values first).
    """
    if not pairs:
        return ()
    if signed:
        hi, lo = max((max(p), min(p)) for p in pairs)
        return (-hi, -lo)
    return min((min(p), max(p)) for p in pairs)


def analytic_error_metrics(unit: Mitchell, progress: bool = False) -> ErrorMetrics:
    """Exhaustive multiplication metrics of a Mitchell unit, equal to ``error_metrics(unit, "mul", exhaustive=True)``.

    Any width 2..32, signed or unsigned, any ``frac_bits``. Without truncation:
    two streamed passes of ``2**kb`` steps per exponent (32-bit unsigned: ~2**33
    steps in all), the rest in closed form; with truncation the sums of ``|e|``
    and ``e**2`` and the extremes are streamed as well (several times slower).
    Parallel over (exponent, pass) tasks with Numba. ``seconds`` excludes JIT
    compilation. Worst pairs break ties as the brute force does (the first pair
    of its sweep). Precision: see the module docstring.
    """
    if not isinstance(unit, Mitchell):
        raise SpecError(f"analytic metrics exist for Mitchell units only, got {unit!r}")
    N, signed, T = unit.width, unit.signed, unit.kept_frac_bits
    K = N - 1 if signed else N  # exponents 0..K-1 complete; signed adds the lone magnitude 2**K
    trunc = K - 1 > T  # some main magnitude loses bits
    w2 = 4 if signed else 1  # main magnitudes occur twice when signed
    _warm_up()

    t0 = time.perf_counter()
    kinds = (_ASC, _DESC, _EXT) if trunc else (_ASC, _DESC)
    groups = [[(kb, k) for k in kinds] for kb in range(K - 1, -1, -1)]  # largest first
    if not progress:
        groups = [[t for g in groups for t in g]]
    bar = progress_bar(len(groups), progress and len(groups) > 1, f"{unit.describe()} mul (analytic)")
    parts = []
    try:
        for g in groups:
            parts.append((g, _run_tasks(g, T, trunc, signed)))
            if bar is not None:
                bar.update(bar.task_ids[0], advance=1)
    finally:
        if bar is not None:
            bar.stop()

    acc = {c: [] for c in range(3)}  # float parts of sum |e|, sum e**2, sum |rel|
    best_abs, abs_pairs, best_rel, rel_pairs = 0, [], -1.0, []

    def fold_abs(e, pair):
        nonlocal best_abs, abs_pairs
        if e > best_abs:
            best_abs, abs_pairs = e, []
        if e == best_abs and e > 0:
            abs_pairs.append(pair)

    def fold_rel(r, pair):
        nonlocal best_rel, rel_pairs
        if r > best_rel:
            best_rel, rel_pairs = r, []
        if r == best_rel:
            rel_pairs.append(pair)

    for g, (sums, ext_abs, ext_rel, ext_pair) in parts:
        for i, (_, kind) in enumerate(g):
            if kind == _EXT:
                fold_abs(int(ext_abs[i]), (int(ext_pair[i, 0]), int(ext_pair[i, 1])))
                fold_rel(float(ext_rel[i]), (int(ext_pair[i, 2]), int(ext_pair[i, 3])))
            else:
                for c in range(3) if trunc else (2,):
                    acc[c] += [w2 * sums[i, 2 * c], w2 * sums[i, 2 * c + 1]]
    if trunc:
        sum_abs, sum_sq = math.fsum(acc[0]), math.fsum(acc[1])
    else:  # exact integers; the extremes from the closed-form candidates, evaluated as the brute force does
        s_abs, s_sq, e_max, maximizers = _closed_forms(K)
        sum_abs, sum_sq = Fraction(w2 * s_abs), Fraction(w2 * s_sq)
        for pair in maximizers:
            fold_abs(e_max, pair)
        for a, b in _rel_candidates(K):
            e = a * b - mitchell_mul(a, b)
            fold_rel(float(e) / float(a * b), (a, b))
    if signed and trunc:  # pairs (a, 2**K) and (2**K, a): weight 2 each; (2**K, 2**K) is exact
        M = 1 << K
        chunk = 1 << 16
        out = _alloc(max(1, -(-M // chunk)))
        _top_row(np.int64(K), np.int64(T), np.int64(chunk), *out)
        sums, ext_abs, ext_rel, ext_pair = out
        for c in range(3):
            acc[c] += list(4 * sums[:, 2 * c]) + list(4 * sums[:, 2 * c + 1])
        sum_abs, sum_sq = math.fsum(acc[0]), math.fsum(acc[1])
        for i in range(ext_abs.size):
            fold_abs(int(ext_abs[i]), (int(ext_pair[i, 0]), int(ext_pair[i, 1])))
            fold_rel(float(ext_rel[i]), (int(ext_pair[i, 2]), int(ext_pair[i, 3])))
    sum_rel = math.fsum(acc[2])
    seconds = time.perf_counter() - t0

    pairs = 1 << (2 * N)
    n_rel, n_exact = _exact_pairs(N, signed, T)
    max_mag = unit.max_magnitude
    mae = float(sum_abs / pairs)
    # every error is <= 0 (module docstring): the signed relative error is -|rel|, its largest value is 0
    # exactly when some pair of non-zero operands is exact (always: a = 1), its smallest is -wcre
    assert n_exact > 0
    wcre = max(best_rel, 0.0)
    abs_pair = _first_in_sweep(abs_pairs, signed)  # () when no pair has an error, as the brute force
    if best_rel > 0.0:
        rel_pair = _first_in_sweep(rel_pairs, signed)
    else:  # every relative error is 0: the brute force reports its first pair with non-zero operands
        first = unit.min_value if signed else 1
        rel_pair = (first, first)
    return ErrorMetrics(
        unit=unit.family,
        op="mul",
        width=N,
        signed=signed,
        pairs=pairs,
        exhaustive=True,
        seconds=round(seconds, 4),
        ep=(n_rel - n_exact) / pairs,
        mae=mae,
        mse=float(sum_sq / pairs),
        wce=float(best_abs),
        mre=sum_rel / n_rel,
        wcre=wcre,
        bias=-sum_rel / n_rel,  # the sum of (approx - exact)/exact: each term is -|rel|
        nmed=float(Fraction(sum_abs) / pairs / (max_mag * max_mag)),
        rel_min=-wcre if wcre > 0 else 0.0,
        rel_max=0.0,  # attained by the exact pairs (n_exact > 0)
        worst_abs_pair=abs_pair,
        worst_rel_pair=rel_pair,
        seed=None,
        params=unit.params(),
    )
