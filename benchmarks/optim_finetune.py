"""Fine-tuning on the unit (issue 11): the 8-bit unit that costs a shipped model the most accuracy, and
how much of that loss each gradient method recovers at equal wall time.

For each model (``--models``): accuracy natively and on every 8-bit unit of ``--units`` on the first
``--eval-limit`` evaluation examples; the unit with the largest loss is fine-tuned from the shipped
weights, once per method (``ste``, ``unit_backward``, ``zo``), each for ``--minutes`` of wall time,
and evaluated again on the same examples. ``recovered`` = (after - before) / (native - before).

    python benchmarks/optim_finetune.py --models pet-mlm mwp --minutes 3 --json benchmarks/results/optim_finetune.json

Prints a Markdown table (the one in BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

UNITS = ("exact_s8", "mitchell_s8", "mitchell_s8_t3", "mbm_s8", "ilm_s8_c1")
METHODS = ("ste", "unit_backward", "zo")


def run_model(name: str, args) -> dict:
    import torch

    from kexue_hw.optim.finetune import FinetuneSettings, finetune
    from kexue_hw.optim.tasks import load_tune_task

    log = lambda msg: print(f"[{name}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    task = load_tune_task(name, eval_limit=args.eval_limit)
    native, _ = task.evaluate("native")
    by_unit = {}
    for unit in args.units:
        t0 = time.perf_counter()
        by_unit[unit], _ = task.evaluate(unit)
        log(f"{unit}: {by_unit[unit]:.4f} (native {native:.4f}; {time.perf_counter() - t0:.0f} s)")
    worst = min(by_unit, key=lambda u: by_unit[u])
    before = by_unit[worst]
    runs = []
    for method in args.methods:
        task = load_tune_task(name, eval_limit=args.eval_limit)  # the shipped weights again
        torch.manual_seed(args.seed)
        settings = FinetuneSettings(unit=worst, method=method, minutes=args.minutes, seed=args.seed,
                                    **({"lr": args.lr} if method != "zo" else {"zo_lr": args.zo_lr}))  # fmt: skip
        run = finetune(task.model, task.loss, task.batches(args.seed), settings, progress=False)
        after, _ = task.evaluate(worst)
        lost = native - before
        run.update(after=after, recovered=None if lost <= 0 else round((after - before) / lost, 4))
        log(f"{method}: {run['steps']} steps in {run['seconds']} s, loss {run['first_loss']:.4f} -> "
            f"{run['last_loss']:.4f}; accuracy {before:.4f} -> {after:.4f}")  # fmt: skip
        runs.append(run)
    return {"model": name, "n": task.n_eval, "native": native, "units": by_unit, "worst": worst, "before": before,
            "minutes": args.minutes, "runs": runs}  # fmt: skip


def markdown(results: list[dict]) -> str:
    lines = ["| model (n) | worst 8-bit unit | native | on the unit | method | steps | after | recovered |",
             "|---|---|---:|---:|---|---:|---:|---:|"]  # fmt: skip
    for r in results:
        for run in r["runs"]:
            rec = "—" if run["recovered"] is None else f"{run['recovered']:.0%}"
            lines.append(f"| {r['model']} ({r['n']}) | {r['worst']} | {r['native']:.4f} | {r['before']:.4f} | "
                         f"{run['method']} | {run['steps']} | {run['after']:.4f} | {rec} |")  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["pet-mlm", "mwp"], choices=["pet-mlm", "mwp"])
    p.add_argument("--units", nargs="+", default=list(UNITS))
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--minutes", type=float, default=3.0, help="wall time of each fine-tuning run")
    p.add_argument("--eval-limit", type=int, default=300)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--zo-lr", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    results = [run_model(m, args) for m in args.models]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
