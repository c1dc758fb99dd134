"""Exhaustive Verilator check of the 16-bit Mitchell multiplier: all 2**32 operand pairs.

    python benchmarks/rtl_verilator.py [--width 16] [--signed] [--op mul] [--json]

The C++ harness (kexue_hw/hdl/sim/harness.cpp) enumerates operands itself and compares the
Verilated RTL with expected outputs that the Numba golden model streams
through a pipe chunk by chunk (4 Mi pairs at a time; both processes run
concurrently). Times include the Verilator build unless it is cached
(kexue_hw.hdl.verilator.cache_dir()); pass --fresh to force a rebuild.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time

from kexue_hw import Mitchell
from kexue_hw.hdl import verilator


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--signed", action="store_true")
    p.add_argument("--op", default="mul", choices=["mul", "div"])
    p.add_argument("--fresh", action="store_true", help="build in a new directory (time includes the build)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    unit = Mitchell(args.width, args.signed)
    build_root = tempfile.mkdtemp(prefix="kexue-vl-") if args.fresh else None
    t0 = time.perf_counter()
    try:
        run = verilator.run_exhaustive(unit, args.op, build_root=build_root)
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
        "harness_cpu_seconds": round(run.harness_cpu_seconds, 1),
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
