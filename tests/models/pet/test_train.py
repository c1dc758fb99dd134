"""Cloze loss, few-shot training on a tiny model, the checkpoint it writes, and emulation coverage."""

import json

import pytest
import torch

from kexue_hw.models.pet.data import LabelledSet
from kexue_hw.models.pet.patterns import Pattern
from kexue_hw.models.pet.scorers import MaskedLMScorer
from kexue_hw.models.pet.train import PetSettings, cloze_loss, noise_inputs, train_mlm

from .conftest import TEXTS


def test_cloze_loss_touches_only_the_label_position(tiny_models, char_tokenizer):
    model = tiny_models["bert"](char_tokenizer)
    sc = MaskedLMScorer(model, char_tokenizer)
    rows = [sc.encode_one(t, Pattern("{mask}满意。{x}")) for t in TEXTS[:4]]
    batch = sc.collate(rows)
    hidden = sc.hidden(batch["input_ids"], batch["attention_mask"]).detach().requires_grad_(True)
    ids = [[char_tokenizer.convert_tokens_to_ids(w)] for w in ("差", "好")]
    loss = cloze_loss(hidden, sc.head, batch["positions"], [[ids[0]], [ids[1]]], torch.tensor([1, 0, 1, 0]))
    loss.backward()
    touched = hidden.grad.abs().sum(-1) > 0
    expected = torch.zeros_like(touched)
    expected[torch.arange(4), batch["positions"][:, 0]] = True
    assert torch.equal(touched, expected)
    # only the label words' logits matter: the loss is the class cross-entropy over them
    with torch.no_grad():
        logits = sc.head(hidden[torch.arange(4), batch["positions"][:, 0]])
        want = torch.nn.functional.cross_entropy(logits[:, [ids[0][0], ids[1][0]]], torch.tensor([1, 0, 1, 0]))
    assert torch.allclose(loss, want, atol=1e-5)


def test_noise_stays_inside_the_input_text(tiny_models, char_tokenizer):
    sc = MaskedLMScorer(tiny_models["bert"](char_tokenizer), char_tokenizer)
    batch = sc.collate([sc.encode_one(t, Pattern("{x}。总之{mask}满意。")) for t in TEXTS])
    g = torch.Generator().manual_seed(0)
    inputs, labels = noise_inputs(batch, prob=0.9, vocab_size=len(char_tokenizer), special=5,
                                  mask_id=char_tokenizer.mask_token_id, generator=g)
    pos = torch.arange(inputs.shape[1])
    for i, (a, b) in enumerate(batch["x_spans"].tolist()):
        chosen = (labels[i] != -100).nonzero().flatten()
        assert len(chosen) > 0 and ((chosen >= a) & (chosen < b)).all()
        outside = (pos < a) | (pos >= b)
        assert torch.equal(inputs[i][outside], batch["input_ids"][i][outside])


@pytest.fixture(scope="module")
def tiny_train_set(tmp_path_factory):
    texts = [t + str(i) for i in range(6) for t in TEXTS[:4]]
    labels = [1, 0, 1, 0] * 6
    path = tmp_path_factory.mktemp("d") / "train.data"
    path.write_text("".join(f"{t}\t{y}\n" for t, y in zip(texts, labels)), encoding="utf-8")
    return LabelledSet(texts, labels, str(path))


@pytest.mark.parametrize("semi", [False, True])
def test_few_shot_and_semi_training_write_a_loadable_checkpoint(semi, bert_dir, tiny_train_set, tmp_path):
    from kexue_hw.models.pet.task import PetClassifier

    s = PetSettings(patterns=(0, 1), shots=8, steps=2, batch=4, semi=semi, distill_pool=6,
                    distill_steps=2, distill_batch=4)
    out = tmp_path / "pet"
    manifest = train_mlm(bert_dir, tiny_train_set, s, out, eval_set=tiny_train_set, progress=False, threads=1)
    spec = json.loads((out / "pet.json").read_text())
    assert spec["kind"] == ("mlm-semi" if semi else "mlm-few-shot")
    assert len(spec["members"]) == (1 if semi else 2)
    assert manifest["figures"]["shots"] == 8 and manifest["settings"]["semi"] is semi
    assert 0 <= manifest["figures"]["eval_accuracy"] <= 1
    assert len(manifest["few_shot_indices"]) == 8
    for i, member in enumerate(spec["members"]):  # each member's weights carry the checkpoint's record
        own = json.loads((out / member["folder"] / "manifest.json").read_text())
        assert own["member"] == i and own["seed"] == manifest["seed"] and own["data"] == manifest["data"]
        assert "model.safetensors" in {f["file"] for f in own["files"]}
    clf = PetClassifier.load(out, scorer="mlm")
    lp = clf.log_probs(TEXTS)
    assert lp.shape == (len(TEXTS), 2)
    # reproducible: same settings and seed, same weights
    if not semi:
        again = train_mlm(bert_dir, tiny_train_set, s, tmp_path / "again", progress=False, threads=1)
        assert again["member_files"] == manifest["member_files"]
        assert any(f["file"].endswith("model.safetensors") for f in manifest["member_files"])


def test_mlm_checkpoint_runs_every_product_on_the_unit(bert_dir, tiny_train_set, tmp_path):
    from kexue_hw.models.evaluation import compare_units
    from kexue_hw.models.pet.task import build_task

    out = tmp_path / "pet"
    train_mlm(bert_dir, tiny_train_set, PetSettings(patterns=(1,), shots=4, steps=1, batch=2), out, progress=False,
              threads=1)
    task = build_task("mlm", tiny_train_set.path, 6, out)
    r = compare_units(task.run, ["mitchell_s8", "float_mitchell_bf16"], probe=task.probe)
    assert r["n"] == 6 and len(task.checkpoint_hash) == 64
    for row in r["units"]:
        assert row["all_emulated"], row["exact_ops"]
        assert row["emulated_calls"]["attention_qk"] > 0 and row["emulated_calls"]["linear"] > 0


def test_semi_with_reused_few_shot_members_equals_training_them_again(bert_dir, tiny_train_set, tmp_path):
    """The benchmark reuses the few-shot ensemble; ``pet train --semi`` retrains it: same checkpoint."""
    few = PetSettings(patterns=(0, 1), shots=8, steps=2, batch=4, distill_pool=6, distill_steps=2, distill_batch=4)
    semi = PetSettings(**{**few.__dict__, "semi": True})
    m = train_mlm(bert_dir, tiny_train_set, few, tmp_path / "few", progress=False, threads=1)
    reused = train_mlm(bert_dir, tiny_train_set, semi, tmp_path / "a", progress=False, threads=1,
                       members=m["_members"], members_seconds=m["training_seconds"])
    fresh = train_mlm(bert_dir, tiny_train_set, semi, tmp_path / "b", progress=False, threads=1)
    assert reused["member_files"] == fresh["member_files"]
    assert reused["training_seconds"] >= m["training_seconds"]


@pytest.mark.parametrize("name", ["pet-mlm-few-shot", "pet-mlm-semi"])
def test_shipped_members_have_manifests_matching_their_files(name):
    import hashlib

    from kexue_hw.models.pet.shipped import WEIGHTS

    folder = WEIGHTS / name
    spec = json.loads((folder / "pet.json").read_text())
    for member in spec["members"]:
        own = json.loads((folder / member["folder"] / "manifest.json").read_text())
        assert own["of_checkpoint"] == name and own["code_commit"] and own["data"] and own["figures"]
        for f in own["files"]:
            path = folder / member["folder"] / f["file"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == f["sha256"], f["file"]
