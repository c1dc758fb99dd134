"""Solver folders, training with checkpoints and resume, the BERT path, and the ``kexue-hw mwp`` commands."""

import json
import random

import pytest
import torch

from kexue_hw.cli import main
from kexue_hw.models.mwp.solver import Solver
from kexue_hw.models.mwp.train import TrainSettings, train

TINY = dict(d_model=32, n_layers=1, n_heads=2, d_ff=64, dropout=0.0, eval_every=10, dev_size=8, batch_size=16)


def _write_problems(path, n=80, seed=0):
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        a, b = rng.randint(10, 99), rng.randint(1, 9)
        if i % 2:
            text, eq, ans = f"小明有{a}个苹果，又买了{b}个，现在有几个？", f"x={a}+{b}", a + b
        else:
            text, eq, ans = f"小红有{a}颗糖，吃了{b}颗，还剩几颗？", f"x={a}-{b}", a - b
        lines.append(json.dumps({"id": str(i), "original_text": text, "equation": eq, "ans": str(ans)}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("mwp")
    data = _write_problems(d / "train.json")
    test = _write_problems(d / "test.json", n=20, seed=1)
    settings = TrainSettings(data=[str(data)], test=str(test), steps=60, lr=3e-3, warmup=5, **TINY)
    figures = train(settings, d / "out", log=lambda *_: None, progress=False)
    return d, settings, figures


def test_training_writes_a_loadable_solver_with_manifest(trained):
    d, settings, figures = trained
    manifest = json.loads((d / "out" / "manifest.json").read_text())
    assert manifest["settings"]["steps"] == 60 and manifest["seed"] == 0
    assert {f["file"] for f in manifest["files"]} >= {"config.json", "vocab.json", "model.safetensors"}
    assert manifest["figures"]["test_n"] == 20
    solver = Solver.load(d / "out")
    assert solver.model.num_parameters() > 0
    assert 0 <= figures["test_accuracy_beam3"] <= 1
    # the tiny model has learnt the two patterns well enough to be right on most problems
    assert figures["test_accuracy_greedy"] >= 0.5, figures


def test_resume_continues_and_refuses_changed_settings(trained, tmp_path):
    d, settings, _ = trained
    out = tmp_path / "out"
    short = TrainSettings(**{**settings.__dict__, "steps": 20, "test": None})
    train(short, out, log=lambda *_: None, progress=False)
    state = torch.load(out / "run" / "checkpoint.pt", weights_only=False)
    assert state["step"] == 20
    with pytest.raises(ValueError, match="settings differ"):
        train(TrainSettings(**{**short.__dict__, "lr": 1e-4}), out, resume=True, log=lambda *_: None, progress=False)
    longer = TrainSettings(**{**short.__dict__, "steps": 30})
    with pytest.raises(ValueError, match="steps"):
        train(longer, out, resume=True, log=lambda *_: None, progress=False)


def test_save_load_round_trip_and_foreign_vocabulary(trained, tmp_path):
    d, _, _ = trained
    solver = Solver.load(d / "out")
    solver.save(tmp_path / "copy")
    again = Solver.load(tmp_path / "copy")
    for (k, a), (_, b) in zip(solver.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), k
    # a vocabulary from another model: refused with a clear message
    vocab = json.loads((tmp_path / "copy" / "vocab.json").read_text())
    vocab["tokens"].append("多余")
    (tmp_path / "copy" / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    with pytest.raises(ValueError, match="does not belong to this model"):
        Solver.load(tmp_path / "copy")
    with pytest.raises(ValueError, match="no config.json"):
        Solver.load(tmp_path / "nowhere")


def test_solve_and_long_problem(trained):
    d, _, _ = trained
    solver = Solver.load(d / "out")
    pred = solver.solve("小明有20个苹果，又买了3个，现在有几个？")
    assert pred.equation is not None and pred.value is not None
    with pytest.raises(ValueError, match="longer than the model's maximum"):
        solver.solve("很" * (solver.model.cfg.max_source + 1))


def test_cli_data_eval_solve(trained, capsys):
    d, _, _ = trained
    assert main(["mwp", "data", str(d / "test.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"read": 20, "kept": 20, "dropped": {}}
    assert main(["mwp", "eval", "--data", str(d / "test.json"), "--checkpoint", str(d / "out"), "--limit", "6",
                 "--beam", "2", "--unit", "exact_s8", "mitchell_s8", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n"] == 6 and {"accuracy", "dropped", "units", "exact_match"} <= set(res)
    assert [u["unit"] for u in res["units"]] == ["exact_s8", "mitchell_s8"]
    assert all(u["all_emulated"] for u in res["units"])
    assert main(["mwp", "solve", "小明有20个苹果，又买了3个，现在有几个？", "--checkpoint", str(d / "out"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"equation", "value", "exact"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["mwp", "eval", "--data", "x.json", "--unit", "mitchel_s8"], "does not parse"),
        (["mwp", "data", "{missing}"], "no such file"),
        (["mwp", "data", "{empty}"], "empty file"),
        (["mwp", "data", "{garbage}"], "neither"),
        (["mwp", "solve", "", "--checkpoint", "{out}"], "empty"),
        (["mwp", "eval", "--data", "{garbage}", "--checkpoint", "{out}"], "neither"),
    ],
)
def test_cli_bad_input_is_one_line(trained, tmp_path, run_cli, argv, message):
    d, _, _ = trained
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "garbage.json").write_text("hello\nworld\n")
    paths = {"missing": tmp_path / "nope.json", "empty": tmp_path / "empty.json", "garbage": tmp_path / "garbage.json",
             "out": d / "out"}
    argv = [a.format(**paths) for a in argv]
    code, _, err = run_cli(argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_bert_initialisation_path(trained, tmp_path):
    """A tiny BERT from a config, saved as a local folder, initialises the solver; the mask holds."""
    transformers = pytest.importorskip("transformers")
    d, settings, _ = trained
    chars = sorted({c for line in (d / "train.json").read_text("utf-8").splitlines() for c in json.loads(line)["original_text"]})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "+", "-"] + chars
    bert_dir = tmp_path / "bert"
    bert_dir.mkdir()
    (bert_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    cfg = transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=64, max_position_embeddings=512)
    transformers.BertModel(cfg).save_pretrained(bert_dir)
    s = TrainSettings(**{**settings.__dict__, "steps": 4, "test": None, "init_from": str(bert_dir), "max_source": 128,
                         "max_target": 32})
    train(s, tmp_path / "out", log=lambda *_: None, progress=False)
    solver = Solver.load(tmp_path / "out")
    assert type(solver.model).__name__ == "BertUniLMSolver"
    # pretrained rows were kept for tokens the BERT knows
    plus = solver.vocab.stoi["+"]
    assert int(solver.model.vocab_to_bert[plus]) == vocab.index("+")
    # UniLM mask: equation position t sees only positions <= t
    model = solver.model.eval()
    src = torch.tensor([solver.vocab.encode(list("小明有个苹果"))])
    lens = torch.tensor([src.shape[1]])
    t1 = model.target_ids[:3][None]
    t2 = torch.cat([t1[:, :2], model.target_ids[3:4][None]], 1)
    a, b = model(src, lens, t1)[0], model(src, lens, t2)[0]
    assert torch.allclose(a[:, :2], b[:, :2], atol=1e-5) and not torch.allclose(a[:, 2], b[:, 2])
    assert solver.solve("小明有20个苹果，又买了3个，现在有几个？", beam=2) is not None
    with pytest.raises(ValueError, match="no config.json"):
        train(TrainSettings(**{**s.__dict__, "init_from": str(tmp_path)}), tmp_path / "o2", log=lambda *_: None,
              progress=False)


def test_second_stage_starts_from_a_trained_solver(trained, tmp_path):
    d, settings, _ = trained
    stage2 = TrainSettings(**{**settings.__dict__, "steps": 3, "test": None, "init_solver": str(d / "out")})
    train(stage2, tmp_path / "stage2", log=lambda *_: None, progress=False)
    manifest = json.loads((tmp_path / "stage2" / "manifest.json").read_text())
    assert manifest["initialised_from"]["settings"]["steps"] == 60
    assert manifest["total_training_seconds"] >= manifest["training_seconds"]
    assert Solver.load(tmp_path / "stage2").vocab == Solver.load(d / "out").vocab
