"""Pretrain the small Chinese character-level BERT of the masked-LM path (``kexue-hw pet pretrain``).

The model is a plain Hugging Face ``BertForMaskedLM`` built from a config, with a character
vocabulary: BERT's basic tokenizer already puts every CJK character on its own, and each other
character of the corpus is in the vocabulary both alone and as a ``##`` continuation, so WordPiece
splits every word into characters. The result is an ordinary model folder (``config.json``,
``vocab.txt``, tokenizer files, ``model.safetensors`` in fp16, ``manifest.json``) that
:class:`kexue_hw.models.pet.MaskedLMScorer` loads exactly like a user's real Chinese BERT.

Training: masked LM only (15 % of the tokens: 80 % ``[MASK]``, 10 % a random character, 10 %
kept), on sequences packed from unlabelled text (see :mod:`.data`), sampled per sequence from the
sources with fixed weights; the MLM head runs only at the masked positions. AdamW, linear warmup
then linear decay over ``steps``; every batch is drawn from a generator seeded by
``(seed, step)``, so an interrupted run resumed from its checkpoint continues the same stream.
A wall-clock budget (``--minutes``) stops the run early with a checkpoint; ``--resume`` continues it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

__all__ = ["PretrainSettings", "build_vocab", "save_tokenizer", "pretrain", "SPECIAL_TOKENS"]

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@dataclass
class PretrainSettings:
    """Everything that decides the pretrained model (recorded in its manifest)."""

    layers: int = 4
    hidden: int = 192
    heads: int = 3
    intermediate: int = 768
    seq_len: int = 128
    batch: int = 32
    steps: int = 2000
    lr: float = 1e-3
    warmup: int = 100
    final_lr_fraction: float = 0.1
    weight_decay: float = 0.01
    mask_prob: float = 0.15
    min_count: int = 3
    max_vocab: int = 8000
    heldout_fraction: float = 0.01
    seed: int = 0
    #: sampling weight of each unlabelled source, per packed sequence
    weights: dict = field(default_factory=lambda: {"sentiment_train": 0.6, "peoples_daily": 0.25, "mwp": 0.15})

    def validate(self) -> None:
        for name in ("layers", "hidden", "heads", "intermediate", "seq_len", "batch", "steps", "min_count", "max_vocab"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.hidden % self.heads:
            raise ValueError(f"--hidden {self.hidden} is not a multiple of --heads {self.heads}")
        if self.seq_len < 8:
            raise ValueError(f"--seq-len must be at least 8, got {self.seq_len}")
        if not 0 < self.mask_prob < 1:
            raise ValueError(f"--mask-prob must be in (0, 1), got {self.mask_prob}")
        if not self.lr > 0:
            raise ValueError(f"--lr must be positive, got {self.lr}")


# ------------------------------------------------------------------------------------------ vocabulary


def _pieces(texts):
    """Yield the characters of ``texts`` as BERT's basic tokenizer sees them: ``c`` or ``##c``."""
    from tokenizers import normalizers, pre_tokenizers

    norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    for text in texts:
        for word, _ in pre.pre_tokenize_str(norm.normalize_str(text)):
            yield word[0]
            for ch in word[1:]:
                yield "##" + ch


def build_vocab(texts, *, min_count: int = 3, max_size: int = 8000) -> list[str]:
    """Special tokens, then every piece seen at least ``min_count`` times, most frequent first (ties by text)."""
    counts = Counter(_pieces(texts))
    ranked = sorted((p for p, c in counts.items() if c >= min_count), key=lambda p: (-counts[p], p))
    return SPECIAL_TOKENS + ranked[: max(0, max_size - len(SPECIAL_TOKENS))]


def save_tokenizer(vocab: list[str], directory, max_length: int = 512):
    """Write ``vocab.txt`` and the tokenizer files to ``directory``; return the tokenizer."""
    from transformers import BertTokenizerFast

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tok = BertTokenizerFast(
        vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True, tokenize_chinese_chars=True,
        strip_accents=None, model_max_length=max_length,
    )
    tok.save_pretrained(str(directory))
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return tok


def model_config(settings: PretrainSettings, vocab_size: int):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=settings.hidden,
        num_hidden_layers=settings.layers,
        num_attention_heads=settings.heads,
        intermediate_size=settings.intermediate,
        max_position_embeddings=settings.seq_len,
        type_vocab_size=2,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        attn_implementation="sdpa",
    )


# -------------------------------------------------------------------------------------------- corpus


def unlabelled_sources() -> tuple[dict[str, list[str]], list[Path]]:
    """The pretraining texts by source, and the files they came from (for the manifest)."""
    from .data import mwp_files, peoples_daily_file, read_labelled, read_mwp_texts, read_peoples_daily, sentiment_file

    train = sentiment_file("train")
    pd = peoples_daily_file()
    mwp = mwp_files()
    sources = {
        "sentiment_train": read_labelled(train).texts,  # labels dropped
        "peoples_daily": read_peoples_daily(pd),
        "mwp": [t for f in mwp for t in read_mwp_texts(f)],
    }
    return {k: v for k, v in sources.items() if v}, [train, pd, *mwp]


