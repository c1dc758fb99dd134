"""Performer (FAVOR+) versus exact softmax attention: accuracy against m, time against length.

What ``kexue-hw performer-bench``, ``benchmarks/attention.py`` and the report section run:
:func:`evaluate` (the whole sweep), :func:`render` (its Markdown), and the parts.

Accuracy: relative Frobenius error ``|P - A| / |A|`` of Performer output ``P``
against exact attention ``A`` (float64, one head, ``d = 64``, ``L = 1024``;
q, k entries N(0, s**2) for s = 0.3 and 0.5, v N(0, 1)), mean and median over 16 feature seeds, for
orthogonal and iid features, ``m = d/2 .. 4d``. Timing: float32, one thread
(``torch.set_num_threads(1)``: the machine is shared), best of ``repeats``,
exact attention with query chunks of 1024 rows (so 16384 needs 64 MiB of scores,
not 1 GiB) until a run exceeds ``max_seconds``. Units: Performer with every
matmul product on an integer unit (:mod:`.performer_fixed`) against float Performer.
"""

from __future__ import annotations

import math
import time

import torch

from ..tables import markdown_table
from .performer import performer_attention, random_features, softmax_attention

__all__ = ["accuracy", "timing", "on_units", "evaluate", "render", "markdown", "markdown_units"]


def accuracy(d=64, n=1024, ms=(32, 64, 128, 192, 256), seeds=16, scales=(0.3, 0.5), data_seed=0):
    rows = []
    for scale in scales:
        rows += _accuracy_rows(d, n, ms, seeds, scale, data_seed)
    return {"d": d, "n": n, "seeds": seeds, "scales": list(scales), "rows": rows}


