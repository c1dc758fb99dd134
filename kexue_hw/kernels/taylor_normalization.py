"""Taylor-softmax normalization: the unit's divider per element, or one reciprocal and unit products?

Both modes of :class:`.taylor_fixed.TaylorSoftmaxFixed` run on the *same*
integer numerators ``f``; the error is measured against ``f / sum(f)`` in
float64 (normalization alone) and against the float64 Taylor softmax of the
quantized inputs (end to end). No torch.
"""

from __future__ import annotations

import numpy as np

from ..spec import ILM, MBM, Exact, Mitchell
from ..tables import markdown_table
from .taylor_fixed import TaylorSoftmaxFixed

__all__ = ["compare_normalizations", "default_pairs", "markdown"]


def default_pairs():
    """(label, multiplier, divider) pairs to compare, 16-bit signed."""
    div = Mitchell(16, True)
    return [
        ("Mitchell x / Mitchell /", Mitchell(16, True), div),
        ("Mitchell-t6 x / Mitchell-t6 /", Mitchell(16, True, frac_bits=6), Mitchell(16, True, frac_bits=6)),
        ("MBM x / Mitchell /", MBM(16, True), div),
        ("ILM-c1 x / Mitchell /", ILM(16, True, 1), div),
        ("exact x / Mitchell /", Exact(16, True), div),
        ("exact x / exact /", Exact(16, True), Exact(16, True)),
    ]


def compare_normalizations(order=4, length=32, rows=2000, seed=0, pairs=None):
    rng = np.random.default_rng(seed)
    out = []
    for label, mul_unit, div_unit in pairs or default_pairs():
        base = TaylorSoftmaxFixed(mul_unit, order=order, div_unit=div_unit)
        x = base.quantize(rng.uniform(-base.x_max, base.x_max, (rows, length)))
        f = base.numerators(x)
        ideal = f / f.sum(axis=-1, keepdims=True)
        ref = base.reference(x)
        row = {"pair": label}
        for mode in ("divide", "reciprocal"):
            cfg = TaylorSoftmaxFixed(mul_unit, order=order, div_unit=div_unit, normalize=mode)
            y = cfg.normalize_rows(f) / 2.0**cfg.out_frac
            s = y.sum(axis=-1)
            row[mode] = {
                "norm_mean_rel": float(np.mean(np.abs(y - ideal) / ideal)),
                "norm_max_rel": float(np.max(np.abs(y - ideal) / ideal)),
                "e2e_mean_abs": float(np.mean(np.abs(y - ref))),
                "sum_min": float(s.min()),
                "sum_max": float(s.max()),
                "bounds": list(cfg.sum_bounds(length)),
            }
        out.append(row)
    return {"order": order, "length": length, "rows": rows, "results": out}


def markdown(res) -> str:
    head = (
        f"Normalization of order-{res['order']} Taylor-softmax numerators, {res['rows']} rows of {res['length']} "
        "inputs uniform in [-4, 4], 16-bit signed units (Q.12 in, Q.15 out). rel. err = |y - f/S| / (f/S).\n\n"
    )
    header = ["multiplier / divider", "mode", "mean rel. err", "max rel. err", "mean abs. err vs float", "sum min",
              "sum max", "proven sum bound"]  # fmt: skip
    rows = [
        [r["pair"], mode, f"{m['norm_mean_rel']:.4f}", f"{m['norm_max_rel']:.4f}", f"{m['e2e_mean_abs']:.2e}",
         f"{m['sum_min']:.4f}", f"{m['sum_max']:.4f}", f"[{m['bounds'][0]:.4f}, {m['bounds'][1]:.4f}]"]
        for r in res["results"]
        for mode, m in ((mode, r[mode]) for mode in ("divide", "reciprocal"))
    ]  # fmt: skip
    return head + markdown_table(header, rows, "llrrrrrl")
