"""The command-line options that name a unit, shared by every ``kexue-hw`` subcommand that takes one.

A unit is named either by its family (``mitchell``) plus ``--width``, ``--signed``,
``--frac-bits``, ``--corrections``, ``--format``, ``--quotient-frac``, or by its full
name (``mitchell_s8_t3``, ``table:FILE.npy``, see :func:`kexue_hw.spec.parse_unit`), which
carries every parameter itself. The ``table`` family takes the circuit from ``--file``
(a ``.npy``/``.npz`` product table), ``--c`` (a C behavioural model, ``--function``) or
``--verilog`` (a module, ``--top``, ``--ports``); widths above 12 bits become a sampled
function unit. Handlers build the spec with :func:`unit_from_args`.
"""

from __future__ import annotations

import argparse
from dataclasses import fields

from .cli_values import UsageError, int_range, non_negative_int
from .spec import FLOAT_FORMATS, SpecError, Unit, is_family, parse_unit, unit_families, unit_from_name
from .table import MAX_TABLE_WIDTH, FunctionUnit, Table

__all__ = ["add_unit_args", "unit_from_args", "unit_name"]

#: the options (argparse ``dest``) that set a unit parameter
UNIT_OPTIONS = ("width", "signed", "frac_bits", "corrections", "fmt", "quotient_frac")
#: the options that give a table unit's circuit (one of the first three)
TABLE_SOURCES = ("file", "c", "verilog")
TABLE_OPTIONS = (*TABLE_SOURCES, "function", "top", "ports")


def unit_name(text: str) -> str:
    """argparse ``type`` of a unit argument: a family name or a full unit name (checked here, exit 2 if neither)."""
    if not is_family(text):
        try:
            parse_unit(text)
        except SpecError as e:
            if "_" not in text:  # not an attempt at a full name: say what the choices are
                families = ", ".join(unit_families(integer_only=True))
                raise argparse.ArgumentTypeError(
                    f"unknown unit {text!r}: choose a family ({families}) or a full name such as mitchell_s8_t3"
                ) from None
            raise argparse.ArgumentTypeError(str(e)) from None
    return text


def add_unit_args(
    p: argparse.ArgumentParser, *, unit: str = "positional", width_default: int | None = 8, formats: bool = True
) -> None:
    """Add the unit argument and its options to ``p``.

    ``unit``: ``"positional"`` (required), ``"optional"`` (positional, may be left out) or
    ``"option"`` (``--unit``, default ``mitchell``). ``width_default=None`` makes ``--width``
    required with a family name. ``formats``: offer ``--format`` (float units).
    """
    families = [f for f in unit_families(integer_only=True) if f != FunctionUnit.family]
    what = f"unit family ({', '.join(families)}) or full name (e.g. mitchell_s8_t3, table:FILE.npy)"
    if unit == "option":
        p.add_argument("--unit", type=unit_name, default="mitchell", metavar="UNIT", help=f"{what}; default mitchell")
    else:
        p.add_argument("unit", type=unit_name, nargs="?" if unit == "optional" else None, metavar="UNIT", help=what)
    width = f", default {width_default}" if width_default else ""
    p.add_argument("--width", type=int_range(2, 32), default=None, help=f"operand width N in bits (2..32{width})")
    p.add_argument("--signed", action="store_true", default=None, help="two's complement operands (sign-magnitude inside)")
    p.add_argument("--frac-bits", type=non_negative_int, default=None, help="Mitch-w / MBM-t: fraction bits kept after the leading one")
    p.add_argument("--corrections", type=int_range(0, 3), default=None, help="ILM correction terms (0..3, default 1)")
    if formats:
        p.add_argument("--format", dest="fmt", choices=list(FLOAT_FORMATS), default=None, help="float unit format")
    p.add_argument("--quotient-frac", type=non_negative_int, default=None, help="divider: fraction bits of the quotient")
    g = p.add_argument_group("table units (bring your own multiplier)")
    g.add_argument("--file", metavar="TABLE.npy", help="product table: .npy, or .npz (one array)")
    g.add_argument("--c", metavar="MODEL.c", help="C behavioural model, compiled with the system C compiler")
    g.add_argument("--function", metavar="NAME", help="--c: the function that multiplies (default: the only one)")
    g.add_argument("--verilog", metavar="FILE.v", help="Verilog module, simulated with Verilator")
    g.add_argument("--top", metavar="MODULE", help="--verilog: the module")
    g.add_argument("--ports", metavar="A,B,P", help="--verilog: operand and product port names (default: found)")
    p.set_defaults(width_default=width_default)


