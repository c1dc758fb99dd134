"""The solver: one Transformer with a UniLM mask, bidirectional over the problem, left-to-right over the equation.

Layout of a batch row: the problem's tokens (padded to the batch's longest problem, ``S``), then
the equation's tokens starting with ``<bos>`` (padded to ``T``). Problem and equation positions
are numbered from 0 each, and a segment embedding tells them apart, so the padding in between
is invisible. Attention (:func:`unilm_mask`): a problem token attends to every real problem
token; an equation token attends to every real problem token and to the equation tokens up to
itself. Hence problem states never depend on the equation, and decoding caches them
(:class:`KVCache`).

Everything is plain torch: ``nn.Linear``, ``F.scaled_dot_product_attention`` with an explicit
boolean mask and a tied output projection through ``F.linear``, so
:class:`kexue_hw.emulate.EmulationMode` and :func:`kexue_hw.emulate.quantize_` see every product.
The output projection scores only the equation vocabulary (``target_ids``: the rows of the
shared embedding that equations use), which is what decoding needs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["MWPConfig", "UniLMSolver", "unilm_mask", "KVCache"]


@dataclass(frozen=True)
class MWPConfig:
    """Size of the solver. ``vocab_size``: the shared vocabulary; ``num_targets``: the equation vocabulary."""

    vocab_size: int
    num_targets: int
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 1024
    max_source: int = 192
    max_target: int = 64
    dropout: float = 0.1

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not a multiple of n_heads={self.n_heads}")
        for name in ("vocab_size", "num_targets", "d_model", "n_layers", "n_heads", "d_ff", "max_source", "max_target"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)


def unilm_mask(source_lengths: torch.Tensor, S: int, T: int) -> torch.Tensor:
    """Boolean attention mask ``(B, 1, S+T, S+T)``; ``True`` = may attend.

    Key ``j`` is visible to query ``i`` iff ``j`` is a real problem token (``j < source_lengths``),
    or both are equation positions and ``j <= i``.
    """
    device = source_lengths.device
    real_source = torch.arange(S, device=device)[None, :] < source_lengths[:, None]  # (B, S)
    B = source_lengths.shape[0]
    L = S + T
    mask = torch.zeros(B, L, L, dtype=torch.bool, device=device)
    mask[:, :, :S] = real_source[:, None, :]
    mask[:, S:, S:] = torch.ones(T, T, dtype=torch.bool, device=device).tril()
    return mask[:, None]


class KVCache:
    """Keys and values per layer, ``(B, H, length, d_head)``: the problem's, then the equation's so far."""

    def __init__(self, n_layers: int):
        self.keys: list[torch.Tensor | None] = [None] * n_layers
        self.values: list[torch.Tensor | None] = [None] * n_layers
        self.key_mask: torch.Tensor | None = None  # (B, length) bool: real positions

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor):
        if self.keys[layer] is None:
            self.keys[layer], self.values[layer] = k, v
        else:
            self.keys[layer] = torch.cat([self.keys[layer], k], dim=2)
            self.values[layer] = torch.cat([self.values[layer], v], dim=2)
        return self.keys[layer], self.values[layer]

    def select(self, rows: torch.Tensor) -> KVCache:
        """Keep (and reorder/repeat) batch rows: finished rows leave, beams follow their parents."""
        out = KVCache(len(self.keys))
        out.keys = [k.index_select(0, rows) for k in self.keys]
        out.values = [v.index_select(0, rows) for v in self.values]
        out.key_mask = self.key_mask.index_select(0, rows)
        return out


class Block(nn.Module):
    """Pre-LayerNorm Transformer block: self-attention and a GELU feed-forward."""

    def __init__(self, cfg: MWPConfig):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.ff1 = nn.Linear(cfg.d_model, cfg.d_ff)
        self.ff2 = nn.Linear(cfg.d_ff, cfg.d_model)
        self.dropout = cfg.dropout

    def _heads(self, x):
        B, L, D = x.shape
        return x.view(B, L, self.n_heads, D // self.n_heads).transpose(1, 2)

    def forward(self, x, mask, cache: KVCache | None = None, layer: int = 0):
        B, L, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=-1)
        q, k, v = self._heads(q), self._heads(k), self._heads(v)
        if cache is not None:
            k, v = cache.append(layer, k, v)
        p = self.dropout if self.training else 0.0
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        x = x + F.dropout(self.proj(a.transpose(1, 2).reshape(B, L, D)), p, self.training)
        h = self.ff2(F.gelu(self.ff1(self.ln2(x))))
        return x + F.dropout(h, p, self.training)


class UniLMSolver(nn.Module):
    """Problem in, equation out: ``forward`` scores teacher-forced equations, :meth:`encode`/:meth:`step` decode."""

    def __init__(self, cfg: MWPConfig, target_ids: list[int]):
        super().__init__()
        if len(target_ids) != cfg.num_targets:
            raise ValueError(f"{len(target_ids)} target ids for num_targets={cfg.num_targets}")
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.source_pos = nn.Embedding(cfg.max_source, cfg.d_model)
        self.target_pos = nn.Embedding(cfg.max_target, cfg.d_model)
        self.segment = nn.Embedding(2, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.out_bias = nn.Parameter(torch.zeros(cfg.num_targets))
        self.register_buffer("target_ids", torch.tensor(target_ids, dtype=torch.long), persistent=True)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    # ------------------------------------------------------------------ pieces

    def source_embeddings(self, source: torch.Tensor) -> torch.Tensor:
        S = source.shape[1]
        if S > self.cfg.max_source:
            raise ValueError(f"problem of {S} tokens is longer than the model's maximum of {self.cfg.max_source}")
        pos = torch.arange(S, device=source.device)
        return self.embed(source) + self.source_pos(pos) + self.segment.weight[0]

    def target_embeddings(self, inputs: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Embeddings of equation positions ``start..``; ``inputs`` are token ids or already vectors ``(B, T, D)``."""
        T = inputs.shape[1]
        if start + T > self.cfg.max_target:
            raise ValueError(f"equation longer than the model's maximum of {self.cfg.max_target} tokens")
        pos = torch.arange(start, start + T, device=inputs.device)
        tok = self.embed(inputs) if inputs.dtype == torch.long else inputs
        return tok + self.target_pos(pos) + self.segment.weight[1]

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Scores over the equation vocabulary: the tied embedding rows of ``target_ids``."""
        return F.linear(hidden, self.embed.weight.index_select(0, self.target_ids), self.out_bias)

    def run(self, x: torch.Tensor, mask: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x, mask, cache, i)
        return self.ln_f(x)

    # ------------------------------------------------------------------ training

    def forward(
        self,
        source: torch.Tensor,
        source_lengths: torch.Tensor,
        target_in: torch.Tensor,
        *,
        teaforn: int = 1,
    ) -> list[torch.Tensor]:
        """Equation hidden states ``(B, T, D)`` of each TeaForN pass (one pass = teacher forcing).

        ``target_in`` is ``<bos>`` followed by the equation (target ids in the shared vocabulary).
        Pass ``i + 1`` feeds pass ``i``'s hidden states, shifted by one, in place of the embeddings
        of the equation tokens after ``<bos>`` (Goodman et al. 2020, TeaForN); the problem's
        embeddings are the same in every pass.
        """
        S, T = source.shape[1], target_in.shape[1]
        mask = unilm_mask(source_lengths, S, T)
        src = self.source_embeddings(source)
        tgt_tokens = self.embed(target_in)
        outs = []
        inputs = tgt_tokens
        for _ in range(teaforn):
            h = self.run(torch.cat([src, self.target_embeddings(inputs)], dim=1), mask)[:, S:]
            outs.append(h)
            inputs = torch.cat([tgt_tokens[:, :1], h[:, :-1]], dim=1)
        return outs

    # ------------------------------------------------------------------ decoding

    @torch.no_grad()
    def encode(self, source: torch.Tensor, source_lengths: torch.Tensor) -> KVCache:
        """Run the problem once; the cache holds every layer's problem keys and values."""
        S = source.shape[1]
        cache = KVCache(self.cfg.n_layers)
        mask = unilm_mask(source_lengths, S, 0)
        self.run(self.source_embeddings(source), mask, cache)
        cache.key_mask = torch.arange(S)[None, :] < source_lengths[:, None]
        return cache

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, position: int, cache: KVCache) -> torch.Tensor:
        """Log-probabilities over the equation vocabulary after feeding ``tokens`` (B,) at ``position``."""
        B = tokens.shape[0]
        cache.key_mask = torch.cat([cache.key_mask, torch.ones(B, 1, dtype=torch.bool)], dim=1)
        mask = cache.key_mask[:, None, None, :]
        h = self.run(self.target_embeddings(tokens[:, None], start=position), mask, cache)
        return F.log_softmax(self.logits(h[:, 0]).float(), dim=-1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