def _accuracy_rows(d, n, ms, seeds, scale, data_seed):
    g = torch.Generator().manual_seed(data_seed)
    q = torch.randn(n, d, generator=g, dtype=torch.float64) * scale
    k = torch.randn(n, d, generator=g, dtype=torch.float64) * scale
    v = torch.randn(n, d, generator=g, dtype=torch.float64)
    exact = softmax_attention(q, k, v)
    rows = []
    for m in ms:
        row = {"scale": scale, "m": m}
        for orth in (True, False):
            errs = sorted(
                float((performer_attention(q, k, v, num_features=m, orthogonal=orth, seed=1000 + s) - exact).norm()
                      / exact.norm())
                for s in range(seeds)
            )
            key = "orth" if orth else "iid"
            row[f"{key}_mean"] = sum(errs) / len(errs)
            row[f"{key}_median"] = errs[len(errs) // 2] if len(errs) % 2 else 0.5 * sum(errs[len(errs) // 2 - 1:][:2])
        row["orth_gain"] = 1 - row["orth_mean"] / row["iid_mean"]
        rows.append(row)
    return rows


def on_units(n=128, d=16, m=64, seed=0, units=None):
    """Performer with every product on an integer unit (numpy golden path) against float64 Performer and exact."""
    import numpy as np

    from ..spec import ILM, MBM, Exact, Mitchell
    from .performer_fixed import performer_attention_fixed, softmax_attention_fixed

    rng = np.random.default_rng(seed)
    q, k = (rng.standard_normal((n, d)) * 0.5 for _ in range(2))
    v = rng.standard_normal((n, d))
    w = random_features_for_units(m, d)
    tq, tk, tv = (torch.tensor(t) for t in (q, k, v))
    float_perf = performer_attention(tq, tk, tv, features=torch.tensor(w)).numpy()
    exact = softmax_attention(tq, tk, tv).numpy()
    rel = lambda a, b: float(np.linalg.norm(a - b) / np.linalg.norm(b))  # noqa: E731
    rows = []
    for unit in units or [Exact(16, True), Mitchell(16, True), Mitchell(8, True), MBM(16, True), ILM(16, True, 1)]:
        p = performer_attention_fixed(unit, q, k, v, w)
        pc = performer_attention_fixed(unit, q, k, v, w, causal=True, chunk=32)
        fc = performer_attention(tq, tk, tv, features=torch.tensor(w), causal=True, chunk=32).numpy()
        rows.append({
            "unit": unit.describe(),
            "vs_float_performer": rel(p, float_perf),
            "causal_vs_float_performer": rel(pc, fc),
            "vs_exact_attention": rel(p, exact),
            "exact_attention_on_unit_vs_exact": rel(softmax_attention_fixed(unit, q, k, v), exact),
        })
    return {"n": n, "d": d, "m": m, "float_performer_vs_exact": rel(float_perf, exact), "rows": rows}


def random_features_for_units(m, d):
    from .performer_fixed import random_features_np

    return random_features_np(m, d, orthogonal=True, seed=1)


def _best(fn, repeats):
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def timing(d=64, m=256, lengths=tuple(2**i for i in range(8, 15)), repeats=3, max_seconds=20.0, seed=0):
    torch.set_num_threads(1)
    w = None
    rows = []
    exact_on = True
    for n in lengths:
        g = torch.Generator().manual_seed(seed)
        q, k, v = (torch.randn(n, d, generator=g) * 0.5 for _ in range(3))
        if w is None:
            w = random_features(m, d, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            row = {"n": n}
            row["performer_s"] = _best(lambda: performer_attention(q, k, v, features=w), repeats)
            row["performer_causal_s"] = _best(lambda: performer_attention(q, k, v, features=w, causal=True), repeats)
            if exact_on:
                t = _best(lambda: softmax_attention(q, k, v, chunk=1024), repeats)
                row["exact_s"] = t
                exact_on = t <= max_seconds
            else:
                row["exact_s"] = None
        rows.append(row)
    return {
        "d": d, "m": m, "threads": 1, "repeats": repeats, "rows": rows,
        "slopes": _slopes(rows), "crossover": _crossover(rows),
    }


def _slope(rows, key):
    pts = [(math.log(r["n"]), math.log(r[key])) for r in rows if r.get(key)]
    pts = pts[len(pts) // 2 - 1 :] if len(pts) >= 4 else pts  # upper half: past fixed overheads
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def _slopes(rows):
    return {key: _slope(rows, key) for key in ("performer_s", "performer_causal_s", "exact_s")}


def _crossover(rows):
    for r in rows:
        if r.get("exact_s") and r["performer_s"] < r["exact_s"]:
            return r["n"]
    return None


def markdown_units(res) -> str:
    head = (
        f"Performer with every matmul product on the unit (numpy golden path, `arith.mul`; n={res['n']}, "
        f"d={res['d']}, m={res['m']}, q,k ~ N(0, 0.5^2)); relative Frobenius errors. "
        f"Float Performer vs exact attention: {res['float_performer_vs_exact']:.3f}.\n\n"
    )
    header = ["unit", "vs float Performer", "causal vs float causal", "vs exact attention",
              "exact attention on unit vs exact"]  # fmt: skip
    rows = [
        [r["unit"], f"{r['vs_float_performer']:.4f}", f"{r['causal_vs_float_performer']:.4f}",
         f"{r['vs_exact_attention']:.4f}", f"{r['exact_attention_on_unit_vs_exact']:.4f}"]
        for r in res["rows"]
    ]  # fmt: skip
    return head + markdown_table(header, rows, "lrrrr")


def markdown(acc, tim) -> str:
    head = (
        f"Accuracy: relative error |P - A|/|A| against exact attention (d={acc['d']}, L={acc['n']}, "
        f"q,k entries ~ N(0, s^2), v ~ N(0, 1); mean and median over {acc['seeds']} feature seeds)\n\n"
    )
    header = ["s", "m", "orthogonal mean", "iid mean", "orthogonal median", "iid median", "orth. error lower by"]
    rows = [
        [r["scale"], r["m"], f"{r['orth_mean']:.3f}", f"{r['iid_mean']:.3f}", f"{r['orth_median']:.3f}",
         f"{r['iid_median']:.3f}", f"{100 * r['orth_gain']:.0f} %"]
        for r in acc["rows"]
    ]  # fmt: skip
    out = [head + markdown_table(header, rows, "r" * 7)]
    out.append(
        f"\nTime (s, best of {tim['repeats']}, float32, {tim['threads']} thread; d={tim['d']}, m={tim['m']}; "
        "exact attention in query chunks of 1024)\n"
    )
    header = ["L", "exact", "Performer", "Performer causal", "exact / Performer", "Performer us/token",
              "exact us/token"]  # fmt: skip
    rows = []
    for r in tim["rows"]:
        ex = r["exact_s"]
        rows.append([
            r["n"], f"{ex:.4f}" if ex else "skipped", f"{r['performer_s']:.4f}", f"{r['performer_causal_s']:.4f}",
            f"{ex / r['performer_s']:.2f}" if ex else "-", f"{1e6 * r['performer_s'] / r['n']:.2f}",
            f"{1e6 * ex / r['n']:.1f}" if ex else "-",
        ])  # fmt: skip
    out.append(markdown_table(header, rows, "r" * 7))
    s = tim["slopes"]
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    out += [
        "",
        f"log-log slope of time against L (upper half of the lengths): exact {fmt(s['exact_s'])}, "
        f"Performer {fmt(s['performer_s'])}, Performer causal {fmt(s['performer_causal_s'])}; "
        f"Performer faster from L = {tim['crossover']}",
    ]
    return "\n".join(out)


def evaluate(quick: bool = False, *, seeds: int | None = None, repeats: int = 3, max_seconds: float = 20.0,
             max_length: int = 16384) -> dict:  # fmt: skip
    """The whole sweep: ``{"accuracy", "timing", "units"}``.

    Full: L = 1024, m = 32..256, 16 feature seeds, scales 0.3 and 0.5; lengths 256..``max_length``.
    ``quick``: L = 256, m = 32..256, 6 seeds; lengths 256..4096.
    """
    if quick:
        acc = accuracy(n=256, ms=(32, 64, 128, 256), seeds=seeds or 6)
        tim = timing(lengths=(256, 512, 1024, 2048, 4096), repeats=repeats)
    else:
        lengths = tuple(n for n in (2**i for i in range(8, 15)) if n <= max_length)
        acc = accuracy(seeds=seeds or 16)
        tim = timing(lengths=lengths, repeats=repeats, max_seconds=max_seconds)
    return {"accuracy": acc, "timing": tim, "units": on_units()}


def render(result: dict) -> str:
    """Markdown of an :func:`evaluate` result."""
    return markdown(result["accuracy"], result["timing"]) + "\n\n" + markdown_units(result["units"])
