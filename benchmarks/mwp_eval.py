"""The shipped MWP solver on Math23K's public test split: native and on each emulated unit.

    python benchmarks/mwp_eval.py [--json] [--limit N] [--units mitchell_s8 mbm_s8 ...] [--out FILE]

Prints answer accuracy (greedy and beam 3, native fp32), equation exact-match, and for each unit
the beam-3 accuracy with every product of the forward pass on it (through ``EmulationMode``), the
paired difference with its 95 % interval, the exact McNemar p-value, agreement with native, the
time ratio to the native run and whether ``track()`` saw any product left exact. Writes the JSON
to ``benchmarks/results/mwp_eval.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

UNITS = ["exact_s8", "mitchell_s8", "mbm_s8", "ilm_s8_c1", "float_mitchell_bf16"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int)
    p.add_argument("--units", nargs="+", default=UNITS)
    p.add_argument("--checkpoint", help="solver folder (default: the shipped one)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "mwp_eval.json"))
    args = p.parse_args(argv)

    import torch

    from kexue_hw.models.mwp.data import find_shared_data, load_problems
    from kexue_hw.models.mwp.evaluate import evaluate_solver
    from kexue_hw.models.mwp.solver import Solver

    torch.set_num_threads(args.threads)
    shared = find_shared_data()
    if shared is None:
        print("no ../shared/data: Math23K test is needed", file=sys.stderr)
        return 2
    test = shared / "math23k" / "math23k_test.json"
    t0 = time.perf_counter()
    solver = Solver.load(args.checkpoint)
    problems = load_problems(test)[0][: args.limit]
    greedy = solver.accuracy(problems, beam=1)
    greedy_seconds = time.perf_counter() - t0
    result = evaluate_solver(test, checkpoint=args.checkpoint, limit=args.limit, beam=3, units=args.units,
                             progress=not args.json)  # fmt: skip
    result["greedy_accuracy"] = greedy
    result["greedy_seconds"] = round(greedy_seconds, 1)
    result["threads"] = args.threads
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"Math23K test, n {result['n']}: greedy {greedy:.4f}, beam 3 {result['accuracy']:.4f}, "
          f"equation exact-match {result['exact_match']:.4f}; native beam-3 run {result['seconds']:.1f} s")  # fmt: skip
    print("\n| unit | accuracy | Δ (95% CI) | McNemar p | agreement | time / native | nothing exact |")
    print("|---|---:|---:|---:|---:|---:|:---:|")
    for r in result["units"]:
        lo, hi = r["ci95"]
        print(f"| {r['unit']} | {r['accuracy']:.4f} | {r['delta']:+.4f} ({lo:+.4f}, {hi:+.4f}) | {r['mcnemar_p']:.3g} | "
              f"{r['agreement']:.4f} | {r['time_ratio']:.2f} | {'yes' if r['all_emulated'] else 'NO'} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
