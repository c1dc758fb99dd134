"""Performer (FAVOR+) attention: float, causal, a drop-in module, and every product on a Mitchell unit.

    python examples/kernels_performer.py
"""

import torch

from kexue_hw import Mitchell
from kexue_hw.kernels import PerformerAttention, performer_attention, softmax_attention

torch.manual_seed(0)
n, d = 512, 64
q, k, v = torch.randn(n, d) * 0.3, torch.randn(n, d) * 0.3, torch.randn(n, d)
exact = softmax_attention(q, k, v)


def rel(a, b):
    return float((a - b).norm() / b.norm())


for m in (32, 128, 256):
    orth = rel(performer_attention(q, k, v, num_features=m, orthogonal=True, seed=1), exact)
    iid = rel(performer_attention(q, k, v, num_features=m, orthogonal=False, seed=1), exact)
    print(f"m={m:4d}: relative error orthogonal {orth:.3f}, iid {iid:.3f}")

causal = performer_attention(q, k, v, num_features=256, causal=True, seed=1)
print("causal vs exact causal:", round(rel(causal, softmax_attention(q, k, v, causal=True)), 3))

attn = PerformerAttention(d, 256, redraw_interval=100, seed=1)  # redraws features every 100 training calls
print("module output:", tuple(attn(q[None], k[None], v[None]).shape))

try:  # every matmul product on a 16-bit Mitchell multiplier through the torch shim
    on_unit = performer_attention(q, k, v, num_features=256, seed=1, unit=Mitchell(16, signed=True))
    float_perf = performer_attention(q, k, v, num_features=256, seed=1)
    print("Mitchell-16 Performer vs float Performer:", round(rel(on_unit, float_perf), 4))
except ImportError as e:
    print("emulation shim not installed:", e)
