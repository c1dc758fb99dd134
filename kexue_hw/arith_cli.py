"""``kexue-hw error | mul | div``: the golden models and their error metrics from the shell."""

from __future__ import annotations

import json
import sys

from .cli_options import add_unit_args, unit_from_args
from .cli_values import UsageError, fits_in_memory, output_file, positive_int, refuse, seed

#: bytes of memory one sampled pair costs (operands, the golden model's temporaries; float units keep more arrays)
SAMPLE_BYTES = {"int": 40, "float": 96}


def register(sub) -> None:
    p = sub.add_parser("error", help="error metrics of a unit (exhaustive up to 16 bits, else sampled)")
    add_unit_args(p)
    p.add_argument("--op", choices=["mul", "div"], default="mul")
    p.add_argument("--samples", type=positive_int, default=None,
                   help="sample S random pairs instead of the exhaustive sweep (float units: default 1e6)")  # fmt: skip
    p.add_argument("--seed", type=seed, default=None, help="random seed of --samples (default 0)")
    p.add_argument("--exhaustive", action="store_true", help="every pair, even above 16 bits (Mitchell mul: analytic)")
    p.add_argument(
        "--method",
        choices=["auto", "brute", "analytic"],
        default=None,
        help="exhaustive path: brute force, or closed-form sums (Mitchell mul, MBM, ILM, Mitchell div; auto, the default, picks it)",
    )
    p.add_argument("--plot", metavar="FILE.png", default=None, help="draw the relative-error heat map (integer units)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --plot file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_error)

    for op in ("mul", "div"):
        p = sub.add_parser(op, help=f"one approximate {'product' if op == 'mul' else 'quotient'}, next to the exact one")
        p.add_argument("a", type=str)
        p.add_argument("b", type=str)
        add_unit_args(p, unit="option", width_default=16)
        p.add_argument("--no-strict", dest="strict", action="store_false",
                       help="hardware corners instead of an error: NaN propagates, inf saturates, subnormals read "
                       "as 0, division by 0 gives inf (floats) or the saturated quotient (integers)")  # fmt: skip
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_one, op=op)


def cmd_error(args) -> int:
    from .metrics import error_metrics

    unit = unit_from_args(args)
    unit.check_op(args.op)
    if args.exhaustive and args.samples is not None:
        raise UsageError("--exhaustive and --samples exclude each other")
    if unit.is_float:
        refuse(args, ["exhaustive"], "applies to integer units (float units are sampled: --samples)")
        refuse(args, ["method"], "chooses the exhaustive path of integer units; float units are sampled")
        refuse(args, ["plot"], "draws the heat map of integer units only")
    if args.samples is not None:
        refuse(args, ["method"], "chooses the exhaustive path; it does not apply with --samples")
    if args.seed is not None and not _sampled(unit, args):
        raise UsageError(f"--seed applies to sampled sweeps; {unit.describe()} {args.op} is swept exhaustively")
    if args.plot:
        output_file("--plot", args.plot, force=args.force)
    elif args.force:
        raise UsageError("--force applies to --plot FILE (it overwrites the file)")
    exhaustive = True if args.exhaustive else (False if args.samples is not None else None)
    samples = args.samples if args.samples is not None else 1_000_000
    if args.samples is not None or unit.is_float:
        per_pair = SAMPLE_BYTES["float" if unit.is_float else "int"]
        fits_in_memory(f"--samples {samples}", samples * per_pair)
    m = error_metrics(unit, args.op, exhaustive=exhaustive, samples=samples, seed=args.seed or 0,
                      progress=True, method=args.method or "auto")  # fmt: skip
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


def _sampled(unit, args) -> bool:
    """Whether ``error`` will draw random pairs (mirrors :func:`kexue_hw.metrics.error_metrics`'s choice)."""
    from .metrics import EXHAUSTIVE_MAX_WIDTH
    from .spec import Mitchell

    if args.samples is not None or unit.is_float:
        return True
    if args.exhaustive or unit.width <= EXHAUSTIVE_MAX_WIDTH:
        return False
    analytic = isinstance(unit, Mitchell) and args.op == "mul" and args.method != "brute"
    return not (analytic and unit.width <= 24)


