"""``kexue-hw error | mul | div``: the golden models and their error metrics from the shell."""

from __future__ import annotations

import argparse
import json
import sys

from .spec import FloatMitchell, unit_from_name

UNIT_CHOICES = ["exact", "mitchell", "mbm", "ilm"]


def add_unit_args(p: argparse.ArgumentParser, *, width_default: int = 8) -> None:
    """The options that build a unit spec (shared by every subcommand that takes a unit)."""
    p.add_argument("--width", type=int, default=width_default, help="operand width N in bits (2..32)")
    p.add_argument("--signed", action="store_true", help="two's complement operands (sign-magnitude inside)")
    p.add_argument("--frac-bits", type=int, default=None, help="Mitch-w: keep T fraction bits after the leading one")
    p.add_argument("--corrections", type=int, default=1, help="ILM correction terms (0..3)")
    p.add_argument("--format", dest="fmt", choices=["fp32", "bf16", "fp16"], default=None, help="float unit format")
    p.add_argument("--quotient-frac", type=int, default=None, help="divider: fraction bits of the quotient")


def unit_from_args(args):
    return unit_from_name(
        args.unit,
        width=args.width,
        signed=args.signed,
        frac_bits=args.frac_bits,
        corrections=args.corrections,
        fmt=args.fmt,
        quotient_frac=args.quotient_frac,
    )


def register(sub) -> None:
    p = sub.add_parser("error", help="error metrics of a unit (exhaustive up to 16 bits, else sampled)")
    p.add_argument("unit", choices=UNIT_CHOICES)
    p.add_argument("--op", choices=["mul", "div"], default="mul")
    add_unit_args(p)
    p.add_argument("--samples", type=int, default=None, help="sample S random pairs instead of the exhaustive sweep")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--exhaustive", action="store_true", help="every pair, even above 16 bits (Mitchell mul: analytic)")
    p.add_argument(
        "--method",
        choices=["auto", "brute", "analytic"],
        default="auto",
        help="exhaustive path: brute force, or closed-form sums (Mitchell mul, MBM, ILM, Mitchell div; auto picks it)",
    )
    p.add_argument("--plot", metavar="FILE.png", default=None, help="draw the relative-error heat map")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_error)

    for op in ("mul", "div"):
        p = sub.add_parser(op, help=f"one approximate {'product' if op == 'mul' else 'quotient'}, next to the exact one")
        p.add_argument("a", type=str)
        p.add_argument("b", type=str)
        p.add_argument("--unit", choices=UNIT_CHOICES, default="mitchell")
        add_unit_args(p, width_default=16)
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_one, op=op)


def cmd_error(args) -> int:
    from .metrics import error_metrics

    unit = unit_from_args(args)
    if args.exhaustive and args.samples is not None:
        raise ValueError("--exhaustive and --samples exclude each other")
    exhaustive = True if args.exhaustive else (False if args.samples is not None else None)
    samples = args.samples if args.samples is not None else 1_000_000
    quiet = args.json or not sys.stderr.isatty()
    m = error_metrics(
        unit, args.op, exhaustive=exhaustive, samples=samples, seed=args.seed, progress=not quiet, method=args.method
    )
    if args.plot:
        from .plots import plot_error_heatmap

        plot_error_heatmap(unit, args.op, args.plot)
    if args.json:
        print(json.dumps(m.as_dict()))
        return 0
    how = "exhaustive" if m.exhaustive else f"sampled, seed {m.seed}"
    print(f"{unit.describe()} {args.op}: {m.pairs:,} pairs ({how}) in {m.seconds:.2f} s")
    for key in ("ep", "mae", "mse", "wce", "mre", "wcre", "bias", "nmed", "rel_min", "rel_max"):
        print(f"  {key:<8} {getattr(m, key):.6g}")
    print(f"  worst |error| at {m.worst_abs_pair}, worst relative at {m.worst_rel_pair}")
    if args.plot:
        print(f"  heat map written to {args.plot}")
    return 0


def _parse_operand(text: str, is_float: bool):
    try:
        return float(text) if is_float else int(text, 0)
    except ValueError:
        kind = "a number" if is_float else "an integer"
        raise ValueError(f"operand {text!r} is not {kind}") from None


def cmd_one(args) -> int:
    import numpy as np

    from . import arith

    unit = unit_from_args(args)
    is_float = isinstance(unit, FloatMitchell)
    a = _parse_operand(args.a, is_float)
    b = _parse_operand(args.b, is_float)
    if is_float:
        dtype = np.float16 if unit.fmt == "fp16" else np.float32
        fa, fb = dtype(a), dtype(b)
        if unit.fmt == "bf16":
            fa, fb = arith.round_to_bf16(fa)[()], arith.round_to_bf16(fb)[()]
        if float(fa) != a or float(fb) != b:
            print(f"note: operands rounded to {unit.fmt}: {float(fa)!r}, {float(fb)!r}", file=sys.stderr)
        approx = float((arith.mul if args.op == "mul" else arith.div)(unit, fa, fb))
        exact = float(fa) * float(fb) if args.op == "mul" else float(fa) / float(fb)
        shown_approx = f"{approx!r}"
    elif args.op == "mul":
        approx = arith.mul(unit, a, b)
        exact = a * b
        shown_approx = str(approx)
    else:
        q = arith.div(unit, a, b)
        scale = 2**unit.quotient_frac_bits
        approx = q / scale
        exact = a / b
        shown_approx = f"{approx!r} (fixed point {q} / 2**{unit.quotient_frac_bits})"
    rel = (approx - exact) / exact if exact else 0.0
    if args.json:
        print(json.dumps({"unit": unit.describe(), "op": args.op, "a": a, "b": b, "approx": approx, "exact": exact, "rel_error": rel}))
    else:
        print(f"{unit.describe()}: {a} {'*' if args.op == 'mul' else '/'} {b}")
        print(f"  approx    {shown_approx}")
        print(f"  exact     {exact!r}")
        print(f"  rel error {rel:+.6f}")
    return 0
