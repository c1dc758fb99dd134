"""Load a PET classifier once and evaluate it: the shipped checkpoints, ``pet eval``, ``pet classify``, the study hook.

:class:`PetClassifier` is a checkpoint in memory: its members (scorer + pattern), verbalizer and
calibration; ``log_probs(texts)`` averages the members' class log-probabilities and calibrates.
:func:`build_task` is what the study (model x unit x kernel) uses: it loads data and checkpoint
once and returns a :class:`PetTask` whose ``run()`` gives ``(correct, predictions)`` for
:func:`kexue_hw.models.evaluation.compare_units`, with the checkpoint's hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from .calibration import CONTENT_FREE, Calibrator
from .patterns import CLM_PATTERN, CLM_VERBALIZER, MLM_PATTERNS, MLM_VERBALIZER, Pattern, Verbalizer

from .shipped import DEFAULT_CHECKPOINT, WEIGHTS, shipped

__all__ = ["WEIGHTS", "DEFAULT_CHECKPOINT", "shipped", "PetClassifier", "PetTask", "build_task", "checkpoint_hash"]


def _quiet_transformers():
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()


class PetClassifier:
    """Members ``[(scorer, pattern)]``, a verbalizer and a calibrator; ``log_probs`` is the calibrated ensemble."""

    def __init__(self, members, verbalizer: Verbalizer, calibrator: Calibrator, *, kind: str, source: str):
        self.members, self.verbalizer, self.calibrator, self.kind, self.source = members, verbalizer, calibrator, kind, source

    def raw_log_probs(self, texts) -> torch.Tensor:
        from .train import ensemble_log_probs

        return ensemble_log_probs(self.members, texts, self.verbalizer)

    def log_probs(self, texts) -> torch.Tensor:
        """``(n, C)`` calibrated class log-probabilities.

        A ``median`` calibration without stored offsets (a bare ``--model``) is fitted on ``texts`` themselves
        (label-free, transductive); ``contextual`` without offsets scores the content-free inputs first.
        """
        lp = self.raw_log_probs(texts)
        cal = self.calibrator
        if cal.method == "median" and cal.offset is None:
            cal = Calibrator.fit("median", lp)
        elif cal.method == "contextual" and cal.offset is None:
            cal = Calibrator.fit("contextual", content_free=self.raw_log_probs(list(CONTENT_FREE)))
        return cal.apply(lp)

    # ---- loading

    @classmethod
    def load(cls, checkpoint=None, *, scorer: str = "mlm", model=None, calibration: str | None = None,
             batch_size: int | None = None) -> PetClassifier:
        """A checkpoint folder (default: the shipped one of ``scorer``), or a bare LM folder ``model`` zero-shot."""
        _quiet_transformers()
        if scorer not in ("mlm", "clm"):
            raise ValueError(f"--scorer: choose mlm or clm, got {scorer!r}")
        if model is not None and checkpoint is not None:
            raise ValueError("give --checkpoint or --model, not both")
        if model is not None:
            obj = cls._zero_shot(Path(model), scorer, batch_size)
        else:
            obj = cls._checkpoint(Path(checkpoint) if checkpoint else shipped(DEFAULT_CHECKPOINT[scorer]), scorer,
                                  batch_size)
        if calibration is not None:
            obj.calibrator = Calibrator(calibration)
        return obj

    @classmethod
    def _zero_shot(cls, model: Path, scorer: str, batch_size):
        if not model.is_dir():
            raise ValueError(f"--model: no such folder {str(model)!r}")
        if scorer == "mlm":
            from .scorers import MaskedLMScorer

            sc = MaskedLMScorer.from_pretrained(model, **({"batch_size": batch_size} if batch_size else {}))
            return cls([(sc, MLM_PATTERNS[0])], MLM_VERBALIZER, Calibrator("median"), kind="mlm-zero-shot",
                       source=str(model))
        from .scorers import CausalLMScorer

        ggufs = sorted(model.glob("*.gguf"))
        gguf = ggufs[0].name if ggufs and not (model / "config.json").is_file() else None
        sc = CausalLMScorer.from_pretrained(model, gguf, **({"batch_size": batch_size} if batch_size else {}))
        return cls([(sc, CLM_PATTERN)], CLM_VERBALIZER, Calibrator("median"), kind="clm-zero-shot", source=str(model))

    @classmethod
    def _checkpoint(cls, directory: Path, scorer: str, batch_size):
        spec_path = directory / "pet.json"
        if not spec_path.is_file():
            raise ValueError(f"--checkpoint: {directory} is not a PET checkpoint (no pet.json)")
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        kind = spec.get("kind", "")
        if not kind.startswith(scorer):
            raise ValueError(f"--checkpoint: {directory} is a {kind} checkpoint, not for --scorer {scorer}")
        verbalizer = Verbalizer(tuple(tuple(w) for w in spec["verbalizer"]["words"]), tuple(spec["verbalizer"]["names"]))
        calibrator = Calibrator.from_dict(spec.get("calibration") or {})
        kw = {"batch_size": batch_size} if batch_size else {}
        if scorer == "mlm":
            from .scorers import MaskedLMScorer

            members = [(MaskedLMScorer.from_pretrained(directory / m["folder"], **kw), Pattern(**m["pattern"]))
                       for m in spec["members"]]
        else:
            from ..training import load_weights
            from .scorers import CausalLMScorer

            sc = CausalLMScorer.from_pretrained(**kw)
            if spec.get("head"):
                head = load_weights(directory / spec["head"])
                sc.head = (head["weight"], head["bias"])
            members = [(sc, Pattern(**spec["pattern"]))]
        return cls(members, verbalizer, calibrator, kind=kind, source=str(directory))


def checkpoint_hash(source) -> str:
    """SHA-256 over a checkpoint folder's ``pet.json`` and weight files (names and contents), or a bare model's files."""
    from ..training import file_sha256

    root = Path(source)
    h = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".json", ".safetensors", ".gguf", ".txt")
                   and p.name not in ("manifest.json",))
    for p in files:
        h.update(str(p.relative_to(root)).encode())
        h.update(file_sha256(p).encode())
    return h.hexdigest()


@dataclass
class PetTask:
    """One loaded evaluation: ``run()`` -> ``(correct, predictions)``; ``probe()`` a two-example forward."""

    classifier: PetClassifier
    texts: list
    labels: list
    checkpoint_hash: str
    data_path: str
    malformed: int

    @property
    def n(self) -> int:
        return len(self.texts)

    def run(self):
        pred = self.classifier.log_probs(self.texts).argmax(-1).tolist()
        return [p == y for p, y in zip(pred, self.labels)], pred

    def probe(self):
        return self.classifier.log_probs(self.texts[:2])


def build_task(scorer: str = "mlm", data=None, limit: int | None = None, checkpoint=None, *, model=None,
               calibration: str | None = None, threads: int | None = None) -> PetTask:
    """Load data (default: the sentiment valid split) and classifier once; see :class:`PetTask`."""
    from .data import read_labelled, sentiment_file

    if threads is not None:
        torch.set_num_threads(threads)
    dataset = read_labelled(data or sentiment_file("valid"), limit=limit)
    clf = PetClassifier.load(checkpoint, scorer=scorer, model=model, calibration=calibration)
    return PetTask(clf, dataset.texts, dataset.labels, checkpoint_hash(clf.source), dataset.path, dataset.malformed)


# ------------------------------------------------------------------------------------------ commands


def eval_command(args) -> int:
    """``kexue-hw pet eval``."""
    import sys

    from ..evaluation import compare_units, resolve_unit

    for u in args.unit:
        resolve_unit(u)  # bad names fail before anything loads
    task = build_task(args.scorer, args.data, args.limit, args.checkpoint, model=args.model,
                      calibration=args.calibration, threads=args.threads)
    if task.malformed:
        print(f"note: {task.data_path}: {task.malformed} malformed line(s) counted and not used", file=sys.stderr)

    def progress(name, row):
        if not args.json:
            print(f"  {name}: accuracy {row['accuracy']:.4f} ({row['seconds']:.0f} s)", file=sys.stderr)

    result = compare_units(task.run, args.unit, probe=None if args.no_probe else task.probe, on_unit=progress)
    result.update({"scorer": args.scorer, "checkpoint": task.classifier.source, "kind": task.classifier.kind,
                   "checkpoint_sha256": task.checkpoint_hash, "data": task.data_path, "malformed": task.malformed})
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(f"{task.classifier.kind} ({task.classifier.source}) on {task.data_path}: n {result['n']}, "
          f"accuracy {result['accuracy']:.4f} ({result['seconds']:.1f} s)")
    if result["units"]:
        print("\n| unit | accuracy | delta | agreement | McNemar p | time x native | all products emulated |")
        print("|---|---:|---:|---:|---:|---:|:---:|")
        for r in result["units"]:
            cov = "" if "all_emulated" not in r else ("yes" if r["all_emulated"] else f"NO {r['exact_ops']}")
            print(f"| {r['unit']} | {r['accuracy']:.4f} | {r['delta']:+.4f} | {r['agreement']:.4f} | "
                  f"{r['mcnemar_p']:.3g} | {r['time_ratio']:.1f} | {cov} |")
    return 0


def classify_command(args) -> int:
    """``kexue-hw pet classify``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    texts = [t for t in args.text if t.strip()]
    if not texts:
        raise ValueError("classify: give a non-empty text")
    clf = PetClassifier.load(args.checkpoint, scorer=args.scorer, model=args.model, calibration=args.calibration)
    if clf.calibrator.method == "median" and clf.calibrator.offset is None:
        raise ValueError("classify: median calibration of a bare --model needs many texts; use --calibration none")
    probs = clf.log_probs(texts).exp()
    names = clf.verbalizer.names
    rows = [{"text": t, "label": names[int(p.argmax())], "probabilities": {n: float(v) for n, v in zip(names, p)}}
            for t, p in zip(texts, probs)]
    if args.json:
        print(json.dumps(rows if len(rows) > 1 else rows[0], ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        ps = "  ".join(f"{n} {v:.3f}" for n, v in r["probabilities"].items())
        print(f"{r['label']}\t{ps}\t{r['text']}")
    return 0
