"""``kexue-hw finetune`` and ``kexue-hw assign``: training through the unit, and a learned unit per layer."""

from __future__ import annotations

import argparse
import json
import sys

from ..cli_values import (UsageError, csv_list, int_range, non_negative_float, output_dir, positive_float,
                          positive_int, refuse, seed)  # fmt: skip
from ..spec import SpecError, parse_unit

__all__ = ["register"]

#: the tasks and methods (kept in step with :data:`.tasks.TASKS` and :data:`.finetune.METHODS`, which import torch)
MODELS = ("mwp", "pet-mlm")
METHODS = ("ste", "unit_backward", "zo")


def _emulated_unit(text: str) -> str:
    """argparse type: a full unit name (``native`` has nothing to fine-tune or cost)."""
    if text.strip().lower() == "native":
        raise argparse.ArgumentTypeError("native has no unit to train on or cost; give a unit such as mitchell_s8")
    try:
        parse_unit(text)
    except SpecError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _units(text: str) -> list[str]:
    return [_emulated_unit(t) for t in csv_list(text)]


def register(subparsers) -> None:
    f = subparsers.add_parser(
        "finetune",
        help="fine-tune a shipped model with every forward product on a unit (ste, unit_backward or zo)",
        description="Accuracy on the unit before and after fine-tuning with every forward product emulated. "
        "Methods: ste (exact-product gradients), unit_backward (backward products on the unit too), zo "
        "(zeroth-order: forward passes only).",
    )
    f.add_argument("--model", choices=MODELS, default="mwp")
    f.add_argument("--unit", type=_emulated_unit, required=True, help="unit name, e.g. mitchell_s8")
    f.add_argument("--method", choices=METHODS, default="ste")
    f.add_argument("--minutes", type=positive_float, default=5.0, help="wall-clock budget of the fine-tuning")
    f.add_argument("--lr", type=positive_float, default=None, help="ste, unit_backward: AdamW rate (1e-4)")
    f.add_argument("--zo-lr", type=positive_float, default=None, help="zo: step size (1e-5)")
    f.add_argument("--zo-eps", type=positive_float, default=None, help="zo: perturbation (1e-3)")
    f.add_argument("--zo-directions", type=positive_int, default=None, help="zo: directions per step (2)")
    f.add_argument("--eval-limit", type=positive_int, default=300, help="evaluation examples")
    f.add_argument("--seed", type=seed, default=0)
    f.add_argument("--threads", type=positive_int, default=2)
    f.add_argument("--out", help="write the fine-tuned checkpoint here")
    f.add_argument("--force", action="store_true", help="write into an --out folder that is not empty")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=_finetune)

    a = subparsers.add_parser(
        "assign",
        help="learn which unit each layer uses: policy gradient on accuracy minus LUT cost",
        description="REINFORCE over one unit per product site (each Linear, each attention module, the rest), "
        "reward = accuracy - lambda * MAC-weighted multiplier LUTs relative to the exact multiplier of the "
        "widest choice.",
    )
    a.add_argument("--model", choices=MODELS, default="pet-mlm")
    a.add_argument("--choices", type=_units, default=["exact_s8", "mitchell_s8", "mitchell_s8_t3", "ilm_s8_c1"])
    a.add_argument("--lambda", dest="lam", type=non_negative_float, default=0.2, help="weight of the cost in the reward")
    a.add_argument("--steps", type=positive_int, default=30)
    a.add_argument("--samples", type=int_range(2), default=8, help="assignments drawn per step")
    a.add_argument("--minutes", type=positive_float, help="stop the search after this long")
    a.add_argument("--eval-limit", type=positive_int, default=300, help="examples scoring each assignment")
    a.add_argument("--seed", type=seed, default=0)
    a.add_argument("--threads", type=positive_int, default=2)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=_assign)


def _log(args):
    return (lambda msg: None) if args.json else (lambda msg: print(msg, file=sys.stderr, flush=True))


