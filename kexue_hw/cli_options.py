"""The command-line options that name a unit, shared by every ``kexue-hw`` subcommand that takes one.

A unit is named either by its family (``mitchell``) plus ``--width``, ``--signed``,
``--frac-bits``, ``--corrections``, ``--format``, ``--quotient-frac``, or by its full
name (``mitchell_s8_t3``, see :func:`kexue_hw.spec.parse_unit`), which carries every
parameter itself. Handlers build the spec with :func:`unit_from_args`.
"""

from __future__ import annotations

import argparse
from dataclasses import fields

from .cli_values import UsageError, int_range, non_negative_int
from .spec import FLOAT_FORMATS, SpecError, Unit, is_family, parse_unit, unit_families, unit_from_name

__all__ = ["add_unit_args", "unit_from_args", "unit_name"]

#: the options (argparse ``dest``) that set a unit parameter
UNIT_OPTIONS = ("width", "signed", "frac_bits", "corrections", "fmt", "quotient_frac")


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
    what = f"unit family ({', '.join(unit_families(integer_only=True))}) or full name (e.g. mitchell_s8_t3)"
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
    p.set_defaults(width_default=width_default)


def unit_from_args(args: argparse.Namespace) -> Unit:
    """The spec named by the arguments of :func:`add_unit_args` (:class:`SpecError` when they do not make one)."""
    given = {k: getattr(args, k) for k in UNIT_OPTIONS if getattr(args, k, None) is not None}
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
