"""The solver's Transformer: UniLM mask, decoding (beam vs exhaustive search), cache equivalence, learning."""

import itertools
import math

import pytest
import torch

from kexue_hw.models.mwp.decode import beam_decode, greedy_decode
from kexue_hw.models.mwp.model import MWPConfig, UniLMSolver, unilm_mask


def test_unilm_mask_problem_never_sees_equation_and_equation_is_causal():
    lengths = torch.tensor([3, 5])
    S, T = 5, 4
    m = unilm_mask(lengths, S, T)[:, 0]
    for b, n in enumerate(lengths.tolist()):
        for i in range(S + T):
            for j in range(S + T):
                if j < S:
                    expected = j < n  # every real problem token, from anywhere
                else:
                    expected = i >= S and j <= i  # equation: causal, problem rows never see it
                assert bool(m[b, i, j]) == expected, (b, i, j)


def _tiny(vocab=12, targets=5, **kw):
    torch.manual_seed(0)
    cfg = MWPConfig(vocab_size=vocab, num_targets=targets, d_model=32, n_layers=2, n_heads=2, d_ff=64, dropout=0.0, **kw)
    return UniLMSolver(cfg, list(range(vocab - targets, vocab)))


def test_problem_states_do_not_depend_on_the_equation():
    model = _tiny().eval()
    src = torch.randint(0, 7, (2, 6))
    lengths = torch.tensor([6, 4])
    a = model(src, lengths, torch.tensor([[7, 8, 9], [7, 9, 9]]))[0]
    b = model(src, lengths, torch.tensor([[7, 8, 10], [7, 9, 11]]))[0]
    # equation position t depends only on positions <= t: the first two agree
    assert torch.allclose(a[:, :2], b[:, :2], atol=1e-6)
    assert not torch.allclose(a[:, 2], b[:, 2])


def test_cached_decoding_equals_full_forward():
    model = _tiny().eval()
    src = torch.randint(0, 7, (3, 6))
    lengths = torch.tensor([6, 2, 4])
    tin = torch.tensor([[7, 8, 9, 10], [7, 11, 8, 8], [7, 7, 7, 9]])
    full = torch.log_softmax(model.logits(model(src, lengths, tin)[0]), -1)
    cache = model.encode(src, lengths)
    for t in range(tin.shape[1]):
        step = model.step(tin[:, t], t, cache)
        assert torch.allclose(step, full[:, t], atol=1e-5), t
    with pytest.raises(ValueError, match="longer than the model's maximum"):
        model.encode(torch.zeros(1, 500, dtype=torch.long), torch.tensor([500]))


class _TableModel:
    """A fake decoder: log-probabilities are a fixed random function of the prefix."""

    def __init__(self, V, seed=0):
        self.V = V
        self.g = torch.Generator().manual_seed(seed)
        self.table = {}

    class Cache:
        def __init__(self, prefixes):
            self.prefixes = prefixes

        def select(self, rows):
            return _TableModel.Cache([list(self.prefixes[r]) for r in rows.tolist()])

    def encode(self, source, lengths):
        return self.Cache([[int(source[b, 0])] for b in range(source.shape[0])])

    def logp(self, prefix):
        key = tuple(prefix)
        if key not in self.table:
            self.table[key] = torch.log_softmax(3 * torch.randn(self.V, generator=self.g, dtype=torch.float64), -1)
        return self.table[key]

    def step(self, tokens, position, cache):
        out = []
        for b, tok in enumerate(tokens.tolist()):
            cache.prefixes[b].append(tok)
            out.append(self.logp(cache.prefixes[b]))
        return torch.stack(out).float()


def _exhaustive(model, first, V, eos, max_len, bos):
    best = (-math.inf, None)
    for n in range(0, max_len):
        for seq in itertools.product([v for v in range(V) if v != eos], repeat=n):
            prefix, lp = [first, bos], 0.0
            for tok in list(seq) + [eos]:
                lp += float(model.logp(prefix)[tok].float())
                prefix = prefix + [tok]
            score = lp / (n + 1)
            if score > best[0]:
                best = (score, list(seq))
    return best


