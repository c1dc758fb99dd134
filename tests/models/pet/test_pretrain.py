"""Character vocabulary, packing, masking, and a two-step pretraining run on a fixture corpus."""

import json

import pytest
import torch

from kexue_hw.models.pet.pretrain import PretrainSettings, build_vocab, mask_tokens, pack, pretrain

from .conftest import TEXTS


def test_vocab_is_characters_and_continuations():
    v = build_vocab(["好吃 ab", "好 ba"], min_count=1)
    assert v[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert v[5] == "好"  # most frequent first
    assert {"吃", "a", "##b", "b", "##a"} <= set(v)
    assert "好吃" not in v


def test_pack_and_mask():
    rows = pack([[5, 6, 7], [8, 9]], 3, sep_id=3)
    assert rows.tolist() == [[5, 6, 7], [3, 8, 9]]
    with pytest.raises(ValueError):
        pack([[5]], 10, sep_id=3)
    ids = torch.arange(5, 105).repeat(4, 1)
    ids[:, 0] = 2  # [CLS] is never chosen
    protect = torch.zeros_like(ids, dtype=torch.bool)
    protect[:, 50:] = True
    g = torch.Generator().manual_seed(0)
    inputs, labels = mask_tokens(ids, prob=0.5, vocab_size=200, special=5, mask_id=4, generator=g, protect=protect)
    chosen = labels != -100
    assert not chosen[:, 0].any() and not chosen[:, 50:].any() and chosen.sum() > 50
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(inputs[~chosen], ids[~chosen])
    assert (inputs[chosen] == 4).float().mean() > 0.6  # most chosen become [MASK]


def test_settings_errors():
    with pytest.raises(ValueError, match="--hidden"):
        PretrainSettings(hidden=30, heads=4).validate()
    with pytest.raises(ValueError, match="--mask-prob"):
        PretrainSettings(mask_prob=1.5).validate()


def test_tiny_pretraining_writes_a_model_folder_and_resumes(tmp_path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(TEXTS), encoding="utf-8")
    sources = ({"sentiment_train": TEXTS * 20, "mwp": TEXTS[:3] * 20}, [corpus])
    s = PretrainSettings(layers=1, hidden=16, heads=2, intermediate=32, seq_len=16, batch=4, steps=4, warmup=1,
                         min_count=1, heldout_fraction=0.1)
    out = tmp_path / "bert"
    m = pretrain(s, out, sources=sources, progress=False, threads=1, minutes=None)
    assert m["figures"]["complete"] and m["figures"]["steps"] == 4
    assert {"config.json", "vocab.txt", "model.safetensors", "manifest.json"} <= {p.name for p in out.iterdir()}
    assert set(m["figures"]["heldout"]) == {"sentiment_train", "mwp"}
    model = AutoModelForMaskedLM.from_pretrained(str(out))
    tok = AutoTokenizer.from_pretrained(str(out))
    assert model.config.vocab_size == len(tok) and tok.tokenize("好吃") == ["好", "吃"]
    # a longer schedule resumed from the checkpoint must carry the same settings
    with pytest.raises(ValueError, match="settings differ"):
        pretrain(PretrainSettings(**{**s.__dict__, "steps": 6}), out, sources=sources, resume=True, progress=False,
                 threads=1)
    again = pretrain(s, out, sources=sources, resume=True, progress=False, threads=1)
    assert again["figures"]["steps"] == 4
    assert json.loads((out / "manifest.json").read_text())["settings"]["steps"] == 4
    with pytest.raises(ValueError, match="no checkpoint"):
        pretrain(s, tmp_path / "other", sources=sources, resume=True, progress=False, threads=1)
