"""Reproducible Verilog export of built components.

The output depends only on the parameters and the tool versions: Amaranth is
asked not to emit ``src`` attributes, and the one Yosys-internal name that
carries a source line number is renamed, so regenerating a file anywhere gives
the same bytes. A comment header records the parameters and the generator.
"""

from __future__ import annotations

import json
import re

from ..spec import IntUnit, SpecError

__all__ = ["top_name", "unit_params", "header", "to_verilog", "unit_verilog", "generator_versions"]

_YOSYS_AUTO = re.compile(r"\\\$auto\$[A-Za-z_]+\.cc:\d+:([A-Za-z_]+)\$(\d+)\s")


def generator_versions() -> str:
    """``kexue-hw <v>, <hdl generator>, amaranth <v>`` for file headers."""
    import amaranth

    from .. import __version__
    from . import GENERATOR

    return f"kexue-hw {__version__}, {GENERATOR}, amaranth {amaranth.__version__}"


def top_name(unit: IntUnit, op: str, stages: int) -> str:
    """Module name such as ``mitchell_u16_mul`` or ``mitchell_s32_div_q31_p2`` (``p2``: 2 stages)."""
    name = f"{unit.describe()}_{op}"
    if op == "div":
        name += f"_q{unit.quotient_frac_bits}"
    if stages:
        name += f"_p{stages}"
    return name


def unit_params(unit: IntUnit, op: str, stages: int) -> dict:
    """The parameters a file was generated from (JSON-ready, stable key order)."""
    params = {"unit": unit.family, **unit.params(), "op": op, "stages": stages}
    if op == "div":
        params["quotient_frac_bits"] = unit.quotient_frac_bits
    return params


def header(title: str, params: dict, notes: list[str] = ()) -> str:
    lines = [
        f"// {title}",
        f"// parameters: {json.dumps(params, sort_keys=False)}",
        f"// generator: {generator_versions()}",
        *[f"// {n}" for n in notes],
        "// Regenerate with `kexue-hw rtl` (see kexue_hw/hdl/standard.py); do not edit.",
    ]
    return "\n".join(lines) + "\n"


def to_verilog(component, name: str) -> str:
    """Verilog text of an Amaranth component, without source locations."""
    from amaranth.back import verilog

    text = verilog.convert(component, name=name, emit_src=False, strip_internal_attrs=True)
    text = _YOSYS_AUTO.sub(lambda mt: "\\$auto$" + mt.group(1) + "$" + mt.group(2) + " ", text)
    if re.search(r"\.(py|cc|h|cpp):\d+", text) or "/" + "home" in text or "/work/" in text:
        raise RuntimeError("exported Verilog still refers to source files or paths")
    return text


def unit_verilog(unit: IntUnit, op: str = "mul", stages: int = 0) -> str:
    """Complete Verilog file (header + module) for one arithmetic unit."""
    from . import build

    if not isinstance(unit, IntUnit):
        raise SpecError(f"RTL exists for integer units only, not {unit!r}")
    component = build(unit, op, stages)
    name = top_name(unit, op, stages)
    dp = component.datapath
    ports = (
        "ports: a, b -> " + ", ".join(dp.result_shapes)
        if stages == 0
        else "ports: operands stream {a, b} -> result stream {" + ", ".join(dp.result_shapes) + "}; clk, rst"
    )
    notes = [
        f"mirrors {dp.golden} for {unit.describe()}",
        f"latency {stages} cycle(s); {ports}",
    ]
    return header(f"kexue-hw RTL {name}", unit_params(unit, op, stages), notes) + to_verilog(component, name)
