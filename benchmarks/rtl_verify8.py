"""Every 8-bit unit, exhaustively (65,536 pairs), in both simulators against the golden model.

    python benchmarks/rtl_verify8.py [--sim amaranth verilator] [--json]

Prints one row per unit/op/simulator (the `kexue-hw verify` columns).
"""

from __future__ import annotations

import argparse
import json
import sys

from kexue_hw import ILM, MBM, Exact, Mitchell
from kexue_hw.hdl.cli import verify
from kexue_hw.tables import markdown_table

UNITS = [
    (Mitchell(8), "mul", 0),
    (Mitchell(8, True), "mul", 0),
    (Mitchell(8, frac_bits=4), "mul", 0),
    (Mitchell(8), "mul", 2),
    (Mitchell(8), "div", 0),
    (Mitchell(8, True), "div", 0),
    (Mitchell(8, True), "div", 3),
    (MBM(8), "mul", 0),
    (MBM(8, True), "mul", 0),
    (ILM(8, corrections=1), "mul", 0),
    (ILM(8, True, corrections=2), "mul", 0),
    (Exact(8), "mul", 0),
    (Exact(8, True), "mul", 0),
    (Exact(8, True), "mul", 2),
    (Exact(8), "div", 0),
    (Exact(8, True), "div", 0),
    (Exact(8), "div", 4),
]

COLUMNS = ["unit", "op", "width", "stages", "sim", "vectors", "mismatches", "seconds"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sim", nargs="+", default=["amaranth", "verilator"], choices=["amaranth", "verilator"])
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rows = []
    for sim in args.sim:
        for unit, op, stages in UNITS:
            row = verify(unit, op, stages, sim, exhaustive=True, samples=0, seed=0)
            row.pop("examples", None)
            rows.append(row)
            print(json.dumps(row) if args.json else "  ".join(str(row[c]) for c in COLUMNS), flush=True)
    if not args.json:
        print()
        print(markdown_table(COLUMNS, rows))
    return 1 if any(r["mismatches"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
