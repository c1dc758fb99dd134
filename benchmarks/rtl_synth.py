"""Mitchell vs exact multiplier on FPGA: LUTs and Fmax at 8/16/32 bits plus pipelined 16-bit.

    python benchmarks/rtl_synth.py [--json] [--target ice40|ecp5] [--stages 2 4]

Yosys without DSP blocks (logic vs logic), nextpnr place-and-route, all ports
registered (see kexue_hw/hdl/synth.py). The table goes to benchmarks/hdl.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from kexue_hw import Exact, Mitchell
from kexue_hw.tables import markdown_table
from kexue_hw.hdl.synth import synthesize

COLUMNS = ["unit", "width", "stages", "target", "luts", "ffs", "carries", "fmax_mhz", "exact_luts",
           "exact_fmax_mhz", "lut_ratio", "fmax_ratio", "seconds"]  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print JSON rows instead of a Markdown table")
    p.add_argument("--target", default="ice40", choices=["ice40", "ecp5", "xilinx"])
    p.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32])
    p.add_argument("--signed", action="store_true")
    p.add_argument("--stages", type=int, nargs="+", default=[2, 4], help="pipelined 16-bit depths")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    rows = []
    exact = {w: synthesize(Exact(w, args.signed), "mul", 0, args.target) for w in args.widths}
    configs = [(w, 0) for w in args.widths] + [(16, s) for s in args.stages]
    for width, stages in configs:
        ref = exact.get(width) or synthesize(Exact(width, args.signed), "mul", 0, args.target)
        res = synthesize(Mitchell(width, args.signed), "mul", stages, args.target)
        fmax_ratio = round(res.fmax_mhz / ref.fmax_mhz, 3) if res.fmax_mhz and ref.fmax_mhz else None
        ratios = {"lut_ratio": round(res.luts / ref.luts, 3), "fmax_ratio": fmax_ratio}
        rows.append({**res.__dict__, "exact_luts": ref.luts, "exact_fmax_mhz": ref.fmax_mhz, **ratios})
    if args.json:
        print(json.dumps({"rows": rows, "exact": {w: r.__dict__ for w, r in exact.items()},
                          "seconds": round(time.perf_counter() - t0, 1)}, indent=2))  # fmt: skip
    else:
        print(markdown_table(COLUMNS, rows))
        print(f"\n(total {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
