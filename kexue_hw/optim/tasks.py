"""What the optimisers need from a shipped model: a training loss, batches, and accuracy on a unit.

A :class:`TuneTask` bundles a loaded model with ``loss(batch)``, an endless ``batches()``
iterator (seeded), ``evaluate(unit)`` (accuracy on the evaluation set with every product on the
unit, or with a :class:`~kexue_hw.emulate.ModuleConfigs` per-module assignment) and a ``probe()``
forward for :func:`kexue_hw.emulate.track`. Used by fine-tuning (:mod:`.finetune`) and the
learned per-layer unit assignment (:mod:`.assign`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

__all__ = ["TuneTask", "mwp_task", "pet_task", "TASKS", "load_tune_task"]


@dataclass
class TuneTask:
    name: str
    model: torch.nn.Module
    loss: Callable[[object], torch.Tensor]
    batches: Callable[[int], Iterator]
    evaluate: Callable[[object], tuple[float, list[bool]]]
    probe: Callable[[], object]
    save: Callable[[object], None]
    n_eval: int


def _emulated(unit, model):
    """A context for ``unit``: a name/spec (one unit everywhere) or ModuleConfigs (per module of ``model``)."""
    from ..emulate import EmulationMode, ModuleConfigs
    from ..models.evaluation import unit_context

    if isinstance(unit, ModuleConfigs):
        return EmulationMode(unit, model=model)
    return unit_context(unit)


def mwp_task(checkpoint=None, *, train_file=None, eval_file=None, eval_limit: int = 300, eval_offset: int = 0,
             beam: int = 1, batch_size: int = 32) -> TuneTask:  # fmt: skip
    """The shipped MWP solver; loss = teacher-forced cross-entropy on Math23K train; eval on Math23K test."""
    from ..models.mwp.data import find_shared_data, load_problems
    from ..models.mwp.solver import Solver, encode_problems
    from ..models.mwp.train import TrainSettings, _loss, collate

    shared = find_shared_data()
    if train_file is None or eval_file is None:
        if shared is None:
            from ..models.shared_data import DATA_HINT

            raise ValueError(f"--model mwp: no Math23K files found ({DATA_HINT})")
        train_file = train_file or shared / "math23k" / "math23k_train.json"
        eval_file = eval_file or shared / "math23k" / "math23k_test.json"
    solver = Solver.load(checkpoint)
    train, _ = load_problems(train_file)
    enc, _ = encode_problems(solver, train)
    problems = load_problems(eval_file)[0][eval_offset : eval_offset + eval_limit]
    loss_settings = TrainSettings(data=["-"], label_smoothing=0.0)

    def batches(seed: int):
        rng = random.Random(seed)
        while True:
            rows = rng.sample(range(len(enc.sources)), batch_size)
            yield collate(enc, rows, solver.bos_input, solver.pad)

    def evaluate(unit):
        with _emulated(unit, solver.model):
            preds = solver.predict(problems, beam=beam)
        correct = [p.correct for p in preds]
        return sum(correct) / len(correct), correct

    return TuneTask(
        name="mwp",
        model=solver.model,
        loss=lambda batch: _loss(solver.model, batch, loss_settings),
        batches=batches,
        evaluate=evaluate,
        probe=lambda: solver.predict(problems[:2], beam=1),
        save=lambda directory: solver.save(directory),
        n_eval=len(problems),
    )


def pet_task(checkpoint=None, *, train_file=None, eval_file=None, eval_limit: int = 300, eval_offset: int = 0,
             batch_size: int = 16, seed: int = 0) -> TuneTask:  # fmt: skip
    """The shipped PET masked-LM classifier (one member); loss = the cloze cross-entropy on its labelled examples.

    The labelled examples are the ones the checkpoint was trained on (``few_shot_indices`` of its
    manifest, into the sentiment train split) when the manifest has them, else a seeded balanced
    draw of 1 % of ``train_file``. Evaluation: the first ``eval_limit`` reviews of the valid split
    from ``eval_offset``, classified with the checkpoint's calibration.
    """
    import json
    from pathlib import Path

    from ..models.pet.data import few_shot_indices, read_labelled, sentiment_file
    from ..models.pet.task import PetClassifier
    from ..models.pet.train import cloze_loss, save_pet

    clf = PetClassifier.load(checkpoint, scorer="mlm")
    if len(clf.members) != 1:
        raise ValueError(f"pet-mlm: fine-tuning takes a one-member checkpoint, {clf.source} has {len(clf.members)}")
    scorer, pattern = clf.members[0]
    model = scorer.model
    model.float()
    try:
        train_file, eval_file = train_file or sentiment_file("train"), eval_file or sentiment_file("valid")
    except ValueError:
        from ..models.shared_data import DATA_HINT

        raise ValueError(f"--model pet-mlm: the sentiment train/valid files were not found ({DATA_HINT})") from None
    train_set = read_labelled(train_file)
    eval_set = read_labelled(eval_file)
    manifest = Path(clf.source) / "manifest.json"
    chosen = json.loads(manifest.read_text(encoding="utf-8")).get("few_shot_indices") if manifest.is_file() else None
    if not chosen or train_file is not None or max(chosen) >= len(train_set):
        chosen = few_shot_indices(train_set.labels, fraction=0.01, seed=seed)
    groups = scorer.word_groups(clf.verbalizer)
    if len(groups) != 1:
        raise ValueError("pet-mlm: fine-tuning needs label words of one token length")
    ((k, group),) = groups.items()
    class_ids = [[ids for c2, _, ids in group if c2 == c] for c in range(clf.verbalizer.num_classes)]
    rows = [scorer.encode_one(train_set.texts[i], pattern, k) for i in chosen]
    labels = torch.tensor([train_set.labels[i] for i in chosen])
    texts = eval_set.texts[eval_offset : eval_offset + eval_limit]
    gold = eval_set.labels[eval_offset : eval_offset + eval_limit]

    def batches(seed_: int):
        g = torch.Generator().manual_seed(seed_)
        while True:
            idx = torch.randint(len(rows), (batch_size,), generator=g).tolist()
            yield scorer.collate([rows[i] for i in idx]), labels[idx]

    def loss(batch):
        b, y = batch
        hidden = scorer.hidden(b["input_ids"], b["attention_mask"])
        return cloze_loss(hidden, scorer.head, b["positions"], class_ids, y)

    def evaluate(unit):
        with torch.no_grad(), _emulated(unit, model):
            pred = clf.log_probs(texts).argmax(-1).tolist()
        correct = [p == y for p, y in zip(pred, gold)]
        return sum(correct) / len(correct), correct

    def save(directory):
        save_pet(directory, [(model, scorer.tokenizer, pattern)], kind=clf.kind, verbalizer=clf.verbalizer,
                 calibration=clf.calibrator.to_dict(), base=clf.source)  # fmt: skip

    return TuneTask(
        name="pet-mlm",
        model=model,
        loss=loss,
        batches=batches,
        evaluate=evaluate,
        probe=lambda: clf.log_probs(texts[:2]),
        save=save,
        n_eval=len(texts),
    )


TASKS = {"mwp": mwp_task, "pet-mlm": pet_task}


def load_tune_task(name: str, **kw) -> TuneTask:
    if name not in TASKS:
        raise ValueError(f"--model {name!r}: choose one of {', '.join(TASKS)}")
    return TASKS[name](**kw)
