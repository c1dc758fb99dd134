"""Error metrics of approximate units, with EvoApproxLib's definitions.

Over all operand pairs of the domain (exhaustive for widths <= 16: ``2**32``
pairs at 16 bits) or a seeded uniform sample of them:

========  ===================================================================
``ep``    fraction of pairs whose result differs from the exact one
``mae``   mean ``|approx - exact|``            (output units)
``mse``   mean ``(approx - exact)**2``
``wce``   worst-case ``|approx - exact|``
``mre``   mean ``|approx - exact| / |exact|``  over pairs with ``exact != 0``
``wcre``  worst ``|approx - exact| / |exact|`` over the same pairs
``bias``  mean ``(approx - exact) / exact``    over the same pairs (signed)
``nmed``  ``mae / max |exact|``
========  ===================================================================

Relative figures are fractions (0.0379, not 3.79 %). Multiplication: products in
integer units; division: dividend over the whole domain, divisor non-zero, error
of the fixed-point quotient (as a real number, ``q / 2**Q``) against the exact
real quotient. Sums are accumulated per row in float64, exact for every width
up to 16 bits except the squared sums (relative rounding ~1e-16).
"""

from __future__ import annotations

import math
import time

import numpy as np

from .arith import dispatch, div, mul, round_to_format, unit_params
from .metrics_core import ErrorMetrics, progress_bar
from .metrics_sweep import _domain, _init_stats, _sample, _summarize, _sweep_grid, _sweep_pairs
from .registry import SpecRegistry
from .spec import FloatMitchell, IntUnit, SpecError, Unit

__all__ = ["ErrorMetrics", "error_metrics", "EXHAUSTIVE_MAX_WIDTH", "relative_error_grid", "METRICS"]

#: widths up to this are swept exhaustively by default
EXHAUSTIVE_MAX_WIDTH = 16



def error_metrics(
    unit: Unit,
    op: str = "mul",
    *,
    exhaustive: bool | None = None,
    samples: int = 1_000_000,
    seed: int = 0,
    progress: bool = False,
    method: str = "auto",
) -> ErrorMetrics:
    """Error metrics of ``unit`` for ``op`` (``mul`` or ``div``).

    ``exhaustive=None`` covers every pair when that is cheap (``width <= 16``, or
    the Mitchell multiplier up to 24 bits) and otherwise draws ``samples``
    uniform pairs with ``numpy.random.default_rng(seed)``.

    ``method``: ``"brute"`` visits every pair; ``"analytic"`` sums closed forms
    instead: per operand for Mitchell multiplication (any width,
    :mod:`kexue_hw.metrics_analytic`), per row for untruncated MBM, ILM and
    Mitchell's untruncated divider (:mod:`kexue_hw.metrics_rows`); both are
    proven equal to the brute force at every width up to 16 (worst pairs
    included, ties broken alike). ``"auto"`` takes the analytic path where it applies.
    ``seconds`` excludes JIT compilation (a warm-up on a tiny domain runs first).
    """
    if method not in ("auto", "brute", "analytic"):
        raise SpecError(f"method must be 'auto', 'brute' or 'analytic', got {method!r}")
    compute = METRICS.lookup(unit)
    unit.check_op(op)
    return compute(unit, op, exhaustive=exhaustive, samples=samples, seed=seed, progress=progress, method=method)


#: how each unit family's metrics are computed: ``fn(unit, op, *, exhaustive, samples, seed, progress, method)``
METRICS = SpecRegistry("error metrics (kexue_hw.metrics)")


