"""The causal-LM label-word head and its emulation coverage on a tiny Llama."""

import torch

from kexue_hw.models.pet.clm_head import fit_head, label_word_init
from kexue_hw.models.pet.patterns import Pattern, Verbalizer
from kexue_hw.models.pet.scorers import CausalLMScorer

from .conftest import TEXTS


def test_label_word_init_is_the_lm_head_rows(tiny_models, char_tokenizer):
    model = tiny_models["llama"](char_tokenizer)
    sc = CausalLMScorer(model, char_tokenizer)
    v = Verbalizer((("差", "不"), ("好",)))
    w0 = label_word_init(sc, v)
    rows = model.get_output_embeddings().weight
    ids = [char_tokenizer.convert_tokens_to_ids(c) for c in ("差", "不", "好")]
    assert torch.allclose(w0[0], rows[ids[:2]].mean(0)) and torch.allclose(w0[1], rows[ids[2]])


def test_fit_head_learns_a_separable_problem_and_keeps_the_init_when_pulled_hard():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 8, generator=g)
    y = (x[:, 0] > 0).long().tolist()
    w0 = torch.zeros(2, 8)
    w, b, lam, cv = fit_head(x, y, w0, lambdas=(1e-4, 1e-2))
    assert set(cv) == {1e-4, 1e-2} and lam in cv
    acc = ((x @ w.T + b).argmax(-1) == torch.tensor(y)).float().mean().item()
    assert acc >= 0.95
    w_hard, _, _, _ = fit_head(x, y, w0 + 1.0, lambdas=(1e6,))
    assert torch.allclose(w_hard, w0 + 1.0, atol=1e-3)


def test_causal_lm_every_product_on_the_unit(tiny_models, char_tokenizer):
    from kexue_hw.emulate import track
    from kexue_hw.models.evaluation import unit_context

    model = tiny_models["llama"](char_tokenizer)
    sc = CausalLMScorer(model, char_tokenizer, batch_size=3)
    pattern, v = Pattern("{x}。感觉"), Verbalizer((("不好",), ("好",)))
    for head in (None, (torch.randn(2, 32), torch.zeros(2))):
        sc.head = head
        with unit_context("mitchell_s8"), track() as cov:
            sc.class_log_probs(TEXTS[:3], pattern, v)
        assert cov.all_emulated, cov.exact
        # 2 layers x 7 linears, plus the LM head or the trained head
        assert cov.emulated["linear"] >= 15 and cov.emulated["attention_qk"] >= 2
