"""``kexue-hw rtl | verify | synth``: Verilog export, simulation against the golden model, FPGA cost.

Amaranth, Yosys and Verilator are imported or called inside the handlers only.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

from ..cli_options import UNIT_OPTIONS, add_unit_args, unit_from_args
from ..cli_values import (UsageError, fits_in_memory, input_dir, non_negative_int, output_dir, output_file,
                          positive_int, probability, refuse, seed)  # fmt: skip
from ..tables import text_table

__all__ = ["register", "committed_rtl", "verify"]


def _unit_args(p: argparse.ArgumentParser) -> None:
    add_unit_args(p, unit="optional", width_default=None, formats=False)
    p.add_argument("--op", choices=["mul", "div"], default="mul", help="operation (default mul)")
    p.add_argument("--stages", type=non_negative_int, default=0, help="pipeline stages (0: combinational)")


# ----------------------------------------------------------------------------- rtl


def committed_rtl() -> list:
    """The committed ``rtl/`` set: this face's arithmetic units, then the kernels' streaming softmax units."""
    from ..kernels.softmax_rtl import rtl_targets
    from .standard import STANDARD_RTL

    return STANDARD_RTL + rtl_targets()


def _cmd_rtl(args) -> int:
    if args.standard or args.check:
        from .standard import MANIFEST, stale_files, write_standard

        which = "--check" if args.check else "--standard"
        if args.standard and args.check:
            raise UsageError("--standard and --check exclude each other (write the set, or compare with it)")
        refuse(args, ["unit", *UNIT_OPTIONS], f"does not apply with {which} (the set fixes every unit)")
        if args.stages or args.op != "mul":
            raise UsageError(f"--{'stages' if args.stages else 'op'} does not apply with {which} (the set fixes every unit)")
        directory = pathlib.Path(args.output or "rtl")
        targets = committed_rtl()
        if args.check:
            refuse(args, ["force"], "applies to writing (--standard or -o FILE)")
            input_dir("-o", directory)
            stale = stale_files(directory, targets)
            for name in stale:
                print(f"stale: {directory / name}")
            print(f"{len(stale)} stale file(s) in {directory}")
            return 1 if stale else 0
        output_dir("-o", directory)
        ours = (directory / MANIFEST).exists()  # a folder this command wrote before: regenerating it is the point
        clash = [t.filename for t in targets if (directory / t.filename).exists()]
        if clash and not ours and not args.force:
            raise UsageError(f"-o {directory}: {clash[0]} exists and the folder has no {MANIFEST}; "
                             "pass --force to overwrite")  # fmt: skip
        for path in write_standard(directory, targets):
            print(path)
        return 0
    from .export import unit_verilog

    unit = unit_from_args(args)
    to_file = args.output not in (None, "-")
    if to_file:
        output_file("-o", args.output, force=args.force)
    elif args.force:
        raise UsageError("--force applies to -o FILE (it overwrites the file)")
    text = unit_verilog(unit, args.op, args.stages)
    if to_file:
        pathlib.Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


# ----------------------------------------------------------------------------- verify


#: bytes of memory per simulated vector (operands, expected results, flags, outputs)
VECTOR_BYTES = 48
#: longest simulation ``verify`` starts, in seconds (estimated from the speed of the first vectors)
MAX_SIM_SECONDS = 3600
#: Amaranth simulation runs in chunks of about this many seconds (progress between them)
CHUNK_SECONDS = 2.0
#: vectors simulated first to measure the simulator's speed
PROBE_VECTORS = 512


def verify(unit, op: str, stages: int, sim: str, *, exhaustive: bool, samples: int, seed: int,
           vcd: str | None = None, ready_probability: float = 1.0, progress=None, checked: bool = False) -> dict:  # fmt: skip
    """Compare the RTL of ``unit`` with the golden model; returns the result row (``mismatches`` etc.).

    Runs :func:`check_verify` first unless ``checked`` (the caller ran it). ``progress``: an optional
    :class:`~.progress.Progress` told the phase and the vectors done.
    """
    import numpy as np

    from . import vectors as V

    if not checked:
        check_verify(unit, op, stages, sim, exhaustive=exhaustive, samples=samples, seed=seed, vcd=vcd,
                     ready_probability=ready_probability)  # fmt: skip
    progress = progress if progress is not None else _NoProgress()
    t0 = time.perf_counter()
    row = {"unit": unit.describe(), "op": op, "width": unit.width, "stages": stages, "sim": sim}
    if sim == "verilator":
        from . import verilator as VL

        progress.update(phase="build and simulate")
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
    else:
        a, b = V.exhaustive(unit) if exhaustive else V.random_pairs(unit, samples, seed)
        exp, exp_flags = V.expected(unit, op, a, b)
        got, flags, cycles, latency = _simulate_amaranth(unit, op, stages, a, b, ready_probability, seed, vcd, progress)
        if stages:
            row.update(cycles=cycles, latency=latency)
        bad = np.nonzero((got != exp) | (flags != exp_flags))[0]
        row.update(vectors=int(len(a)), mismatches=int(bad.size))
        row["examples"] = [
            f"a={int(a[i])} b={int(b[i])} got=0x{int(got[i]):x}/{int(flags[i])}"
            f" expected=0x{int(exp[i]):x}/{int(exp_flags[i])}"
            for i in bad[:5]
        ]
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def check_verify(unit, op: str, stages: int, sim: str, *, exhaustive: bool, samples: int, seed: int,
                 vcd: str | None = None, ready_probability: float = 1.0) -> None:  # fmt: skip
    """:class:`~kexue_hw.spec.SpecError` or :class:`UsageError` for a :func:`verify` request that cannot run.

    Options that do not fit together, vectors that do not fit in memory, and Amaranth runs projected
    past :data:`MAX_SIM_SECONDS` (a probe of :data:`PROBE_VECTORS` measures the speed).
    """
    from ..spec import SpecError

    if not 0.0 < ready_probability <= 1.0:
        raise SpecError(f"--ready must be in (0, 1], got {ready_probability}")
    if ready_probability < 1.0 and stages == 0:
        raise SpecError("--ready applies to pipelined units (--stages >= 1)")
    if sim not in ("amaranth", "verilator"):
        raise SpecError(f"--sim must be amaranth or verilator, got {sim!r}")
    if vcd and sim == "verilator":
        raise SpecError("--vcd is available with --sim amaranth only")
    if exhaustive and sim == "amaranth" and unit.width > 8:
        raise SpecError("exhaustive Amaranth simulation stops at 8 bits; use --sim verilator or --samples")
    _check_depth(unit, op, stages)  # an impossible unit, op or depth fails here, before any vectors
    if not exhaustive:
        fits_in_memory(f"--samples {samples}", samples * VECTOR_BYTES)
    n = (1 << (2 * unit.width)) if exhaustive else samples
    if sim == "amaranth" and n > PROBE_VECTORS and not vcd:
        _refuse_slow_simulation(unit, op, stages, n, ready_probability, seed)


def _check_depth(unit, op: str, stages: int) -> None:
    """:class:`~kexue_hw.spec.SpecError` unless :func:`~kexue_hw.hdl.build` takes ``unit``, ``op`` and ``stages``."""
    from ..spec import SpecError
    from . import max_stages

    deepest = max_stages(unit, op)  # raises for units and ops without RTL
    if not 0 <= stages <= deepest:
        raise SpecError(f"stages={stages} is impossible for {unit.describe()} {op}: allowed 0..{deepest}")


class _NoProgress:
    def update(self, done=None, phase=None) -> None:
        pass


def _refuse_slow_simulation(unit, op, stages, n, ready_probability, seed) -> None:
    """Simulate :data:`PROBE_VECTORS` random pairs; refuse ``n`` vectors if they would take past :data:`MAX_SIM_SECONDS`."""
    from . import vectors as V

    a, b = V.random_pairs(unit, PROBE_VECTORS, seed)
    t = time.perf_counter()
    _simulate_amaranth(unit, op, stages, a, b, ready_probability, seed, None, _NoProgress())
    rate = PROBE_VECTORS / max(time.perf_counter() - t, 1e-6)  # with the set-up: errs towards refusing
    if n / rate > MAX_SIM_SECONDS:
        raise UsageError(f"{n:,} vectors in Amaranth's simulator would take about {n / rate / 60:,.0f} min "
                         f"({rate:,.0f} vectors/s); use --sim verilator or fewer --samples")  # fmt: skip


def _simulate_amaranth(unit, op, stages, a, b, ready_probability, seed, vcd, progress):
    """Amaranth simulation in chunks of about :data:`CHUNK_SECONDS` (one with ``vcd``): outputs, flags, cycles,
    latency."""
    import numpy as np

    from . import build, pysim

    dut = build(unit, op, stages)
    n = len(a)
    got = np.zeros(n, dtype=np.uint64)
    flags = np.zeros(n, dtype=bool)
    cycles, latency = 0, None
    start, chunk = 0, n if vcd else min(n, PROBE_VECTORS)
    progress.update(done=0, phase="simulate (Amaranth)")
    while start < n:
        stop = min(n, start + chunk)
        t = time.perf_counter()
        if stages:
            g, f, stats = pysim.run_stream(dut, a[start:stop], b[start:stop], ready_probability=ready_probability,
                                           seed=seed + start, vcd=vcd)  # fmt: skip
            cycles += stats.cycles
            latency = stats.latency if latency is None else latency
        else:
            g, f = pysim.run_combinational(dut, a[start:stop], b[start:stop], vcd=vcd)
        got[start:stop], flags[start:stop] = g, f
        rate = (stop - start) / max(time.perf_counter() - t, 1e-6)
        start = stop
        chunk = max(PROBE_VECTORS, int(rate * CHUNK_SECONDS))
        progress.update(done=start)
    return got, flags, cycles, latency


def _cmd_verify(args) -> int:
    from .progress import Progress

    unit = unit_from_args(args)
    if args.exhaustive and args.samples is not None:
        raise UsageError("--exhaustive and --samples exclude each other")
    if args.vcd:
        output_file("--vcd", args.vcd, force=args.force)
    elif args.force:
        raise UsageError("--force applies to --vcd FILE (it overwrites the file)")
    samples = 10000 if args.samples is None else args.samples
    total = (1 << (2 * unit.width)) if args.exhaustive else samples
    check_verify(unit, args.op, args.stages, args.sim, exhaustive=args.exhaustive, samples=samples, seed=args.seed,
                 vcd=args.vcd, ready_probability=args.ready)  # before the progress lines start  # fmt: skip
    with Progress(f"verify {unit.describe()} {args.op}", total=total) as bar:
        row = verify(unit, args.op, args.stages, args.sim, exhaustive=args.exhaustive, samples=samples,
                     seed=args.seed, vcd=args.vcd, ready_probability=args.ready, progress=bar, checked=True)  # fmt: skip
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
    from ..spec import SpecError
    from .progress import Progress
    from .synth import compare_verilog_with_exact, compare_with_reference

    if args.verilog:  # the user's module, in the same register wrapper, next to the exact multiplier
        from .external import operand_width

        if args.unit not in (None, "table") or not args.top or args.stages or args.op != "mul":
            raise SpecError("synth --verilog FILE --top MODULE takes a combinational multiplier (no unit, --stages, --op)")
        width = args.width or operand_width(args.verilog, args.top, args.ports)
        with Progress(f"synth {args.top}") as bar:
            row = compare_verilog_with_exact(args.verilog, args.top, width=width, signed=bool(args.signed),
                                             ports=args.ports, target=args.target, progress=bar)  # fmt: skip
    else:
        unit = unit_from_args(args)
        _check_depth(unit, args.op, args.stages)  # an impossible unit, op or depth fails before the tools are looked for
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
    p.add_argument("--force", action="store_true", help="overwrite an existing -o file")
    p.add_argument("--check", action="store_true", help="list standard files that are stale (exit 1 if any)")
    p.set_defaults(func=_cmd_rtl)

    p = subparsers.add_parser("verify", help="simulate a unit's RTL against the golden model")
    _unit_args(p)
    p.add_argument("--sim", choices=["amaranth", "verilator"], default="amaranth")
    p.add_argument("--exhaustive", action="store_true", help="all operand pairs (8 bits; 16 with verilator)")
    p.add_argument("--samples", type=positive_int, default=None, help="random pairs (default 10000)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--ready", type=probability, default=1.0, help="pipelined: probability result.ready is high")
    p.add_argument("--vcd", help="write a VCD waveform (amaranth only)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --vcd file")
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
