"""PET causal-LM path (SmolLM2-135M-Instruct): train the shipped checkpoints, figures on the valid split, units.

    python benchmarks/pet_clm.py [--out-dir kexue_hw/models/pet/weights] [--unit-limit 100] [--units ...] [--json]

1. zero-shot: median calibration fitted on 256 unlabelled train texts -> ``pet-clm-zero-shot``;
2. few-shot: the label-word head on the seeded, balanced 1 % subset (168 reviews) -> ``pet-clm-few-shot``;
   (the same committed trainers as ``kexue-hw pet train --scorer clm [--zero-shot]``; the valid split's
   LM features are computed once and serve both evaluations);
3. the character n-gram baseline on the same 168 labels;
4. each checkpoint on the first ``--unit-limit`` valid reviews natively and under every unit (every
   product on the unit, coverage probed with ``track()``); emulated runs of the 135M model are slow.
Writes ``benchmarks/results/pet_clm.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

UNITS = ["mitchell_s8", "mbm_s8", "ilm_s8_c1", "exact_s8", "float_mitchell_bf16"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=str(Path(__file__).resolve().parents[1] / "kexue_hw/models/pet/weights"))
    ap.add_argument("--unit-limit", type=int, default=100)
    ap.add_argument("--units", nargs="*", default=UNITS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--units-only", action="store_true", help="reuse the checkpoints and valid figures of a previous run")
    ap.add_argument("--feature-cache", default=None, help="file to keep the LM features in between runs (torch.save)")
    ap.add_argument("--checkpoints", nargs="+", default=["few_shot", "zero_shot"], choices=["few_shot", "zero_shot"],
                    help="which checkpoints to run on the units")
    args = ap.parse_args()

    import torch

    from kexue_hw.models.evaluation import compare_units
    from kexue_hw.models.pet.task import _quiet_transformers, build_task

    _quiet_transformers()
    torch.set_num_threads(args.threads)
    results = Path(__file__).resolve().parent / "results" / "pet_clm.json"
    zero_dir, few_dir = Path(args.out_dir) / "pet-clm-zero-shot", Path(args.out_dir) / "pet-clm-few-shot"
    if args.units_only:
        out = json.loads(results.read_text())
    else:
        out = train_and_score(args, zero_dir, few_dir)
        results.write_text(json.dumps(out, indent=2) + "\n")
    out["units"] = {}
    for name, ckpt in (("few_shot", few_dir), ("zero_shot", zero_dir)):
        if not args.units or name not in args.checkpoints:
            continue
        task = build_task("clm", None, args.unit_limit, ckpt)
        r = compare_units(task.run, args.units, probe=task.probe,
                          on_unit=lambda u, row: print(f"  {name} {u}: {row['accuracy']:.4f} "
                                                       f"({row['seconds']:.0f} s)", file=sys.stderr, flush=True))
        r["checkpoint_sha256"] = task.checkpoint_hash
        out["units"][name] = r
        results.write_text(json.dumps(out, indent=2) + "\n")
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    v = out["valid"]
    print(f"| CLM path (valid, n {v['n']}) | accuracy |\n|---|---:|")
    print(f"| zero-shot, median calibration | {v['zero_shot_accuracy']:.4f} |")
    print(f"| few-shot head, {v['shots']} labels | {v['few_shot_accuracy']:.4f} |")
    print(f"| n-gram baseline, same labels | {v['ngram_baseline_accuracy']:.4f} |")
    for name, r in out["units"].items():
        print(f"\n{name}, first {r['n']} valid reviews: native {r['accuracy']:.4f} ({r['seconds']:.0f} s)\n")
        print("| unit | accuracy | agreement | McNemar p | time x native | all emulated |\n|---|---:|---:|---:|---:|:---:|")
        for u in r["units"]:
            print(f"| {u['unit']} | {u['accuracy']:.4f} | {u['agreement']:.4f} | {u['mcnemar_p']:.3g} | "
                  f"{u['time_ratio']:.1f} | {'yes' if u['all_emulated'] else 'NO'} |")
    return 0


def train_and_score(args, zero_dir, few_dir) -> dict:
    import torch

    from kexue_hw.models.pet.baseline import NgramBaseline
    from kexue_hw.models.pet.clm_head import clm_zero_shot, train_clm_head
    from kexue_hw.models.pet.data import few_shot_indices, read_labelled, sentiment_file
    from kexue_hw.models.pet.patterns import CLM_PATTERN
    from kexue_hw.models.pet.scorers import CausalLMScorer

    train, valid = read_labelled(sentiment_file("train")), read_labelled(sentiment_file("valid"))
    out = {"model": "SmolLM2-135M-Instruct (GGUF Q4_1, dequantised to fp32)", "threads": args.threads}
    t0 = time.perf_counter()
    scorer = CausalLMScorer.from_pretrained()
    out["load_seconds"] = time.perf_counter() - t0
    scorer.feature_cache = {}  # the valid split's forward pass serves both checkpoints
    cache = Path(args.feature_cache) if args.feature_cache else None
    if cache is not None and cache.is_file():
        scorer.feature_cache = torch.load(cache)

    t0 = time.perf_counter()
    zs = clm_zero_shot(train, zero_dir, scorer=scorer, seed=args.seed, eval_set=valid, threads=args.threads)
    out["zero_shot_seconds"] = time.perf_counter() - t0  # calibration sample + the valid split's forward
    fs = train_clm_head(train, few_dir, scorer=scorer, seed=args.seed, eval_set=valid, threads=args.threads)
    if cache is not None:
        torch.save(scorer.feature_cache, cache)

    from kexue_hw.models.pet.clm_head import calibration_sample

    texts = valid.texts + calibration_sample(train, seed=args.seed)  # what the timed forward passes read
    tokens = sum(len(scorer.encode_one(t, CLM_PATTERN)) for t in texts)
    out["forward_tokens"] = tokens
    cached = cache is not None and cache.is_file() and out["zero_shot_seconds"] < 60
    out["valid_forward_tokens_per_second"] = None if cached else tokens / max(1e-9, out["zero_shot_seconds"])
    chosen = few_shot_indices(train.labels, seed=args.seed)
    base = NgramBaseline().fit([train.texts[i] for i in chosen], [train.labels[i] for i in chosen])
    out["valid"] = {
        "n": len(valid),
        "zero_shot_accuracy": zs["figures"]["eval_accuracy"],
        "few_shot_accuracy": fs["figures"]["eval_accuracy"],
        "ngram_baseline_accuracy": base.accuracy(valid.texts, valid.labels),
        "shots": fs["figures"]["shots"],
        "head_lambda": fs["figures"]["lambda"],
        "head_cv_accuracy": fs["figures"]["cv_accuracy"],
    }
    scorer.feature_cache = None
    print(f"valid n {len(valid)}: zero-shot {out['valid']['zero_shot_accuracy']:.4f}, few-shot "
          f"{out['valid']['few_shot_accuracy']:.4f}, n-gram baseline {out['valid']['ngram_baseline_accuracy']:.4f} "
          f"({out['valid']['shots']} labels); forward {tokens} tokens (valid + calibration) at "
          f"{out['valid_forward_tokens_per_second'] or 0:.0f} tokens/s", file=sys.stderr, flush=True)
    return out


if __name__ == "__main__":
    sys.exit(main())
