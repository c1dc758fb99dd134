"""Exhaustive Verilator check of the 16-bit Mitchell multiplier: all 2**32 operand pairs.

    python benchmarks/rtl_verilator.py [--width 16] [--signed] [--op mul] [--fresh] [--json]

The Verilated RTL is a shared library (kexue_hw/hdl/sim/harness.cpp) in which
several copies of the unit sit side by side and the operands are generated in
C++; one worker thread per core lets it fill a buffer with a chunk's outputs and
then checks the buffer against the Numba golden model (kexue_hw.arith), so both
cores work and nothing of size 2**32 is ever stored. Times include the Verilator
build unless it is cached (kexue_hw.hdl.verilator.cache_dir()); pass --fresh to
build in a new directory. ``cpu_seconds`` is the CPU time of this process and its
build subprocesses; ``harness_seconds`` the part spent in the Verilated model.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time

from kexue_hw import Mitchell
from kexue_hw.hdl import verilator
from kexue_hw.hdl.progress import Progress


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--signed", action="store_true")
    p.add_argument("--op", default="mul", choices=["mul", "div"])
    p.add_argument("--fresh", action="store_true", help="build in a new directory (time includes the build)")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: one per CPU)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    unit = Mitchell(args.width, args.signed)
    build_root = tempfile.mkdtemp(prefix="kexue-vl-") if args.fresh else None
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), _cpu()
    try:
        with Progress(f"rtl_verilator {unit.describe()} {args.op}") as bar:
            run = verilator.run_exhaustive(unit, args.op, build_root=build_root, threads=args.threads, progress=bar)
    finally:
        if build_root:
            shutil.rmtree(build_root, ignore_errors=True)
    row = {
        "unit": unit.describe(),
        "op": args.op,
        "width": unit.width,
        "sim": "verilator",
        "vectors": run.vectors,
        "mismatches": run.mismatches,
        "build_seconds": round(run.build_seconds, 1),
        "run_seconds": round(run.seconds, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "vectors_per_second": round(run.vectors / run.seconds),
        "cpu_seconds": round(_cpu() - c0, 1),
        "harness_seconds": round(run.harness_seconds, 1),
        "cpus": os.cpu_count(),
        "load_average": [round(load0, 2), round(os.getloadavg()[0], 2)],
    }
    if args.json:
        print(json.dumps(row))
    else:
        print("  ".join(f"{k}={v}" for k, v in row.items()))
        for d in run.details:
            print(d)
    return 1 if run.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