def unit_from_args(args: argparse.Namespace) -> Unit:
    """The spec named by the arguments of :func:`add_unit_args` (:class:`SpecError` when they do not make one)."""
    given = {k: getattr(args, k) for k in UNIT_OPTIONS if getattr(args, k, None) is not None}
    table_given = [k for k in TABLE_OPTIONS if getattr(args, k, None) is not None]
    if args.unit == Table.family or (table_given and not args.unit):
        return _table_from_args(args, given)
    if table_given:
        raise SpecError(f"--{table_given[0]} applies to table units (kexue-hw ... table --{table_given[0]} ...)")
    if not args.unit:
        raise SpecError(f"a unit is required: a family ({', '.join(unit_families(True))}) or a name like mitchell_s8_t3")
    if not is_family(args.unit):
        if given:
            flag = "--format" if next(iter(given)) == "fmt" else "--" + next(iter(given)).replace("_", "-")
            raise SpecError(f"{flag} conflicts with the full unit name {args.unit!r} (it sets every parameter)")
        return parse_unit(args.unit)
    if "quotient_frac" in given and getattr(args, "op", "div") != "div":
        raise UsageError(f"--quotient-frac applies to division (--op div), not {args.op}")
    width = given.pop("width", args.width_default)
    if width is None and given.get("fmt") is None:
        raise SpecError("--width is required")
    unit = unit_from_name(args.unit, width=width if width is not None else 8, **{"signed": False, **given})
    own = {f.name for f in fields(unit)}
    for name in UNIT_OPTIONS:  # an option the user gave that the unit has no field for is refused, not ignored
        if getattr(args, name, None) is not None and name not in own:
            flag = "--format" if name == "fmt" else "--" + name.replace("_", "-")
            raise UsageError(f"{flag} does not apply to {type(unit).__name__} units ({unit.describe()})")
    return unit


def _table_from_args(args: argparse.Namespace, given: dict) -> Unit:
    """``table --file/--c/--verilog``: the circuit tabulated (up to 12 bits) or wrapped as a function unit."""
    sources = [k for k in TABLE_SOURCES if getattr(args, k, None) is not None]
    if len(sources) != 1:
        raise SpecError("a table unit takes exactly one of --file TABLE.npy, --c MODEL.c, --verilog FILE.v --top M")
    extra = set(given) - {"width", "signed"}
    if extra:
        raise SpecError(f"--{extra.pop().replace('_', '-')} does not apply to table units")
    signed = bool(given.get("signed"))
    if sources[0] == "file":
        if "width" in given:
            raise SpecError("--width comes from the table's shape with --file")
        return Table.from_file(args.file, signed=True if given.get("signed") else None)
    width = given.get("width", args.width_default or 8)
    if sources[0] == "c":
        from . import c_model

        make = c_model.table_from_c if width <= MAX_TABLE_WIDTH else c_model.function_from_c
        return make(args.c, args.function, width=width, signed=signed)
    if not args.top:
        raise SpecError("--verilog needs --top MODULE")
    from .hdl import external

    make = external.table_from_verilog if width <= MAX_TABLE_WIDTH else external.function_from_verilog
    return make(args.verilog, args.top, width=width, signed=signed, ports=args.ports)
