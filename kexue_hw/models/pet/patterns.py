"""Patterns (how an input becomes a cloze question) and verbalizers (which words answer it), as data.

A :class:`Pattern` is a template with ``{x}`` for the input text. For a masked LM it holds one
``{mask}``, the answer position, anywhere (a prefix pattern ``"{mask}满意。{x}"``, a suffix pattern
``"{x}总之{mask}满意。"``); for a causal LM it holds none and the answer is the continuation of the
template (``"Review: {x}\\nSentiment:"``). A :class:`Verbalizer` lists label words per class; a
word of several tokens scores the product of its token probabilities, and a class with several
words scores the sum of their probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Pattern", "Verbalizer", "MLM_PATTERNS", "MLM_VERBALIZER", "CLM_PATTERN", "CLM_VERBALIZER"]

MASK = "{mask}"
X = "{x}"


@dataclass(frozen=True)
class Pattern:
    """A cloze template; ``max_chars`` truncates the input text (characters) before it is placed."""

    template: str
    max_chars: int | None = None

    def __post_init__(self):
        if self.template.count(X) != 1:
            raise ValueError(f"pattern {self.template!r}: needs exactly one {X}")
        if self.template.count(MASK) > 1:
            raise ValueError(f"pattern {self.template!r}: at most one {MASK}")
        if self.max_chars is not None and self.max_chars < 1:
            raise ValueError(f"pattern {self.template!r}: max_chars must be at least 1")

    @property
    def cloze(self) -> bool:
        """True for a masked-LM pattern (has ``{mask}``)."""
        return MASK in self.template

    def parts(self) -> tuple[str, str, str, str]:
        """``(before_mask, between, after, where)``: the text around ``{mask}`` and ``{x}``.

        ``where`` is ``"mask_first"`` (``before {mask} between {x} after``), ``"x_first"``
        (``before {x} between {mask} after``) or ``"no_mask"`` (``before {x} after``).
        """
        t = self.template
        if not self.cloze:
            before, after = t.split(X)
            return before, "", after, "no_mask"
        if t.index(MASK) < t.index(X):
            before, rest = t.split(MASK)
            between, after = rest.split(X)
            return before, between, after, "mask_first"
        before, rest = t.split(X)
        between, after = rest.split(MASK)
        return before, between, after, "x_first"

    def clip(self, text: str) -> str:
        return text if self.max_chars is None else text[: self.max_chars]

    def fill(self, text: str) -> str:
        """The template with ``text`` in place (``{mask}`` kept literally)."""
        return self.template.replace(X, self.clip(text))


@dataclass(frozen=True)
class Verbalizer:
    """Label words per class: ``words[c]`` is a tuple of strings for class ``c``."""

    words: tuple[tuple[str, ...], ...]
    names: tuple[str, ...] = ("negative", "positive")

    def __post_init__(self):
        words = tuple(tuple(w) if not isinstance(w, str) else (w,) for w in self.words)
        object.__setattr__(self, "words", words)
        if len(words) < 2:
            raise ValueError("a verbalizer needs at least two classes")
        if any(not ws or any(not w for w in ws) for ws in words):
            raise ValueError(f"every class needs at least one non-empty label word, got {words}")
        if len(self.names) != len(words):
            object.__setattr__(self, "names", tuple(f"class{c}" for c in range(len(words))))

    @property
    def num_classes(self) -> int:
        return len(self.words)

    def flat(self) -> list[tuple[int, str]]:
        """``(class, word)`` for every label word, in class order."""
        return [(c, w) for c, ws in enumerate(self.words) for w in ws]


#: the masked-LM patterns of the sentiment task (prefix, suffix, prefix): 很 (positive) / 不 (negative)
MLM_PATTERNS = (
    Pattern("{mask}满意。{x}", max_chars=160),
    Pattern("{x}。总之{mask}满意。", max_chars=160),
    Pattern("感觉{mask}好。{x}", max_chars=160),
)
MLM_VERBALIZER = Verbalizer((("不",), ("很",)))

#: the causal-LM pattern (SmolLM2 is English-centric: English prompt and label words)
CLM_PATTERN = Pattern("Review: {x}\nSentiment:", max_chars=96)
CLM_VERBALIZER = Verbalizer(((" negative",), (" positive",)))
