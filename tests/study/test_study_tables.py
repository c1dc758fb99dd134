"""The study and its cost column take table units (``table:FILE.npy``) like the built-in ones."""

import json

import numpy as np
import pytest

from kexue_hw import Mitchell, Table
from kexue_hw.arith import tabulate
from kexue_hw.study.cost import unit_cost


def test_a_table_without_verilog_has_no_cost_and_says_why(tmp_path):
    cost = unit_cost(Table(np.arange(16).reshape(4, 4) // 3), cache=None)
    assert cost["cost"] is None and "no hardware" in cost["reason"] and "--verilog" in cost["reason"]


@pytest.fixture(scope="module")
def tiny_mwp(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from kexue_hw.models.mwp.data import load_problems
    from kexue_hw.models.mwp.solver import Solver
    from kexue_hw.models.mwp.train import TrainSettings

    d = tmp_path_factory.mktemp("study_tables")
    rows = [{"id": str(i), "original_text": f"小明有{10 + 7 * i}个苹果，又买了{1 + i % 9}个，现在有几个？",
             "equation": f"x={10 + 7 * i}+{1 + i % 9}", "ans": str(10 + 7 * i + 1 + i % 9)} for i in range(8)]  # fmt: skip
    (d / "p.json").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    settings = TrainSettings(data=[str(d / "p.json")], d_model=32, n_layers=1, n_heads=2, d_ff=64, dropout=0.0)
    Solver.build(load_problems(d / "p.json")[0], settings).save(d / "solver")
    return d


def test_the_study_runs_a_table_file_exactly_as_its_unit(tiny_mwp):
    from kexue_hw.study.grid import StudySettings, run_study

    np.save(tiny_mwp / "m8.npy", tabulate(Mitchell(8, signed=True)).values)
    settings = StudySettings(models=["mwp"], units=["mitchell_s8", f"table:{tiny_mwp / 'm8.npy'}"], kernels=["softmax"],
                             data={"mwp": str(tiny_mwp / "p.json")}, checkpoints={"mwp": str(tiny_mwp / "solver")},
                             beam=1, cost=False)  # fmt: skip
    rows = {r["unit"]: r for r in run_study(settings, progress=False)}
    table_row = next(r for name, r in rows.items() if name.startswith("table"))
    assert table_row["status"] == "ok" and rows["mitchell_s8"]["status"] == "ok", (table_row, rows["mitchell_s8"])
    assert table_row["accuracy"] == rows["mitchell_s8"]["accuracy"]
    assert table_row["agreement"] == rows["mitchell_s8"]["agreement"]
