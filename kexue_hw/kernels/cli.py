"""``kexue-hw taylor-softmax | performer-bench | softmax-rtl``: the kernels face from the shell."""

from __future__ import annotations

import json


def register(sub) -> None:
    from ..cli_options import add_unit_args

    p = sub.add_parser("taylor-softmax", help="fixed-point Taylor softmax of numbers on a unit (golden model)")
    p.add_argument("x", nargs="+", type=float, help="inputs (one row)")
    add_unit_args(p, unit="option", width_default=16)
    p.add_argument("--order", type=int, default=4)
    p.add_argument("--in-frac", type=int, default=None, help="input fraction bits (default width - 4)")
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
    add_unit_args(p, unit="option", width_default=16)
    p.add_argument("--order", type=int, default=4)
    p.add_argument("--in-frac", type=int, default=None)
    p.add_argument("--clamp", action="store_true")
    p.add_argument("--normalize", choices=["divide", "reciprocal"], default="divide")
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--name", default="taylor_softmax")
    p.set_defaults(func=cmd_rtl)


def _config(args):
    from ..cli_options import unit_from_args
    from .taylor_fixed import TaylorSoftmaxFixed

    unit = unit_from_args(args)
    in_frac = args.in_frac if args.in_frac is not None else unit.width - 4
    return TaylorSoftmaxFixed(unit, order=args.order, in_frac=in_frac, clamp=args.clamp, normalize=args.normalize)


def cmd_taylor(args) -> int:
    cfg = _config(args)
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
    from .performer_eval import evaluate, render

    result = evaluate(args.quick)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


def cmd_rtl(args) -> int:
    from .softmax_rtl import export_verilog

    cfg = _config(args)
    export_verilog(cfg, args.max_length, args.output, name=args.name)
    print(f"wrote {args.output}: {cfg!r}, max_length={args.max_length}")
    return 0
