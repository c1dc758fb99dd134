"""Performer (FAVOR+) attention in torch: positive random features for the softmax kernel.

``exp(q.k / sqrt(d)) = E_w[phi(q) . phi(k)]`` with ``w ~ N(0, I_d)`` and
``phi(x) = exp(w.x' - |x'|**2 / 2) / sqrt(m)``, ``x' = x * d**-0.25``
(Choromanski et al., arXiv 2009.14794). Attention becomes
``phi(Q) (phi(K)^T [V, 1])`` split into numerator and denominator: linear in the
sequence length ``L``.

Stabilizer: queries subtract their row maximum of ``w.x' - |x'|**2/2``, keys a
running maximum over the keys seen so far and all features (detached; the state
is rescaled by ``exp(old - new)`` when it grows); both factors cancel exactly
between numerator and denominator. Everything streams in chunks of ``chunk``
rows, so the working set stays ``chunk x m`` (cache-sized) and time is linear in
``L``: non-causal folds key chunks into the state ``phi(K)^T [V, 1]`` and then
reads it per query chunk; causal uses prefix sums, the running state plus a
masked ``C x C`` block per chunk. Every product is a matmul. Every matmul (projections, squared norms, the
state products) goes through the ``matmul`` callable; ``unit=`` plugs in the
torch shim (``kexue_hw.emulate.emulated_matmul`` with ``EmulationConfig(unit)``:
per-row/column quantization, products bit-exact with ``kexue_hw.arith.mul``).
Plain ``torch.matmul`` calls, so ``kexue_hw.emulate.EmulationMode`` catches them too.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

__all__ = ["random_features", "favor_features", "softmax_attention", "performer_attention", "PerformerAttention"]

Matmul = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _resolve_matmul(matmul: Matmul | None, unit) -> Matmul:
    if matmul is not None and unit is not None:
        raise ValueError("pass either matmul or unit, not both")
    if unit is not None:
        from kexue_hw.emulate import EmulationConfig, emulated_matmul  # the torch shim (float in, float out)

        config = EmulationConfig(unit=unit)
        return lambda a, b: emulated_matmul(a, b, config)
    return matmul or torch.matmul


def random_features(
    num_features: int,
    dim: int,
    *,
    orthogonal: bool = True,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> torch.Tensor:
    """``(num_features, dim)`` projection matrix ``W`` with rows ``w ~ N(0, I)`` (marginally).

    ``orthogonal``: blocks of ``dim`` exactly orthogonal rows (QR of a Gaussian
    matrix), each row rescaled by an independent chi(``dim``) norm so every row
    keeps the Gaussian's length distribution; the last block is truncated.
    """
    if num_features < 1 or dim < 1:
        raise ValueError(f"num_features and dim must be positive, got {num_features}, {dim}")
    kw = dict(generator=generator, dtype=torch.float64, device=device)
    if not orthogonal:
        return torch.randn(num_features, dim, **kw).to(dtype)
    n_blocks = -(-num_features // dim)
    q, r = torch.linalg.qr(torch.randn(n_blocks, dim, dim, **kw))  # one batched QR
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)  # Haar-distributed, no QR sign bias
    w = q.transpose(-1, -2).reshape(n_blocks * dim, dim)[:num_features]
    norms = torch.randn(num_features, dim, **kw).norm(dim=1, keepdim=True)  # chi(dim)
    return (w * norms).to(dtype)


def _feature_logits(x: torch.Tensor, w: torch.Tensor, matmul: Matmul) -> torch.Tensor:
    """``w.x' - |x'|**2 / 2`` with ``x' = x * d**-0.25`` (two matmuls)."""
    xs = x * x.shape[-1] ** -0.25
    proj = matmul(xs, w.T.to(xs.dtype))
    sq = matmul(xs.unsqueeze(-2), xs.unsqueeze(-1))[..., 0, 0] / 2
    return proj - sq.unsqueeze(-1)


def _query_features(x, w, matmul):
    logits = _feature_logits(x, w, matmul)
    return torch.exp(logits - logits.amax(dim=-1, keepdim=True).detach()) / math.sqrt(w.shape[0])


def favor_features(
    x: torch.Tensor, w: torch.Tensor, *, is_query: bool, matmul: Matmul = torch.matmul, stabilize: bool = True
) -> torch.Tensor:
    """Positive features ``phi(x)`` (``(..., L, m)``); ``stabilize`` subtracts the maxima (module docstring)."""
    logits = _feature_logits(x, w, matmul)
    if not stabilize:
        return torch.exp(logits) / math.sqrt(w.shape[0])
    if is_query:
        stab = logits.amax(dim=-1, keepdim=True)
    else:
        stab = logits.flatten(-2).amax(dim=-1)[..., None, None]
    return torch.exp(logits - stab.detach()) / math.sqrt(w.shape[0])


def softmax_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = False,
    chunk: int | None = 1024,
    matmul: Matmul | None = None,
    unit=None,
) -> torch.Tensor:
    """Exact ``softmax(q k^T / sqrt(d)) v``, queries in chunks of ``chunk`` rows (``None``: all at once).

    Memory is ``chunk x L`` scores instead of ``L x L``.
    """
    mm = _resolve_matmul(matmul, unit)
    n, d = q.shape[-2:]
    step = n if chunk is None else chunk
    outs = []
    kt = k.transpose(-1, -2) / math.sqrt(d)
    for s in range(0, n, step):
        scores = mm(q[..., s : s + step, :], kt)
        if causal:
            rows = torch.arange(s, min(s + step, n), device=q.device)[:, None]
            cols = torch.arange(k.shape[-2], device=q.device)[None, :]
            scores = scores.masked_fill(cols > rows, float("-inf"))
        outs.append(mm(torch.softmax(scores, dim=-1), v))
    return torch.cat(outs, dim=-2)


