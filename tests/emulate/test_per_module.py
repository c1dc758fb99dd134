"""Per-module configs: quantize_ and EmulationMode give each layer its own unit, and track() says which."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from kexue_hw.emulate import EmulationConfig, EmulationMode, ModuleConfigs, quantize_, summary, track
from kexue_hw.spec import Exact, Mitchell, SpecError


class Block(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.ff = nn.Linear(d, d)

    def forward(self, x):
        q, k, v = self.qkv(x).unsqueeze(1).chunk(3, dim=-1)
        return self.ff(F.scaled_dot_product_attention(q, k, v).squeeze(1))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Block(), Block()])
        self.head = nn.Parameter(torch.randn(5, 16))

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return F.linear(x, self.head)  # a product outside any Linear module


MITCHELL = EmulationConfig(unit=Mitchell(8, True))
EXACT8 = EmulationConfig(unit=Exact(8, True))


def test_lookup_order_and_validation():
    mc = ModuleConfigs({"blocks.0.qkv": None, "blocks.*": EXACT8}, default=MITCHELL)
    assert mc.config_for("blocks.0.qkv") is None
    assert mc.config_for("blocks.1.ff") is EXACT8
    assert mc.config_for("other") is MITCHELL
    assert mc.units()["<default>"] == "mitchell_s8"
    with pytest.raises(SpecError, match="must be an EmulationConfig"):
        ModuleConfigs({"x": "mitchell_s8"})


def test_quantize_per_module_and_summary():
    torch.manual_seed(0)
    net = Net()
    quantize_(net, ModuleConfigs({"blocks.0.*": EXACT8, "blocks.1.ff": None}, default=MITCHELL))
    s = summary(net)
    assert s["swapped"] == {"exact_s8": ["blocks.0.qkv", "blocks.0.ff"], "mitchell_s8": ["blocks.1.qkv"]}
    assert s["exact"] == ["blocks.1.ff"]


def test_mode_scopes_function_products_to_their_module():
    torch.manual_seed(0)
    net = Net()
    x = torch.randn(3, 4, 16)
    configs = ModuleConfigs({"blocks.0": EXACT8, "blocks.1": MITCHELL, "blocks.1.ff": None}, default=EXACT8)
    with EmulationMode(configs, model=net), track() as cov:
        y = net(x)
    assert cov.layer_units["blocks.0"] == {"exact_s8"}  # qkv, ff and both attention products of block 0
    assert cov.layer_units["blocks.1"] == {"mitchell_s8"}
    assert "blocks.1.ff" not in cov.layer_units
    assert cov.exact  # blocks.1.ff ran exactly, and track says so
    assert cov.emulated["attention_qk"] == 2
    assert cov.layer_units["<default>"] == {"exact_s8"}  # the head, outside any named module
    assert cov.emulated["linear"] == 4  # qkv x2, blocks.0.ff, head
    # hooks are gone afterwards: a plain forward runs natively again
    with track() as plain:
        z = net(x)
    assert not plain.emulated and not torch.equal(y, z)
    with pytest.raises(ValueError, match="needs model="):
        EmulationMode(configs)


def test_same_config_everywhere_equals_the_plain_mode():
    torch.manual_seed(0)
    net = Net()
    x = torch.randn(2, 3, 16)
    with EmulationMode(MITCHELL):
        a = net(x)
    with EmulationMode(ModuleConfigs({"blocks.*": MITCHELL}, default=MITCHELL), model=net):
        b = net(x)
    assert torch.equal(a, b)
