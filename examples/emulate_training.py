"""Train a small MLP with approximate multiplications (straight-through vs Mogami-style backward).

    python examples/emulate_training.py

``approx_backward=False``: forward products on the unit, gradients of the exact
product (straight-through). ``approx_backward=True``: the backward products run
on the unit too, i.e. training without exact multiplications (FloatMitchell).
"""

import torch
import torch.nn as nn

from kexue_hw import FloatMitchell
from kexue_hw.emulate import EmulationConfig, quantize_

torch.manual_seed(0)
x = torch.randn(512, 16)
y = (x[:, :4].sum(1, keepdim=True) > 0).float()

for approx_backward in (False, True):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 1))
    quantize_(model, EmulationConfig(unit=FloatMitchell("bf16"), approx_backward=approx_backward))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        opt.step()
    acc = ((model(x) > 0).float() == y).float().mean().item()
    print(f"approx_backward={approx_backward}: loss {loss.item():.3f}, accuracy {acc:.3f}")