def performer_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    num_features: int | None = None,
    features: torch.Tensor | None = None,
    orthogonal: bool = True,
    causal: bool = False,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    chunk: int = 256,
    eps: float = 1e-30,
    matmul: Matmul | None = None,
    unit=None,
) -> torch.Tensor:
    """FAVOR+ approximation of :func:`softmax_attention` (``q, k: (..., L, d)``, ``v: (..., L, dv)``).

    Features: ``features`` (an ``(m, d)`` matrix) or fresh ones drawn with
    ``num_features`` (default ``2 d``), ``orthogonal``
    and ``seed``/``generator``. Streams in blocks of ``chunk`` rows (``causal``:
    prefix sums). ``eps`` floors the denominator.
    """
    mm = _resolve_matmul(matmul, unit)
    d = q.shape[-1]
    if features is None:
        if generator is None and seed is not None:
            generator = torch.Generator(device=q.device).manual_seed(seed)
        features = random_features(
            num_features or 2 * d, d, orthogonal=orthogonal, generator=generator, dtype=q.dtype, device=q.device
        )
    ones = torch.ones(v.shape[:-1] + (1,), dtype=v.dtype, device=v.device)
    va = torch.cat([v, ones], dim=-1)  # last column gives the denominator
    n, m = q.shape[-2], features.shape[0]
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    state = torch.zeros(batch + (m, va.shape[-1]), dtype=va.dtype, device=va.device)
    kmax = torch.full(batch + (1, 1), -math.inf, dtype=q.dtype, device=q.device)

    def add_keys(state, kmax, kc):
        """Fold a key chunk into the state under a running key maximum (state rescaled when it grows)."""
        logits = _feature_logits(kc, features, mm)
        new_max = torch.maximum(kmax, logits.flatten(-2).amax(dim=-1)[..., None, None]).detach()
        pk = torch.exp(logits - new_max) / math.sqrt(m)
        return state * torch.exp(kmax - new_max), new_max, pk

    parts = []
    if not causal:
        for s in range(0, k.shape[-2], chunk):
            state, kmax, pk = add_keys(state, kmax, k[..., s : s + chunk, :])
            state = state + mm(pk.transpose(-1, -2), va[..., s : s + chunk, :])
        for s in range(0, n, chunk):
            parts.append(mm(_query_features(q[..., s : s + chunk, :], features, mm), state))
    else:
        mask = torch.ones(chunk, chunk, dtype=torch.bool, device=q.device).tril()
        for s in range(0, n, chunk):
            state, kmax, pk = add_keys(state, kmax, k[..., s : s + chunk, :])
            pq = _query_features(q[..., s : s + chunk, :], features, mm)
            vc = va[..., s : s + chunk, :]
            c = pq.shape[-2]
            local = mm(pq, pk.transpose(-1, -2)) * mask[:c, :c]
            parts.append(mm(pq, state) + mm(local, vc))
            state = state + mm(pk.transpose(-1, -2), vc)
    out = torch.cat(parts, dim=-2)
    return out[..., :-1] / out[..., -1:].clamp_min(eps)


class PerformerAttention(torch.nn.Module):
    """FAVOR+ attention module: ``forward(q, k, v)`` on ``(..., L, dim)`` tensors.

    The projection is a buffer drawn from a generator seeded with ``seed``.
    ``redraw_interval``: in training mode draw fresh features every that many
    forward calls (``None``/0: never); :meth:`redraw` does it by hand.
    """

    def __init__(
        self,
        dim: int,
        num_features: int | None = None,
        *,
        orthogonal: bool = True,
        causal: bool = False,
        redraw_interval: int | None = None,
        seed: int = 0,
        chunk: int = 256,
        matmul: Matmul | None = None,
        unit=None,
    ):
        super().__init__()
        self.dim = dim
        self.num_features = num_features or 2 * dim
        self.orthogonal = orthogonal
        self.causal = causal
        self.redraw_interval = redraw_interval
        self.chunk = chunk
        self.matmul = _resolve_matmul(matmul, unit)
        self.generator = torch.Generator().manual_seed(seed)
        self.register_buffer("features", self._draw())
        self.calls_since_redraw = 0

    def _draw(self) -> torch.Tensor:
        return random_features(self.num_features, self.dim, orthogonal=self.orthogonal, generator=self.generator)

    @torch.no_grad()
    def redraw(self) -> None:
        self.features.copy_(self._draw().to(self.features))
        self.calls_since_redraw = 0

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if self.training and self.redraw_interval:
            if self.calls_since_redraw >= self.redraw_interval:
                self.redraw()
            self.calls_since_redraw += 1
        return performer_attention(
            q, k, v, features=self.features.to(q.dtype), causal=self.causal, chunk=self.chunk, matmul=self.matmul
        )

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, num_features={self.num_features}, orthogonal={self.orthogonal}, "
            f"causal={self.causal}, redraw_interval={self.redraw_interval}"
        )
