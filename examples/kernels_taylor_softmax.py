"""Taylor softmax three ways: torch (float, autograd), fixed point on a Mitchell unit, and the RTL unit.

    python examples/kernels_taylor_softmax.py
"""

import numpy as np
import torch

from kexue_hw import Mitchell
from kexue_hw.kernels import TaylorSoftmax, TaylorSoftmaxFixed, taylor_minimum, taylor_softmax

# minima of f_n: where the clamped (monotone) variant starts
for n in (2, 4, 6):
    x_star, f_star = taylor_minimum(n)
    print(f"order {n}: min f_n = {f_star:.6f} at x = {x_star:.6f}")

# float: a drop-in for torch.nn.Softmax(dim=-1)
scores = torch.tensor([[2.0, 0.5, -1.0, -3.0]], requires_grad=True)
probs = TaylorSoftmax(dim=-1, order=4)(scores)
probs[0, 0].backward()
print("torch  :", probs.detach().numpy().round(4), "softmax:", torch.softmax(scores, -1).detach().numpy().round(4))
print("clamped:", taylor_softmax(scores.detach(), order=4, clamp=True).numpy().round(4))

# fixed point: Q3.12 inputs, Horner products on a signed 16-bit Mitchell multiplier, Mitchell divider
cfg = TaylorSoftmaxFixed(Mitchell(16, signed=True), order=4)
x = cfg.quantize(scores.detach().numpy())
y = cfg(x)
print("fixed  :", (y / 2**cfg.out_frac).round(4), "sum", y.sum() / 2**cfg.out_frac, "bounds", cfg.sum_bounds(4))

# RTL: the same numbers from the Amaranth streaming unit (bit-exact)
try:
    from kexue_hw.kernels.softmax_rtl import simulate_rows

    out, cycles = simulate_rows(cfg, x, max_length=16)
    print("RTL    :", out[0], "== golden:", bool(np.array_equal(out[0], y[0])), f"({cycles} cycles)")
except ImportError as e:
    print("RTL skipped:", e)
