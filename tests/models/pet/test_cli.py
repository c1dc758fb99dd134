"""``kexue-hw pet``: registration on a fresh parser and its error paths (one line, exit 2)."""

import argparse

import pytest

from kexue_hw.models.pet import cli


def test_register_adds_the_verbs():
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    for verb in ("pretrain", "train", "eval", "classify"):
        args = parser.parse_args(["pet", verb] + (["--out", "x"] if verb == "train" else [])
                                 + (["文本"] if verb == "classify" else []))
        assert args.pet_command == verb and callable(args.func)
    args = parser.parse_args(["pet", "eval", "--unit", "mitchell_s8", "exact_s8", "--limit", "5", "--json"])
    assert args.unit == ["mitchell_s8", "exact_s8"] and args.limit == 5


@pytest.mark.parametrize("argv", [["pretrain", "--steps", "0"], ["eval", "--limit", "-3"],
                                  ["eval", "--scorer", "rnn"], ["train"], ["pretrain", "--minutes", "abc"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    assert "error" in capsys.readouterr().err


def test_bad_values_are_one_line_errors(tmp_path, capsys):
    data = tmp_path / "d.data"
    data.write_text("好\t1\n", encoding="utf-8")
    cases = [
        (["eval", "--data", str(tmp_path / "missing.data"), "--checkpoint", str(tmp_path)], "no such file"),
        (["eval", "--data", str(data), "--unit", "mitchell_q9"], "unit name"),
        (["eval", "--data", str(data), "--checkpoint", str(tmp_path)], "not a PET checkpoint"),
        (["classify", "好", "--model", str(tmp_path / "nope")], "no such folder"),
        (["classify", "  "], "non-empty text"),
        (["train", "--scorer", "mlm", "--zero-shot", "--out", str(tmp_path / "o"), "--data", str(data),
          "--eval-data", str(data)], "--zero-shot"),
    ]
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err


def test_classify_and_eval_on_a_tiny_checkpoint(bert_dir, tmp_path, capsys):
    import json

    from kexue_hw.models.pet.data import LabelledSet
    from kexue_hw.models.pet.train import PetSettings, train_mlm

    data = tmp_path / "d.data"
    data.write_text("很好吃\t1\n太难吃\t0\n坏行\n好\t1\n", encoding="utf-8")
    train_set = LabelledSet(["很好吃", "太难吃", "好", "差"], [1, 0, 1, 0], str(data))
    ckpt = tmp_path / "pet"
    train_mlm(bert_dir, train_set, PetSettings(patterns=(0,), shots=2, steps=1, batch=2), ckpt, progress=False,
              threads=1)
    assert cli.main(["classify", "这家店的菜太难吃了", "--checkpoint", str(ckpt), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["label"] in ("negative", "positive")
    assert abs(sum(row["probabilities"].values()) - 1) < 1e-5
    assert cli.main(["eval", "--data", str(data), "--checkpoint", str(ckpt), "--unit", "exact_s8", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["n"] == 3 and result["malformed"] == 1 and "malformed" in captured.err
    assert result["units"][0]["unit"] == "exact_s8" and result["units"][0]["all_emulated"]
    # a masked-LM checkpoint is not a causal-LM one
    assert cli.main(["eval", "--data", str(data), "--checkpoint", str(ckpt), "--scorer", "clm"]) == 2
