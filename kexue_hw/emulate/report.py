"""Report section: what each unit does to a small model's output, and the kernel's speed.

:func:`section` returns Markdown: the relative output error of a small model
built from a config (a Llama-style causal LM when ``transformers`` is installed,
else a plain-torch attention block) with every product emulated, per unit; and
the matrix-product throughput of one shape (native fp32, Mitchell int8, lookup
table). Runs in well under a minute.
"""

from __future__ import annotations

import json
import pathlib
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..spec import ILM, MBM, Exact, FloatMitchell, Mitchell
from ..tables import markdown_table
from .throughput import measure_matmul, use_threads
from .config import EmulationConfig
from .coverage import track
from .mode import EmulationMode

UNITS = (
    Exact(8, signed=True),
    Mitchell(8, signed=True),
    Mitchell(8, signed=True, frac_bits=3),
    MBM(8, signed=True),
    ILM(8, signed=True, corrections=1),
    Exact(6, signed=True),
    Mitchell(6, signed=True),
    FloatMitchell("fp32"),
    FloatMitchell("bf16"),
)


class _Block(nn.Module):
    """Fallback model without transformers: attention + MLP, residual."""

    def __init__(self, d=64, heads=4):
        super().__init__()
        self.heads = heads
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.up, self.down = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.head = nn.Linear(d, 128)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = (z.view(b, t, self.heads, -1).transpose(1, 2) for z in self.qkv(x).chunk(3, -1))
        x = x + self.out(F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d))
        x = x + self.down(F.gelu(self.up(x)))
        return self.head(x)


def _model():
    torch.manual_seed(0)
    try:
        import transformers
    except ImportError:
        return "attention block (plain torch, d=64)", _Block().eval(), torch.randn(2, 32, 64)
    cfg = transformers.LlamaConfig(
        vocab_size=512,
        hidden_size=128,
        intermediate_size=344,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=128,
    )
    model = transformers.LlamaForCausalLM(cfg).eval()
    ids = torch.randint(0, 512, (2, 32), generator=torch.Generator().manual_seed(0))

    class Logits(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x).logits

    return "Llama-style LM (2 layers, hidden 128, random weights)", Logits(model).eval(), ids


def accuracy_rows(units=UNITS) -> tuple[str, list[dict]]:
    """Relative logit error ``||y - y_exact|| / ||y_exact||`` with every product on each unit."""
    name, model, x = _model()
    rows = []
    with torch.no_grad():
        ref = model(x)
        for unit in units:
            with track() as cov, EmulationMode(EmulationConfig(unit=unit)):
                out = model(x)
            rows.append(
                {
                    "unit": unit.describe(),
                    "rel_error": ((out - ref).norm() / ref.norm()).item(),
                    "top1_agreement": (out.argmax(-1) == ref.argmax(-1)).float().mean().item(),
                    "emulated_calls": sum(cov.emulated.values()),
                    "exact_left": sum(cov.exact.values()),
                }
            )
    return name, rows


def accuracy_table(rows: list[dict], counts: bool = True) -> str:
    """Markdown of :func:`accuracy_rows` (``counts``: also the emulated and exact product counts)."""
    header = ["unit", "relative logit error", "top-1 agreement"]
    header += ["emulated products", "exact products left"] if counts else []
    body = [
        [r["unit"], f"{r['rel_error']:.4f}", f"{r['top1_agreement']:.3f}"]
        + ([r["emulated_calls"], r["exact_left"]] if counts else [])
        for r in rows
    ]
    return markdown_table(header, body, "l" + "r" * (len(header) - 1))


def section(outdir: pathlib.Path, quick: bool = False) -> str:
    """Markdown section on torch emulation; writes ``emulate.json`` into ``outdir``."""
    t0 = time.perf_counter()
    units = UNITS[:2] + UNITS[4:5] + UNITS[7:9] if quick else UNITS
    model_name, rows = accuracy_rows(units)
    threads = use_threads()
    methods = ("native_fp32", "mitchell_int8", "lut_baseline")
    speed = measure_matmul((128, 768, 768), reps=3 if quick else 5, methods=methods)
    lines = [
        "## Torch emulation",
        "",
        f"Every matrix product of a {model_name} (all Linear layers, both attention products,",
        "the LM head) runs on the unit through `kexue_hw.emulate.EmulationMode`; integer units quantize",
        "symmetrically (per-token activations, per-channel weights, dynamic), float units round to their format.",
        "",
        accuracy_table(rows),
        "",
        f"Kernel throughput, 128x768x768 (MxKxN), {threads} threads, GMAC/s: native fp32 "
        f"{speed['native_fp32_gmacs']:.1f}, Mitchell int8 {speed['mitchell_int8_gmacs']:.1f} "
        f"({speed['mitchell_over_native']:.2f} of native), lookup-table baseline {speed['lut_baseline_gmacs']:.1f} "
        f"(Mitchell is {speed['mitchell_over_lut']:.1f}x faster). Full table: `benchmarks/emulate.md`.",
        "",
        f"_{time.perf_counter() - t0:.0f} s; exact-unit rows isolate quantization error._",
        "",
    ]
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "emulate.json").write_text(json.dumps({"model": model_name, "accuracy": rows, "speed": speed}, indent=2))
    return "\n".join(lines)
