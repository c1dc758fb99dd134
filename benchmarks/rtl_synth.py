"""Mitchell vs the exact unit on FPGA: LUTs and Fmax of multipliers and dividers, pipelined or not.

    python benchmarks/rtl_synth.py [--json] [--target ice40|ecp5|xilinx] [--widths 8 16 32]
                                   [--signedness u s] [--stages 2 3 4] [--div-widths 16]

Every row compares a Mitchell unit with the exact unit of the same operation,
width, signedness and pipeline depth (kexue_hw.hdl.synth.reference_for): the
combinational exact multiplier as Yosys builds ``a * b``, the row-pipelined
exact multiplier, the restoring exact divider with the same quotient format.
Yosys without DSP blocks (logic vs logic), nextpnr place-and-route (seed 1), all
ports registered (see kexue_hw/hdl/synth.py). The tables go to benchmarks/hdl.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from kexue_hw import Mitchell
from kexue_hw.hdl.progress import Progress
from kexue_hw.hdl.synth import compare_with_reference
from kexue_hw.tables import markdown_table

COLUMNS = ["unit", "op", "width", "stages", "target", "luts", "ffs", "carries", "fmax_mhz", "reference",
           "ref_luts", "ref_fmax_mhz", "lut_ratio", "fmax_ratio", "seconds"]  # fmt: skip


def configs(args) -> list[tuple]:
    """``(unit, op, stages)`` of every row, in table order."""
    out = []
    for sign in args.signedness:
        signed = sign == "s"
        out += [(Mitchell(w, signed), "mul", 0) for w in args.widths]
        out += [(Mitchell(16, signed), "mul", s) for s in args.stages]
    for sign in args.signedness:
        out += [(Mitchell(w, sign == "s"), "div", 0) for w in args.div_widths]
    out += [(Mitchell(w), "div", s) for w in args.div_widths for s in args.div_stages]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print JSON rows instead of a Markdown table")
    p.add_argument("--target", default="ice40", choices=["ice40", "ecp5", "xilinx"])
    p.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32], help="multiplier widths")
    p.add_argument("--signedness", nargs="+", choices=["u", "s"], default=["u", "s"])
    p.add_argument("--stages", type=int, nargs="*", default=[2, 3, 4], help="pipelined 16-bit multipliers")
    p.add_argument("--div-widths", type=int, nargs="*", default=[16], help="divider widths (combinational)")
    p.add_argument("--div-stages", type=int, nargs="*", default=[3], help="pipelined unsigned dividers")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    rows, cache, failed = [], {}, []
    todo = configs(args)
    with Progress("rtl_synth", total=len(todo)) as bar:
        for i, (unit, op, stages) in enumerate(todo):
            bar.update(done=i)
            try:
                row = compare_with_reference(unit, op, stages, args.target, progress=bar, cache=cache)
            except RuntimeError as e:  # a tool that fails on one design: say so, keep the other rows
                failed.append({"unit": unit.describe(), "op": op, "stages": stages, "error": str(e).splitlines()[0]
                               + " " + (str(e).strip().splitlines()[-1] if str(e).strip() else "")})  # fmt: skip
                continue
            ref = row["reference"]
            rows.append({**row, "reference": ref["name"], "ref_luts": ref["luts"], "ref_fmax_mhz": ref["fmax_mhz"],
                         "reference_row": ref})  # fmt: skip
    if args.json:
        print(json.dumps({"rows": rows, "failed": failed, "seconds": round(time.perf_counter() - t0, 1)}, indent=2))
    else:
        print(markdown_table(COLUMNS, rows))
        for f in failed:
            print(f"\nFAILED {f['unit']} {f['op']} stages {f['stages']}: {f['error']}")
        print(f"\n(total {time.perf_counter() - t0:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
