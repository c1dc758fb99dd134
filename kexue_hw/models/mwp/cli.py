"""``kexue-hw mwp``: data summary, training, solving one problem, and evaluation on the emulated units."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["register"]


def _positive_int(name):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {value}")
        return value

    return parse


def _positive_float(name):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{name} must be positive, got {text}")
        return value

    return parse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "mwp",
        help="math word problems: a UniLM Seq2Seq solver, trained here, run on the emulated units",
        description="Chinese math word problems (Math23K, Ape210K): the solver writes an equation whose value "
        "is the answer.",
    )
    sub = p.add_subparsers(dest="mwp_command", required=True, metavar="SUBCOMMAND")

    d = sub.add_parser("data", help="read a problem file: kept and dropped records, by reason")
    d.add_argument("file")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=_data)

    t = sub.add_parser("train", help="train a solver (checkpoints, --resume, --minutes budget)")
    t.add_argument("--data", nargs="+", required=True, help="training files (Math23K train, Ape210K valid, ...)")
    t.add_argument("--test", help="file to report test accuracy on after training (Math23K test)")
    t.add_argument("--out", required=True, help="output folder (checkpoint, best model, manifest)")
    t.add_argument("--resume", action="store_true", help="continue from <out>/run/checkpoint.pt")
    t.add_argument("--minutes", type=_positive_float("--minutes"), help="wall-clock budget")
    t.add_argument("--steps", type=_positive_int("--steps"), default=6000)
    t.add_argument("--batch-size", type=_positive_int("--batch-size"), default=64)
    t.add_argument("--lr", type=_positive_float("--lr"), default=1e-3)
    t.add_argument("--warmup", type=int, default=300)
    t.add_argument("--label-smoothing", type=float, default=0.1)
    t.add_argument("--teaforn", type=_positive_int("--teaforn"), default=1, help="TeaForN passes N (1 = teacher forcing)")
    t.add_argument("--teaforn-weights", type=float, nargs="+", default=(), help="loss weights λ_1..λ_N")
    t.add_argument("--d-model", type=_positive_int("--d-model"), default=256)
    t.add_argument("--layers", type=_positive_int("--layers"), default=4)
    t.add_argument("--heads", type=_positive_int("--heads"), default=4)
    t.add_argument("--d-ff", type=_positive_int("--d-ff"), default=1024)
    t.add_argument("--dropout", type=float, default=0.1)
    t.add_argument("--dev-size", type=_positive_int("--dev-size"), default=500)
    t.add_argument("--eval-every", type=_positive_int("--eval-every"), default=500)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=_positive_int("--threads"), default=2)
    t.add_argument("--init-from", help="a local Hugging Face BERT folder to initialise from")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.set_defaults(func=_train)

    s = sub.add_parser("solve", help="solve one problem: print the equation and its value")
    s.add_argument("text")
    s.add_argument("--beam", type=_positive_int("--beam"), default=3)
    s.add_argument("--checkpoint", help="solver folder (default: the shipped model)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_solve)

    e = sub.add_parser("eval", help="answer accuracy, natively and with every product on each --unit")
    e.add_argument("--data", required=True, help="problem file (either format)")
    e.add_argument("--limit", type=_positive_int("--limit"), help="first N problems only")
    e.add_argument("--beam", type=_positive_int("--beam"), default=3)
    e.add_argument("--unit", nargs="+", default=[], help="unit names, e.g. mitchell_s8 mbm_s8 ilm_s8_c1")
    e.add_argument("--checkpoint", help="solver folder (default: the shipped model)")
    e.add_argument("--threads", type=_positive_int("--threads"), default=2)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_eval)


def _data(args) -> int:
    from .data import load_problems

    _, report = load_problems(args.file)
    summary = {"read": report.read, "kept": report.kept, "dropped": dict(sorted(report.dropped.items()))}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"{args.file} ({report.format}): read {report.read}, kept {report.kept}")
        for reason, n in summary["dropped"].items():
            print(f"  dropped {n:6d}  {reason}")
    return 0


def _train(args) -> int:
    from .train import TrainSettings, train

    settings = TrainSettings(
        data=list(args.data),
        test=args.test,
        dev_size=args.dev_size,
        seed=args.seed,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup=args.warmup,
        label_smoothing=args.label_smoothing,
        teaforn=args.teaforn,
        teaforn_weights=tuple(args.teaforn_weights),
        d_model=args.d_model,
        n_layers=args.layers,
        n_heads=args.heads,
        d_ff=args.d_ff,
        dropout=args.dropout,
        eval_every=args.eval_every,
        threads=args.threads,
        minutes=args.minutes,
        init_from=args.init_from,
    )
    log = (lambda *a, **k: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    figures = train(settings, args.out, resume=args.resume, log=log, progress=not args.quiet)
    print(json.dumps(figures))
    return 0


def _solve(args) -> int:
    from .solver import Solver

    solver = Solver.load(args.checkpoint)
    pred = solver.solve(args.text, beam=args.beam)
    if pred.equation is None:
        print(f"no valid equation (decoded {' '.join(pred.tokens)})", file=sys.stderr)
        return 1
    value = float(pred.value) if pred.value.denominator != 1 else int(pred.value)
    if args.json:
        print(json.dumps({"equation": pred.equation, "value": value, "exact": str(pred.value)}, ensure_ascii=False))
    else:
        print(f"x = {pred.equation} = {pred.value}" + ("" if pred.value.denominator == 1 else f" ≈ {value:.6g}"))
    return 0


def _eval(args) -> int:
    import torch

    from ...spec import parse_unit
    from .evaluate import evaluate_solver

    for name in args.unit:  # every name checked before any work
        if name != "native":
            parse_unit(name)
    torch.set_num_threads(args.threads)
    result = evaluate_solver(
        args.data, checkpoint=args.checkpoint, limit=args.limit, beam=args.beam, units=args.unit, progress=not args.json
    )
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(
        f"{result['n']} problems (dropped {sum(result['dropped'].values())} while reading), beam {args.beam}: "
        f"answer accuracy {result['accuracy']:.4f}, equation exact-match {result['exact_match']:.4f} "
        f"[{result['seconds']:.1f} s]"
    )
    if result["units"]:
        from ...tables import markdown_table

        rows = []
        for r in result["units"]:
            lo, hi = r["ci95"]
            cover = "yes" if r.get("all_emulated") else "NO: " + ", ".join(r.get("exact_ops", {}))
            rows.append([r["unit"], f"{r['accuracy']:.4f}", f"{r['delta']:+.4f} ({lo:+.4f}, {hi:+.4f})",
                         f"{r['mcnemar_p']:.3g}", f"{r['agreement']:.4f}", f"{r['time_ratio']:.2f}", cover])  # fmt: skip
        header = ["unit", "accuracy", "Δ vs native (95% CI)", "McNemar p", "agreement", "time ratio", "nothing exact"]
        print("\n" + markdown_table(header, rows, "lrrrrrl"))
    return 0
