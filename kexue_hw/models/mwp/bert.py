"""The solver on a pretrained Hugging Face BERT (``kexue-hw mwp train --init-from DIR``): same UniLM mask.

:class:`BertUniLMSolver` has the interface of :class:`.model.UniLMSolver` (``forward``,
``logits``, ``encode``, ``step``) around a ``transformers.BertModel`` loaded from a local folder.
The solver's vocabulary is mapped onto BERT's: a token that BERT's ``vocab.txt`` has keeps its
pretrained embedding, the others (placeholders ``N0``.., constants such as ``3.14``) get new
rows. Positions run on from the problem into the equation (as in UniLM), token type 0 marks
the problem and 1 the equation, and the attention mask is the boolean 4-D :func:`.model.unilm_mask`
passed straight to BERT's SDPA attention. Decoding recomputes the whole sequence per step (no
key/value cache): slower than the plain model, and only used when a user brings a BERT.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .model import MWPConfig, unilm_mask

__all__ = ["BertUniLMSolver", "bert_vocab_mapping"]

#: the solver's special tokens and BERT's counterparts
_SPECIAL_TO_BERT = {"<pad>": "[PAD]", "<bos>": "[CLS]", "<eos>": "[SEP]", "<unk>": "[UNK]", "<sep>": "[SEP]"}


def _read_bert_vocab(directory: Path) -> dict[str, int]:
    path = directory / "vocab.txt"
    if not path.exists():
        raise ValueError(f"--init-from {directory}: no vocab.txt (a BERT folder has config.json, vocab.txt, weights)")
    return {line.rstrip("\n"): i for i, line in enumerate(path.read_text("utf-8").splitlines())}


def bert_vocab_mapping(tokens: list[str], bert_vocab: dict[str, int]) -> tuple[list[int], int]:
    """BERT row of each solver token; tokens BERT lacks get new rows after its vocabulary.

    Returns the mapping and the number of new rows.
    """
    mapping, extra = [], 0
    size = max(bert_vocab.values()) + 1
    for t in tokens:
        key = _SPECIAL_TO_BERT.get(t, t)
        if key in bert_vocab:
            mapping.append(bert_vocab[key])
        else:
            mapping.append(size + extra)
            extra += 1
    return mapping, extra


class _RecomputeCache:
    """Decoding state without key/value cache: the problem and the equation tokens so far."""

    def __init__(self, source, lengths, tokens):
        self.source, self.lengths, self.tokens = source, lengths, tokens

    def select(self, rows):
        return _RecomputeCache(self.source[rows], self.lengths[rows], self.tokens[rows])


class BertUniLMSolver(nn.Module):
    """A BERT encoder under the UniLM mask, scoring the equation vocabulary with its tied embeddings."""

    architecture = "bert"

    def __init__(self, cfg: MWPConfig, target_ids: list[int], bert_config: dict, vocab_to_bert: list[int]):
        super().__init__()
        from transformers import BertConfig, BertModel

        bcfg = BertConfig(**bert_config)
        bcfg._attn_implementation = "sdpa"
        if cfg.max_source + cfg.max_target > bcfg.max_position_embeddings:
            raise ValueError(
                f"max_source + max_target = {cfg.max_source + cfg.max_target} exceeds the BERT's "
                f"{bcfg.max_position_embeddings} positions"
            )
        self.cfg = cfg
        self.bert_config = bcfg.to_dict()
        self.bert = BertModel(bcfg, add_pooling_layer=False)
        self.register_buffer("vocab_to_bert", torch.tensor(vocab_to_bert, dtype=torch.long))
        self.register_buffer("target_ids", torch.tensor(target_ids, dtype=torch.long))
        self.out_bias = nn.Parameter(torch.zeros(cfg.num_targets))

    @classmethod
    def from_pretrained(cls, directory, tokens: list[str], target_ids: list[int], cfg: MWPConfig):
        """Load the BERT in ``directory`` and add rows for the solver tokens it lacks."""
        from transformers import BertModel

        directory = Path(directory)
        if not (directory / "config.json").exists():
            raise ValueError(f"--init-from {directory}: no config.json (not a Hugging Face model folder)")
        mapping, extra = bert_vocab_mapping(tokens, _read_bert_vocab(directory))
        try:
            bert = BertModel.from_pretrained(str(directory), add_pooling_layer=False, attn_implementation="sdpa")
        except (OSError, ValueError) as e:
            raise ValueError(f"--init-from {directory}: cannot load a BERT: {e}") from None
        if extra:
            bert.resize_token_embeddings(bert.config.vocab_size + extra)
        cfg = replace(
            cfg, d_model=bert.config.hidden_size, n_layers=bert.config.num_hidden_layers, n_heads=bert.config.num_attention_heads,
            d_ff=bert.config.intermediate_size,
        )
        model = cls(cfg, target_ids, bert.config.to_dict(), mapping)
        model.bert.load_state_dict(bert.state_dict())
        return model

    # ------------------------------------------------------------------ shared interface

    def _embed(self, ids_or_vectors: torch.Tensor) -> torch.Tensor:
        if ids_or_vectors.dtype == torch.long:
            return self.bert.embeddings.word_embeddings(self.vocab_to_bert[ids_or_vectors])
        return ids_or_vectors

    def _run(self, source, lengths, target_inputs: torch.Tensor) -> torch.Tensor:
        """Hidden states of the equation positions; ``target_inputs`` are ids or vectors ``(B, T[, D])``."""
        B, S = source.shape
        T = target_inputs.shape[1]
        if S > self.cfg.max_source:
            raise ValueError(f"problem of {S} tokens is longer than the model's maximum of {self.cfg.max_source}")
        embeds = torch.cat([self._embed(source), self._embed(target_inputs)], dim=1)
        pos = torch.cat(
            [torch.arange(S).expand(B, S), lengths[:, None] + torch.arange(T)[None, :]], dim=1
        )
        types = torch.cat([torch.zeros(B, S, dtype=torch.long), torch.ones(B, T, dtype=torch.long)], dim=1)
        out = self.bert(inputs_embeds=embeds, position_ids=pos, token_type_ids=types, attention_mask=unilm_mask(lengths, S, T))
        return out.last_hidden_state[:, S:]

    def forward(self, source, source_lengths, target_in, *, teaforn: int = 1) -> list[torch.Tensor]:
        """Equation hidden states of each TeaForN pass (see :meth:`.model.UniLMSolver.forward`)."""
        first = self._embed(target_in[:, :1])
        outs, inputs = [], target_in
        for _ in range(teaforn):
            h = self._run(source, source_lengths, inputs)
            outs.append(h)
            inputs = torch.cat([first, h[:, :-1]], dim=1)
        return outs

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        rows = self.vocab_to_bert.index_select(0, self.target_ids)
        return F.linear(hidden, self.bert.embeddings.word_embeddings.weight.index_select(0, rows), self.out_bias)

    @torch.no_grad()
    def encode(self, source, source_lengths):
        return _RecomputeCache(source, source_lengths, torch.zeros(source.shape[0], 0, dtype=torch.long))

    @torch.no_grad()
    def step(self, tokens, position: int, cache: _RecomputeCache):
        cache.tokens = torch.cat([cache.tokens, tokens[:, None]], dim=1)
        if cache.tokens.shape[1] > self.cfg.max_target:
            raise ValueError(f"equation longer than the model's maximum of {self.cfg.max_target} tokens")
        h = self._run(cache.source, cache.lengths, cache.tokens)
        return F.log_softmax(self.logits(h[:, -1]).float(), dim=-1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
