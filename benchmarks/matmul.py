"""Approximate matrix-product throughput of every unit against native fp32 matmul (and the lookup-table baseline).

    python benchmarks/matmul.py [--json] [--reps 15] [--threads N] [--shapes 128x768x768 ...] [--methods ...]

Shapes are MxKxN (default: 128x768x768 128x768x3072 128x3072x768), all cores
unless ``--threads``. Reports GMAC/s for native ``torch.matmul`` fp32 and, end to
end through ``approx_matmul``, every 8-bit integer unit (Mitchell, Mitchell
truncated to 3 fraction bits, MBM signed and unsigned, ILM with 0..3 corrections,
Exact; int8/uint8 in, int64 out), FloatMitchell fp32 and bf16, and the 256x256
lookup-table gather baseline (Numba), with each one's ratio to native
(``<method>_over_native``). Every round runs every method on every shape once
(background load then hits all alike); at least ``--reps`` rounds, more until each
ran ``--min-time`` seconds; each figure is the best time (:mod:`kexue_hw.emulate.throughput`).

The script does not touch ``OMP_WAIT_POLICY``: the library chooses passive waiting
itself on import (:mod:`kexue_hw._threads`); the JSON records what the user had set
(``omp_wait_policy_user``, null when nothing) and what was in effect.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

USER_POLICY = os.environ.get("OMP_WAIT_POLICY")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    parser.add_argument("--reps", type=int, default=15, help="at least this many rounds")
    parser.add_argument("--min-time", type=float, default=0.3, help="...and until each method ran this many seconds")
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--shapes", nargs="+", default=["128x768x768", "128x768x3072", "128x3072x768"])
    parser.add_argument("--methods", nargs="+", default=None, help="a subset (native_fp32 is always measured)")
    args = parser.parse_args(argv)

    from kexue_hw.emulate.throughput import METHODS, measure_shapes, ratio_table, use_threads

    if args.methods and not set(args.methods) <= set(METHODS):
        parser.error(f"--methods: unknown {sorted(set(args.methods) - set(METHODS))}; choose from {', '.join(METHODS)}")
    methods = None if not args.methods else tuple({"native_fp32", *args.methods})
    threads = use_threads(args.threads)
    shapes = [tuple(int(v) for v in s.lower().split("x")) for s in args.shapes]
    load_before = os.getloadavg()[0]
    rows = measure_shapes(shapes, args.reps, methods=methods, min_time=args.min_time)
    load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    import numba

    setting = {
        "threads": threads,
        "omp_wait_policy_user": USER_POLICY,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "numba_threading_layer": numba.threading_layer(),
        "load_avg_1min": load,
    }
    if args.json:
        print(json.dumps({**setting, "rows": rows}, indent=2))
    else:
        print(ratio_table(rows))
        print(
            f"\nGMAC/s (ratio to native fp32), best of {rows[0]['rounds']} interleaved rounds, {threads} threads; "
            f"OMP_WAIT_POLICY set by the user: {USER_POLICY}, in effect: {setting['omp_wait_policy']} "
            f"(Numba layer {setting['numba_threading_layer']}); 1-min load average {load}."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
