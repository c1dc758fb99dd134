"""Tiny PET fixtures built from configs (no download): a character tokenizer, BERT/ALBERT/Llama models."""

import os

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from kexue_hw.models.pet.pretrain import build_vocab, save_tokenizer  # noqa: E402

TEXTS = [
    "这家店的菜很好吃，服务也很好，下次还来。",
    "太差了，菜太难吃，再也不来了。",
    "房间干净，位置方便，很满意。",
    "不满意，房间很脏，态度不好。",
    "感觉一般，没有想象的好。",
    "hello world 123",
]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def char_tokenizer(tmp_path_factory):
    """A BERT character tokenizer over the fixture texts plus the pattern and label characters."""
    vocab = build_vocab(TEXTS + ["总之满意。感觉好", "不很差好"], min_count=1, max_size=500)
    return save_tokenizer(vocab, tmp_path_factory.mktemp("tok"), max_length=64)


def _bert(tok):
    cfg = transformers.BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=48, max_position_embeddings=64, attn_implementation="sdpa")
    return transformers.BertForMaskedLM(cfg).eval()


def _albert(tok):
    cfg = transformers.AlbertConfig(vocab_size=len(tok), embedding_size=16, hidden_size=32, num_hidden_layers=2,
                                    num_attention_heads=2, intermediate_size=48, max_position_embeddings=64,
                                    attn_implementation="sdpa")
    return transformers.AlbertForMaskedLM(cfg).eval()


def _llama(tok):
    cfg = transformers.LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                   attn_implementation="sdpa")
    return transformers.LlamaForCausalLM(cfg).eval()


@pytest.fixture(scope="session")
def tiny_models():
    return {"bert": _bert, "albert": _albert, "llama": _llama}


@pytest.fixture(scope="session")
def bert_dir(char_tokenizer, tmp_path_factory):
    """A tiny BERT masked LM saved as a model folder (random weights)."""
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("bert")
    _bert(char_tokenizer).save_pretrained(str(d))
    char_tokenizer.save_pretrained(str(d))
    (d / "manifest.json").write_text("{}")
    return d
