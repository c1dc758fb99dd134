"""``kexue-hw mwp``: data summary, training, solving one problem, and evaluation on the emulated units."""

from __future__ import annotations

import argparse
import json
import sys

from ...cli_values import (UsageError, finite_float, float_range, input_dir, input_file, non_negative_int,
                           output_dir, positive_float, positive_int, seed)  # fmt: skip
from ...spec import SpecError, parse_unit

#: a probability of dropping or smoothing: [0, 1)
_rate = float_range(0.0, 1.0, hi_open=True)

__all__ = ["register"]


def _unit_or_native(text: str) -> str:
    """argparse type of ``eval --unit``: ``native`` or a full unit name (checked before any work)."""
    if text != "native":
        try:
            parse_unit(text)
        except SpecError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return text


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
    t.add_argument("--force", action="store_true", help="start afresh in an --out folder that holds a run")
    t.add_argument("--minutes", type=positive_float, help="wall-clock budget")
    t.add_argument("--steps", type=positive_int, default=6000)
    t.add_argument("--batch-size", type=positive_int, default=64)
    t.add_argument("--lr", type=positive_float, default=1e-3)
    t.add_argument("--warmup", type=non_negative_int, default=300)
    t.add_argument("--label-smoothing", type=_rate, default=0.1)
    t.add_argument("--teaforn", type=positive_int, default=1, help="TeaForN passes N (1 = teacher forcing)")
    t.add_argument("--teaforn-weights", type=finite_float, nargs="+", default=(), help="loss weights λ_1..λ_N")
    t.add_argument("--d-model", type=positive_int, default=256)
    t.add_argument("--layers", type=positive_int, default=4)
    t.add_argument("--heads", type=positive_int, default=4)
    t.add_argument("--d-ff", type=positive_int, default=1024)
    t.add_argument("--dropout", type=_rate, default=0.1)
    t.add_argument("--dev-size", type=positive_int, default=500)
    t.add_argument("--eval-every", type=positive_int, default=500)
    t.add_argument("--seed", type=seed, default=0)
    t.add_argument("--threads", type=positive_int, default=2)
    t.add_argument("--init-from", help="a local Hugging Face BERT folder to initialise from")
    t.add_argument("--init-solver", help="continue from a trained solver folder (a second stage with a new schedule)")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.set_defaults(func=_train)

    s = sub.add_parser("solve", help="solve one problem: print the equation and its value")
    s.add_argument("text")
    s.add_argument("--beam", type=positive_int, default=3)
    s.add_argument("--checkpoint", help="solver folder (default: the shipped model)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_solve)

    e = sub.add_parser("eval", help="answer accuracy, natively and with every product on each --unit")
    e.add_argument("--data", required=True, help="problem file (either format)")
    e.add_argument("--limit", type=positive_int, help="first N problems only")
    e.add_argument("--beam", type=positive_int, default=3)
    e.add_argument("--unit", nargs="+", type=_unit_or_native, default=[], help="unit names, e.g. mitchell_s8 mbm_s8 ilm_s8_c1")
    e.add_argument("--checkpoint", help="solver folder (default: the shipped model)")
    e.add_argument("--threads", type=positive_int, default=2)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_eval)


def _data(args) -> int:
    from .data import load_problems

    input_file("file", args.file)
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
    for path in args.data:
        input_file("--data", path)
    if args.test:
        input_file("--test", args.test)
    if args.init_from:
        input_dir("--init-from", args.init_from)
    out = output_dir("--out", args.out)
    held = [name for name in ("run", "model.safetensors") if (out / name).exists()]
    if held and not (args.resume or args.force):
        raise UsageError(f"--out {args.out}: holds a run ({held[0]}); pass --resume to continue it or --force "
                         "to start afresh")  # fmt: skip
    if args.resume and args.force:
        raise UsageError("--resume and --force exclude each other")
    if args.d_model % args.heads:
        raise UsageError(f"--d-model {args.d_model} must be a multiple of --heads {args.heads}")
    if args.teaforn_weights and len(args.teaforn_weights) != args.teaforn:
        raise UsageError(f"--teaforn-weights: {len(args.teaforn_weights)} values for --teaforn {args.teaforn}")
    if any(w < 0 for w in args.teaforn_weights):
        raise UsageError(f"--teaforn-weights must be >= 0, got {min(args.teaforn_weights)}")
    from .train import TrainSettings, train  # torch: after the checks

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
        init_solver=args.init_solver,
    )
    log = (lambda *a, **k: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    figures = train(settings, args.out, resume=args.resume, log=log, progress=not args.quiet)
    print(json.dumps(figures))
    return 0


def _solve(args) -> int:
    if not args.text.strip():
        raise UsageError("text: the problem is empty")
    if args.checkpoint:
        input_dir("--checkpoint", args.checkpoint)
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
    input_file("--data", args.data)
    if args.checkpoint:
        input_dir("--checkpoint", args.checkpoint)
    import torch

    from .evaluate import evaluate_solver

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
