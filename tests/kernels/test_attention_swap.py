"""Swapping Taylor softmax and Performer into F.scaled_dot_product_attention of unmodified models."""

import pytest
import torch
import torch.nn.functional as F

from kexue_hw.emulate import EmulationConfig, EmulationMode, track
from kexue_hw.kernels import attention_context, attention_kernel
from kexue_hw.kernels.attention import AttentionKernelMode
from kexue_hw.spec import Mitchell


def _qkv(seed=0, B=2, H=2, L=5, S=5, d=8):
    g = torch.Generator().manual_seed(seed)
    return [0.5 * torch.randn(B, H, n, d, generator=g) for n in (L, S, S)]


def test_parse_kernel_names():
    assert attention_kernel("taylor4").order == 4
    assert attention_kernel("performer").features == 64
    assert attention_kernel("performer_m16").name == "performer_m16"
    for bad in ("taylor3", "relu", "performer_m0", "taylor"):
        with pytest.raises(ValueError):
            attention_kernel(bad)


@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "causal"])
def test_high_order_taylor_matches_softmax(mask_kind):
    q, k, v = _qkv()
    keep = torch.rand(2, 1, 5, 5, generator=torch.Generator().manual_seed(1)) > 0.3
    keep[..., 0] = True
    kw = {
        "none": {},
        "bool": {"attn_mask": keep},
        "float": {"attn_mask": torch.zeros(keep.shape).masked_fill(~keep, torch.finfo(torch.float32).min)},
        "causal": {"is_causal": True},
    }[mask_kind]
    ref = F.scaled_dot_product_attention(q, k, v, **kw)
    with AttentionKernelMode("taylor16"):
        out = F.scaled_dot_product_attention(q, k, v, **kw)
    assert torch.allclose(out, ref, atol=1e-5)
    with attention_context("taylor2"):
        low = F.scaled_dot_product_attention(q, k, v, **kw)
    assert not torch.allclose(low, ref, atol=1e-4)  # order 2 really is a different kernel


def test_performer_masked_path_equals_linear_path():
    q, k, v = _qkv(L=7, S=7)
    with attention_context("performer_m32"):
        linear = F.scaled_dot_product_attention(q, k, v)
        explicit = F.scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(7, 7, dtype=torch.bool))
        causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        causal_explicit = F.scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(7, 7, dtype=torch.bool).tril())
    assert torch.allclose(linear, explicit, atol=1e-5)
    assert torch.allclose(causal, causal_explicit, atol=1e-5)
    ref = F.scaled_dot_product_attention(q, k, v)
    assert (linear - ref).abs().mean() < 0.2  # an approximation of softmax attention, not noise
    with attention_context("performer_m4096"):
        fine = F.scaled_dot_product_attention(q, k, v)
    assert (fine - ref).abs().mean() < (linear - ref).abs().mean()


def test_swap_under_emulation_is_tracked_and_emulated():
    q, k, v = _qkv()
    with EmulationMode(EmulationConfig(unit=Mitchell(8, True))), attention_context("taylor4"), track() as cov:
        F.scaled_dot_product_attention(q, k, v)
    assert cov.emulated["attention_taylor4"] == 1
    assert cov.emulated["matmul"] == 2 and cov.all_emulated  # Q K^T and P V on the unit
    with attention_context("taylor4"), track() as cov:
        F.scaled_dot_product_attention(q, k, v)
    assert not cov.all_emulated  # native: the kernel's products ran exactly, and track says so


def test_dropout_and_biases_refused():
    q, k, v = _qkv()
    with attention_context("taylor2"):
        with pytest.raises(ValueError, match="dropout"):
            F.scaled_dot_product_attention(q, k, v, dropout_p=0.1)
        with pytest.raises(ValueError, match="additive"):
            F.scaled_dot_product_attention(q, k, v, attn_mask=torch.full((5, 5), 0.5))


def test_hf_bert_attention_is_swapped():
    transformers = pytest.importorskip("transformers")
    cfg = transformers.BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=64, attn_implementation="sdpa")
    model = transformers.BertModel(cfg).eval()
    ids = torch.randint(0, 50, (2, 6))
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2])
    with torch.no_grad():
        ref = model(ids, attention_mask=mask).last_hidden_state
        with attention_context("taylor16"), track() as cov:
            out = model(ids, attention_mask=mask).last_hidden_state
    assert cov.emulated["attention_taylor16"] == 2
    assert torch.allclose(out[0], ref[0], atol=1e-4) and torch.allclose(out[1, :4], ref[1, :4], atol=1e-4)
