"""Learned per-layer unit assignment (issue 11) against the uniform assignments, on held-out examples.

For one model: its product sites, the LUT ratio of each choice (synthesis cost cache), then a
REINFORCE search (:class:`kexue_hw.optim.assign.AssignmentSearch`) per ``--lambdas`` value on the
first ``--search-limit`` evaluation examples (the searches share one cache of evaluated
assignments: accuracy and cost do not depend on lambda). The uniform assignments and each
search's best are then scored again on the next ``--holdout-limit`` examples, which the search
never saw, and a learned assignment *beats* a uniform one when it is at least as accurate at a
lower cost, or more accurate at no higher cost, on the held-out examples.

    python benchmarks/optim_assign.py --model mwp --json benchmarks/results/optim_assign_mwp.json \\
        --plot benchmarks/results/optim_assign_mwp.png

Prints Markdown tables (the ones in BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

#: mixed precision: 8-bit Mitchell next to exact multipliers of 8, 6 and 4 bits (LUTs on one scale, see
#: kexue_hw.optim.assign.unit_lut_ratios); at one width Mitchell's 8-bit unit is cheapest and within noise
#: of exact on both models, so a same-width choice set leaves the search nothing to trade
CHOICES = ("exact_s8", "mitchell_s8", "exact_s6", "exact_s4")


def pareto(points):
    """The points no other point beats (higher accuracy at no higher cost, or lower cost at no lower accuracy)."""
    out = []
    for acc, cost, *rest in sorted(points, key=lambda p: (p[1], -p[0])):
        if not out or acc > out[-1][0]:
            out.append((acc, cost, *rest))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="mwp", choices=["pet-mlm", "mwp"])
    p.add_argument("--choices", nargs="+", default=list(CHOICES))
    p.add_argument("--lambdas", nargs="+", type=float, default=[0.05, 0.15])
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--samples", type=int, default=6)
    p.add_argument("--minutes", type=float, default=None, help="stop each search after this long")
    p.add_argument("--search-limit", type=int, default=200, help="examples scoring assignments during the search")
    p.add_argument("--holdout-limit", type=int, default=300, help="held-out examples of the final comparison")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json")
    p.add_argument("--plot")
    args = p.parse_args(argv)
    import torch

    from kexue_hw.optim.assign import AssignmentSearch, assignment_configs, assignment_cost, product_sites
    from kexue_hw.optim.assign import unit_lut_ratios
    from kexue_hw.optim.tasks import load_tune_task

    torch.set_num_threads(args.threads)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    t0 = time.perf_counter()
    search_task = load_tune_task(args.model, eval_limit=args.search_limit)
    ratios = unit_lut_ratios(args.choices)
    sites = product_sites(search_task.model, search_task.probe)
    log(f"{args.model}: {len(sites)} product sites; LUT ratio per choice {ratios}")
    cache: dict = {}
    searches = []
    for lam in args.lambdas:
        search = AssignmentSearch(sites, list(args.choices), lambda cfg: search_task.evaluate(cfg)[0], ratios,
                                  lam=lam, samples=args.samples, seed=args.seed, cache=cache)  # fmt: skip
        for c in args.choices:
            search.evaluate(tuple([c] * len(sites)))
        out = search.run(args.steps, minutes=args.minutes, log=log)
        log(f"lambda {lam}: best on the search examples {out['best_accuracy']:.4f} at cost {out['best_cost']:.3f}")
        searches.append(out)
    holdout = load_tune_task(args.model, eval_limit=args.holdout_limit, eval_offset=args.search_limit)
    site_names = [s.name for s in sites]

    def held_out(units):
        acc, _ = holdout.evaluate(assignment_configs(sites, units))
        return acc, assignment_cost(sites, units, ratios)

    uniform = {c: held_out([c] * len(sites)) for c in args.choices}
    learned = []
    for out in searches:
        units = [out["best"][n] for n in site_names]
        acc, cost = held_out(units)
        beats = [c for c, (ua, uc) in uniform.items() if (acc >= ua and cost < uc) or (acc > ua and cost <= uc)]
        cheaper = [ua for ua, uc in uniform.values() if uc <= cost]  # the bar: the best uniform at <= cost
        learned.append({"lambda": out["lambda"], "assignment": out["best"], "accuracy": acc, "cost": cost,
                        "search_accuracy": out["best_accuracy"], "beats": beats,
                        "best_uniform_at_no_higher_cost": max(cheaper) if cheaper else None,
                        "beats_best_uniform_at_no_higher_cost": bool(cheaper) and acc > max(cheaper)})  # fmt: skip
        log(f"lambda {out['lambda']}: held out {acc:.4f} at cost {cost:.3f}; beats uniform {beats or 'none'}")
    result = {"model": args.model, "sites": [s.__dict__ for s in sites], "lut_ratio": ratios,
              "search_examples": args.search_limit, "holdout_examples": holdout.n_eval,
              "uniform": {c: {"accuracy": a, "cost": k} for c, (a, k) in uniform.items()}, "learned": learned,
              "searched": [{"units": list(u), "accuracy": a, "cost": k} for u, (a, k) in cache.items()],
              "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        pts = [(a, k) for a, k in cache.values()]
        ax.scatter([k for _, k in pts], [a for a, _ in pts], s=10, c="0.75", label="searched (search examples)")
        front = pareto(pts)
        ax.step([k for _, k in front], [a for a, _ in front], where="post", c="0.5", lw=1)
        for c, (a, k) in uniform.items():
            ax.scatter([k], [a], marker="s", s=40)
            ax.annotate(f"all {c}", (k, a), textcoords="offset points", xytext=(4, -10), fontsize=8)
        for r in learned:
            ax.scatter([r["cost"]], [r["accuracy"]], marker="*", s=120, c="C3")
            ax.annotate(f"learned λ={r['lambda']}", (r["cost"], r["accuracy"]), textcoords="offset points",
                        xytext=(4, 4), fontsize=8)  # fmt: skip
        ax.set_xlabel("multiplier LUTs, MAC-weighted, relative to the exact multiplier of the widest choice")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{args.model}: per-layer units (held out: squares, stars)")
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
    print(f"{args.model}: {len(sites)} sites, {len(cache)} assignments searched on {args.search_limit} examples; "
          f"held-out n = {holdout.n_eval} ({result['seconds']:.0f} s)\n")  # fmt: skip
    print("| assignment | LUT cost (x exact) | held-out accuracy | dominates uniform | best uniform at <= cost |\n"
          "|---|---:|---:|---|---:|")  # fmt: skip
    for c, (a, k) in sorted(uniform.items(), key=lambda kv: kv[1][1]):
        print(f"| all {c} | {k:.3f} | {a:.4f} | | |")
    for r in learned:
        best = r["best_uniform_at_no_higher_cost"]
        print(f"| learned, λ = {r['lambda']} | {r['cost']:.3f} | {r['accuracy']:.4f} | {', '.join(r['beats']) or '—'} | "
              f"{'—' if best is None else f'{best:.4f}'} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
