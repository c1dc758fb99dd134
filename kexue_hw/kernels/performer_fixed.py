"""Performer (FAVOR+) golden path in numpy: every product of every matmul on an integer unit.

Same algorithm as :func:`.performer.performer_attention` (stabilized positive
features, ``[V, 1]`` trick for the denominator, chunked prefix sums when causal),
but each matmul is :func:`.fixed.unit_matmul`: operands quantized per tensor to
the unit's operand magnitude bits (round to nearest), scalar products from
:func:`kexue_hw.arith.mul` (sign-magnitude for unsigned units), exact int64
sums, one float64 rescale. ``exp``, the stabilizer and the final division run
in float64 (they are not products). No torch.
"""

from __future__ import annotations

import numpy as np

from ..spec import IntUnit
from .fixed import unit_matmul

__all__ = ["random_features_np", "performer_attention_fixed", "softmax_attention_fixed"]


def random_features_np(num_features: int, dim: int, *, orthogonal: bool = True, seed: int = 0) -> np.ndarray:
    """Numpy twin of :func:`.performer.random_features` (own RNG stream: same law, not the same draw)."""
    rng = np.random.default_rng(seed)
    if not orthogonal:
        return rng.standard_normal((num_features, dim))
    n_blocks = -(-num_features // dim)
    q, r = np.linalg.qr(rng.standard_normal((n_blocks, dim, dim)))
    q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[:, None, :]
    w = np.swapaxes(q, -1, -2).reshape(n_blocks * dim, dim)[:num_features]
    norms = np.linalg.norm(rng.standard_normal((num_features, dim)), axis=1, keepdims=True)
    return w * norms


def _features(unit, x, w, is_query):
    d = x.shape[-1]
    xs = x * d**-0.25
    half_sq = unit_matmul(unit, xs[..., None, :], xs[..., :, None])[..., 0, 0] / 2
    logits = unit_matmul(unit, xs, w.T) - half_sq[..., None]
    stab = logits.max(axis=-1, keepdims=True) if is_query else logits.max(axis=(-2, -1), keepdims=True)
    return np.exp(logits - stab) / np.sqrt(w.shape[0])


def performer_attention_fixed(
    unit: IntUnit, q, k, v, features, *, causal: bool = False, chunk: int = 64, eps: float = 1e-30
) -> np.ndarray:
    """FAVOR+ attention (float64 out) with all products on ``unit``; ``features``: ``(m, d)`` array."""
    q, k, v, w = (np.asarray(t, dtype=np.float64) for t in (q, k, v, features))
    pq = _features(unit, q, w, True)
    pk = _features(unit, k, w, False)
    va = np.concatenate([v, np.ones(v.shape[:-1] + (1,))], axis=-1)
    if not causal:
        out = unit_matmul(unit, pq, unit_matmul(unit, np.swapaxes(pk, -1, -2), va))
    else:
        n = q.shape[-2]
        state = np.zeros(pk.shape[:-2] + (pk.shape[-1], va.shape[-1]))
        mask = np.tril(np.ones((chunk, chunk)))
        parts = []
        for s in range(0, n, chunk):
            qc, kc, vc = pq[..., s : s + chunk, :], pk[..., s : s + chunk, :], va[..., s : s + chunk, :]
            c = qc.shape[-2]
            local = unit_matmul(unit, qc, np.swapaxes(kc, -1, -2)) * mask[:c, :c]
            prior = unit_matmul(unit, qc, state) if s else 0.0
            parts.append(prior + unit_matmul(unit, local, vc))
            state = state + unit_matmul(unit, np.swapaxes(kc, -1, -2), vc)
        out = np.concatenate(parts, axis=-2)
    return out[..., :-1] / np.maximum(out[..., -1:], eps)


def softmax_attention_fixed(unit: IntUnit, q, k, v, *, causal: bool = False) -> np.ndarray:
    """Exact softmax attention with its two matmuls on ``unit`` (the reference on the same unit)."""
    q, k, v = (np.asarray(t, dtype=np.float64) for t in (q, k, v))
    scores = unit_matmul(unit, q, np.swapaxes(k, -1, -2)) / np.sqrt(q.shape[-1])
    if causal:
        n = scores.shape[-1]
        scores = np.where(np.tril(np.ones((scores.shape[-2], n), dtype=bool)), scores, -np.inf)
    p = np.exp(scores - scores.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return unit_matmul(unit, p, v)
