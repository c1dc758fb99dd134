"""Scorers on tiny models built from configs: batched, padding-aware, multi-token label words."""

import pytest
import torch

from kexue_hw.models.pet.patterns import Pattern, Verbalizer
from kexue_hw.models.pet.scorers import CausalLMScorer, MaskedLMScorer

from .conftest import TEXTS

V = Verbalizer((("差",), ("好",)))


@pytest.mark.parametrize("kind", ["bert", "albert"])
def test_masked_lm_scores_are_batch_invariant_log_probs(kind, tiny_models, char_tokenizer):
    model = tiny_models[kind](char_tokenizer)
    pattern = Pattern("{mask}满意。{x}")
    one = MaskedLMScorer(model, char_tokenizer, batch_size=1).class_log_probs(TEXTS, pattern, V)
    many = MaskedLMScorer(model, char_tokenizer, batch_size=4).class_log_probs(TEXTS, pattern, V)
    assert one.shape == (len(TEXTS), 2)
    assert torch.allclose(one.exp().sum(-1), torch.ones(len(TEXTS)), atol=1e-5)
    assert torch.allclose(one, many, atol=1e-5)  # padding does not change a score


def test_masked_lm_mask_position_and_truncation(tiny_models, char_tokenizer):
    sc = MaskedLMScorer(tiny_models["bert"](char_tokenizer), char_tokenizer, max_length=12)
    mask = char_tokenizer.mask_token_id
    for template in ("{mask}满意。{x}", "{x}。总之{mask}满意。"):
        ids, pos, (a, b) = sc.encode_one(TEXTS[0] * 3, Pattern(template), n_masks=2)
        assert len(ids) == 12  # the input is cut, the pattern kept
        assert [ids[p] for p in pos] == [mask, mask]
        assert ids[0] == char_tokenizer.cls_token_id and ids[-1] == char_tokenizer.sep_token_id
        assert mask not in ids[a:b] and b > a


def test_masked_lm_multi_token_word_is_the_product_of_its_token_probabilities(tiny_models, char_tokenizer):
    model = tiny_models["bert"](char_tokenizer)
    sc = MaskedLMScorer(model, char_tokenizer)
    pattern = Pattern("{mask}满意。{x}")
    text = TEXTS[1]
    got = sc.class_log_probs([text], pattern, Verbalizer((("不好", "差"), ("很好",))))
    # by hand: two masks for the two-character words, one for 差
    def word_lp(word):
        ids = char_tokenizer(word, add_special_tokens=False)["input_ids"]
        enc, pos, _ = sc.encode_one(text, pattern, len(ids))
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([enc])).logits[0].log_softmax(-1)
        return sum(logits[p, t] for p, t in zip(pos, ids))

    neg = torch.logsumexp(torch.stack([word_lp("不好"), word_lp("差")]), 0)
    pos_ = word_lp("很好")
    want = torch.stack([neg, pos_]).log_softmax(-1)
    assert torch.allclose(got[0], want, atol=1e-5)


def test_unknown_label_word_is_an_error(tiny_models, char_tokenizer):
    sc = MaskedLMScorer(tiny_models["bert"](char_tokenizer), char_tokenizer)
    with pytest.raises(ValueError, match="vocabulary"):
        sc.class_log_probs(TEXTS[:1], Pattern("{mask}{x}"), Verbalizer((("鑫",), ("好",))))
    with pytest.raises(ValueError, match="no \\{mask\\}"):
        sc.class_log_probs(TEXTS[:1], Pattern("{x}"), V)


def test_causal_lm_scores_batch_invariant_and_multi_token(tiny_models, char_tokenizer):
    model = tiny_models["llama"](char_tokenizer)
    pattern = Pattern("评论：{x}。感觉")
    v = Verbalizer((("不好", "差"), ("好",)))
    one = CausalLMScorer(model, char_tokenizer, batch_size=1).class_log_probs(TEXTS, pattern, v)
    many = CausalLMScorer(model, char_tokenizer, batch_size=4).class_log_probs(TEXTS, pattern, v)
    assert torch.allclose(one, many, atol=1e-5)
    # by hand for one text: sum of next-token log-probs of each word's tokens
    sc = CausalLMScorer(model, char_tokenizer)
    text = TEXTS[2]

    def word_lp(word):
        wid = char_tokenizer(word, add_special_tokens=False)["input_ids"]
        prompt = sc.encode_one(text, pattern)
        with torch.no_grad():
            logp = model(input_ids=torch.tensor([prompt + wid])).logits[0].log_softmax(-1)
        return sum(logp[len(prompt) - 1 + i, t] for i, t in enumerate(wid))

    neg = torch.logsumexp(torch.stack([word_lp("不好"), word_lp("差")]), 0)
    want = torch.stack([neg, word_lp("好")]).log_softmax(-1)
    assert torch.allclose(one[2], want, atol=1e-5)


def test_causal_lm_trained_head_reads_the_answer_position(tiny_models, char_tokenizer):
    model = tiny_models["llama"](char_tokenizer)
    pattern = Pattern("{x}。感觉")
    sc = CausalLMScorer(model, char_tokenizer, batch_size=3)
    feats = sc.features(TEXTS, pattern)
    w, b = torch.randn(2, feats.shape[1]), torch.randn(2)
    sc.head = (w, b)
    got = sc.class_log_probs(TEXTS, pattern, V)
    assert torch.allclose(got, (feats @ w.T + b).log_softmax(-1), atol=1e-5)
    with torch.no_grad():
        ids = sc.encode_one(TEXTS[0], pattern)
        h = model.model(input_ids=torch.tensor([ids])).last_hidden_state[0, -1]
    assert torch.allclose(feats[0], h, atol=1e-5)


def test_causal_lm_scores_from_cached_features_equal_the_full_pass(tiny_models, char_tokenizer):
    sc = CausalLMScorer(tiny_models["llama"](char_tokenizer), char_tokenizer, batch_size=4)
    pattern = Pattern("{x}。感觉")
    v = Verbalizer((("差", "不"), ("好",)))
    feats = sc.features(TEXTS, pattern)
    assert torch.allclose(sc.log_probs_from_features(feats, v), sc.class_log_probs(TEXTS, pattern, v), atol=1e-6)
    with pytest.raises(ValueError, match="several tokens"):
        sc.log_probs_from_features(feats, Verbalizer((("不好",), ("好",))))