def _finetune(args) -> int:
    if args.method == "zo":
        refuse(args, ["lr"], "sets the gradient methods' rate; zo steps with --zo-lr")
    else:
        refuse(args, ["zo_lr", "zo_eps", "zo_directions"], "applies to --method zo")
    if args.out:
        out = output_dir("--out", args.out)
        if out.is_dir() and any(out.iterdir()) and not args.force:
            raise UsageError(f"--out {args.out}: folder is not empty; pass --force to write into it")
    elif args.force:
        raise UsageError("--force applies to --out DIR")
    import torch

    from .finetune import FinetuneSettings, finetune
    from .tasks import load_tune_task

    given = {k: getattr(args, k) for k in ("lr", "zo_lr", "zo_eps", "zo_directions") if getattr(args, k) is not None}
    settings = FinetuneSettings(unit=args.unit, method=args.method, minutes=args.minutes, seed=args.seed, **given)
    torch.set_num_threads(args.threads)
    log = _log(args)
    task = load_tune_task(args.model, eval_limit=args.eval_limit)
    native, _ = task.evaluate("native")
    before, _ = task.evaluate(args.unit)
    log(f"{args.model}: native {native:.4f}, on {args.unit} {before:.4f} (n {task.n_eval})")
    run = finetune(task.model, task.loss, task.batches(args.seed), settings, progress=not args.json)
    after, _ = task.evaluate(args.unit)
    lost = native - before
    result = {"model": args.model, "n": task.n_eval, "native": native, "before": before, "after": after,
              "recovered": None if lost <= 0 else (after - before) / lost, **run}  # fmt: skip
    if args.out:
        task.save(args.out)
        result["saved"] = args.out
    if args.json:
        print(json.dumps(result))
    else:
        rec = "—" if result["recovered"] is None else f"{result['recovered']:.0%}"
        print(f"{args.model} on {args.unit}, {args.method}, {run['steps']} steps in {run['seconds']} s: "
              f"accuracy {before:.4f} -> {after:.4f} (native {native:.4f}; recovered {rec} of the loss)")  # fmt: skip
    return 0


def _assign(args) -> int:
    if len(set(args.choices)) < 2:
        raise UsageError(f"--choices {','.join(args.choices)}: give at least two different units to choose between")
    import torch

    from .assign import AssignmentSearch, assignment_configs, assignment_cost, product_sites, unit_lut_ratios
    from .tasks import load_tune_task

    torch.set_num_threads(args.threads)
    log = _log(args)
    task = load_tune_task(args.model, eval_limit=args.eval_limit)
    ratios = unit_lut_ratios(args.choices)
    sites = product_sites(task.model, task.probe)
    log(f"{len(sites)} product sites; LUT ratios {ratios}")
    uniform = {}
    for choice in args.choices:
        units = [choice] * len(sites)
        acc, _ = task.evaluate(assignment_configs(sites, units))
        uniform[choice] = {"accuracy": acc, "cost": assignment_cost(sites, units, ratios)}
        log(f"uniform {choice}: accuracy {acc:.4f}, cost {uniform[choice]['cost']:.3f}")
    search = AssignmentSearch(sites, args.choices, lambda cfg: task.evaluate(cfg)[0], ratios, lam=args.lam,
                              samples=args.samples, seed=args.seed)  # fmt: skip
    for choice, u in uniform.items():  # already measured: seed the cache
        search.cache[tuple([choice] * len(sites))] = (u["accuracy"], u["cost"])
    out = search.run(args.steps, minutes=args.minutes, log=log)
    result = {"model": args.model, "n": task.n_eval, "sites": [s.__dict__ for s in sites], "lut_ratio": ratios,
              "uniform": uniform, **out, "history": search.history}  # fmt: skip
    if args.json:
        print(json.dumps(result))
    else:
        print(f"learned (lambda {args.lam}): accuracy {out['best_accuracy']:.4f} at cost {out['best_cost']:.3f}; "
              f"{out['evaluated']} assignments evaluated in {out['seconds']} s")  # fmt: skip
        for site, unit in out["best"].items():
            print(f"  {site or '<root>'}: {unit}")
    return 0
