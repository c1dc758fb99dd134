"""``kexue-hw finetune`` and ``kexue-hw assign``: training through the unit, and a learned unit per layer."""

from __future__ import annotations

import json
import sys

__all__ = ["register"]


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def register(subparsers) -> None:
    f = subparsers.add_parser(
        "finetune",
        help="fine-tune a shipped model with every forward product on a unit (ste, unit_backward or zo)",
        description="Accuracy on the unit before and after fine-tuning with every forward product emulated. "
        "Methods: ste (exact-product gradients), unit_backward (backward products on the unit too), zo "
        "(zeroth-order: forward passes only).",
    )
    f.add_argument("--model", default="mwp", help="mwp or pet-mlm")
    f.add_argument("--unit", required=True, help="unit name, e.g. mitchell_s8")
    f.add_argument("--method", default="ste", help="ste, unit_backward or zo")
    f.add_argument("--minutes", type=float, default=5.0, help="wall-clock budget of the fine-tuning")
    f.add_argument("--lr", type=float, default=1e-4)
    f.add_argument("--zo-lr", type=float, default=1e-5)
    f.add_argument("--zo-eps", type=float, default=1e-3)
    f.add_argument("--zo-directions", type=int, default=2)
    f.add_argument("--eval-limit", type=int, default=300, help="evaluation examples")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--threads", type=int, default=2)
    f.add_argument("--out", help="write the fine-tuned checkpoint here")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=_finetune)

    a = subparsers.add_parser(
        "assign",
        help="learn which unit each layer uses: policy gradient on accuracy minus LUT cost",
        description="REINFORCE over one unit per product site (each Linear, each attention module, the rest), "
        "reward = accuracy - lambda * MAC-weighted multiplier LUTs relative to exact.",
    )
    a.add_argument("--model", default="pet-mlm", help="mwp or pet-mlm")
    a.add_argument("--choices", type=_csv, default=["exact_s8", "mitchell_s8", "mitchell_s8_t3", "ilm_s8_c1"])
    a.add_argument("--lambda", dest="lam", type=float, default=0.2, help="weight of the cost in the reward")
    a.add_argument("--steps", type=int, default=30)
    a.add_argument("--samples", type=int, default=8, help="assignments drawn per step")
    a.add_argument("--minutes", type=float, help="stop the search after this long")
    a.add_argument("--eval-limit", type=int, default=300, help="examples scoring each assignment")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=_assign)


def _log(args):
    return (lambda msg: None) if args.json else (lambda msg: print(msg, file=sys.stderr, flush=True))


def _check_common(args) -> None:
    if args.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {args.threads}")
    if args.eval_limit < 1:
        raise ValueError(f"--eval-limit must be at least 1, got {args.eval_limit}")


def _finetune(args) -> int:
    import torch

    from .finetune import FinetuneSettings, finetune
    from .tasks import load_tune_task

    _check_common(args)
    settings = FinetuneSettings(unit=args.unit, method=args.method, minutes=args.minutes, lr=args.lr, zo_lr=args.zo_lr,
                                zo_eps=args.zo_eps, zo_directions=args.zo_directions, seed=args.seed)  # fmt: skip
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
    import torch

    from .assign import AssignmentSearch, assignment_configs, assignment_cost, product_sites, unit_lut_ratios
    from .tasks import load_tune_task

    _check_common(args)
    if not args.lam >= 0:
        raise ValueError(f"--lambda must be >= 0, got {args.lam}")
    if args.steps < 1 or args.samples < 2:
        raise ValueError("--steps must be >= 1 and --samples >= 2")
    from ..models.evaluation import resolve_unit

    for name in args.choices:
        if resolve_unit(name) is None:
            raise ValueError("--choices: every choice must be a unit (native has no hardware cost)")
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
