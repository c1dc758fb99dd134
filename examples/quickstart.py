"""Quick start: one spec object, the golden model, and its error metrics.

    python examples/quickstart.py
"""

import numpy as np

from kexue_hw import MBM, FloatMitchell, Mitchell
from kexue_hw.arith import div, mul
from kexue_hw.metrics import error_metrics

unit = Mitchell(width=8)                      # 8-bit unsigned Mitchell multiplier/divider
print("3 * 3     ->", mul(unit, 3, 3))        # 8: Mitchell's worst relative case (-1/9)
print("192 * 192 ->", mul(unit, 192, 192))    # 32768: the worst absolute case (-4096)

a = np.arange(1, 9)
print("a * 7     ->", mul(unit, a, 7), "(exact", a * 7, ")")

q = div(unit, 100, 7)                         # fixed point with unit.quotient_frac_bits fraction bits
print("100 / 7   ->", q / 2**unit.quotient_frac_bits, "(exact", 100 / 7, ")")

signed = Mitchell(width=16, signed=True, frac_bits=6)  # Mitch-w: 6 fraction bits kept
print("-300 * 41 ->", mul(signed, -300, 41), "(exact", -300 * 41, ")")

print("12.3 * 4.56 on fp32 ->", mul(FloatMitchell("fp32"), np.float32(12.3), np.float32(4.56)))

for u in (Mitchell(8), MBM(8)):
    m = error_metrics(u)                      # exhaustive: all 65,536 operand pairs
    print(f"{u.describe():>12}: mre {m.mre:.5f}  bias {m.bias:+.5f}  wcre {m.wcre:.4f}")
