"""Fine-tuning through an emulated unit, and the learned per-layer assignment, on tiny models."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from kexue_hw.emulate import EmulationMode, track
from kexue_hw.optim.assign import AssignmentSearch, Site, assignment_configs, assignment_cost, product_sites
from kexue_hw.optim.finetune import FinetuneSettings, finetune


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 16)
        self.b = nn.Linear(16, 3)

    def forward(self, x):
        q = self.a(x).unsqueeze(1)
        h = F.scaled_dot_product_attention(q, q, q).squeeze(1)
        return self.b(torch.relu(h))


def _data(n=256):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, :3] * torch.tensor([1.0, -1.0, 0.5])).argmax(-1)
    return x, y


@pytest.mark.parametrize("method", ["ste", "unit_backward", "zo"])
def test_each_method_lowers_the_emulated_loss(method):
    torch.manual_seed(0)
    model = Tiny()
    x, y = _data()

    def batches():
        while True:
            yield x, y

    loss = lambda b: F.cross_entropy(model(b[0]), b[1])  # noqa: E731
    s = FinetuneSettings(unit="mitchell_s8", method=method, minutes=1, max_steps=60 if method != "zo" else 150,
                         lr=3e-2, zo_lr=2e-2, zo_eps=1e-2, zo_directions=4)
    out = finetune(model, loss, batches(), s, progress=False)
    assert out["steps"] == s.max_steps and out["unit"] == "mitchell_s8"
    assert out["last_loss"] < 0.8 * out["first_loss"], out
    # the forward really ran on the unit
    with EmulationMode(s.emulation_config()), track() as cov:
        loss((x, y))
    assert cov.all_emulated and cov.emulated["linear"] == 2


def test_finetune_settings_refuse_bad_values():
    with pytest.raises(ValueError, match="--method"):
        FinetuneSettings(unit="mitchell_s8", method="adam")
    with pytest.raises(ValueError, match="native"):
        FinetuneSettings(unit="native")
    with pytest.raises(ValueError, match="--minutes"):
        FinetuneSettings(unit="mitchell_s8", minutes=0)


def test_sites_configs_and_cost():
    model = Tiny()
    x, _ = _data(4)
    sites = product_sites(model, lambda: model(x))
    assert [s.name for s in sites] == ["a", "", "b"]  # the attention product runs in the root's forward
    assert sites[0].macs == 4 * 8 * 16 and sites[2].macs == 4 * 16 * 3
    units = ["exact_s8", "mitchell_s8", "ilm_s8_c1"]
    configs = assignment_configs(sites, units)
    with EmulationMode(configs, model=model), track() as cov:
        model(x)
    assert cov.layer_units == {"a": {"exact_s8"}, "": {"mitchell_s8"}, "b": {"ilm_s8_c1"}}
    ratio = {"exact_s8": 1.0, "mitchell_s8": 0.5, "ilm_s8_c1": 0.8}
    total = sum(s.macs for s in sites)
    expected = (sites[0].macs * 1.0 + sites[1].macs * 0.5 + sites[2].macs * 0.8) / total
    assert assignment_cost(sites, units, ratio) == pytest.approx(expected)


def test_policy_gradient_finds_the_cheap_accurate_assignment():
    """Toy reward: site 0 must stay exact for accuracy; the others may be cheap."""
    sites = [Site("s0", 100), Site("s1", 100), Site("s2", 100)]
    ratio = {"exact_s8": 1.0, "mitchell_s8": 0.4}

    def accuracy(configs):
        return 1.0 if configs.config_for("s0").unit.describe() == "exact_s8" else 0.5

    search = AssignmentSearch(sites, ["exact_s8", "mitchell_s8"], accuracy, ratio, lam=0.5, samples=6, lr=0.5)
    out = search.run(40)
    assert out["best"] == {"s0": "exact_s8", "s1": "mitchell_s8", "s2": "mitchell_s8"}
    assert out["best_accuracy"] == 1.0 and out["best_cost"] == pytest.approx(0.6)
    assert out["evaluated"] <= 8  # every distinct assignment scored once


def test_lut_ratios_share_one_scale_across_widths(monkeypatch):
    """Choices of different widths are priced against the exact multiplier of the widest one."""
    from kexue_hw.optim import assign
    from kexue_hw.study import cost

    luts = {"exact_s8": 176, "mitchell_s8": 122, "exact_s4": 37}
    monkeypatch.setattr(cost, "unit_cost", lambda unit, target, cache: {"luts": luts[unit.describe()]})
    ratios = assign.unit_lut_ratios(["mitchell_s8", "exact_s4"], cache=object())
    assert ratios == {"mitchell_s8": pytest.approx(122 / 176), "exact_s4": pytest.approx(37 / 176)}
    with pytest.raises(ValueError, match="float_mitchell_bf16"):
        assign.unit_lut_ratios(["mitchell_s8", "float_mitchell_bf16"], cache=object())
