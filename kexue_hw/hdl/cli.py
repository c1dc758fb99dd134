"""``kexue-hw rtl | verify | synth``: Verilog export, simulation against the golden model, FPGA cost.

Amaranth, Yosys and Verilator are imported or called inside the handlers only.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

from ..cli_options import add_unit_args, unit_from_args
from ..tables import text_table

__all__ = ["register", "committed_rtl", "verify"]


def _unit_args(p: argparse.ArgumentParser) -> None:
    add_unit_args(p, unit="optional", width_default=None, formats=False)
    p.add_argument("--op", choices=["mul", "div"], default="mul", help="operation (default mul)")
    p.add_argument("--stages", type=int, default=0, help="pipeline stages (0: combinational)")


# ----------------------------------------------------------------------------- rtl


def committed_rtl() -> list:
    """The committed ``rtl/`` set: this face's arithmetic units, then the kernels' streaming softmax units."""
    from ..kernels.softmax_rtl import rtl_targets
    from .standard import STANDARD_RTL

    return STANDARD_RTL + rtl_targets()


def _cmd_rtl(args) -> int:
    from ..spec import SpecError

    if args.standard or args.check:
        from .standard import stale_files, write_standard

        directory = pathlib.Path(args.output or "rtl")
        targets = committed_rtl()
        if args.check:
            stale = stale_files(directory, targets)
            for name in stale:
                print(f"stale: {directory / name}")
            print(f"{len(stale)} stale file(s) in {directory}")
            return 1 if stale else 0
        for path in write_standard(directory, targets):
            print(path)
        return 0
    from .export import unit_verilog

    unit = unit_from_args(args)
    if args.stages < 0:
        raise SpecError(f"--stages must be >= 0, got {args.stages}")
    text = unit_verilog(unit, args.op, args.stages)
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        pathlib.Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return 0


# ----------------------------------------------------------------------------- verify


def verify(unit, op: str, stages: int, sim: str, *, exhaustive: bool, samples: int, seed: int,
           vcd: str | None = None, ready_probability: float = 1.0, progress=None) -> dict:  # fmt: skip
    """Compare the RTL of ``unit`` with the golden model; returns the result row (``mismatches`` etc.).

    ``progress``: an optional :class:`~.progress.Progress` (build, pairs done).
    """
    import numpy as np

    from ..spec import SpecError
    from . import build
    from . import vectors as V

    if not 0.0 < ready_probability <= 1.0:
        raise SpecError(f"--ready must be in (0, 1], got {ready_probability}")
    if ready_probability < 1.0 and stages == 0:
        raise SpecError("--ready applies to pipelined units (--stages >= 1)")
    t0 = time.perf_counter()
    row = {"unit": unit.describe(), "op": op, "width": unit.width, "stages": stages, "sim": sim}
    if sim == "verilator":
        from . import verilator as VL

        if vcd:
            raise SpecError("--vcd is available with --sim amaranth only")
        if exhaustive:
            run = VL.run_exhaustive(unit, op, stages=stages, progress=progress)
        else:
            a, b = V.random_pairs(unit, samples, seed)
            if progress is not None:
                progress.update(phase="build + simulate")
            run = VL.run_vectors(unit, op, a, b, stages=stages, ready_probability=ready_probability, seed=seed)
        row.update(vectors=run.vectors, mismatches=run.mismatches, build_seconds=round(run.build_seconds, 1))
        if stages:
            row["cycles"] = run.cycles
        row["examples"] = run.details[:5]
    elif sim == "amaranth":
        from . import pysim

        if exhaustive:
            if unit.width > 8:
                raise SpecError("exhaustive Amaranth simulation stops at 8 bits; use --sim verilator or --samples")
            a, b = V.exhaustive(unit)
        else:
            a, b = V.random_pairs(unit, samples, seed)
        exp, exp_flags = V.expected(unit, op, a, b)
        dut = build(unit, op, stages)
        if progress is not None:
            progress.total = len(a)
            progress.update(phase="simulate")
        if stages:
            got, flags, stats = pysim.run_stream(dut, a, b, ready_probability=ready_probability, seed=seed, vcd=vcd,
                                                 progress=progress)  # fmt: skip
            row.update(cycles=stats.cycles, latency=stats.latency)
        else:
            got, flags = pysim.run_combinational(dut, a, b, vcd=vcd, progress=progress)
        bad = np.nonzero((got != exp) | (flags != exp_flags))[0]
        row.update(vectors=int(len(a)), mismatches=int(bad.size))
        row["examples"] = [
            f"a={int(a[i])} b={int(b[i])} got=0x{int(got[i]):x}/{int(flags[i])}"
            f" expected=0x{int(exp[i]):x}/{int(exp_flags[i])}"
            for i in bad[:5]
        ]
    else:
        raise SpecError(f"--sim must be amaranth or verilator, got {sim!r}")
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def _cmd_verify(args) -> int:
    from .progress import Progress

    unit = unit_from_args(args)
    with Progress(f"verify {unit.describe()} {args.op}") as bar:
        row = verify(unit, args.op, args.stages, args.sim, exhaustive=args.exhaustive, samples=args.samples,
                     seed=args.seed, vcd=args.vcd, ready_probability=args.ready, progress=bar)  # fmt: skip
    if args.json:
        print(json.dumps(row))
    else:
        cols = ["unit", "op", "width", "stages", "sim", "vectors", "mismatches", "seconds"]
        cols += [c for c in ("cycles", "latency", "build_seconds") if c in row]
        print(text_table(cols, [row]))
        for ex in row["examples"]:
            print("mismatch", ex)
    return 1 if row["mismatches"] else 0


# ----------------------------------------------------------------------------- synth

SYNTH_COLUMNS = ["unit", "op", "width", "stages", "target", "luts", "ffs", "fmax_mhz", "reference", "ref_luts",
                 "ref_fmax_mhz", "lut_ratio", "fmax_ratio"]  # fmt: skip


def _cmd_synth(args) -> int:
    from .progress import Progress
    from .synth import compare_with_reference

    unit = unit_from_args(args)
    if args.stages < 0:
        from ..spec import SpecError

        raise SpecError(f"--stages must be >= 0, got {args.stages}")
    with Progress(f"synth {unit.describe()} {args.op}") as bar:
        row = compare_with_reference(unit, args.op, args.stages, args.target, progress=bar)
    if args.json:
        print(json.dumps(row))
    else:
        ref = row["reference"]
        shown = {**row, "reference": ref["name"], "ref_luts": ref["luts"], "ref_fmax_mhz": ref["fmax_mhz"]}
        print(text_table(SYNTH_COLUMNS, [shown]))
    return 0


# ----------------------------------------------------------------------------- registration


def register(subparsers) -> None:
    p = subparsers.add_parser("rtl", help="export a unit's Verilog (or the standard set with --standard)")
    _unit_args(p)
    p.add_argument("-o", "--output", help="output file (default stdout); with --standard/--check: directory (rtl)")
    p.add_argument("--standard", action="store_true", help="regenerate the committed standard set and manifest")
    p.add_argument("--check", action="store_true", help="list standard files that are stale (exit 1 if any)")
    p.set_defaults(func=_cmd_rtl)

    p = subparsers.add_parser("verify", help="simulate a unit's RTL against the golden model")
    _unit_args(p)
    p.add_argument("--sim", choices=["amaranth", "verilator"], default="amaranth")
    p.add_argument("--exhaustive", action="store_true", help="all operand pairs (8 bits; 16 with verilator)")
    p.add_argument("--samples", type=int, default=10000, help="random pairs (default 10000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ready", type=float, default=1.0, help="pipelined: probability result.ready is high")
    p.add_argument("--vcd", help="write a VCD waveform (amaranth only)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_verify)

    p = subparsers.add_parser(
        "synth", help="FPGA LUTs and Fmax of a unit vs the exact unit (multiplier or divider, same pipelining)"
    )
    _unit_args(p)
    p.add_argument(
        "--target", choices=["ice40", "ecp5", "xilinx"], default="ice40", help="xilinx: synthesis only (no Fmax)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_synth)
