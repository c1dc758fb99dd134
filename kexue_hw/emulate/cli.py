"""``kexue-hw emulate-bench``: kernel throughput table and a small model's output error per unit."""

from __future__ import annotations

import argparse
import json
import os

from ..cli_values import UsageError, fits_in_memory, positive_int, shape

#: bytes per operand element and per output element the four methods hold at once (float, int8, lanes, bits)
BENCH_BYTES = (48, 32)
#: slowest method's speed assumed for the time estimate (GMAC/s; the LUT baseline on 2 cores), and the limit
BENCH_SLOW_GMACS, BENCH_MAX_SECONDS = 0.1, 600

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "emulate-bench",
        help="torch emulation: approximate matmul throughput and model output error",
        description="Throughput of the approximate matrix product (GMAC/s vs native fp32 and a lookup table) "
        "and the relative output error of a small config-built model per unit.",
    )
    p.add_argument("--shapes", nargs="+", type=shape, default=[(128, 768, 768)], help="MxKxN shapes")
    p.add_argument("--reps", type=positive_int, default=5, help="timed rounds (best counts; default 5)")
    p.add_argument("--threads", type=positive_int, default=None, help="default: all cores")
    p.add_argument("--no-accuracy", action="store_true", help="skip the model error table")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    cores = os.cpu_count() or 1
    if args.threads is not None and args.threads > cores:
        raise UsageError(f"--threads {args.threads}: this machine has {cores} cores")
    shapes = list(args.shapes)
    for m, k, n in shapes:
        fits_in_memory(f"--shapes {m}x{k}x{n}", BENCH_BYTES[0] * (m * k + k * n) + BENCH_BYTES[1] * m * n)
    seconds = sum(m * k * n for m, k, n in shapes) * (args.reps + 1) * 4 / (BENCH_SLOW_GMACS * 1e9)
    if seconds > BENCH_MAX_SECONDS:
        raise UsageError(f"--shapes {' '.join('x'.join(map(str, s)) for s in shapes)} with --reps {args.reps} "
                         f"would take up to {seconds / 60:.0f} min; the limit is {BENCH_MAX_SECONDS // 60} min")  # fmt: skip
    from ..hdl.progress import Progress
    from .report import accuracy_rows, accuracy_table
    from .throughput import markdown_table, measure_matmul, use_threads

    threads = use_threads(args.threads)
    with Progress("emulate-bench", total=len(shapes)) as bar:
        rows = []
        for mkn in shapes:
            bar.update(phase=f"throughput {'x'.join(map(str, mkn))}")
            rows.append(measure_matmul(mkn, args.reps))
            bar.update(done=len(rows))
        bar.update(phase="model accuracy")
        model, acc = (None, []) if args.no_accuracy else accuracy_rows()
    if args.json:
        print(json.dumps({"threads": threads, "speed": rows, "model": model, "accuracy": acc}, indent=2))
        return 0
    print(markdown_table(rows))
    print(f"\nGMAC/s, best of {args.reps} interleaved runs, {threads} threads.")
    if acc:
        print(f"\n{model}\n\n{accuracy_table(acc, counts=False)}")
    return 0