def pack(token_ids: list[list[int]], length: int, sep_id: int) -> torch.Tensor:
    """Concatenate documents (``[SEP]`` between them) and cut into rows of ``length`` ids (the tail dropped)."""
    flat = []
    for ids in token_ids:
        flat.extend(ids)
        flat.append(sep_id)
    rows = len(flat) // length
    if rows == 0:
        raise ValueError(f"the corpus is shorter than one sequence of {length} tokens")
    return torch.tensor(flat[: rows * length], dtype=torch.long).view(rows, length)


def mask_tokens(ids: torch.Tensor, *, prob: float, vocab_size: int, special: int, mask_id: int, generator, protect=None):
    """BERT masking: ``(inputs, labels)``; labels are -100 except at the chosen positions.

    Positions with ids below ``special`` (the special tokens) and where ``protect`` is true are
    never chosen. Of the chosen ones, 80 % become ``[MASK]``, 10 % a random non-special id, 10 % stay.
    """
    chosen = torch.rand(ids.shape, generator=generator) < prob
    chosen &= ids >= special
    if protect is not None:
        chosen &= ~protect
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    roll = torch.rand(ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (roll < 0.8)] = mask_id
    random_ids = torch.randint(special, vocab_size, ids.shape, generator=generator)
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    inputs[swap] = random_ids[swap]
    return inputs, labels


def masked_lm_loss(model, inputs, labels, attention_mask=None):
    """Cross-entropy of the MLM head at the labelled positions only (the head is not run elsewhere)."""
    hidden = model.base_model(input_ids=inputs, attention_mask=attention_mask).last_hidden_state
    sel = labels != -100
    if not sel.any():
        return hidden.sum() * 0.0
    logits = mlm_head(model)(hidden[sel])
    return F.cross_entropy(logits.float(), labels[sel])


def mlm_head(model):
    """The prediction head of a Hugging Face masked LM (BERT ``cls``, ALBERT ``predictions``, RoBERTa ``lm_head``)."""
    heads = [m for _, m in model.named_children() if m is not model.base_model]
    if len(heads) != 1:
        raise ValueError(f"{type(model).__name__}: cannot find its single masked-LM head")
    return heads[0]


# ------------------------------------------------------------------------------------------- training


def _lr(settings: PretrainSettings, step: int) -> float:
    if step < settings.warmup:
        return settings.lr * (step + 1) / settings.warmup
    frac = min(1.0, (step - settings.warmup) / max(1, settings.steps - settings.warmup))
    return settings.lr * (1.0 - (1.0 - settings.final_lr_fraction) * frac)


def _split(rows: torch.Tensor, fraction: float):
    n_held = max(1, int(len(rows) * fraction)) if fraction > 0 else 0
    return rows[: len(rows) - n_held], rows[len(rows) - n_held :]


@torch.no_grad()
def heldout_accuracy(model, rows: dict[str, torch.Tensor], *, settings, vocab_size, mask_id, max_rows=256) -> dict:
    """Masked-token accuracy and loss on held-out rows per source (fixed masking seed)."""
    model.eval()
    out = {}
    for name, r in rows.items():
        r = r[:max_rows]
        g = torch.Generator().manual_seed(12345)
        correct = total = 0
        loss_sum = 0.0
        for i in range(0, len(r), 64):
            inputs, labels = mask_tokens(
                r[i : i + 64], prob=settings.mask_prob, vocab_size=vocab_size, special=len(SPECIAL_TOKENS),
                mask_id=mask_id, generator=g,
            )
            hidden = model.base_model(input_ids=inputs).last_hidden_state
            sel = labels != -100
            logits = mlm_head(model)(hidden[sel]).float()
            loss_sum += F.cross_entropy(logits, labels[sel], reduction="sum").item()
            correct += (logits.argmax(-1) == labels[sel]).sum().item()
            total += int(sel.sum())
        out[name] = {"masked_accuracy": correct / max(1, total), "loss": loss_sum / max(1, total), "tokens": total}
    model.train()
    return out


