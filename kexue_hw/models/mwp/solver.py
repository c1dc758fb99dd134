"""The shipped solver: vocabulary + model + number mapping + decoding + scoring, saved as one folder.

A solver folder holds ``config.json`` (model size, equation vocabulary, vocabulary hash),
``vocab.json``, ``model.safetensors`` (fp16) and ``manifest.json``. :meth:`Solver.load` refuses a
folder whose weights and vocabulary disagree. :meth:`Solver.predict` maps a problem's numbers to
placeholders, decodes (greedy or beam, batched), maps the equation back and evaluates it with the
safe evaluator (:mod:`.expression`); a hypothesis the evaluator refuses is never an answer, the
next one in the beam is tried instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from fractions import Fraction  # noqa: F401  (Prediction.value)
from pathlib import Path

import torch

from ..training import load_weights, save_weights, write_manifest
from .data import Mapped, Problem, Vocab, map_numbers, map_text, unmap_equation
from .bert import BertUniLMSolver
from .decode import beam_decode, greedy_decode
from .expression import ExpressionError, answers_match, evaluate
from .model import MWPConfig, UniLMSolver

__all__ = ["Solver", "Prediction", "Encoded", "encode_problems", "default_model_dir"]

EOS, BOS, PAD = "<eos>", "<bos>", "<pad>"
_PLACEHOLDER = re.compile(r"N(\d+)\Z")


def default_model_dir() -> Path:
    """The solver shipped with the package."""
    return Path(__file__).parent / "weights" / "solver"


@dataclass
class Encoded:
    sources: list[list[int]]
    target_inputs: list[list[int]]  # vocabulary ids of the equation tokens (decoder inputs after <bos>)
    target_classes: list[list[int]]  # equation classes of the same tokens, then <eos>


@dataclass
class Prediction:
    equation: str | None  # the evaluable equation (numbers filled in), None when no hypothesis evaluates
    value: Fraction | None
    tokens: list[str]  # the decoded equation tokens (placeholders)
    correct: bool | None = None  # set when the answer is known


class Solver:
    """A trained (or freshly built) solver: ``solve`` one text, ``predict``/``accuracy`` on problems."""

    def __init__(self, vocab: Vocab, model: UniLMSolver, target_tokens: list[str]):
        self.vocab = vocab
        self.model = model
        self.target_tokens = target_tokens
        self.class_of = {t: i for i, t in enumerate(target_tokens)}
        self.eos_class = self.class_of[EOS]
        self.pad = vocab.stoi[PAD]
        self.bos_input = vocab.stoi[BOS]
        self.placeholder_index = torch.tensor(
            [int(m.group(1)) if (m := _PLACEHOLDER.match(t)) else -1 for t in target_tokens]
        )

    # ------------------------------------------------------------------ construction

    @classmethod
    def build(cls, problems: list[Problem], settings) -> Solver:
        """A fresh model whose vocabulary comes from ``problems`` (sources and equations).

        With ``settings.init_from`` the model is that local BERT under the UniLM mask (:mod:`.bert`).
        """
        mapped = [map_numbers(p) for p in problems]
        vocab = Vocab.build([m.source for m in mapped] + [m.target for m in mapped])
        targets = sorted({t for m in mapped for t in m.target}) + [EOS]
        cfg = settings.model_config(len(vocab), len(targets))
        target_ids = [vocab.stoi[t] for t in targets]
        if getattr(settings, "init_from", None):
            model = BertUniLMSolver.from_pretrained(settings.init_from, vocab.tokens, target_ids, cfg)
        else:
            model = UniLMSolver(cfg, target_ids)
        return cls(vocab, model, targets)

    def _model_config(self) -> dict:
        config = {"architecture": getattr(self.model, "architecture", "unilm"), "model": self.model.cfg.to_dict()}
        if hasattr(self.model, "bert_config"):
            config["bert_config"] = self.model.bert_config
        return config

    def state(self) -> dict:
        return {
            "vocab": self.vocab.to_json(),
            "config": self._model_config(),
            "targets": self.target_tokens,
            "weights": self.model.state_dict(),
        }

    @classmethod
    def from_state(cls, state: dict) -> Solver:
        vocab = Vocab.from_json(state["vocab"])
        model = _model_from_config(state["config"], [vocab.stoi[t] for t in state["targets"]], state["weights"])
        model.load_state_dict(state["weights"])
        return cls(vocab, model, state["targets"])

    def save(self, directory, *, weights_only: bool = False) -> None:
        """Write ``config.json``, ``vocab.json`` and fp16 ``model.safetensors`` to ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = self._model_config() | {"targets": self.target_tokens, "vocab_hash": self.vocab.hash()}
        (directory / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", "utf-8")
        (directory / "vocab.json").write_text(self.vocab.to_json(), "utf-8")
        save_weights(self.model.state_dict(), directory / "model.safetensors")

    @classmethod
    def load(cls, directory=None) -> Solver:
        """Load a solver folder (default: the shipped one); refuse mismatched vocabulary and weights."""
        directory = Path(directory) if directory is not None else default_model_dir()
        for name in ("config.json", "vocab.json", "model.safetensors"):
            if not (directory / name).exists():
                raise ValueError(f"--checkpoint {directory}: no {name} (not a solver folder)")
        config = json.loads((directory / "config.json").read_text("utf-8"))
        vocab = Vocab.from_json((directory / "vocab.json").read_text("utf-8"))
        if vocab.hash() != config["vocab_hash"]:
            raise ValueError(f"--checkpoint {directory}: vocab.json does not belong to this model (hash differs)")
        cfg = MWPConfig(**config["model"])
        weights = load_weights(directory / "model.safetensors")
        if cfg.vocab_size != len(vocab):
            raise ValueError(
                f"--checkpoint {directory}: the model was built for {cfg.vocab_size} tokens but the vocabulary has "
                f"{len(vocab)}"
            )
        missing = [t for t in config["targets"] if t not in vocab.stoi]
        if missing:
            raise ValueError(f"--checkpoint {directory}: equation tokens {missing[:5]} are not in the vocabulary")
        model = _model_from_config(config, [vocab.stoi[t] for t in config["targets"]], weights)
        try:
            model.load_state_dict(weights)
        except RuntimeError as e:
            first = str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else str(e)
            raise ValueError(f"--checkpoint {directory}: weights do not fit the model ({first})") from None
        model.eval()
        return cls(vocab, model, config["targets"])

    def write_manifest(self, directory, settings, figures: dict, data: list, commit: str | None = None,
                       parent: dict | None = None) -> dict:  # fmt: skip
        """The manifest; ``parent`` is the manifest of the solver this run started from (a second stage)."""
        extra = {"parameters": self.model.num_parameters()}
        if parent is not None:
            extra["initialised_from"] = parent
            extra["total_training_seconds"] = round(parent.get("total_training_seconds", parent["training_seconds"])
                                                    + figures.get("training_seconds", 0.0), 1)  # fmt: skip
        return write_manifest(
            directory,
            model="mwp-unilm",
            data=data,
            settings=asdict(settings),
            seed=settings.seed,
            training_seconds=figures.get("training_seconds", 0.0),
            figures=figures,
            extra=extra,
            commit=commit,
        )

    # ------------------------------------------------------------------ inference

    def _allowed(self, counts: list[int]) -> torch.Tensor:
        """``(B, V)``: placeholders only for numbers the problem has."""
        idx = self.placeholder_index[None, :]
        return (idx < 0) | (idx < torch.tensor(counts)[:, None])

    def _to_input(self, classes: torch.Tensor) -> torch.Tensor:
        return self.model.target_ids[classes]

    def decode(self, mapped: list, *, beam: int = 1, max_len: int | None = None):
        """Hypotheses (best first) per mapped problem; problems longer than the model's maximum are refused."""
        max_source = self.model.cfg.max_source
        for m in mapped:
            if len(m.source) > max_source:
                raise ValueError(f"problem of {len(m.source)} tokens is longer than the model's maximum ({max_source})")
        S = max(len(m.source) for m in mapped)
        source = torch.full((len(mapped), S), self.pad, dtype=torch.long)
        for r, m in enumerate(mapped):
            source[r, : len(m.source)] = torch.tensor(self.vocab.encode(m.source))
        lengths = torch.tensor([len(m.source) for m in mapped])
        kw = dict(
            bos_input=self.bos_input,
            eos=self.eos_class,
            to_input=self._to_input,
            max_len=max_len or self.model.cfg.max_target,
            allowed=self._allowed([len(m.numbers) for m in mapped]),
        )
        self.model.eval()
        if beam == 1:
            return greedy_decode(self.model, source, lengths, **kw)
        return beam_decode(self.model, source, lengths, beam=beam, **kw)

    def _first_valid(self, hyps, numbers) -> Prediction:
        for h in hyps:
            tokens = [self.target_tokens[c] for c in h.tokens]
            try:
                equation = unmap_equation(tokens, numbers)
                return Prediction(equation, evaluate(equation), tokens)
            except ExpressionError:
                continue
        return Prediction(None, None, [self.target_tokens[c] for c in hyps[0].tokens] if hyps else [])

    def predict(
        self, problems: list[Problem], *, beam: int = 1, batch_size: int = 100, progress=None
    ) -> list[Prediction]:
        """Decode every problem; ``correct`` says whether the equation's value matches the answer to 6 places.

        ``progress(done)`` is called after each batch with the number of problems decoded so far.
        """
        # long problems together: less padding; results go back in input order
        order = sorted(range(len(problems)), key=lambda i: len(problems[i].text))
        results: dict[int, Prediction] = {}
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            mapped = [map_numbers(problems[i]) for i in rows]
            for i, m, hyps in zip(rows, mapped, self.decode(mapped, beam=beam)):
                pred = self._first_valid(hyps, m.numbers)
                pred.correct = pred.value is not None and answers_match(pred.value, problems[i].answer)
                results[i] = pred
            if progress is not None:
                progress(len(results))
        return [results[i] for i in range(len(problems))]

    def accuracy(self, problems: list[Problem], *, beam: int = 1) -> float:
        preds = self.predict(problems, beam=beam)
        return sum(p.correct for p in preds) / max(1, len(preds))

    def solve(self, text: str, *, beam: int = 3) -> Prediction:
        """The equation and value for one problem text (numbers are read from the text)."""
        if not text or not text.strip():
            raise ValueError("the problem text is empty")
        source, numbers = map_text(text)
        mapped = Mapped(source=source, target=[], numbers=numbers)
        return self._first_valid(self.decode([mapped], beam=beam)[0], mapped.numbers)


def _model_from_config(config: dict, target_ids: list[int], weights: dict):
    """An untrained model of the saved architecture (``unilm``: :class:`UniLMSolver`; ``bert``: :mod:`.bert`)."""
    cfg = MWPConfig(**config["model"])
    architecture = config.get("architecture", "unilm")
    if architecture == "unilm":
        return UniLMSolver(cfg, target_ids)
    if architecture == "bert":
        return BertUniLMSolver(cfg, target_ids, config["bert_config"], weights["vocab_to_bert"].tolist())
    raise ValueError(f"unknown solver architecture {architecture!r} in the checkpoint")


def encode_problems(solver: Solver, problems: list[Problem]) -> tuple[Encoded, dict]:
    """Token ids of every problem that fits the model; counts of those left out, by reason."""
    enc = Encoded([], [], [])
    dropped: dict[str, int] = {}
    cfg = solver.model.cfg
    for p in problems:
        m = map_numbers(p)
        if len(m.source) > cfg.max_source:
            dropped["problem_too_long"] = dropped.get("problem_too_long", 0) + 1
            continue
        if len(m.target) + 1 > cfg.max_target:
            dropped["equation_too_long"] = dropped.get("equation_too_long", 0) + 1
            continue
        if any(t not in solver.class_of for t in m.target):
            dropped["equation_token_unknown"] = dropped.get("equation_token_unknown", 0) + 1
            continue
        enc.sources.append(solver.vocab.encode(m.source))
        enc.target_inputs.append([solver.vocab.stoi[t] for t in m.target])
        enc.target_classes.append([solver.class_of[t] for t in m.target] + [solver.eos_class])
    return enc, dropped
