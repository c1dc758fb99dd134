"""Matrix-product throughput: native fp32 matmul and our kernels on every unit (product tables included).

What ``kexue-hw emulate-bench``, ``benchmarks/matmul.py`` and the report section measure.
Methods and shapes run interleaved round-robin (so background load hits them
alike); each figure is the best time, in GMAC/s = M*K*N / seconds / 1e9.

* ``native_fp32``: ``torch.matmul`` on float32.
* integer units, 8 bits, end to end through :func:`approx_matmul` (range check,
  operand encodings, kernel, int64 result): ``mitchell_int8`` (``Mitchell(8, signed=True)``),
  ``mitchell_t3_int8`` (``frac_bits=3``), ``mbm_int8``, ``mbm_uint8`` (unsigned, saturating),
  ``ilm_c0_int8`` .. ``ilm_c3_int8``, ``exact_int8``; int8 operands (uint8 for ``mbm_uint8``).
* ``float_mitchell_fp32`` / ``float_mitchell_bf16``: :func:`approx_matmul` on float32 /
  bfloat16 tensors with ``FloatMitchell``.
* ``table_int8``: :func:`approx_matmul` on a :class:`~kexue_hw.table.Table` (Mitchell 8-bit signed
  tabulated), same int8 operands: the product-table gather path of bring-your-own multipliers.

Callers may add methods (``extra``: name -> ``make(ai, bi, af, bf)`` returning a callable), as
``benchmarks/matmul.py`` adds the former lookup-table baseline.

``<method>_over_native`` is native time / method time (1.0: as fast as native fp32).
"""

from __future__ import annotations

import os
import time

import torch

from ..arith import tabulate
from ..spec import ILM, MBM, Exact, FloatMitchell, Mitchell
from ..tables import markdown_table as _markdown_table
from .ops import approx_matmul

__all__ = ["use_threads", "measure_shapes", "measure_matmul", "markdown_table", "ratio_table", "METHODS", "DEFAULT_SHAPES"]

DEFAULT_SHAPES = ((128, 768, 768), (128, 768, 3072), (128, 3072, 768))


def use_threads(threads: int | None = None) -> int:
    """Set torch and Numba to ``threads`` (default: all cores); returns the count."""
    import numba

    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return threads


#: the integer units of the benchmark: (method name, unit, unsigned operands)
INT_METHODS = (
    ("mitchell_int8", Mitchell(8, signed=True), False),
    ("mitchell_t3_int8", Mitchell(8, signed=True, frac_bits=3), False),
    ("mbm_int8", MBM(8, signed=True), False),
    ("mbm_uint8", MBM(8, signed=False), True),
    *((f"ilm_c{c}_int8", ILM(8, signed=True, corrections=c), False) for c in range(4)),
    ("exact_int8", Exact(8, signed=True), False),
)
FLOAT_METHODS = (("float_mitchell_fp32", "fp32"), ("float_mitchell_bf16", "bf16"))
METHODS = ("native_fp32", *(m[0] for m in INT_METHODS), *(m[0] for m in FLOAT_METHODS), "table_int8")


def _methods(shape, names=None, extra=None) -> dict:
    m, k, n = shape
    gen = torch.Generator().manual_seed(0)
    af, bf = torch.randn(m, k, generator=gen), torch.randn(k, n, generator=gen)
    ai = torch.randint(-128, 128, (m, k), generator=gen, dtype=torch.int8)
    bi = torch.randint(-128, 128, (k, n), generator=gen, dtype=torch.int8)
    au = torch.randint(0, 256, (m, k), generator=gen, dtype=torch.uint8)
    bu = torch.randint(0, 256, (k, n), generator=gen, dtype=torch.uint8)
    s8 = Mitchell(8, signed=True)
    table = {"native_fp32": lambda: torch.matmul(af, bf)}
    for name, unit, unsigned in INT_METHODS:
        x, y = (au, bu) if unsigned else (ai, bi)
        table[name] = lambda x=x, y=y, unit=unit: approx_matmul(x, y, unit)
    for name, fmt in FLOAT_METHODS:
        x, y = (af, bf) if fmt == "fp32" else (af.to(torch.bfloat16), bf.to(torch.bfloat16))
        table[name] = lambda x=x, y=y, unit=FloatMitchell(fmt): approx_matmul(x, y, unit)
    table["table_int8"] = lambda t8=tabulate(s8): approx_matmul(ai, bi, t8)
    table.update({name: make(ai, bi, af, bf) for name, make in (extra or {}).items()})
    if names:
        table = {name: fn for name, fn in table.items() if name in names}
    return table