def _parse_operand(name: str, text: str, unit):
    """Operand ``name`` (a or b) as the unit takes it: an integer in range, or a float of the unit's format."""
    try:
        value = float(text) if unit.is_float else int(text, 0)
    except ValueError:
        kind = "a number" if unit.is_float else "an integer"
        raise UsageError(f"operand {name} {text!r} is not {kind}") from None
    if unit.is_float:
        import numpy as np

        from .arith import round_to_format

        with np.errstate(over="ignore"):
            rounded = float(round_to_format(unit, value))
        if rounded in (float("inf"), float("-inf")) and abs(value) != float("inf"):
            limit = unit.format.max_finite
            raise UsageError(f"operand {name} {text} overflows {unit.fmt} (largest finite value {limit:g})")
    elif not unit.min_value <= value <= unit.max_value:
        raise UsageError(f"operand {name} {text} is outside {unit.describe()}'s range {unit.min_value}..{unit.max_value}")
    return value


def _check_corners(args, unit, a: float, b: float) -> None:
    """Strict mode: NaN, inf, subnormal operands and division by zero are refused, naming ``--no-strict``."""
    import math

    tiny = unit.format.min_normal  # smaller magnitudes are subnormal
    for name, x in (("a", a), ("b", b)):
        if math.isnan(x) or math.isinf(x) or (x != 0 and abs(x) < tiny):
            kind = "NaN" if math.isnan(x) else "inf" if math.isinf(x) else "subnormal"
            raise UsageError(f"operand {name} {x!r} is {kind}: pass --no-strict for the hardware corners "
                             "(NaN propagates, inf saturates, subnormals read as 0)")  # fmt: skip
    if args.op == "div" and b == 0:
        raise UsageError(f"divisor b is 0: pass --no-strict for the hardware result ({'NaN' if a == 0 else 'inf'})")


def cmd_one(args) -> int:
    import numpy as np

    from . import arith

    unit = unit_from_args(args)
    unit.check_op(args.op)
    if unit.is_float:
        fa = arith.round_to_format(unit, _parse_operand("a", args.a, unit))[()]
        fb = arith.round_to_format(unit, _parse_operand("b", args.b, unit))[()]  # finite values stay finite
        a, b = float(fa), float(fb)
        if args.strict:
            _check_corners(args, unit, a, b)
        if (a != float(args.a) and a == a) or (b != float(args.b) and b == b):
            print(f"note: operands rounded to {unit.fmt}: {a!r}, {b!r}", file=sys.stderr)
        approx = float((arith.mul if args.op == "mul" else arith.div)(unit, fa, fb, strict=args.strict))
        with np.errstate(all="ignore"):
            exact = float(np.float64(a) * b if args.op == "mul" else np.float64(a) / np.float64(b))
        shown_approx = f"{approx!r}"
    elif args.op == "mul":
        a, b = _parse_operand("a", args.a, unit), _parse_operand("b", args.b, unit)
        approx = arith.mul(unit, a, b)
        exact = a * b
        shown_approx = str(approx)
    else:
        a, b = _parse_operand("a", args.a, unit), _parse_operand("b", args.b, unit)
        if b == 0 and args.strict:
            raise UsageError("divisor b is 0: pass --no-strict for the hardware result (the saturated quotient)")
        q = arith.div(unit, a, b, strict=args.strict)
        scale = 2**unit.quotient_frac_bits
        approx = q / scale
        exact = a / b if b else (float("nan") if a == 0 else float("inf") if a > 0 else float("-inf"))
        shown_approx = f"{approx!r} (fixed point {q} / 2**{unit.quotient_frac_bits})"
    with np.errstate(all="ignore"):
        rel = float((np.float64(approx) - exact) / exact) if exact else 0.0
    if args.json:
        print(json.dumps({"unit": unit.describe(), "op": args.op, "a": a, "b": b, "approx": approx, "exact": exact, "rel_error": rel}))
    else:
        print(f"{unit.describe()}: {a} {'*' if args.op == 'mul' else '/'} {b}")
        print(f"  approx    {shown_approx}")
        print(f"  exact     {exact!r}")
        print(f"  rel error {rel:+.6f}")
    return 0
