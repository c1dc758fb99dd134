"""TeaForN against plain teacher forcing at equal wall-clock time (issue 8).

    python benchmarks/mwp_teaforn.py --minutes 20 [--teaforn 2 --weights 1 0.5] [--json]

Both runs train the same model size from the same seed on the same pool (Math23K train + Ape210K
valid). A short calibration first times 15 steps of each variant on this machine; each run then
gets ``steps = 0.9 * budget / seconds_per_step`` so its whole warmup + cosine schedule fits the
budget (TeaForN's steps cost more, so it takes fewer). Reported: steps, seconds, best dev
accuracy, and Math23K test accuracy (greedy and beam 3) of each. Writes
``benchmarks/results/mwp_teaforn.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def seconds_per_step(settings, steps: int = 15) -> float:
    """Time ``steps`` training steps of a fresh model (after two warm-up steps)."""
    import torch

    from kexue_hw.models.mwp.data import training_pool
    from kexue_hw.models.mwp.solver import Solver, encode_problems
    from kexue_hw.models.mwp.train import _loss, collate, length_batches

    torch.manual_seed(settings.seed)
    pool = training_pool(*settings.data, dev_size=settings.dev_size, seed=settings.seed)
    solver = Solver.build(pool.train, settings)
    enc, _ = encode_problems(solver, pool.train)
    lengths = [len(s) + len(t) for s, t in zip(enc.sources, enc.target_inputs)]
    batches = length_batches(lengths, settings.batch_size, random.Random(0))
    opt = torch.optim.AdamW(solver.model.parameters(), lr=1e-4)
    t0 = 0.0
    for i, rows in enumerate(batches[: steps + 2]):
        if i == 2:
            t0 = time.perf_counter()
        loss = _loss(solver.model, collate(enc, rows, solver.bos_input, solver.pad), settings)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - t0) / steps


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=20.0, help="wall-clock budget of each run")
    p.add_argument("--teaforn", type=int, default=2)
    p.add_argument("--weights", type=float, nargs="+", default=[1.0, 0.5])
    p.add_argument("--out-dir", default="/tmp/kexue-teaforn")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "mwp_teaforn.json"))
    args = p.parse_args(argv)

    from kexue_hw.models.mwp.data import find_shared_data
    from kexue_hw.models.mwp.train import TrainSettings, train

    shared = find_shared_data()
    if shared is None:
        print("no ../shared/data", file=sys.stderr)
        return 2
    base = TrainSettings(
        data=[str(shared / "math23k" / "math23k_train.json"), str(shared / "ape210k" / "valid.ape.json")],
        test=str(shared / "math23k" / "math23k_test.json"),
        threads=args.threads,
        minutes=args.minutes,
        eval_every=250,
    )
    variants = {"teacher_forcing": base, f"teaforn_{args.teaforn}": replace(
        base, teaforn=args.teaforn, teaforn_weights=tuple(args.weights))}  # fmt: skip
    results = {}
    for name, settings in variants.items():
        sps = seconds_per_step(settings)
        steps = max(100, int(0.9 * args.minutes * 60 / sps))
        run = replace(settings, steps=steps, warmup=min(300, steps // 10))
        print(f"{name}: {sps:.2f} s/step -> {steps} steps in {args.minutes} min", file=sys.stderr, flush=True)
        figures = train(run, Path(args.out_dir) / name, log=lambda m: print(m, file=sys.stderr, flush=True),
                        progress=False)  # fmt: skip
        results[name] = {"seconds_per_step": round(sps, 3), "steps": steps, **figures}
    out = {"minutes": args.minutes, "teaforn_weights": args.weights, "runs": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    if args.json:
        print(json.dumps(out))
    else:
        print("| run | s/step | steps | dev acc | test greedy | test beam 3 |\n|---|---:|---:|---:|---:|---:|")
        for name, r in results.items():
            print(f"| {name} | {r['seconds_per_step']} | {r['steps_run']} | {r['dev_accuracy']:.4f} | "
                  f"{r['test_accuracy_greedy']:.4f} | {r['test_accuracy_beam3']:.4f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
