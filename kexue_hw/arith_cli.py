"""``kexue-hw error | mul | div``: the golden models and their error metrics from the shell."""

from __future__ import annotations

import json
import sys

from .cli_options import add_unit_args, unit_from_args


def register(sub) -> None:
    p = sub.add_parser("error", help="error metrics of a unit (exhaustive up to 16 bits, else sampled)")
    add_unit_args(p)
    p.add_argument("--op", choices=["mul", "div"], default="mul")
    p.add_argument("--samples", type=int, default=None, help="sample S random pairs instead of the exhaustive sweep")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--exhaustive", action="store_true", help="every pair, even above 16 bits (Mitchell mul: analytic)")
    p.add_argument(
        "--method",
        choices=["auto", "brute", "analytic"],
        default="auto",
        help="exhaustive path: brute force, or closed-form sums (Mitchell mul; auto picks it)",
    )
    p.add_argument("--plot", metavar="FILE.png", default=None, help="draw the relative-error heat map")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_error)

    for op in ("mul", "div"):
        p = sub.add_parser(op, help=f"one approximate {'product' if op == 'mul' else 'quotient'}, next to the exact one")
        p.add_argument("a", type=str)
        p.add_argument("b", type=str)
        add_unit_args(p, unit="option", width_default=16)
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
    from . import arith

    unit = unit_from_args(args)
    is_float = unit.is_float
    a = _parse_operand(args.a, is_float)
    b = _parse_operand(args.b, is_float)
    if is_float:
        fa, fb = arith.round_to_format(unit, a)[()], arith.round_to_format(unit, b)[()]
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
