"""Batched greedy and beam-search decoding of equations; finished problems leave the batch.

Both decoders work on any model with ``encode(source, lengths) -> cache`` and
``step(tokens, position, cache) -> log-probabilities over the equation vocabulary`` (see
:class:`kexue_hw.models.mwp.model.UniLMSolver`); a cache has ``select(rows)``. Tokens are
equation classes ``0..V-1``; ``to_input`` maps them to the ids the model embeds.

``allowed`` (``(B, V)`` bool, optional) masks classes per problem: a placeholder ``N5`` is not
offered for a problem with three numbers. Beam scores are length-normalised (sum of
log-probabilities divided by the number of tokens, ``<eos>`` included).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Hypothesis", "greedy_decode", "beam_decode"]

NEG_INF = float("-inf")


@dataclass
class Hypothesis:
    tokens: list[int]  # equation classes, without <bos>/<eos>
    logprob: float  # sum of log-probabilities, <eos> included
    finished: bool  # ended with <eos> (else cut at max_len)

    @property
    def score(self) -> float:
        return self.logprob / (len(self.tokens) + 1)


def _masked(logp: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
    return logp if allowed is None else logp.masked_fill(~allowed, NEG_INF)


@torch.no_grad()
def greedy_decode(model, source, lengths, *, bos_input: int, eos: int, to_input, max_len: int, allowed=None):
    """One hypothesis per problem, the most likely token at each step."""
    B = source.shape[0]
    cache = model.encode(source, lengths)
    rows = torch.arange(B)  # problem index of each batch row
    tokens = torch.full((B,), bos_input, dtype=torch.long)
    out: list[Hypothesis | None] = [None] * B
    seqs: list[list[int]] = [[] for _ in range(B)]
    logps = torch.zeros(B, dtype=torch.float64)
    for t in range(max_len):
        logp = _masked(model.step(tokens, t, cache), None if allowed is None else allowed[rows])
        if t == max_len - 1:  # the last position can only close the equation
            best = torch.full((rows.shape[0],), eos, dtype=torch.long)
        else:
            best = logp.argmax(-1)
        logps[rows] += logp.gather(1, best[:, None])[:, 0].double()
        keep = []
        for i, (r, tok) in enumerate(zip(rows.tolist(), best.tolist())):
            if tok == eos:
                out[r] = Hypothesis(seqs[r], float(logps[r]), True)
            else:
                seqs[r].append(tok)
                keep.append(i)
        if not keep:
            break
        keep_t = torch.tensor(keep, dtype=torch.long)
        if len(keep) < rows.shape[0]:
            cache = cache.select(keep_t)
        rows = rows[keep_t]
        tokens = to_input(best[keep_t])
    for r in range(B):
        if out[r] is None:
            out[r] = Hypothesis(seqs[r], float(logps[r]), False)
    return [[h] for h in out]


@torch.no_grad()
def beam_decode(
    model,
    source,
    lengths,
    *,
    beam: int,
    bos_input: int,
    eos: int,
    to_input,
    max_len: int,
    allowed=None,
    exact_stop: bool = False,
):
    """``beam`` hypotheses per problem, best length-normalised score first.

    A problem stops once it holds ``beam`` finished hypotheses and no live one can still beat
    the worst of them: by default the usual estimate (a live hypothesis's normalised score so
    far), with ``exact_stop`` the true bound (its log-probability spread over ``max_len``
    tokens), which makes the search exhaustive when ``beam`` covers every sequence.
    """
    if beam < 1:
        raise ValueError(f"--beam must be at least 1, got {beam}")
    B = source.shape[0]
    cache = model.encode(source, lengths)
    K = beam
    # every problem starts with one live hypothesis, repeated K times with -inf for the copies
    rep = torch.arange(B).repeat_interleave(K)
    cache = cache.select(rep)
    problems = list(range(B))  # problem index of each group of K rows
    scores = torch.full((B, K), NEG_INF, dtype=torch.float64)
    scores[:, 0] = 0.0
    seqs: list[list[list[int]]] = [[[] for _ in range(K)] for _ in range(B)]
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    tokens = torch.full((B * K,), bos_input, dtype=torch.long)
    for t in range(max_len):
        G = len(problems)
        logp = model.step(tokens, t, cache).double()  # (G*K, V)
        V = logp.shape[-1]
        if allowed is not None:
            logp = _masked(logp, allowed[torch.tensor(problems)].repeat_interleave(K, 0))
        if t == max_len - 1:
            forced = torch.full_like(logp, NEG_INF)
            forced[:, eos] = logp[:, eos]
            logp = forced
        cand = (scores.view(G, K, 1) + logp.view(G, K, V)).view(G, K * V)
        top_scores, top_idx = cand.topk(min(2 * K, K * V), dim=-1)
        new_scores = torch.full((G, K), NEG_INF, dtype=torch.float64)
        parents = torch.zeros(G, K, dtype=torch.long)
        next_tok = torch.full((G, K), eos, dtype=torch.long)
        new_seqs: list[list[list[int]]] = []
        keep_groups = []
        for g, p in enumerate(problems):
            slots = 0
            group_seqs: list[list[int]] = [[] for _ in range(K)]
            for s, idx in zip(top_scores[g].tolist(), top_idx[g].tolist()):
                if s == NEG_INF or slots == K:
                    break
                parent, tok = divmod(idx, V)
                if tok == eos:
                    finished[p].append(Hypothesis(list(seqs[p][parent]), s, True))
                    continue
                new_scores[g, slots] = s
                parents[g, slots] = parent
                next_tok[g, slots] = tok
                group_seqs[slots] = seqs[p][parent] + [tok]
                slots += 1
            new_seqs.append(group_seqs)
            fin = sorted(finished[p], key=lambda h: h.score, reverse=True)[:K]
            finished[p] = fin
            best_live = new_scores[g, 0].item()
            if slots == 0:
                done = True
            elif len(fin) < K:
                done = False
            else:
                bound = best_live / max_len if exact_stop else best_live / (t + 2)
                done = fin[-1].score >= bound
            if not done:
                keep_groups.append(g)
        for g, p in enumerate(problems):
            seqs[p] = new_seqs[g]
        if not keep_groups:
            break
        kg = torch.tensor(keep_groups, dtype=torch.long)
        rows = (kg[:, None] * K + parents[kg]).view(-1)
        cache = cache.select(rows)
        scores = new_scores[kg]
        tokens = to_input(next_tok[kg].view(-1))
        problems = [problems[g] for g in keep_groups]
    out = []
    for p in range(B):
        hyps = sorted(finished[p], key=lambda h: h.score, reverse=True)[:K]
        if not hyps:  # nothing finished within max_len: return the cut sequences
            hyps = [Hypothesis(s, NEG_INF, False) for s in seqs[p][:1]]
        out.append(hyps)
    return out
