"""``kexue-hw emulate-bench``: kernel throughput table and a small model's output error per unit."""

from __future__ import annotations

import argparse
import json
import os
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "emulate-bench",
        help="torch emulation: approximate matmul throughput and model output error",
        description="Throughput of the approximate matrix product (GMAC/s vs native fp32 and a lookup table) "
        "and the relative output error of a small config-built model per unit.",
    )
    p.add_argument("--shapes", nargs="+", default=["128x768x768"], help="MxKxN shapes")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="default: all cores")
    p.add_argument("--no-accuracy", action="store_true", help="skip the model error table")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if "torch" not in sys.modules and "numba" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see benchmarks/emulate.md
    from .report import accuracy_rows, accuracy_table
    from .throughput import markdown_table, measure_matmul, use_threads

    threads = use_threads(args.threads)
    shapes = [tuple(int(v) for v in s.lower().split("x")) for s in args.shapes]
    rows = [measure_matmul(shape, args.reps) for shape in shapes]
    model, acc = (None, []) if args.no_accuracy else accuracy_rows()
    if args.json:
        print(json.dumps({"threads": threads, "speed": rows, "model": model, "accuracy": acc}, indent=2))
        return 0
    print(markdown_table(rows))
    print(f"\nGMAC/s, best of {args.reps} interleaved runs, {threads} threads.")
    if acc:
        print(f"\n{model}\n\n{accuracy_table(acc, counts=False)}")
    return 0
