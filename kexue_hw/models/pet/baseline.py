"""The plain baseline every PET figure stands next to: character n-gram logistic regression.

Features: character n-grams (default 1- and 2-grams) of the labelled texts only, TF-IDF weighted
(``idf = ln((1 + n) / (1 + df)) + 1``), each row scaled to unit L2 norm. Model: multinomial
logistic regression minimising ``0.5 * ||W||^2 + C * sum(cross-entropy)`` (``C = 1``; bias not
penalised), solved full-batch with L-BFGS in float64. No language model, no unlabelled text.
"""

from __future__ import annotations

import math
from collections import Counter

import torch

__all__ = ["NgramBaseline", "char_ngrams"]


def char_ngrams(text: str, orders=(1, 2)) -> Counter:
    grams = Counter()
    for n in orders:
        for i in range(len(text) - n + 1):
            grams[text[i : i + n]] += 1
    return grams


class NgramBaseline:
    def __init__(self, orders=(1, 2), c: float = 1.0, max_iter: int = 200):
        if not orders or min(orders) < 1:
            raise ValueError(f"n-gram orders must be positive, got {orders}")
        if not c > 0:
            raise ValueError(f"C must be positive, got {c}")
        self.orders, self.c, self.max_iter = tuple(orders), c, max_iter
        self.vocab: dict[str, int] = {}

    def _features(self, texts) -> torch.Tensor:
        x = torch.zeros(len(texts), len(self.vocab), dtype=torch.float64)
        for i, t in enumerate(texts):
            for g, k in char_ngrams(t, self.orders).items():
                j = self.vocab.get(g)
                if j is not None:
                    x[i, j] = k
        x *= self.idf
        return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def fit(self, texts, labels) -> NgramBaseline:
        if len(texts) != len(labels) or not texts:
            raise ValueError("the baseline needs as many labels as texts, and at least one")
        df = Counter()
        for t in texts:
            df.update(set(char_ngrams(t, self.orders)))
        self.vocab = {g: j for j, g in enumerate(sorted(df))}
        n = len(texts)
        self.idf = torch.tensor([math.log((1 + n) / (1 + df[g])) + 1 for g in sorted(df)], dtype=torch.float64)
        x = self._features(texts)
        y = torch.tensor(labels)
        self.classes = int(y.max()) + 1
        w = torch.zeros(x.shape[1], self.classes, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(self.classes, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=self.max_iter, tolerance_grad=1e-9, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = 0.5 * (w * w).sum() + self.c * torch.nn.functional.cross_entropy(x @ w + b, y, reduction="sum")
            loss.backward()
            return loss

        opt.step(closure)
        self.w, self.b = w.detach(), b.detach()
        return self

    def log_probs(self, texts) -> torch.Tensor:
        return (self._features(texts) @ self.w + self.b).log_softmax(-1).float()

    def predict(self, texts) -> list[int]:
        return self.log_probs(texts).argmax(-1).tolist()

    def accuracy(self, texts, labels) -> float:
        pred = self.predict(texts)
        return sum(int(p == y) for p, y in zip(pred, labels)) / len(labels)
