"""The models' shared pieces: paired statistics, budget, checkpoints, weights and manifests."""

import json
import math
from math import comb

import pytest
import torch

from kexue_hw.models import training
from kexue_hw.models.evaluation import compare_units, resolve_unit
from kexue_hw.spec import Mitchell, SpecError
from kexue_hw.stats import mcnemar_exact, paired_comparison


def test_mcnemar_hand_made_tables():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    # b=0, c=6: two-sided p = 2 * 0.5**6
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    # b=2, c=10: 2 * sum_{i<=2} C(12,i) / 2**12
    assert mcnemar_exact(2, 10) == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert mcnemar_exact(10, 2) == mcnemar_exact(2, 10)
    # large counts stay exact and in [0, 1]
    p = mcnemar_exact(900, 1000)
    assert 0 < p < 0.05
    assert p == pytest.approx(2 * sum(comb(1900, i) for i in range(901)) / 2**1900)
    with pytest.raises(ValueError, match="b must"):
        mcnemar_exact(-1, 3)


def test_paired_comparison():
    ref = [True, True, False, False, True, True]
    oth = [True, False, True, False, False, True]
    r = paired_comparison(ref, oth)
    assert (r["b"], r["c"]) == (2, 1)
    assert r["delta"] == pytest.approx(-1 / 6)
    assert r["accuracy"] == pytest.approx(3 / 6) and r["reference_accuracy"] == pytest.approx(4 / 6)
    lo, hi = r["ci95"]
    assert lo < r["delta"] < hi
    var = 3 / 36 - 1 / 216
    assert hi - lo == pytest.approx(2 * 1.959963984540054 * math.sqrt(var))
    assert paired_comparison(ref, oth, list("abcdef"), list("abcxyz"))["agreement"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="differ in length"):
        paired_comparison(ref, oth[:3])


def test_budget_and_checkpointer(tmp_path):
    with pytest.raises(ValueError, match="--minutes"):
        training.WallClockBudget(0)
    assert not training.WallClockBudget(None).exhausted()
    assert training.WallClockBudget(1, spent=61).exhausted()
    ck = training.Checkpointer(tmp_path / "run", every_seconds=0)
    assert ck.load() is None and ck.due()
    ck.save({"step": 3, "w": torch.arange(4.0)})
    state = ck.load()
    assert state["step"] == 3 and torch.equal(state["w"], torch.arange(4.0))
    ck.path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        ck.load()


def test_weights_and_manifest_round_trip(tmp_path):
    lin = torch.nn.Linear(4, 3)
    training.save_weights(lin.state_dict(), tmp_path / "model.safetensors")
    back = training.load_weights(tmp_path / "model.safetensors")
    assert back["weight"].dtype == torch.float32
    assert torch.equal(back["weight"], lin.weight.detach().half().float())
    data = tmp_path / "data.txt"
    data.write_text("abc", encoding="utf-8")
    m = training.write_manifest(
        tmp_path, model="toy", data=[data], settings={"lr": 1e-3}, seed=7, training_seconds=1.25, figures={"acc": 0.5}
    )
    assert m["data"][0]["sha256"] == training.file_sha256(data)
    assert [f["file"] for f in m["files"]] == ["data.txt", "model.safetensors"]
    assert training.read_manifest(tmp_path) == json.loads((tmp_path / "manifest.json").read_text())
    with pytest.raises(ValueError, match="no manifest"):
        training.read_manifest(tmp_path / "nowhere")


def test_progress_logs_without_terminal(capsys):
    import io

    stream = io.StringIO()
    with training.TrainingProgress(10, "toy", log_every=0, stream=stream) as bar:
        bar.update(2, loss=0.123456)
    assert "toy: 2/10" in stream.getvalue() and "loss 0.1235" in stream.getvalue()


def test_compare_units_runs_each_unit_in_its_context():

    x = torch.linspace(-1, 1, 64).reshape(8, 8)
    w = torch.linspace(-0.5, 0.7, 64).reshape(8, 8)

    def run():
        y = x @ w
        pred = (y > 0).flatten().tolist()
        return [p == (v > 0) for p, v in zip(pred, (x.double() @ w.double()).flatten().tolist())], pred

    res = compare_units(run, ["native", "exact_s8", "mitchell_s8"], probe=lambda: x @ w)
    assert res["accuracy"] == 1.0 and [r["unit"] for r in res["units"]] == ["exact_s8", "mitchell_s8"]
    for row in res["units"]:
        assert row["all_emulated"] and row["emulated_calls"]
        assert 0 <= row["mcnemar_p"] <= 1 and 0 <= row["agreement"] <= 1
    assert resolve_unit("mitchell_s8") == Mitchell(8, True)
    with pytest.raises(SpecError, match="does not parse"):
        compare_units(run, ["mitchel_s8"])