def measure_shapes(
    shapes, reps: int = 15, methods: tuple[str, ...] | None = None, min_time: float = 0.0, extra: dict | None = None
) -> list[dict]:
    """GMAC/s of each method on each ``(M, K, N)`` shape, and the ratios the issue asks for.

    Every round runs every method on every shape once (so a burst of background
    load hits all of them); at least ``reps`` rounds, more until every (shape,
    method) has run ``min_time`` seconds in total (at most 500). Best time counts.
    """
    tables = {tuple(shape): _methods(tuple(shape), methods, extra) for shape in shapes}
    for table in tables.values():  # warm-up: JIT, caches
        for fn in table.values():
            fn()
    best = {(shape, name): float("inf") for shape, table in tables.items() for name in table}
    spent = dict.fromkeys(best, 0.0)
    rounds = 0
    while rounds < reps or (min(spent.values()) < min_time and rounds < 500):
        for shape, table in tables.items():
            for name, fn in table.items():
                t0 = time.perf_counter()
                fn()
                elapsed = time.perf_counter() - t0
                best[shape, name] = min(best[shape, name], elapsed)
                spent[shape, name] += elapsed
        rounds += 1
    return [_row(shape, {name: best[shape, name] for name in table}, rounds) for shape, table in tables.items()]


def measure_matmul(shape, reps: int = 7, methods: tuple[str, ...] | None = None, min_time: float = 0.0) -> dict:
    """:func:`measure_shapes` for one shape."""
    return measure_shapes([shape], reps, methods, min_time)[0]


#: ratios reported when both methods ran: name -> (method, baseline), the baseline's time over the method's
RATIOS = {
    "mitchell_over_native": ("mitchell_int8", "native_fp32"),
    "mitchell_over_table": ("mitchell_int8", "table_int8"),
    "float_mitchell_over_native": ("float_mitchell_fp32", "native_fp32"),
    "table_over_native": ("table_int8", "native_fp32"),
    "table_over_lut_baseline": ("table_int8", "lut_baseline"),
    "mitchell_over_lut_baseline": ("mitchell_int8", "lut_baseline"),
}


def _row(shape, best: dict, rounds: int) -> dict:
    m, k, n = shape
    row: dict = {"shape": f"{m}x{k}x{n}", "rounds": rounds}
    for name, seconds in best.items():
        row[f"{name}_gmacs"] = round(m * k * n / max(seconds, 1e-9) / 1e9, 4)
    if "native_fp32" in best:
        for name in best:
            if name != "native_fp32":
                row[f"{name}_over_native"] = round(best["native_fp32"] / best[name], 4)
    for key, (x, y) in RATIOS.items():
        if x in best and y in best:
            row[key] = round(best[y] / best[x], 4)
    return row


def markdown_table(rows: list[dict]) -> str:
    """The benchmark rows as a Markdown table (GMAC/s and ratios)."""
    header = ["shape MxKxN", "native fp32", "Mitchell int8", "FloatMitchell fp32", "table int8", "Mitchell / native",
              "Mitchell / table"]  # fmt: skip
    body = [
        [r["shape"], f"{r['native_fp32_gmacs']:.1f}", f"{r['mitchell_int8_gmacs']:.1f}",
         f"{r['float_mitchell_fp32_gmacs']:.1f}", f"{r['table_int8_gmacs']:.1f}",
         f"{r['mitchell_over_native']:.3f} (1/{1 / r['mitchell_over_native']:.1f})", f"{r['mitchell_over_table']:.1f}x"]
        for r in rows
    ]  # fmt: skip
    if rows and "lut_baseline_gmacs" in rows[0]:  # benchmarks/matmul.py: the former lookup-table kernel too
        header += ["LUT baseline", "table / LUT baseline"]
        for line, r in zip(body, rows):
            line += [f"{r['lut_baseline_gmacs']:.1f}", f"{r['table_over_lut_baseline']:.2f}x"]
    return _markdown_table(header, body, "l" + "r" * (len(header) - 1))


def ratio_table(rows: list[dict]) -> str:
    """Every method against native fp32: one row per method, ``GMAC/s (ratio)`` per shape."""
    names = [k[: -len("_gmacs")] for k in rows[0] if k.endswith("_gmacs")]
    body = []
    for name in names:
        cells = [name]
        for r in rows:
            ratio = r.get(f"{name}_over_native")
            cells.append(f"{r[name + '_gmacs']:.1f}" + (f" ({ratio:.2f})" if ratio is not None else ""))
        body.append(cells)
    return _markdown_table(["method"] + [r["shape"] for r in rows], body, "l" + "r" * len(rows))
