"""PET masked-LM path (the shipped character BERT): train the shipped checkpoints, valid-split figures, units.

    python benchmarks/pet_mlm.py [--base DIR] [--out-dir kexue_hw/models/pet/weights] [--unit-limit N]
                                 [--units ...] [--units-only] [--json]

1. zero-shot: the pretrained model with pattern "{mask}满意。{x}" (很/不), median calibration fitted on
   the valid texts themselves (label-free), for orientation;
2. few-shot: the 3-pattern PET ensemble on the seeded, balanced 1 % subset (168 reviews)
   -> ``pet-mlm-few-shot`` (``kexue-hw pet train --scorer mlm``);
3. semi-supervised: the same plus the MLM loss on the rest of the train split (labels never read)
   and distillation of the ensemble's soft labels into one model -> ``pet-mlm-semi``
   (``kexue-hw pet train --scorer mlm --semi``);
4. the character n-gram baseline on the same 168 labels;
5. each checkpoint on the first ``--unit-limit`` valid reviews natively and under every unit.
Writes ``benchmarks/results/pet_mlm.json``.
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
WEIGHTS = Path(__file__).resolve().parents[1] / "kexue_hw/models/pet/weights"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default=str(WEIGHTS / "char-bert"), help="the pretrained masked LM")
    ap.add_argument("--out-dir", default=str(WEIGHTS))
    ap.add_argument("--unit-limit", type=int, default=None, help="valid reviews for the unit runs (default: all)")
    ap.add_argument("--units", nargs="*", default=UNITS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--units-only", action="store_true", help="reuse the checkpoints and figures of a previous run")
    ap.add_argument("--skip", nargs="*", default=[], choices=["few_shot", "semi"], help="phases to leave out")
    ap.add_argument("--checkpoints", nargs="+", default=["few_shot", "semi"], choices=["few_shot", "semi"],
                    help="which checkpoints to run on the units")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import torch

    from kexue_hw.models.evaluation import compare_units
    from kexue_hw.models.pet.task import _quiet_transformers, build_task

    _quiet_transformers()
    torch.set_num_threads(args.threads)
    results = Path(__file__).resolve().parent / "results" / "pet_mlm.json"
    dirs = {"few_shot": Path(args.out_dir) / "pet-mlm-few-shot", "semi": Path(args.out_dir) / "pet-mlm-semi"}
    out = json.loads(results.read_text()) if (args.units_only or args.skip) and results.is_file() else {}
    if not args.units_only:
        out.update(train_and_score(args, dirs, out))
        results.write_text(json.dumps(out, indent=2) + "\n")
    out["units"] = {}
    for name, ckpt in dirs.items():
        if not args.units or name not in args.checkpoints or not (ckpt / "pet.json").is_file():
            continue
        task = build_task("mlm", None, args.unit_limit, ckpt)
        r = compare_units(task.run, args.units, probe=task.probe,
                          on_unit=lambda u, row: print(f"  {name} {u}: {row['accuracy']:.4f} ({row['seconds']:.0f} s)",
                                                       file=sys.stderr, flush=True))
        r["checkpoint_sha256"] = task.checkpoint_hash
        out["units"][name] = r
        results.write_text(json.dumps(out, indent=2) + "\n")
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    v = out["valid"]
    print(f"| MLM path (valid, n {v['n']}) | accuracy |\n|---|---:|")
    for key, label in (("zero_shot", "zero-shot, median calibration"), ("few_shot", f"few-shot, {v['shots']} labels, 3 patterns"),
                       ("semi", f"semi-supervised, {v['shots']} labels + unlabelled train texts"),
                       ("ngram_baseline", "n-gram baseline, same labels")):
        if f"{key}_accuracy" in v:
            print(f"| {label} | {v[f'{key}_accuracy']:.4f} |")
    for name, r in out["units"].items():
        print(f"\n{name}, {r['n']} valid reviews: native {r['accuracy']:.4f} ({r['seconds']:.0f} s)\n")
        print("| unit | accuracy | agreement | McNemar p | time x native | all emulated |\n|---|---:|---:|---:|---:|:---:|")
        for u in r["units"]:
            print(f"| {u['unit']} | {u['accuracy']:.4f} | {u['agreement']:.4f} | {u['mcnemar_p']:.3g} | "
                  f"{u['time_ratio']:.1f} | {'yes' if u['all_emulated'] else 'NO'} |")
    return 0


def train_and_score(args, dirs, previous) -> dict:
    import torch

    from kexue_hw.models.pet.baseline import NgramBaseline
    from kexue_hw.models.pet.data import few_shot_indices, read_labelled, sentiment_file
    from kexue_hw.models.pet.task import PetClassifier
    from kexue_hw.models.pet.train import PetSettings, train_mlm

    train, valid = read_labelled(sentiment_file("train")), read_labelled(sentiment_file("valid"))
    out = {"base_model": Path(args.base).name, "threads": args.threads}
    v = dict(previous.get("valid", {}))
    v["n"] = len(valid)
    y = torch.tensor(valid.labels)
    zs = PetClassifier.load(scorer="mlm", model=args.base)
    t0 = time.perf_counter()
    v["zero_shot_accuracy"] = (zs.log_probs(valid.texts).argmax(-1) == y).float().mean().item()
    out["zero_shot_eval_seconds"] = time.perf_counter() - t0
    chosen = few_shot_indices(train.labels, seed=args.seed)
    v["shots"] = len(chosen)
    base = NgramBaseline().fit([train.texts[i] for i in chosen], [train.labels[i] for i in chosen])
    v["ngram_baseline_accuracy"] = base.accuracy(valid.texts, valid.labels)
    print(f"zero-shot {v['zero_shot_accuracy']:.4f}, n-gram baseline {v['ngram_baseline_accuracy']:.4f}",
          file=sys.stderr, flush=True)
    members, members_seconds = None, 0.0
    for name, semi in (("few_shot", False), ("semi", True)):
        if name in args.skip:
            continue
        m = train_mlm(args.base, train, PetSettings(seed=args.seed, semi=semi), dirs[name], eval_set=valid,
                      threads=args.threads, members=members if semi else None, members_seconds=members_seconds)
        if not semi:  # the semi-supervised run starts from the same few-shot ensemble
            members, members_seconds = m["_members"], m["training_seconds"]
        v[f"{name}_accuracy"] = m["figures"]["eval_accuracy"]
        out[f"{name}_training_seconds"] = m["training_seconds"]
        print(f"{name}: {v[f'{name}_accuracy']:.4f} ({m['training_seconds']:.0f} s training)", file=sys.stderr,
              flush=True)
    out["valid"] = v
    return out


if __name__ == "__main__":
    sys.exit(main())
