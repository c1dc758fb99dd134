"""Closed-form exhaustive metrics: 24/32-bit Mitchell figures, and the check against the brute force.

    python benchmarks/metrics_analytic.py --json            # 24/32-bit figures, timings, 16-bit speed-up
    python benchmarks/metrics_analytic.py --json --widths 24  # a quicker subset
    python benchmarks/metrics_analytic.py --check           # every fast path equal to the brute force, widths 2..16
    python benchmarks/metrics_analytic.py --check --min-width 16 --json   # the 16-bit cases, timings as JSON

``--json`` prints one JSON object: for each width and signedness the full
``ErrorMetrics`` (``seconds`` = analytic time, JIT excluded), plus the 16-bit
unsigned analytic and brute-force times measured in the same run and their
ratio. ``--check`` compares ``error_metrics(unit, op, exhaustive=True)`` (the
closed forms: :mod:`kexue_hw.metrics_analytic` for Mitchell products,
:mod:`kexue_hw.metrics_rows` for MBM, ILM and Mitchell's divider) with
``method="brute"`` at every width ``--min-width``..``--max-width``, unsigned and
signed: Mitchell untruncated and with ``frac_bits = width // 2``, MBM, ILM with
0..3 corrections, Mitchell's divider (``--families`` picks a subset). Counts,
extremes (``wce wcre rel_min rel_max``) and worst pairs must be identical, the
sums (``mae mse mre bias nmed``) equal to 1e-12 relative; exits non-zero on a
mismatch. Each line (and with ``--json`` each record) gives both timings from the
same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

from kexue_hw import ILM, MBM, Mitchell
from kexue_hw.metrics import error_metrics
from kexue_hw.metrics_analytic import _exact_pairs, analytic_error_metrics

EXACT = ("pairs", "ep", "wce", "wcre", "rel_min", "rel_max", "worst_abs_pair", "worst_rel_pair")
SUMS = ("mae", "mse", "mre", "bias", "nmed")
FIELDS = ("ep", "mae", "mse", "wce", "mre", "wcre", "bias", "nmed", "rel_min", "rel_max")
FAMILIES = ("mitchell", "mbm", "ilm", "div")


def cases(width: int, families) -> list:
    out = []
    for signed in (False, True):
        if "mitchell" in families:
            out += [(Mitchell(width, signed), "mul"), (Mitchell(width, signed, width // 2), "mul")]
        if "mbm" in families:
            out.append((MBM(width, signed), "mul"))
        if "ilm" in families:
            out += [(ILM(width, signed, c), "mul") for c in range(4)]
        if "div" in families:
            out.append((Mitchell(width, signed), "div"))
    return out


def compare(unit, op: str = "mul") -> tuple[list[str], float, float, float]:
    """(mismatches, worst relative deviation over the sums, fast-path s, brute-force s)."""
    fast = error_metrics(unit, op, exhaustive=True)
    slow = error_metrics(unit, op, exhaustive=True, method="brute")
    bad, dev = [], 0.0
    for f in EXACT:
        if getattr(fast, f) != getattr(slow, f):
            bad.append(f"{f} {getattr(fast, f)!r} vs {getattr(slow, f)!r}")
    for f in SUMS:
        x, y = getattr(fast, f), getattr(slow, f)
        d = 0.0 if x == y else abs(x - y) / max(abs(x), abs(y))
        dev = max(dev, d)
        if d > 1e-12:
            bad.append(f"{f} {x!r} vs {y!r}")
    return bad, dev, fast.seconds, slow.seconds


def check(min_width: int, max_width: int, families, as_json: bool) -> int:
    failures = 0
    records = []
    t0 = time.perf_counter()
    for width in range(min_width, max_width + 1):
        for unit, op in cases(width, families):
            bad, dev, ta, tb = compare(unit, op)
            failures += bool(bad)
            status = "ok" if not bad else "MISMATCH " + "; ".join(bad)
            line = f"{unit.describe():16s} {op}  max rel dev {dev:.1e}  fast {ta:8.4f} s  brute {tb:8.3f} s  {status}"
            print(line, file=sys.stderr if as_json else sys.stdout, flush=True)
            records.append(
                {"unit": unit.describe(), "op": op, "fast_seconds": ta, "brute_seconds": tb, "max_rel_dev": dev,
                 "equal": not bad, "mismatches": bad}
            )
    total = time.perf_counter() - t0
    summary = f"{'all equal' if not failures else f'{failures} MISMATCHES'} ({len(records)} cases, {total:.0f} s)"
    if as_json:
        print(json.dumps({"benchmark": "metrics_check", "widths": [min_width, max_width], "cases": records,
                          "failures": failures, "load_avg_1min": os.getloadavg()[0]}, indent=1))
    print(summary, file=sys.stderr if as_json else sys.stdout)
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
    ap.add_argument("--min-width", type=int, default=2)
    ap.add_argument("--max-width", type=int, default=16)
    ap.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES), help="--check: unit families")
    ap.add_argument("--widths", type=int, nargs="+", default=[24, 32])
    ap.add_argument("--ratio-width", type=int, default=16, help="width of the analytic/brute-force timing (0: skip)")
    args = ap.parse_args()
    if not 2 <= args.min_width <= args.max_width <= 16:
        ap.error(f"--min-width/--max-width must satisfy 2 <= min <= max <= 16, got {args.min_width}, {args.max_width}")
    if args.check:
        sys.exit(check(args.min_width, args.max_width, args.families, args.json))
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
