"""PET training of the masked-LM path: cloze loss, few-shot, semi-supervised, pattern ensemble, distillation.

* :func:`cloze_loss`: cross-entropy of the classes' label-word scores at the label position only.
* Few-shot: one model per pattern, each trained from the pretrained MLM with the cloze loss on the
  labelled examples plus the usual MLM loss on 15 % of their input tokens (noise); the ensemble
  averages the members' class log-probabilities.
* Semi-supervised (``semi=True``): PET's distillation with the MLM loss on the unlabelled reviews.
  The few-shot ensemble soft-labels a seeded pool of unlabelled texts (the train split less the
  labelled subset; labels never read; temperature ``distill_temperature``), then one final model
  (pattern 0, from the pretrained MLM) trains on batches of those texts with the soft cloze loss
  plus the MLM loss on 15 % of their tokens, alongside the labelled batches of few-shot training.

Everything is seeded (batches from ``torch.Generator`` seeded by ``(seed, member, step)``).
A checkpoint folder holds ``pet.json`` (kind, patterns, verbalizer, calibration, members), one
Hugging Face model folder per member (fp16 safetensors) and ``manifest.json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from .patterns import MLM_PATTERNS, MLM_VERBALIZER, Pattern, Verbalizer

__all__ = ["cloze_loss", "PetSettings", "train_mlm", "save_pet", "write_member_manifests", "ensemble_log_probs",
           "train_command", "PET_FILE"]

PET_FILE = "pet.json"


def cloze_loss(hidden, head, positions, class_word_ids, labels, *, soft: torch.Tensor | None = None):
    """Cross-entropy of the class scores read at the label positions only.

    ``hidden`` (n, L, H): the body's output; ``head``: the MLM head (H -> V); ``positions`` (n, k):
    the ``k`` mask positions of each example; ``class_word_ids[c]``: the label words of class c,
    each a list of ``k`` token ids. Class score = log-sum-exp over its words of the summed token
    log-probabilities. ``soft`` (n, C): target probabilities instead of ``labels`` (distillation).
    """
    n, k = positions.shape
    rows = torch.arange(n).unsqueeze(1).expand(n, k)
    logp = head(hidden[rows, positions]).float().log_softmax(-1)  # (n, k, V): only the label positions
    per_class = []
    for words in class_word_ids:
        word_scores = []
        for ids in words:
            if len(ids) != k:
                raise ValueError(f"label word of {len(ids)} tokens at {k} mask positions")
            idx = torch.tensor(ids, dtype=torch.long).view(1, k, 1).expand(n, k, 1)
            word_scores.append(logp.gather(-1, idx).squeeze(-1).sum(-1))
        per_class.append(torch.logsumexp(torch.stack(word_scores, -1), -1))
    scores = torch.stack(per_class, -1).log_softmax(-1)
    if soft is not None:
        return -(soft * scores).sum(-1).mean()
    return F.nll_loss(scores, labels)


def noise_inputs(batch: dict, *, prob: float, vocab_size: int, special: int, mask_id: int, generator):
    """BERT masking of the input-text tokens only (inside ``x_spans``); ``(inputs, mlm_labels)``."""
    from .pretrain import mask_tokens

    ids = batch["input_ids"]
    pos = torch.arange(ids.shape[1]).unsqueeze(0)
    inside = (pos >= batch["x_spans"][:, :1]) & (pos < batch["x_spans"][:, 1:])
    return mask_tokens(ids, prob=prob, vocab_size=vocab_size, special=special, mask_id=mask_id,
                       generator=generator, protect=~inside)


@dataclass
class PetSettings:
    """Everything that decides a trained PET checkpoint (recorded in its manifest)."""

    patterns: tuple = (0, 1, 2)  # indices into MLM_PATTERNS
    shots: int | None = None  # default: fraction of the train split
    fraction: float = 0.01
    seed: int = 0
    steps: int = 250
    batch: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: int = 20
    noise_prob: float = 0.15
    mlm_weight: float = 1.0
    dropout: float = 0.1
    semi: bool = False
    distill_pool: int = 4000
    distill_steps: int = 400
    distill_batch: int = 32
    distill_temperature: float = 2.0
    calibration: str = "none"
    extra: dict = field(default_factory=dict)

    def validate(self):
        for name in ("steps", "batch", "distill_pool", "distill_steps", "distill_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for p in self.patterns:
            if not 0 <= p < len(MLM_PATTERNS):
                raise ValueError(f"pattern index {p} out of range 0..{len(MLM_PATTERNS) - 1}")


def _lr_at(s: PetSettings, step: int, steps: int) -> float:
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    return s.lr * max(0.0, 1.0 - (step - s.warmup) / max(1, steps - s.warmup))


def _load_mlm(directory, dropout: float):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(directory))
    model = AutoModelForMaskedLM.from_pretrained(
        str(directory), dtype=torch.float32, attn_implementation="sdpa",
        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
    )
    return model, tok


def _train_member(base_dir, pattern: Pattern, verbalizer: Verbalizer, labelled, s: PetSettings, member: int, *,
                  steps: int, soft=None, progress=None):
    """Train one PET model from ``base_dir`` on ``labelled`` (texts, labels) [+ ``soft`` = (unlabelled texts, targets)]."""
    from .pretrain import SPECIAL_TOKENS
    from .scorers import MaskedLMScorer

    torch.manual_seed(s.seed * 1_000_003 + member * 10_007)  # dropout masks: per member, whatever ran before
    model, tok = _load_mlm(base_dir, s.dropout)
    scorer = MaskedLMScorer(model, tok)
    groups = scorer.word_groups(verbalizer)
    if len(groups) != 1:
        raise ValueError("training needs label words of one token length (several lengths score fine)")
    (k, group), = groups.items()
    class_ids = [[ids for c2, _, ids in group if c2 == c] for c in range(verbalizer.num_classes)]
    texts, labels = labelled
    rows = [scorer.encode_one(t, pattern, k) for t in texts]
    labels_t = torch.tensor(labels)
    soft_texts, soft_p = soft if soft is not None else ([], None)
    soft_rows = [scorer.encode_one(t, pattern, k) for t in soft_texts]
    special = len(SPECIAL_TOKENS) if tok.convert_ids_to_tokens(len(SPECIAL_TOKENS) - 1) == "[MASK]" else 0
    params = [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": s.weight_decay},
              {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(params, lr=s.lr)
    model.train()
    vocab = model.config.vocab_size
    for step in range(steps):
        g = torch.Generator().manual_seed(s.seed * 1_000_003 + member * 10_007 + step)
        for group_ in opt.param_groups:
            group_["lr"] = _lr_at(s, step, steps)
        loss = torch.zeros(())
        parts = {}
        if soft_rows:  # unlabelled batch: soft targets at the label position, MLM on 15 % of the review
            idx = torch.randint(len(soft_rows), (s.distill_batch,), generator=g).tolist()
            b = scorer.collate([soft_rows[i] for i in idx])
            inputs, mlm_labels = noise_inputs(b, prob=0.15, vocab_size=vocab, special=special,
                                              mask_id=tok.mask_token_id, generator=g)
            h = scorer.hidden(inputs, b["attention_mask"])
            parts["distill"] = cloze_loss(h, scorer.head, b["positions"], class_ids, None, soft=soft_p[idx])
            loss = loss + parts["distill"]
            sel = mlm_labels != -100
            if s.mlm_weight > 0 and sel.any():
                parts["unlabelled_mlm"] = F.cross_entropy(scorer.head(h[sel]).float(), mlm_labels[sel])
                loss = loss + s.mlm_weight * parts["unlabelled_mlm"]
        idx = torch.randint(len(rows), (s.batch,), generator=g).tolist()
        b = scorer.collate([rows[i] for i in idx])
        inputs, mlm_labels = noise_inputs(b, prob=s.noise_prob, vocab_size=vocab, special=special,
                                          mask_id=tok.mask_token_id, generator=g)
        h = scorer.hidden(inputs, b["attention_mask"])
        parts["cloze"] = cloze_loss(h, scorer.head, b["positions"], class_ids, labels_t[idx])
        loss = loss + parts["cloze"]
        if s.noise_prob > 0 and s.mlm_weight > 0 and (mlm_labels != -100).any():
            sel = mlm_labels != -100
            parts["mlm"] = F.cross_entropy(scorer.head(h[sel]).float(), mlm_labels[sel])
            loss = loss + s.mlm_weight * parts["mlm"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if progress is not None:
            progress.update(1, **{k: float(v.item()) for k, v in parts.items()})
    model.eval()
    model.to(torch.float16).float()  # the values the fp16 checkpoint ships, used from here on
    return model, tok


def ensemble_log_probs(members, texts, verbalizer: Verbalizer) -> torch.Tensor:
    """Mean of the members' class log-probabilities, renormalised; ``members``: [(scorer, pattern), ...]."""
    lps = [scorer.class_log_probs(texts, pattern, verbalizer) for scorer, pattern in members]
    return torch.stack(lps).mean(0).log_softmax(-1) if len(lps) > 1 else lps[0]