@pytest.mark.parametrize("seed", range(4))
def test_beam_search_equals_exhaustive_search_when_the_beam_covers_everything(seed):
    V, eos, max_len, bos = 3, 0, 4, 99
    model = _TableModel(V, seed)
    source = torch.tensor([[5], [6]])
    hyps = beam_decode(
        model, source, torch.tensor([1, 1]), beam=V**max_len, bos_input=bos, eos=eos,
        to_input=lambda c: c, max_len=max_len, exact_stop=True,
    )
    for b, first in enumerate([5, 6]):
        score, seq = _exhaustive(model, first, V, eos, max_len, bos)
        assert hyps[b][0].tokens == seq
        assert hyps[b][0].score == pytest.approx(score, abs=1e-5)


def test_beam_one_is_greedy_and_wider_beams_score_at_least_as_well():
    V, eos, max_len, bos = 4, 0, 6, 99
    model = _TableModel(V, 7)
    source = torch.tensor([[1], [2], [3]])
    kw = dict(bos_input=bos, eos=eos, to_input=lambda c: c, max_len=max_len)
    greedy = greedy_decode(model, source, torch.ones(3, dtype=torch.long), **kw)
    beam1 = beam_decode(model, source, torch.ones(3, dtype=torch.long), beam=1, **kw)
    beam4 = beam_decode(model, source, torch.ones(3, dtype=torch.long), beam=4, **kw)
    for g, b1, b4 in zip(greedy, beam1, beam4):
        assert g[0].tokens == b1[0].tokens
        assert b4[0].score >= b1[0].score - 1e-9
    with pytest.raises(ValueError, match="--beam"):
        beam_decode(model, source, torch.ones(3, dtype=torch.long), beam=0, **kw)


def test_allowed_mask_is_respected():
    V, eos, max_len, bos = 4, 0, 5, 99
    model = _TableModel(V, 3)
    allowed = torch.tensor([[True, True, False, False]])
    for decode, extra in ((greedy_decode, {}), (beam_decode, {"beam": 3})):
        hyps = decode(model, torch.tensor([[1]]), torch.tensor([1]), bos_input=bos, eos=eos,
                      to_input=lambda c: c, max_len=max_len, allowed=allowed, **extra)
        assert all(t in (1,) for h in hyps[0] for t in h.tokens)


def test_tiny_model_learns_to_copy_in_seconds():
    """Copy task: the equation is the problem's first three tokens; a 2-layer model learns it."""
    torch.manual_seed(0)
    V, targets = 10, 6  # ids 4..9 are equation tokens; class 5 (id 9) is <eos>
    cfg = MWPConfig(vocab_size=V, num_targets=targets, d_model=48, n_layers=2, n_heads=2, d_ff=96, dropout=0.0)
    model = UniLMSolver(cfg, list(range(4, 10)))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    bos = 0

    def batch(n):
        src = torch.randint(4, 9, (n, 5))
        tgt = src[:, :3]
        tin = torch.cat([torch.full((n, 1), bos), tgt], 1)
        labels = torch.cat([tgt - 4, torch.full((n, 1), 5)], 1)
        return src, torch.full((n,), 5), tin, labels

    for _ in range(300):
        src, lens, tin, labels = batch(64)
        logits = model.logits(model(src, lens, tin)[0])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, targets), labels.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    src, lens, _, labels = batch(50)
    hyps = greedy_decode(model, src, lens, bos_input=bos, eos=5, to_input=lambda c: c + 4, max_len=6)
    correct = sum(h[0].tokens == labels[i, :3].tolist() for i, h in enumerate(hyps))
    assert correct >= 45, correct


def test_teaforn_passes_feed_hidden_states():
    model = _tiny().eval()
    src = torch.randint(0, 7, (2, 5))
    lens = torch.tensor([5, 3])
    tin = torch.tensor([[7, 8, 9], [7, 10, 11]])
    h1, h2 = model(src, lens, tin, teaforn=2)
    assert torch.equal(h1, model(src, lens, tin)[0])
    # pass 2's first position sees only <bos> and the problem: same as pass 1
    assert torch.allclose(h1[:, 0], h2[:, 0], atol=1e-6)
    assert not torch.allclose(h1[:, 1:], h2[:, 1:])