@METRICS.register(IntUnit)
def _int_metrics(unit: IntUnit, op: str, *, exhaustive, samples, seed, progress, method) -> ErrorMetrics:
    """Integer families: the parallel sweep over the golden primitives (exhaustive or sampled), or closed forms."""
    code = dispatch.op_code(unit, op)
    analytic_ok = code == dispatch.MITCHELL_MUL
    from .metrics_rows import rows_supported

    rows_ok = rows_supported(unit, op)
    if method == "analytic" and not (analytic_ok or rows_ok):
        raise SpecError(
            "the analytic path covers Mitchell multiplication, untruncated MBM, ILM, and Mitchell's untruncated"
            f" divider with an exact quotient (up to {16 if op == 'div' else 20} bits); use method='brute' for"
            f" {unit.describe()} {op}"
        )
    if exhaustive is None:
        exhaustive = unit.width <= EXHAUSTIVE_MAX_WIDTH or (analytic_ok and method != "brute" and unit.width <= 24)
    if exhaustive and analytic_ok and method != "brute":
        from .metrics_analytic import analytic_error_metrics

        return analytic_error_metrics(unit, progress=progress)
    if exhaustive and rows_ok and method != "brute":
        from .metrics_rows import rows_error_metrics

        return rows_error_metrics(unit, op)
    if exhaustive and unit.width > 20:
        raise SpecError(f"an exhaustive sweep of {unit.width}-bit operands (4**{unit.width} pairs) is out of reach")
    if not exhaustive and samples < 1:
        raise SpecError(f"samples must be positive, got {samples}")
    p = unit_params(unit, op)
    op_div = op == "div"

    # compile outside the timed region
    tiny = np.array([1, 2, 3], dtype=np.int64)
    _sweep_grid(code, op_div, tiny, tiny, p, _init_stats(3))
    _sweep_pairs(code, op_div, tiny, tiny, p, _init_stats(1), 3)

    t0 = time.perf_counter()
    if exhaustive:
        avals = _domain(unit)
        bvals = _domain(unit, divisor=op_div)
        st = _init_stats(avals.size)
        block = max(1, min(avals.size, 4096))
        bar = progress_bar(avals.size, progress, f"{unit.describe()} {op}")
        try:
            for start in range(0, avals.size, block):
                stop = min(start + block, avals.size)
                _sweep_grid(code, op_div, avals[start:stop], bvals, p, st[start:stop])
                if bar is not None:
                    bar.update(bar.task_ids[0], advance=stop - start)
        finally:
            if bar is not None:
                bar.stop()
        pairs = avals.size * bvals.size

        def pair_of(row: int, col: int) -> tuple:
            return (int(avals[row]), int(bvals[col]))

    else:
        rng = np.random.default_rng(seed)
        avals = _sample(unit, samples, rng, divisor=False)
        bvals = _sample(unit, samples, rng, divisor=op_div)
        chunk = 4096
        st = _init_stats(math.ceil(samples / chunk))
        _sweep_pairs(code, op_div, avals, bvals, p, st, chunk)
        pairs = samples

        def pair_of(row: int, col: int) -> tuple:
            return (int(avals[col]), int(bvals[col]))

    seconds = time.perf_counter() - t0
    return _summarize(unit, op, st, pairs, exhaustive, seconds, pair_of, None if exhaustive else seed)


@METRICS.register(FloatMitchell)
def _float_metrics(unit: FloatMitchell, op: str, *, samples: int, seed: int, **_) -> ErrorMetrics:
    """Sampled relative-error metrics of a float unit over normal operands.

    ``log2 |operand|`` is uniform in ``[-s, s)`` with ``s = min(8, (bias - 3) // 2)``
    (fp16: 6), so that products and quotients stay normal and finite; the sign is positive.
    """
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    span = min(8, (unit.format.bias - 3) // 2)
    a = round_to_format(unit, np.exp2(rng.uniform(-span, span, samples)))
    b = round_to_format(unit, np.exp2(rng.uniform(-span, span, samples)))
    approx = (mul if op == "mul" else div)(unit, a, b).astype(np.float64)
    exact = a.astype(np.float64) * b if op == "mul" else a.astype(np.float64) / b
    d = approx - exact
    rel = d / exact
    seconds = time.perf_counter() - t0
    i_abs, i_rel = int(np.argmax(np.abs(d))), int(np.argmax(np.abs(rel)))
    mae = float(np.abs(d).mean())
    return ErrorMetrics(
        unit=unit.family,
        op=op,
        width=unit.width,
        signed=True,
        pairs=samples,
        exhaustive=False,
        seconds=round(seconds, 4),
        ep=float(np.count_nonzero(d) / samples),
        mae=mae,
        mse=float((d * d).mean()),
        wce=float(np.abs(d).max()),
        mre=float(np.abs(rel).mean()),
        wcre=float(np.abs(rel).max()),
        bias=float(rel.mean()),
        nmed=mae / float(np.abs(exact).max()),
        rel_min=float(rel.min()),
        rel_max=float(rel.max()),
        worst_abs_pair=(float(a[i_abs]), float(b[i_abs])),
        worst_rel_pair=(float(a[i_rel]), float(b[i_rel])),
        seed=seed,
        params=unit.params(),
    )


def relative_error_grid(unit: IntUnit, op: str = "mul", size: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed relative error on a ``size x size`` grid of operands spread over the domain (for plots).

    Returns ``(a_values, b_values, rel)`` with ``rel[i, j]`` the error of
    ``a_values[i] op b_values[j]`` (NaN where the exact result is 0).
    """
    lo = 1 if not unit.signed else unit.min_value
    vals = np.unique(np.linspace(lo, unit.max_value, min(size, unit.max_value - lo + 1)).round().astype(np.int64))
    a = vals[:, None]
    b = vals[None, :]
    if op == "mul":
        approx = mul(unit, a, b).astype(np.float64)
        exact = (a * b).astype(np.float64)
    else:
        b = np.where(b == 0, 1, b)
        approx = div(unit, a, b).astype(np.float64) / 2.0**unit.quotient_frac_bits
        exact = a / b
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(exact != 0, (approx - exact) / exact, np.nan)
    return vals, np.where(vals == 0, 1, vals) if op == "div" else vals, rel
