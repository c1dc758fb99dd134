"""``kexue-hw mwp train``: teacher forcing (or TeaForN) with label smoothing, AdamW, warmup + cosine.

The schedule is defined by ``steps`` (so a run is reproducible from its settings and seed on the
same torch build and thread count); ``minutes`` is a wall-clock budget that stops early and
saves. Every ``checkpoint_seconds`` the whole state (model, optimizer, step, data order, RNG,
time spent) goes to ``<out>/checkpoint.pt``; ``resume=True`` continues from it. Dev-set answer
accuracy (greedy) is measured every ``eval_every`` steps; the best dev model is what ships.
Batches group problems of similar length (fewer padded positions), in an order fixed by the seed.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..training import Checkpointer, TrainingProgress, WallClockBudget, code_commit, configure_torch
from .model import MWPConfig, UniLMSolver
from .solver import Encoded, Solver, encode_problems

__all__ = ["TrainSettings", "train"]


@dataclass
class TrainSettings:
    """Everything that decides a training run (recorded in the manifest)."""

    data: list[str] = field(default_factory=list)  # training files (Math23K train, Ape210K valid, ...)
    test: str | None = None  # reported after training (Math23K test)
    dev_size: int = 500
    seed: int = 0
    steps: int = 6000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: int = 300
    label_smoothing: float = 0.1
    teaforn: int = 1
    teaforn_weights: tuple[float, ...] = ()
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 1024
    dropout: float = 0.1
    max_source: int = 256
    max_target: int = 64
    eval_every: int = 500
    eval_beam: int = 1
    threads: int = 2
    init_from: str | None = None  # a local Hugging Face BERT folder (see .bert)
    init_solver: str | None = None  # continue from a trained solver folder (its vocabulary and weights)
    minutes: float | None = None
    checkpoint_seconds: float = 120.0

    def __post_init__(self):
        checks = {
            "steps": self.steps >= 1,
            "batch_size": self.batch_size >= 1,
            "lr": self.lr > 0,
            "warmup": self.warmup >= 0,
            "teaforn": self.teaforn >= 1,
            "eval_every": self.eval_every >= 1,
            "dev_size": self.dev_size >= 1,
            "label_smoothing": 0 <= self.label_smoothing < 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"--{name.replace('_', '-')}={getattr(self, name)} is not allowed")
        if self.teaforn_weights and len(self.teaforn_weights) != self.teaforn:
            raise ValueError(
                f"--teaforn-weights has {len(self.teaforn_weights)} values for --teaforn {self.teaforn}"
            )

    @property
    def pass_weights(self) -> tuple[float, ...]:
        if self.teaforn_weights:
            return tuple(self.teaforn_weights)
        return (1.0,) + (0.5,) * (self.teaforn - 1)  # TeaForN's usual: later passes weigh less

    def model_config(self, vocab_size: int, num_targets: int) -> MWPConfig:
        return MWPConfig(
            vocab_size=vocab_size,
            num_targets=num_targets,
            d_model=self.d_model,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            d_ff=self.d_ff,
            max_source=self.max_source,
            max_target=self.max_target,
            dropout=self.dropout,
        )


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warmup to 1, then cosine decay to 0.05 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))


def length_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices shuffled, sorted by length within windows of 50 batches, cut into batches, batches shuffled."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(enc: Encoded, rows: list[int], bos: int, pad: int):
    """Padded tensors of a batch: source, source lengths, decoder input (<bos> + equation), labels (classes + eos)."""
    src = [enc.sources[i] for i in rows]
    tin = [enc.target_inputs[i] for i in rows]
    lab = [enc.target_classes[i] for i in rows]
    S = max(len(s) for s in src)
    T = max(len(t) for t in tin) + 1
    source = torch.full((len(rows), S), pad, dtype=torch.long)
    target_in = torch.full((len(rows), T), pad, dtype=torch.long)
    labels = torch.full((len(rows), T), -100, dtype=torch.long)
    for r, (s, t, y) in enumerate(zip(src, tin, lab)):
        source[r, : len(s)] = torch.tensor(s)
        target_in[r, 0] = bos
        target_in[r, 1 : len(t) + 1] = torch.tensor(t, dtype=torch.long)
        labels[r, : len(y)] = torch.tensor(y)
    lengths = torch.tensor([len(s) for s in src])
    return source, lengths, target_in, labels


def _loss(model: UniLMSolver, batch, settings: TrainSettings) -> torch.Tensor:
    source, lengths, target_in, labels = batch
    hiddens = model(source, lengths, target_in, teaforn=settings.teaforn)
    total = 0.0
    for w, h in zip(settings.pass_weights, hiddens):
        logits = model.logits(h)
        total = total + w * F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            labels.reshape(-1),
            ignore_index=-100,
            label_smoothing=settings.label_smoothing,
        )
    return total


def train(settings: TrainSettings, out_dir, *, resume: bool = False, log=print, progress: bool = True) -> dict:
    """Train, checkpointing to ``out_dir``; write the best-dev model there (weights, vocab, manifest).

    Returns the figures: dev accuracy of the best model, its step, steps run, seconds, and the
    test accuracy (greedy and beam ``eval_beam``) when ``settings.test`` is given.
    """
    from .data import load_problems, training_pool

    out_dir = Path(out_dir)
    if not settings.data:
        raise ValueError("--data: give at least one training file")
    configure_torch(settings.seed, settings.threads)
    commit = code_commit()  # the code that trains, read before any time passes
    test_problems = load_problems(settings.test)[0] if settings.test else []
    pool = training_pool(*settings.data, dev_size=settings.dev_size, seed=settings.seed, exclude=test_problems)
    train_problems, dev_problems = pool.train, pool.dev
    for src in pool.report["sources"]:
        log(f"{src['name']}: {src['problems']} problems, {src['used']} used, {src['duplicates']} duplicate texts, "
            f"{src['excluded']} also in the test file")

    ckpt = Checkpointer(out_dir / "run", every_seconds=settings.checkpoint_seconds)
    state = ckpt.load() if resume else None
    if resume and state is None:
        log(f"--resume: no checkpoint in {ckpt.path}; starting fresh")
    if state is not None and state.get("commit"):
        commit = state["commit"]  # a resumed run keeps the commit it started with
    if state is not None:
        solver = Solver.from_state(state["solver"])
        if state["settings"] != asdict(settings) | {"minutes": state["settings"]["minutes"]}:
            changed = [k for k, v in asdict(settings).items() if state["settings"].get(k) != v and k != "minutes"]
            raise ValueError(f"--resume: settings differ from the checkpoint's ({', '.join(changed)})")
    elif settings.init_solver:
        solver = Solver.load(settings.init_solver)  # warm start: its vocabulary, size and weights
        log(f"initialised from the solver in {settings.init_solver}")
    else:
        solver = Solver.build(train_problems, settings)
    model = solver.model
    enc, dropped = encode_problems(solver, train_problems)
    if dropped:
        log(f"training: {sum(dropped.values())} problems left out ({dict(dropped)})")
    log(
        f"model: {model.num_parameters() / 1e6:.2f}M parameters, vocabulary {len(solver.vocab)}, "
        f"{model.cfg.num_targets} equation tokens; {len(enc.sources)} training problems, {len(dev_problems)} dev"
    )

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "embed" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=settings.lr,
        betas=(0.9, 0.98),
    )
    step, epoch, cursor = 0, 0, 0
    best = {"dev_accuracy": -1.0, "step": 0}
    spent = 0.0
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        step, epoch, cursor, best, spent = (state[k] for k in ("step", "epoch", "cursor", "best", "spent"))
        torch.set_rng_state(state["torch_rng"])
        log(f"resumed at step {step} (epoch {epoch}), {spent / 60:.1f} min spent, best dev {best['dev_accuracy']:.4f}")
    budget = WallClockBudget(settings.minutes, spent=spent)

    lengths = [len(s) + len(t) for s, t in zip(enc.sources, enc.target_inputs)]
    batches = length_batches(lengths, settings.batch_size, random.Random(settings.seed * 1000 + epoch))

    def save_state():
        ckpt.save(
            {
                "solver": solver.state(),
                "optimizer": opt.state_dict(),
                "step": step,
                "epoch": epoch,
                "cursor": cursor,
                "best": best,
                "spent": budget.elapsed,
                "torch_rng": torch.get_rng_state(),
                "settings": asdict(settings),
                "commit": commit,
            }
        )

    t_start = time.monotonic()
    seen = 0
    with TrainingProgress(settings.steps, "mwp train", enabled=progress) as bar:
        bar.update(step)
        while step < settings.steps and not budget.exhausted():
            if cursor >= len(batches):
                epoch, cursor = epoch + 1, 0
                batches = length_batches(lengths, settings.batch_size, random.Random(settings.seed * 1000 + epoch))
            rows = batches[cursor]
            cursor += 1
            model.train()
            for g in opt.param_groups:
                g["lr"] = settings.lr * lr_factor(step, settings.warmup, settings.steps)
            loss = _loss(model, collate(enc, rows, solver.bos_input, solver.pad), settings)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            seen += len(rows)
            rate = seen / max(1e-9, time.monotonic() - t_start)
            bar.update(1, loss=loss.item(), problems_per_s=rate, epoch=epoch)
            if step % settings.eval_every == 0 or step == settings.steps:
                acc = solver.accuracy(dev_problems, beam=settings.eval_beam)
                if acc > best["dev_accuracy"]:
                    best = {"dev_accuracy": acc, "step": step}
                    solver.save(out_dir, weights_only=True)
                bar.log(f"step {step}: dev accuracy {acc:.4f} (best {best['dev_accuracy']:.4f} at {best['step']})")
                save_state()
            elif ckpt.due():
                save_state()
    if step % settings.eval_every and step < settings.steps:  # stopped by the budget between evaluations
        acc = solver.accuracy(dev_problems, beam=settings.eval_beam)
        if acc > best["dev_accuracy"]:
            best = {"dev_accuracy": acc, "step": step}
            solver.save(out_dir, weights_only=True)
    save_state()
    figures = {
        "dev_accuracy": best["dev_accuracy"],
        "best_step": best["step"],
        "steps_run": step,
        "epochs": epoch + cursor / max(1, len(batches)),
        "training_seconds": round(budget.elapsed, 1),
        "stopped_by_budget": step < settings.steps,
    }
    final = Solver.load(out_dir)
    if settings.test:
        figures["test_accuracy_greedy"] = final.accuracy(test_problems, beam=1)
        figures["test_accuracy_beam3"] = final.accuracy(test_problems, beam=3)
        figures["test_n"] = len(test_problems)
        log(f"test: greedy {figures['test_accuracy_greedy']:.4f}, beam 3 {figures['test_accuracy_beam3']:.4f}")
    parent = None
    if settings.init_solver:
        from ..training import read_manifest

        parent = read_manifest(settings.init_solver)
    final.write_manifest(out_dir, settings, figures, data=settings.data + ([settings.test] if settings.test else []),
                         commit=commit, parent=parent)
    return figures
