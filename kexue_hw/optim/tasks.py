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
            raise ValueError("mwp: no Math23K files found; pass the training and evaluation files")
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


def pet_task(checkpoint=None, **kw) -> TuneTask:
    """The shipped PET masked-LM classifier (see :func:`kexue_hw.models.pet.tune.pet_tune_task`)."""
    from ..models.pet.tune import pet_tune_task

    return pet_tune_task(checkpoint, **kw)


TASKS = {"mwp": mwp_task, "pet-mlm": pet_task}


def load_tune_task(name: str, **kw) -> TuneTask:
    if name not in TASKS:
        raise ValueError(f"--model {name!r}: choose one of {', '.join(TASKS)}")
    return TASKS[name](**kw)
