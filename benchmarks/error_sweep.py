"""Time the exhaustive 16-bit Mitchell multiplication metrics against a trivial-unit baseline.

Both brute-force sweeps run the identical bookkeeping (all 2**32 operand pairs, every metric);
the baseline's unit is the exact multiplier, so the ratio is the cost of the
Mitchell datapath itself. JIT compilation is excluded (``error_metrics`` warms up
first). The analytic path (closed-form per-operand sums) is timed too.
Timings alternate unit/baseline ``--repeat`` times and keep the best of each.

    python benchmarks/error_sweep.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform

from kexue_hw import Exact, Mitchell
from kexue_hw.metrics import error_metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    unit, baseline = Mitchell(args.width), Exact(args.width)
    t_unit, t_base = [], []
    for _ in range(args.repeat):
        m = error_metrics(unit, exhaustive=True, method="brute")
        b = error_metrics(baseline, exhaustive=True, method="brute")
        t_unit.append(m.seconds)
        t_base.append(b.seconds)
    analytic = min(error_metrics(unit, exhaustive=True, method="analytic").seconds for _ in range(args.repeat))
    result = {
        "benchmark": "error_sweep",
        "unit": unit.describe(),
        "baseline": baseline.describe(),
        "pairs": m.pairs,
        "unit_seconds": min(t_unit),
        "baseline_seconds": min(t_base),
        "ratio": min(t_unit) / min(t_base),
        "pairs_per_second": m.pairs / min(t_unit),
        "analytic_seconds": analytic,
        "analytic_speedup": min(t_unit) / analytic,
        "threads": int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1)),
        "machine": platform.machine(),
        "mre": m.mre,
        "wcre": m.wcre,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['unit']}: {result['pairs']:,} pairs in {result['unit_seconds']:.2f} s")
        print(f"{result['baseline']} (same bookkeeping): {result['baseline_seconds']:.2f} s")
        print(f"ratio {result['ratio']:.2f}x  ({result['pairs_per_second'] / 1e9:.2f} G pairs/s)")
        print(f"analytic path (closed-form sums, same figures): {analytic:.4f} s, {result['analytic_speedup']:.0f}x faster")


if __name__ == "__main__":
    main()
