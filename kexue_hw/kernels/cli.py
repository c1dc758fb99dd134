"""``kexue-hw taylor-softmax | performer-bench | softmax-rtl``: the kernels face from the shell."""

from __future__ import annotations

import json

from ..cli_values import UsageError, finite_float, identifier, int_range, non_negative_int, output_file, positive_int

#: the Taylor order as the command line takes it (even orders only: checked with the config)
_order = int_range(2, 32)

#: memory and time of the softmax unit's export per buffered element, measured on the streaming unit
#: (max-length 1,024 to 131,072: about 2 KiB and 0.14 ms per element over a 300 MiB, 10 s base)
RTL_BYTES_PER_ELEMENT, RTL_BASE_BYTES = 2048, 300 * 2**20
RTL_SECONDS_PER_ELEMENT, RTL_MAX_SECONDS = 1.4e-4, 600


def register(sub) -> None:
    from ..cli_options import add_unit_args

    p = sub.add_parser("taylor-softmax", help="fixed-point Taylor softmax of numbers on a unit (golden model)")
    p.add_argument("x", nargs="+", type=finite_float, help="inputs (one row)")
    add_unit_args(p, unit="option", width_default=16, formats=False)
    p.add_argument("--order", type=_order, default=4, help="Taylor order: even, 2..32 (default 4)")
    p.add_argument("--in-frac", type=non_negative_int, default=None, help="input fraction bits (default width - 4)")
    p.add_argument("--clamp", action="store_true", help="monotone variant: clamp x at x_n*")
    p.add_argument("--normalize", choices=["divide", "reciprocal"], default="divide")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_taylor)

    p = sub.add_parser("performer-bench", help="Performer vs exact attention: error against m, time against L")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("softmax-rtl", help="export the streaming Taylor-softmax unit as Verilog")
    p.add_argument("output", help="Verilog file to write")
    add_unit_args(p, unit="option", width_default=16, formats=False)
    p.add_argument("--order", type=_order, default=4, help="Taylor order: even, 2..32 (default 4)")
    p.add_argument("--in-frac", type=non_negative_int, default=None, help="input fraction bits (default width - 4)")
    p.add_argument("--clamp", action="store_true")
    p.add_argument("--normalize", choices=["divide", "reciprocal"], default="divide")
    p.add_argument("--max-length", type=positive_int, default=64, help="longest row the unit buffers (default 64)")
    p.add_argument("--name", type=identifier, default="taylor_softmax", help="Verilog module name")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=cmd_rtl)


def _config(args):
    from ..cli_options import unit_from_args
    from .taylor_fixed import TaylorSoftmaxFixed

    unit = unit_from_args(args)
    in_frac = args.in_frac if args.in_frac is not None else unit.width - 4
    return TaylorSoftmaxFixed(unit, order=args.order, in_frac=in_frac, clamp=args.clamp, normalize=args.normalize)


def cmd_taylor(args) -> int:
    cfg = _config(args)
    too_big = [v for v in args.x if abs(v) > cfg.x_max]
    if too_big:
        raise UsageError(f"input {too_big[0]:g} is outside the input range +-{cfg.x_max:g} "
                         f"({cfg.in_frac} fraction bits on {cfg.unit.describe()}); scale the row or lower --in-frac")  # fmt: skip
    x = cfg.quantize([args.x])
    y = cfg(x)[0]
    ref = cfg.reference(x)[0]
    res = {"config": repr(cfg), "x_int": x[0].tolist(), "y_int": y.tolist(),
           "y": (y / 2.0**cfg.out_frac).tolist(), "float_reference": ref.tolist(),
           "sum": float(y.sum() / 2.0**cfg.out_frac), "sum_bounds": list(cfg.sum_bounds(len(y)))}
    if args.json:
        print(json.dumps(res))
    else:
        print(res["config"])
        for xi, yi, ri in zip(args.x, res["y"], res["float_reference"]):
            print(f"  x={xi:+9.4f}  y={yi:.6f}  float={ri:.6f}")
        print(f"  sum={res['sum']:.6f}  proven bounds [{res['sum_bounds'][0]:.6f}, {res['sum_bounds'][1]:.6f}]")
    return 0


def cmd_bench(args) -> int:
    from ..hdl.progress import Progress
    from .performer_eval import evaluate, render

    with Progress("performer-bench") as bar:
        bar.update(phase="error against m, time against L")
        result = evaluate(args.quick)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


def cmd_rtl(args) -> int:
    from ..cli_values import fits_in_memory
    from ..hdl.progress import Progress
    from ..spec import SpecError
    from .softmax_rtl import export_verilog

    output_file("output", args.output, force=args.force)
    cfg = _config(args)
    fits_in_memory(f"--max-length {args.max_length}", RTL_BASE_BYTES + RTL_BYTES_PER_ELEMENT * args.max_length)
    minutes = RTL_SECONDS_PER_ELEMENT * args.max_length / 60
    if minutes * 60 > RTL_MAX_SECONDS:
        raise UsageError(f"--max-length {args.max_length}: the export would take about {minutes:.0f} min; "
                         f"the limit is {RTL_MAX_SECONDS // 60} min")  # fmt: skip
    if cfg.div_unit != cfg.unit:
        from ..hdl import max_stages

        try:
            max_stages(cfg.div_unit, "div")  # raises for units without an RTL divider
        except SpecError:
            raise UsageError(f"--unit {cfg.unit.describe()} has no divider, so the softmax would divide on "
                             f"{cfg.div_unit.describe()}, which has no RTL divider yet; choose a unit with one "
                             "(mitchell)") from None  # fmt: skip
    with Progress(f"softmax-rtl {args.output}") as bar:
        bar.update(phase="elaborate and write")
        export_verilog(cfg, args.max_length, args.output, name=args.name)
    print(f"wrote {args.output}: {cfg!r}, max_length={args.max_length}")
    return 0
