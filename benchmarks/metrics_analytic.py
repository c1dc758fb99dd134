"""Exact exhaustive Mitchell multiplier metrics at 24 and 32 bits (analytic engine), and its check.

    python benchmarks/metrics_analytic.py --json            # 24/32-bit figures, timings, 16-bit speed-up
    python benchmarks/metrics_analytic.py --json --widths 24  # a quicker subset
    python benchmarks/metrics_analytic.py --check           # equal to the brute force at every width 2..16

``--json`` prints one JSON object: for each width and signedness the full
``ErrorMetrics`` (``seconds`` = analytic time, JIT excluded), plus the 16-bit
unsigned analytic and brute-force times measured in the same run and their
ratio. ``--check`` compares ``analytic_error_metrics`` with
``error_metrics(unit, exhaustive=True, method="brute")`` for widths 2..16, unsigned and signed,
untruncated and with ``frac_bits = width // 2`` (counts exact, other figures to
1e-12 relative, worst pairs by their error), and exits non-zero on a mismatch.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

from kexue_hw import Mitchell
from kexue_hw.arith.reference import mitchell_mul
from kexue_hw.metrics import error_metrics
from kexue_hw.metrics_analytic import _exact_pairs, analytic_error_metrics

FIELDS = ("ep", "mae", "mse", "wce", "mre", "wcre", "bias", "nmed", "rel_min", "rel_max")


def _pair_err(unit, pair):
    if not pair:
        return None
    a, b = pair
    e = abs(mitchell_mul(a, b, unit.kept_frac_bits) - a * b)
    return e, e / abs(a * b)


def compare(unit) -> tuple[list[str], float, float, float]:
    """(mismatches, worst relative deviation over the float fields, analytic s, brute-force s)."""
    fast = analytic_error_metrics(unit)
    slow = error_metrics(unit, exhaustive=True, method="brute")
    bad, dev = [], 0.0
    if fast.pairs != slow.pairs or fast.ep * fast.pairs != slow.ep * slow.pairs:
        bad.append(f"counts {fast.pairs} {fast.ep} vs {slow.pairs} {slow.ep}")
    for f in FIELDS:
        x, y = getattr(fast, f), getattr(slow, f)
        d = 0.0 if x == y else abs(x - y) / max(abs(x), abs(y))
        dev = max(dev, d)
        if d > 1e-12:
            bad.append(f"{f} {x!r} vs {y!r}")
    fa, sa = _pair_err(unit, fast.worst_abs_pair), _pair_err(unit, slow.worst_abs_pair)
    if (fa and fa[0]) != (sa and sa[0]):
        bad.append(f"worst_abs_pair {fast.worst_abs_pair} {fa} vs {slow.worst_abs_pair} {sa}")
    fr, sr = _pair_err(unit, fast.worst_rel_pair), _pair_err(unit, slow.worst_rel_pair)
    if fr[1] != sr[1]:
        bad.append(f"worst_rel_pair {fast.worst_rel_pair} {fr} vs {slow.worst_rel_pair} {sr}")
    return bad, dev, fast.seconds, slow.seconds


def check(max_width: int) -> int:
    failures = 0
    t0 = time.perf_counter()
    for width in range(2, max_width + 1):
        for signed in (False, True):
            for t in (None, width // 2):
                unit = Mitchell(width, signed, t)
                bad, dev, ta, tb = compare(unit)
                failures += bool(bad)
                status = "ok" if not bad else "MISMATCH " + "; ".join(bad)
                print(f"{unit.describe():22s} max rel dev {dev:.1e}  analytic {ta:8.4f} s  brute {tb:8.3f} s  {status}")
                sys.stdout.flush()
    print(f"{'all equal' if not failures else f'{failures} MISMATCHES'} ({time.perf_counter() - t0:.0f} s)")
    return 1 if failures else 0


def figures(widths: list[int], ratio_width: int) -> dict:
    out = {
        "benchmark": "metrics_analytic",
        "threads": int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1)),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "results": [],
    }
    if ratio_width:
        unit = Mitchell(ratio_width)
        fast = analytic_error_metrics(unit)
        slow = error_metrics(unit, exhaustive=True, method="brute")
        out["ratio_16bit" if ratio_width == 16 else f"ratio_{ratio_width}bit"] = {
            "unit": unit.describe(),
            "analytic_seconds": fast.seconds,
            "brute_force_seconds": slow.seconds,
            "speedup": slow.seconds / fast.seconds,
            "rel_dev": {
                f: 0.0 if getattr(fast, f) == getattr(slow, f) else abs(getattr(fast, f) / getattr(slow, f) - 1)
                for f in FIELDS
            },
        }
    for width in widths:
        for signed in (False, True):
            unit = Mitchell(width, signed)
            m = analytic_error_metrics(unit)
            d = m.as_dict()
            d["describe"] = unit.describe()
            nonzero, exact = _exact_pairs(width, signed, unit.kept_frac_bits)
            d["n_err"] = nonzero - exact  # exact count of pairs with a non-zero error (ep = n_err / pairs)
            d["wce_exact"] = int(m.wce)
            out["results"].append(d)
            print(f"# {unit.describe()}: {m.seconds:.2f} s", file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ap.add_argument("--check", action="store_true", help="compare with the brute force at widths 2..--max-width")
    ap.add_argument("--max-width", type=int, default=16)
    ap.add_argument("--widths", type=int, nargs="+", default=[24, 32])
    ap.add_argument("--ratio-width", type=int, default=16, help="width of the analytic/brute-force timing (0: skip)")
    args = ap.parse_args()
    if args.check:
        sys.exit(check(args.max_width))
    res = figures(args.widths, args.ratio_width)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        for d in res["results"]:
            print(
                f"{d['describe']:16s} {d['seconds']:8.2f} s  ep {d['ep']:.9f}  mae {d['mae']:.6e}  mse {d['mse']:.6e}"
                f"  wce {d['wce']:.6e}  mre {d['mre']:.12f}  wcre {d['wcre']:.12f}  nmed {d['nmed']:.6e}"
            )
        if "ratio_16bit" in res:
            r = res["ratio_16bit"]
            print(
                f"16-bit: analytic {r['analytic_seconds']:.4f} s, brute force {r['brute_force_seconds']:.2f} s,"
                f" x{r['speedup']:.0f}"
            )
    if not math.isfinite(sum(d["mre"] for d in res["results"])):
        sys.exit(1)


if __name__ == "__main__":
    main()