def save_pet(out, members, *, kind: str, verbalizer: Verbalizer, calibration: dict, base: str) -> None:
    """Write the checkpoint folder: ``pet.json`` and ``member<i>/`` (HF folder, fp16 weights)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, (model, tok, pattern) in enumerate(members):
        sub = out / f"member{i}"
        model.config.hidden_dropout_prob = 0.0
        model.config.attention_probs_dropout_prob = 0.0
        model.to(torch.float16).save_pretrained(str(sub))
        model.float()
        tok.save_pretrained(str(sub))
        entries.append({"folder": sub.name, "pattern": asdict(pattern)})
    spec = {"kind": kind, "members": entries, "verbalizer": {"words": [list(w) for w in verbalizer.words],
                                                           "names": list(verbalizer.names)},
            "calibration": calibration, "base_model": Path(base).name}
    (out / PET_FILE).write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def train_mlm(base_dir, train_set, s: PetSettings, out, *, eval_set=None, progress: bool = True, threads: int = 2,
              members=None, members_seconds: float = 0.0):
    """Few-shot (and semi-supervised) PET on ``train_set`` from the MLM in ``base_dir``; writes ``out``.

    Returns the manifest (``members`` in ``manifest['_members']`` is not written: the trained
    ``[(model, tokenizer, pattern)]``, which a semi-supervised call with the same settings but
    ``semi`` may take as ``members`` instead of training them again). Only ``shots`` labels of
    ``train_set`` are read (the seeded, balanced subset); with ``semi`` the other texts are the
    unlabelled pool.
    """
    from ..training import TrainingProgress, configure_torch, file_sha256, write_manifest
    from .baseline import NgramBaseline
    from .data import few_shot_indices

    s.validate()
    configure_torch(s.seed, threads)
    t0 = time.monotonic()
    chosen = few_shot_indices(train_set.labels, shots=s.shots, fraction=s.fraction, seed=s.seed)
    chosen_set = set(chosen)
    labelled = ([train_set.texts[i] for i in chosen], [train_set.labels[i] for i in chosen])
    pool = [t for i, t in enumerate(train_set.texts) if i not in chosen_set]  # labels never read
    patterns = [MLM_PATTERNS[p] for p in s.patterns]
    verbalizer = MLM_VERBALIZER
    total = (0 if members else s.steps * len(patterns)) + (s.distill_steps if s.semi else 0)
    trained = []
    with TrainingProgress(total, "pet train", enabled=progress) as bar:
        for m, pattern in enumerate(patterns):
            if members:  # the same settings' few-shot members, already trained in this process
                trained.append(members[m])
                continue
            model, tok = _train_member(base_dir, pattern, verbalizer, labelled, s, m, steps=s.steps, progress=bar)
            trained.append((model, tok, pattern))
        if s.semi:
            from .scorers import MaskedLMScorer

            g = torch.Generator().manual_seed(s.seed + 7)
            pick = torch.randperm(len(pool), generator=g)[: s.distill_pool].tolist()
            pool_texts = [pool[i] for i in pick]
            bar.log(f"pet train: soft-labelling {len(pool_texts)} unlabelled texts with the {len(trained)}-pattern ensemble")
            teachers = [(MaskedLMScorer(mo, to), pa) for mo, to, pa in trained]
            lp = torch.stack([sc.class_log_probs(pool_texts, pa, verbalizer) for sc, pa in teachers]).mean(0)
            soft = (lp / s.distill_temperature).softmax(-1)
            model, tok = _train_member(base_dir, patterns[0], verbalizer, labelled, s, len(patterns),
                                       steps=s.distill_steps, soft=(pool_texts, soft), progress=bar)
            final = [(model, tok, patterns[0])]
        else:
            final = trained
    seconds = time.monotonic() - t0
    kind = "mlm-semi" if s.semi else "mlm-few-shot"
    save_pet(out, final, kind=kind, verbalizer=verbalizer, calibration={"method": s.calibration, "offset": None},
             base=str(base_dir))
    figures = {"shots": len(chosen), "labelled_per_class": {str(c): labelled[1].count(c) for c in sorted(set(labelled[1]))}}
    if eval_set is not None:
        from .scorers import MaskedLMScorer

        scored = [(MaskedLMScorer(mo, to), pa) for mo, to, pa in final]
        lp = ensemble_log_probs(scored, eval_set.texts, verbalizer)
        pred = lp.argmax(-1).tolist()
        figures["eval_file"] = Path(eval_set.path).name
        figures["eval_accuracy"] = sum(int(p == y) for p, y in zip(pred, eval_set.labels)) / len(eval_set)
        base = NgramBaseline().fit(*labelled)
        figures["ngram_baseline_accuracy"] = base.accuracy(eval_set.texts, eval_set.labels)
    base_manifest = Path(base_dir) / "manifest.json"
    extra = {"base_model": {"folder": Path(base_dir).name,
                            "weights_sha256": file_sha256(Path(base_dir) / "model.safetensors")
                            if (Path(base_dir) / "model.safetensors").is_file() else None,
                            "manifest": str(base_manifest.name) if base_manifest.is_file() else None},
             "few_shot_indices": chosen, "command": "kexue-hw pet train --scorer mlm" + (" --semi" if s.semi else "")}
    data = [train_set.path] + ([eval_set.path] if eval_set is not None else [])
    extra["member_files"] = [{"file": str(p.relative_to(out)), "bytes": p.stat().st_size, "sha256": file_sha256(p)}
                             for p in sorted(Path(out).glob("member*/*")) if p.is_file()]
    if members:
        extra["few_shot_members"] = "trained once with these settings (semi=False) and reused; time included"
    manifest = write_manifest(out, model=f"PET {kind} ({len(final)} member(s))", data=data, settings=asdict(s),
                              seed=s.seed, training_seconds=seconds + members_seconds, figures=figures, extra=extra)
    write_member_manifests(out, manifest)
    manifest["_members"] = trained
    return manifest


def write_member_manifests(out, manifest: dict) -> None:
    """``member<i>/manifest.json`` beside each member's weights: the checkpoint's record (data and hashes,
    settings, seed, time, code commit, figures), the member's pattern and the SHA-256 of its own files."""
    from ..training import MANIFEST, file_sha256

    out = Path(out)
    spec = json.loads((out / PET_FILE).read_text(encoding="utf-8"))
    shared = {k: v for k, v in manifest.items() if not k.startswith("_") and k not in ("files", "member_files")}
    for i, member in enumerate(spec["members"]):
        folder = out / member["folder"]
        files = [{"file": p.name, "bytes": p.stat().st_size, "sha256": file_sha256(p)}
                 for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST]
        record = {**shared, "member": i, "of_checkpoint": out.name, "pattern": member["pattern"], "files": files}
        (folder / MANIFEST).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def train_command(args) -> int:
    """``kexue-hw pet train``."""
    from .data import read_labelled, sentiment_file

    train_set = read_labelled(args.data or sentiment_file("train"))
    eval_set = read_labelled(args.eval_data or sentiment_file("valid"))
    for d in (train_set, eval_set):
        if d.malformed:
            print(f"note: {d.describe()}")
    if args.semi and args.scorer == "clm":
        raise ValueError("--semi: the causal-LM path trains a head only (no semi-supervised step)")
    if args.zero_shot and args.scorer == "mlm":
        raise ValueError("--zero-shot is for --scorer clm (the MLM zero-shot needs no training: pet eval --model DIR)")
    if args.scorer == "clm":
        from .clm_head import clm_zero_shot, train_clm_head

        if args.zero_shot:
            manifest = clm_zero_shot(train_set, args.out, seed=args.seed, eval_set=eval_set, threads=args.threads)
        else:
            manifest = train_clm_head(train_set, args.out, shots=args.shots, seed=args.seed, eval_set=eval_set,
                                      threads=args.threads)
    else:
        from .shipped import shipped

        s = PetSettings(shots=args.shots, seed=args.seed, semi=args.semi)
        manifest = train_mlm(args.model or shipped("char-bert"), train_set, s, args.out, eval_set=eval_set,
                             threads=args.threads)
    fig = manifest["figures"]
    line = f"{args.out}: {manifest['model']}, {fig['shots']} labelled examples, {manifest['training_seconds']:.0f} s"
    if "eval_accuracy" in fig:
        line += (f"; {fig['eval_file']} accuracy {fig['eval_accuracy']:.4f} "
                 f"(n-gram baseline on the same labels {fig['ngram_baseline_accuracy']:.4f})")
    print(line)
    return 0
