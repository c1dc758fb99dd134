"""Approximate matrix-product throughput against native fp32 matmul and the lookup-table baseline.

    python benchmarks/matmul.py [--json] [--reps 7] [--threads N] [--shapes 128x768x768 ...]

Shapes are MxKxN (default: 128x768x768 128x768x3072 128x3072x768), all cores
unless ``--threads``. Reports GMAC/s for native ``torch.matmul`` fp32, our
Mitchell 8-bit signed kernel (end to end, int8 in, int64 out), our
FloatMitchell fp32 kernel and the 256x256 lookup-table gather baseline (Numba),
plus the ratios. Every round runs every method on every shape once (background
load then hits all alike); at least ``--reps`` rounds, more until each ran
``--min-time`` seconds; each figure is the best time (:mod:`kexue_hw.emulate.throughput`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

# Torch and Numba each run an OpenMP pool; spinning idle threads of one starve the other (and any
# job sharing the cores). Passive waiting (set before either is imported) is fair to all methods;
# export OMP_WAIT_POLICY=ACTIVE to measure the spinning default.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    parser.add_argument("--reps", type=int, default=15, help="at least this many rounds")
    parser.add_argument("--min-time", type=float, default=0.5, help="...and until each method ran this many seconds")
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--shapes", nargs="+", default=["128x768x768", "128x768x3072", "128x3072x768"])
    args = parser.parse_args(argv)

    from kexue_hw.emulate.throughput import markdown_table, measure_shapes, use_threads

    threads = use_threads(args.threads)
    shapes = [tuple(int(v) for v in s.lower().split("x")) for s in args.shapes]
    load_before = os.getloadavg()[0]
    rows = measure_shapes(shapes, args.reps, min_time=args.min_time)
    load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    if args.json:
        wait = os.environ["OMP_WAIT_POLICY"]
        print(json.dumps({"threads": threads, "omp_wait_policy": wait, "load_avg_1min": load, "rows": rows}, indent=2))
    else:
        print(markdown_table(rows))
        rounds = rows[0]["rounds"]
        print(
            f"\nGMAC/s, best of {rounds} interleaved rounds, {threads} threads, "
            f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}; 1-min load average {load}."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
