"""Paired comparisons of two classifiers on the same examples: exact McNemar test, difference CI, agreement.

Used wherever a model's accuracy on an emulated unit is set against its native run: both runs
see the same examples, so the comparison is paired. ``b`` counts examples the reference gets
right and the other gets wrong, ``c`` the reverse; only these discordant pairs carry evidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

__all__ = ["mcnemar_exact", "paired_comparison"]

#: two-sided 95 % normal quantile
Z95 = 1.959963984540054


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: ``P(X <= min(b, c)) * 2`` for ``X ~ Binomial(b + c, 1/2)``, capped at 1.

    Computed with exact integer arithmetic, so it is right for any count (no normal approximation).
    ``b == c == 0`` (no discordant pair) gives 1.
    """
    for name, v in (("b", b), ("c", c)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{name} must be a non-negative int, got {v!r}")
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def paired_comparison(
    reference_correct: Sequence[bool],
    other_correct: Sequence[bool],
    reference_pred: Sequence | None = None,
    other_pred: Sequence | None = None,
) -> dict:
    """Accuracy of ``other`` against ``reference`` on the same examples.

    Returns ``n``, ``accuracy`` (other), ``reference_accuracy``, ``delta`` (other - reference),
    ``ci95`` (Wald interval of the paired difference, ``var = (b + c)/n^2 - (c - b)^2/n^3``),
    ``mcnemar_p`` (exact), ``agreement`` (share of identical predictions, or of identical
    correctness when predictions are not given) and the discordant counts ``b`` and ``c``.
    """
    n = len(reference_correct)
    if len(other_correct) != n:
        raise ValueError(f"paired runs differ in length: {n} vs {len(other_correct)}")
    if n == 0:
        raise ValueError("paired comparison of zero examples")
    ref = [bool(x) for x in reference_correct]
    oth = [bool(x) for x in other_correct]
    b = sum(r and not o for r, o in zip(ref, oth))
    c = sum(o and not r for r, o in zip(ref, oth))
    delta = (c - b) / n
    var = (b + c) / n**2 - (c - b) ** 2 / n**3
    half = Z95 * math.sqrt(max(var, 0.0))
    if reference_pred is not None and other_pred is not None:
        if len(reference_pred) != n or len(other_pred) != n:
            raise ValueError("predictions and correctness lists differ in length")
        agreement = sum(p == q for p, q in zip(reference_pred, other_pred)) / n
    else:
        agreement = sum(r == o for r, o in zip(ref, oth)) / n
    return {
        "n": n,
        "accuracy": sum(oth) / n,
        "reference_accuracy": sum(ref) / n,
        "delta": delta,
        "ci95": [delta - half, delta + half],
        "mcnemar_p": mcnemar_exact(b, c),
        "agreement": agreement,
        "b": b,
        "c": c,
    }
