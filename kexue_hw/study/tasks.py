"""The models a study evaluates, behind one small interface.

A :class:`Task` is loaded once (model, data) and then evaluated many times, natively and inside
unit/kernel contexts: ``run(progress)`` returns one :class:`Outcome` per example.

* ``mwp``: the shipped math-word-problem solver on Math23K test (answer accuracy, beam from settings);
* ``pet-mlm`` / ``pet-clm``: the shipped PET classifiers on the sentiment valid split (accuracy);
* ``hf:DIR`` (or any folder): a Hugging Face causal LM (``config.json`` + weights, or a single
  ``.gguf`` file) scored by perplexity on a text file, one text per line.

New models register a loader in :data:`TASKS` (name -> ``loader(settings, limit)``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Outcome", "Task", "TASKS", "DEFAULT_DATA", "load_task", "task_names", "missing_data"]


@dataclass
class Outcome:
    """One example: ``correct`` (accuracy tasks) or ``nll``/``tokens`` (perplexity tasks), and the prediction."""

    prediction: object
    correct: bool | None = None
    nll: float | None = None
    tokens: int | None = None


@dataclass
class Task:
    """A loaded model + data: ``metric`` is ``accuracy`` or ``perplexity``."""

    name: str
    metric: str
    n: int
    checkpoint_hash: str
    data: str
    run: Callable  # run(progress: Callable[[int], None] | None) -> list[Outcome]
    probe: Callable  # a small forward pass, for coverage tracking
    settings: dict


def _mwp(settings: dict, limit: int | None) -> Task:
    from ..models.mwp.data import find_shared_data, load_problems
    from ..models.mwp.solver import Solver, default_model_dir
    from ..models.training import file_sha256

    data = settings.get("mwp_data")
    if data is None:
        shared = find_shared_data()
        if shared is None:
            raise ValueError("model mwp: no Math23K test file found; pass --data mwp=FILE")
        data = shared / "math23k" / "math23k_test.json"
    directory = Path(settings.get("mwp_checkpoint") or default_model_dir())
    solver = Solver.load(directory)
    problems, _ = load_problems(data)
    problems = problems[:limit] if limit else problems
    beam = int(settings.get("beam", 3))

    def run(progress=None):
        preds = solver.predict(problems, beam=beam, progress=progress)
        return [Outcome(p.equation, correct=p.correct) for p in preds]

    return Task(
        name="mwp",
        metric="accuracy",
        n=len(problems),
        checkpoint_hash=file_sha256(directory / "model.safetensors"),
        data=str(data),
        run=run,
        probe=lambda: solver.predict(problems[:2], beam=beam),
        settings={"beam": beam, "checkpoint": str(directory)},
    )


def _pet(scorer: str):
    def load(settings: dict, limit: int | None) -> Task:
        from ..models.pet.task import build_task

        task = build_task(
            scorer,
            settings.get(f"pet-{scorer}_data") or settings.get("pet_data"),
            limit,
            settings.get(f"pet-{scorer}_checkpoint"),
        )

        def run(progress=None):
            correct, pred = task.run()
            if progress:
                progress(len(pred))
            return [Outcome(p, correct=c) for c, p in zip(correct, pred)]

        return Task(
            name=f"pet-{scorer}",
            metric="accuracy",
            n=task.n,
            checkpoint_hash=task.checkpoint_hash,
            data=task.data_path,
            run=run,
            probe=task.probe,
            settings={"scorer": scorer, "kind": task.classifier.kind},
        )

    return load


def _causal_lm(directory: str):
    def load(settings: dict, limit: int | None) -> Task:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder = Path(directory)
        if not folder.is_dir():
            raise ValueError(f"model hf:{directory}: no such folder")
        text_file = settings.get("text")
        if not text_file:
            raise ValueError(f"model hf:{directory}: perplexity needs --text FILE (one text per line)")
        lines = [ln.strip() for ln in Path(text_file).read_text("utf-8").splitlines() if ln.strip()]
        if not lines:
            raise ValueError(f"--text {text_file}: no non-empty lines")
        lines = lines[:limit] if limit else lines
        kw = {"attn_implementation": "sdpa"}
        if not (folder / "config.json").exists():
            ggufs = sorted(folder.glob("*.gguf"))
            if len(ggufs) != 1:
                raise ValueError(f"model hf:{directory}: neither config.json nor exactly one .gguf file")
            kw["gguf_file"] = ggufs[0].name
        try:
            tok = AutoTokenizer.from_pretrained(str(folder), **({"gguf_file": kw["gguf_file"]} if "gguf_file" in kw else {}))
            model = AutoModelForCausalLM.from_pretrained(str(folder), **kw).eval()
        except (OSError, ValueError) as e:
            raise ValueError(f"model hf:{directory}: cannot load: {str(e).splitlines()[0]}") from None
        max_len = int(settings.get("max_tokens", 256))
        encoded = [tok(t, truncation=True, max_length=max_len)["input_ids"] for t in lines]
        h = hashlib.sha256()
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.suffix in (".json", ".safetensors", ".bin", ".gguf"):
                h.update(p.name.encode())
                h.update(str(p.stat().st_size).encode())

        @torch.no_grad()
        def score(ids_list):
            out = []
            for ids in ids_list:
                x = torch.tensor([ids])
                logits = model(x).logits[0, :-1].float()
                target = x[0, 1:]
                nll = torch.nn.functional.cross_entropy(logits, target, reduction="sum").item()
                out.append(Outcome(logits.argmax(-1).tolist(), nll=nll, tokens=len(ids) - 1))
            return out

        def run(progress=None):
            outs = []
            for i in range(0, len(encoded), 8):
                outs += score(encoded[i : i + 8])
                if progress:
                    progress(len(outs))
            return outs

        return Task(
            name=f"hf:{directory}",
            metric="perplexity",
            n=len(lines),
            checkpoint_hash=h.hexdigest(),
            data=str(text_file),
            run=run,
            probe=lambda: score(encoded[:1]),
            settings={"max_tokens": max_len},
        )

    return load


TASKS: dict[str, Callable[[dict, int | None], Task]] = {
    "mwp": _mwp,
    "pet-mlm": _pet("mlm"),
    "pet-clm": _pet("clm"),
}


def task_names() -> list[str]:
    return list(TASKS) + ["hf:DIR"]


def check_model_name(name: str) -> str:
    if name in TASKS or name.startswith("hf:"):
        return name
    raise ValueError(f"unknown model {name!r}: choose from {', '.join(task_names())}")


def load_task(name: str, settings: dict, limit: int | None = None) -> Task:
    """Load ``name`` (see the module docstring) once; ``settings`` holds data paths, beam, ..."""
    check_model_name(name)
    loader = TASKS.get(name) or _causal_lm(name[3:])
    task = loader(settings, limit)
    if task.n == 0:
        raise ValueError(f"model {name}: no examples to evaluate")
    return task


def perplexity(outcomes: list[Outcome]) -> float:
    tokens = sum(o.tokens for o in outcomes)
    return math.exp(sum(o.nll for o in outcomes) / max(1, tokens))


#: each model's default evaluation file, relative to the data folder (:mod:`kexue_hw.models.shared_data`)
DEFAULT_DATA = {
    "mwp": "math23k/math23k_test.json",
    "pet-mlm": "sentiment/sentiment.valid.data",
    "pet-clm": "sentiment/sentiment.valid.data",
}


def missing_data(models, given: dict | None = None) -> dict[str, str]:
    """The models of ``models`` whose evaluation file is neither ``given`` nor in the data folder: name -> file."""
    from ..models.shared_data import find_shared_data

    given = given or {}
    root = find_shared_data()
    return {m: DEFAULT_DATA[m] for m in models
            if m in DEFAULT_DATA and m not in given and (root is None or not (root / DEFAULT_DATA[m]).is_file())}  # fmt: skip