def pretrain(settings: PretrainSettings, out, *, work=None, minutes: float | None = None, resume: bool = False,
             threads: int = 2, checkpoint_seconds: float = 120.0, progress: bool = True, sources=None) -> dict:
    """Pretrain and write the model folder ``out``; returns the manifest (``figures['complete']`` false if stopped early).

    ``sources``: ``({name: texts}, files)`` instead of :func:`unlabelled_sources` (tests).
    """
    from transformers import BertForMaskedLM

    from ..training import Checkpointer, TrainingProgress, WallClockBudget, configure_torch, write_manifest

    settings.validate()
    out = Path(out)
    work = Path(work) if work is not None else out.parent / (out.name + ".work")
    checkpointer = Checkpointer(work, every_seconds=checkpoint_seconds)
    state = checkpointer.load() if resume else None
    if resume and state is None:
        raise ValueError(f"--resume: no checkpoint in {work}")
    if state is not None:
        saved = PretrainSettings(**state["settings"])
        if asdict(saved) != asdict(settings):
            changed = [k for k in asdict(settings) if asdict(settings)[k] != asdict(saved)[k]]
            raise ValueError(f"--resume: settings differ from the checkpoint's ({', '.join(changed)})")
    configure_torch(settings.seed, threads)

    sources, files = sources if sources is not None else unlabelled_sources()
    weights = {k: float(w) for k, w in settings.weights.items() if k in sources and w > 0}
    if not weights:
        raise ValueError("no unlabelled source with a positive weight is available")
    vocab = state["vocab"] if state is not None else build_vocab(
        [t for k in weights for t in sources[k]], min_count=settings.min_count, max_size=settings.max_vocab
    )
    tok = save_tokenizer(vocab, out, settings.seq_len)
    cls_id, sep_id, mask_id = (tok.convert_tokens_to_ids(t) for t in ("[CLS]", "[SEP]", "[MASK]"))

    body = settings.seq_len - 1  # [CLS] + body
    train_rows, held_rows = {}, {}
    for name in weights:
        ids = tok(sources[name], add_special_tokens=False, verbose=False)["input_ids"]
        rows = pack(ids, body, sep_id)
        rows = rows[torch.randperm(len(rows), generator=torch.Generator().manual_seed(settings.seed))]
        train_rows[name], held_rows[name] = _split(rows, settings.heldout_fraction)
        held_rows[name] = torch.cat([torch.full((len(held_rows[name]), 1), cls_id), held_rows[name]], 1)
    names = sorted(weights)
    probs = torch.tensor([weights[n] for n in names])
    probs = probs / probs.sum()

    model = BertForMaskedLM(model_config(settings, len(vocab)))
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=settings.lr, betas=(0.9, 0.98), eps=1e-6,
    )
    step, spent, tokens_seen, smooth = 0, 0.0, 0, None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, spent, tokens_seen, smooth = state["step"], state["seconds"], state["tokens"], state["smooth_loss"]
    budget = WallClockBudget(minutes, spent=spent) if minutes is not None else WallClockBudget(None, spent=spent)

    def snapshot():
        return {
            "settings": asdict(settings), "vocab": vocab, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "step": step, "seconds": budget.elapsed, "tokens": tokens_seen, "smooth_loss": smooth,
        }

    model.train()
    t_window, tok_window = time.monotonic(), 0
    with TrainingProgress(settings.steps, "pretrain", enabled=progress) as bar:
        bar.update(step)
        while step < settings.steps and not budget.exhausted():
            g = torch.Generator().manual_seed(settings.seed * 1_000_003 + step)
            which = torch.multinomial(probs, settings.batch, replacement=True, generator=g)
            batch = torch.empty(settings.batch, body, dtype=torch.long)
            for j, n in enumerate(names):
                pick = which == j
                k = int(pick.sum())
                if k:
                    batch[pick] = train_rows[n][torch.randint(len(train_rows[n]), (k,), generator=g)]
            batch = torch.cat([torch.full((settings.batch, 1), cls_id), batch], 1)
            inputs, labels = mask_tokens(
                batch, prob=settings.mask_prob, vocab_size=len(vocab), special=len(SPECIAL_TOKENS), mask_id=mask_id,
                generator=g,
            )
            for group in opt.param_groups:
                group["lr"] = _lr(settings, step)
            loss = masked_lm_loss(model, inputs, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            tokens_seen += batch.numel()
            tok_window += batch.numel()
            smooth = loss.item() if smooth is None else 0.98 * smooth + 0.02 * loss.item()
            now = time.monotonic()
            bar.update(1, loss=smooth, tok_s=tok_window / max(1e-9, now - t_window), lr=_lr(settings, step - 1))
            if now - t_window > 60:
                t_window, tok_window = now, 0
            if checkpointer.due():
                checkpointer.save(snapshot())
    checkpointer.save(snapshot())
    complete = step >= settings.steps
    if not complete:
        bar.log(f"pretrain: budget spent at step {step}/{settings.steps}; --resume continues from {checkpointer.path}")

    figures = {
        "complete": complete,
        "steps": step,
        "tokens": tokens_seen,
        "tokens_per_second": round(tokens_seen / max(1e-9, budget.elapsed), 1),
        "train_loss_smoothed": round(float(smooth), 4) if smooth is not None else None,
        "heldout": heldout_accuracy(model, held_rows, settings=settings, vocab_size=len(vocab), mask_id=mask_id),
        "vocab_size": len(vocab),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    model.to(torch.float16).save_pretrained(str(out))
    model.float()
    return write_manifest(
        out, model="char-bert (BertForMaskedLM, character vocabulary)", data=files, settings=asdict(settings),
        seed=settings.seed, training_seconds=budget.elapsed, figures=figures,
        extra={"corpus": {n: {"documents": len(sources[n]), "train_rows": len(train_rows[n])} for n in names},
               "command": "kexue-hw pet pretrain"},
    )
