"""Performer (FAVOR+): features, unbiasedness, causal prefix sums, module, unit paths."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from kexue_hw import Exact, Mitchell  # noqa: E402
from kexue_hw.kernels import (  # noqa: E402
    PerformerAttention,
    favor_features,
    performer_attention,
    performer_attention_fixed,
    random_features,
    softmax_attention,
)
from kexue_hw.kernels.performer_fixed import random_features_np, softmax_attention_fixed  # noqa: E402


def _qkv(n=64, d=8, scale=0.6, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, d, generator=g, dtype=torch.float64) * scale
    k = torch.randn(n, d, generator=g, dtype=torch.float64) * scale
    v = torch.randn(n, d, generator=g, dtype=torch.float64)
    return q, k, v


def test_orthogonal_blocks_and_seeding():
    g = torch.Generator().manual_seed(3)
    w = random_features(20, 8, orthogonal=True, generator=g, dtype=torch.float64)
    assert w.shape == (20, 8)
    for s in (0, 8):
        blk = w[s : s + 8]
        gram = blk @ blk.T
        off_diagonal = gram - torch.diag(torch.diagonal(gram))
        assert torch.allclose(off_diagonal, torch.zeros(8, 8, dtype=torch.float64), atol=1e-10)
    w2 = random_features(20, 8, orthogonal=True, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert torch.equal(w, w2)
    q, k, v = _qkv()
    assert torch.equal(performer_attention(q, k, v, seed=5), performer_attention(q, k, v, seed=5))
    assert not torch.equal(performer_attention(q, k, v, seed=5), performer_attention(q, k, v, seed=6))


@pytest.mark.parametrize("orthogonal", [True, False])
def test_kernel_estimate_is_unbiased(orthogonal):
    q, k, _ = _qkv(n=6, d=8, scale=0.5)
    g = torch.Generator().manual_seed(1)
    w = random_features(40000, 8, orthogonal=orthogonal, generator=g, dtype=torch.float64)
    est = favor_features(q, w, is_query=True, stabilize=False) @ favor_features(k, w, is_query=False, stabilize=False).T
    exact = torch.exp(q @ k.T / math.sqrt(8))
    assert torch.allclose(est, exact, rtol=0.03)


def test_stabilizer_cancels():
    q, k, v = _qkv()
    w = random_features(32, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pq = favor_features(q, w, is_query=True, stabilize=False)
    pk = favor_features(k, w, is_query=False, stabilize=False)
    raw = (pq @ (pk.T @ v)) / (pq @ pk.sum(0, keepdim=True).T)
    assert torch.allclose(performer_attention(q, k, v, features=w), raw)


def test_error_falls_with_features_and_orthogonal_wins():
    q, k, v = _qkv(n=128, d=16, scale=0.5)
    exact = softmax_attention(q, k, v)

    def err(m, orth):
        errs = [((performer_attention(q, k, v, num_features=m, orthogonal=orth, seed=s) - exact).norm() / exact.norm())
                for s in range(12)]
        return float(torch.stack(errs).median())

    assert err(256, True) < err(16, True)
    assert err(256, False) < err(16, False)
    assert err(64, True) < err(64, False)


@pytest.mark.parametrize("chunk", [7, 32, 100])
def test_causal_chunks_equal_the_quadratic_form(chunk):
    q, k, v = _qkv(n=50)
    w = random_features(16, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pq = favor_features(q, w, is_query=True)
    pk = favor_features(k, w, is_query=False)
    a = (pq @ pk.T).tril()
    ref = (a @ v) / a.sum(-1, keepdim=True)
    assert torch.allclose(performer_attention(q, k, v, features=w, causal=True, chunk=chunk), ref)
    # first row attends to itself only
    assert torch.allclose(ref[0], v[0])


def test_exact_attention_chunks_and_causal():
    q, k, v = _qkv(n=33)
    full = torch.softmax(q @ k.T / math.sqrt(8), -1) @ v
    assert torch.allclose(softmax_attention(q, k, v, chunk=5), full)
    causal = torch.softmax((q @ k.T / math.sqrt(8)).masked_fill(torch.ones(33, 33).triu(1).bool(), -math.inf), -1) @ v
    assert torch.allclose(softmax_attention(q, k, v, causal=True, chunk=4), causal)


def test_module_redraw_and_batching():
    m = PerformerAttention(8, 16, redraw_interval=2, seed=0)
    q, k, v = (t.float().expand(2, 3, -1, -1) for t in _qkv(n=10))
    w0 = m.features.clone()
    m.train()
    m(q, k, v)
    m(q, k, v)
    assert torch.equal(m.features, w0)
    out = m(q, k, v)
    assert not torch.equal(m.features, w0)
    assert out.shape == (2, 3, 10, 8)
    m.eval()
    w1 = m.features.clone()
    for _ in range(3):
        m(q, k, v)
    assert torch.equal(m.features, w1)
    assert torch.equal(PerformerAttention(8, 16, seed=4).features, PerformerAttention(8, 16, seed=4).features)
    assert "num_features=16" in repr(m)


def test_matmul_hook_sees_every_product():
    calls = []

    def mm(a, b):
        calls.append((a.shape, b.shape))
        return torch.matmul(a, b)

    q, k, v = _qkv(n=20)
    w = random_features(16, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.allclose(performer_attention(q, k, v, features=w, matmul=mm), performer_attention(q, k, v, features=w))
    assert len(calls) == 6  # 2 projections, 2 squared norms, K^T[V,1], Q(.)
    calls.clear()
    performer_attention(q, k, v, features=w, matmul=mm, causal=True, chunk=8)
    assert len(calls) == 8 * 3  # per chunk: 4 feature matmuls, local block, its product, state read, state update


def test_under_emulation_shim():
    emulate = pytest.importorskip("kexue_hw.emulate")
    if not hasattr(emulate, "emulated_matmul"):
        pytest.skip("kexue_hw.emulate.emulated_matmul not available yet")
    q, k, v = (t.float() for t in _qkv(n=32))
    w = random_features(16, 8, generator=torch.Generator().manual_seed(0))
    ref = performer_attention(q, k, v, features=w)
    approx = performer_attention(q, k, v, features=w, unit=Mitchell(16, True))
    rel = float((approx - ref).norm() / ref.norm())
    assert 1e-4 < rel < 0.3
    exact_unit = performer_attention(q, k, v, features=w, unit=Exact(16, True))
    assert float((exact_unit - ref).norm() / ref.norm()) < 0.02
    # the function mode catches the plain torch.matmul calls too, causal path included
    with emulate.EmulationMode(emulate.EmulationConfig(unit=Mitchell(16, True))):
        moded = performer_attention(q, k, v, features=w)
        moded_causal = performer_attention(q, k, v, features=w, causal=True, chunk=8)
    assert torch.allclose(moded, approx, atol=1e-5)
    ref_causal = performer_attention(q, k, v, features=w, causal=True, chunk=8)
    assert 1e-4 < float((moded_causal - ref_causal).norm() / ref_causal.norm()) < 0.3


def test_fixed_point_golden_path():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((40, 8)) * s for s in (0.6, 0.6, 1.0))
    w = random_features_np(24, 8, seed=2)
    ref = performer_attention(*(torch.tensor(t) for t in (q, k, v)), features=torch.tensor(w)).numpy()
    refc = performer_attention(*(torch.tensor(t) for t in (q, k, v)), features=torch.tensor(w), causal=True, chunk=16)
    exact = performer_attention_fixed(Exact(16, True), q, k, v, w)
    assert np.abs(exact - ref).max() < 2e-3
    causal = performer_attention_fixed(Exact(16, True), q, k, v, w, causal=True, chunk=16)
    assert np.abs(causal - refc.numpy()).max() < 2e-3
    mitch = performer_attention_fixed(Mitchell(16, True), q, k, v, w)
    assert 1e-3 < np.abs(mitch - ref).max() < 0.3
    assert np.abs(performer_attention_fixed(Mitchell(12, False), q, k, v, w) - ref).max() < 0.3
    ex = softmax_attention(*(torch.tensor(t) for t in (q, k, v))).numpy()
    assert np.abs(softmax_attention_fixed(Exact(16, True), q, k, v) - ex).max() < 2e-3
