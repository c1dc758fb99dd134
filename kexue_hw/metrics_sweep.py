"""The brute-force error sweep: per-row statistics over operand pairs, in parallel Numba loops.

Each row of the statistics array accumulates, for one left operand (or a chunk of sampled pairs),
the count of pairs in error, the sums of |e|, e², the relative errors and their absolute values,
the extremes and their column, and the largest exact result; :func:`_summarize` reduces the rows
(``math.fsum``) into an :class:`~kexue_hw.metrics_core.ErrorMetrics`. Shared by the sweep in
:mod:`kexue_hw.metrics` and the closed-form row engines of :mod:`kexue_hw.metrics_rows`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .arith import dispatch
from .metrics_core import ErrorMetrics
from .spec import IntUnit

# per-row statistics columns
_N_ERR, _SUM_ABS, _SUM_SQ, _MAX_ABS, _ARG_ABS, _SUM_REL, _SUM_ABSREL, _N_REL, _REL_MIN, _REL_MAX, _ARG_REL, _MAX_EXACT = (
    range(12)
)
_NCOLS = 12


@njit(inline="always", cache=True)
def _pair_error(code, op_div, ea, eb, x, y, p):
    """(signed error d, exact magnitude) for operands x, y; d is approx - exact on magnitudes."""
    ma = -x if x < 0 else x
    mb = -y if y < 0 else y
    mag = dispatch.combine(code, ea, eb, ma, mb, p)
    if op_div:
        exact = ma / mb
        return mag / 2.0 ** p[2] - exact, exact
    ex = np.uint64(ma) * np.uint64(mb)
    if mag >= ex:
        return float(mag - ex), float(ex)
    return -float(ex - mag), float(ex)


def _init_stats(rows: int) -> np.ndarray:
    st = np.zeros((rows, _NCOLS))
    st[:, _REL_MIN] = np.inf
    st[:, _REL_MAX] = -np.inf
    st[:, _ARG_ABS] = -1
    st[:, _ARG_REL] = -1
    return st


@njit(parallel=True, cache=True)
def _sweep_grid(code, op_div, avals, bvals, p, st):
    """Row r of ``st`` gets the statistics of ``avals[r]`` against every value of ``bvals``."""
    nb = bvals.size
    enc_b = np.empty(nb, dtype=np.int64)
    for j in range(nb):
        y = bvals[j]
        enc_b[j] = dispatch.encode(code, -y if y < 0 else y, p)
    for r in prange(avals.size):
        x = avals[r]
        ea = dispatch.encode(code, -x if x < 0 else x, p)
        for j in range(nb):
            d, exact = _pair_error(code, op_div, ea, enc_b[j], x, bvals[j], p)
            _row_update(st, r, d, exact, j)


@njit(parallel=True, cache=True)
def _sweep_pairs(code, op_div, avals, bvals, p, st, chunk):
    """Pairs ``(avals[i], bvals[i])``; row ``i // chunk`` of ``st`` accumulates them."""
    for r in prange(st.shape[0]):
        for i in range(r * chunk, min((r + 1) * chunk, avals.size)):
            x = avals[i]
            y = bvals[i]
            ea = dispatch.encode(code, -x if x < 0 else x, p)
            eb = dispatch.encode(code, -y if y < 0 else y, p)
            d, exact = _pair_error(code, op_div, ea, eb, x, y, p)
            _row_update(st, r, d, exact, i)


@njit(inline="always", cache=True)
def _row_update(st, r, d, exact, j):
    """Fold the error ``d`` of pair ``j`` (exact magnitude ``exact``) into row ``r`` of ``st``."""
    if d != 0.0:
        st[r, _N_ERR] += 1.0
    ad = abs(d)
    st[r, _SUM_ABS] += ad
    st[r, _SUM_SQ] += ad * ad
    if ad > st[r, _MAX_ABS]:
        st[r, _MAX_ABS] = ad
        st[r, _ARG_ABS] = j
    if exact != 0.0:
        rel = d / exact
        ar = abs(rel)
        st[r, _SUM_REL] += rel
        st[r, _SUM_ABSREL] += ar
        st[r, _N_REL] += 1.0
        if ar > -st[r, _REL_MIN] and ar > st[r, _REL_MAX]:  # a new worst |relative error| in this row
            st[r, _ARG_REL] = j
        if rel < st[r, _REL_MIN]:
            st[r, _REL_MIN] = rel
        if rel > st[r, _REL_MAX]:
            st[r, _REL_MAX] = rel
    if exact > st[r, _MAX_EXACT]:
        st[r, _MAX_EXACT] = exact


def _domain(unit: IntUnit, divisor: bool = False) -> np.ndarray:
    vals = np.arange(unit.min_value, unit.max_value + 1, dtype=np.int64)
    return vals[vals != 0] if divisor else vals


def _sample(unit: IntUnit, n: int, rng: np.random.Generator, divisor: bool) -> np.ndarray:
    vals = rng.integers(unit.min_value, unit.max_value + 1, size=n, dtype=np.int64)
    if divisor:
        while np.any(vals == 0):
            z = vals == 0
            vals[z] = rng.integers(unit.min_value, unit.max_value + 1, size=int(z.sum()), dtype=np.int64)
    return vals



def _summarize(unit, op, st, pairs, exhaustive, seconds, pair_of, seed) -> ErrorMetrics:
    n_rel = st[:, _N_REL].sum()
    sum_abs = math.fsum(st[:, _SUM_ABS])
    r_abs = int(np.argmax(st[:, _MAX_ABS]))
    rel_min = float(st[:, _REL_MIN].min()) if n_rel else 0.0
    rel_max = float(st[:, _REL_MAX].max()) if n_rel else 0.0
    row_wcre = np.maximum(-st[:, _REL_MIN], st[:, _REL_MAX])
    r_rel = int(np.argmax(row_wcre))
    max_exact = float(st[:, _MAX_EXACT].max())
    mae = sum_abs / pairs
    return ErrorMetrics(
        unit=unit.family,
        op=op,
        width=unit.width,
        signed=bool(getattr(unit, "signed", True)),
        pairs=int(pairs),
        exhaustive=bool(exhaustive),
        seconds=round(seconds, 4),
        ep=float(st[:, _N_ERR].sum() / pairs),
        mae=mae,
        mse=math.fsum(st[:, _SUM_SQ]) / pairs,
        wce=float(st[r_abs, _MAX_ABS]),
        mre=float(math.fsum(st[:, _SUM_ABSREL]) / n_rel) if n_rel else 0.0,
        wcre=max(-rel_min, rel_max, 0.0),
        bias=float(math.fsum(st[:, _SUM_REL]) / n_rel) if n_rel else 0.0,
        nmed=mae / max_exact if max_exact else 0.0,
        rel_min=rel_min,
        rel_max=rel_max,
        worst_abs_pair=pair_of(r_abs, int(st[r_abs, _ARG_ABS])) if st[r_abs, _ARG_ABS] >= 0 else (),
        worst_rel_pair=pair_of(r_rel, int(st[r_rel, _ARG_REL])) if st[r_rel, _ARG_REL] >= 0 else (),
        seed=seed,
        params=unit.params(),
    )
