"""Performer (FAVOR+) versus exact softmax attention: accuracy against m, time against length.

    python benchmarks/attention.py            # Markdown tables (copied into benchmarks/kernels.md)
    python benchmarks/attention.py --json     # the same measurements as JSON
    python benchmarks/attention.py --quick    # smaller sweep
    python benchmarks/attention.py --from-json FILE   # render a saved --json run (measures nothing)

Accuracy: relative Frobenius error ``|P - A| / |A|`` of Performer output ``P``
against exact attention ``A`` (float64, one head, ``d = 64``, ``L = 1024``;
q, k entries N(0, s**2) for s = 0.3 and 0.5, v N(0, 1)), mean and median over 16 feature
seeds, for orthogonal and iid features, ``m = d/2 .. 4d``. Timing: float32, one thread
(``torch.set_num_threads(1)``: the machine is shared), best of ``--repeats``, exact
attention with query chunks of 1024 rows until a run exceeds ``--max-seconds``.
Units: Performer with every matmul product on an integer unit against float Performer.
The measurements are :func:`kexue_hw.kernels.performer_eval.evaluate` (also ``kexue-hw performer-bench``).
"""

from __future__ import annotations

import argparse
import json


def main(argv=None) -> None:
    from kexue_hw.kernels.performer_eval import evaluate, render

    ap = argparse.ArgumentParser(prog="benchmarks/attention.py", description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    ap.add_argument("--quick", action="store_true", help="small sweep")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=20.0, help="stop exact attention after a run this long")
    ap.add_argument("--max-length", type=int, default=16384)
    ap.add_argument("--from-json", metavar="FILE", help="render the Markdown of a saved --json run (measures nothing)")
    args = ap.parse_args(argv)
    if args.from_json:
        with open(args.from_json) as fh:
            print(render(json.load(fh)))
        return
    result = evaluate(args.quick, seeds=args.seeds, repeats=args.repeats, max_seconds=args.max_seconds,
                      max_length=args.max_length)  # fmt: skip
    print(json.dumps(result, indent=2) if args.json else render(result))


if __name__ == "__main__":
    main()
