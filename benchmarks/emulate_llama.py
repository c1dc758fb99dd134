"""Forward pass of a ~110M-parameter Llama-style model, exact versus emulated: tokens/s.

    python benchmarks/emulate_llama.py [--json] [--tokens 128] [--batch 1] [--unit mitchell] [--width 8]

The model is built from a config with random weights (hidden 768, 12 layers,
12 heads, MLP 2048, vocab 16384: about 110M parameters; nothing is downloaded).
The emulated pass runs under ``EmulationMode``: every Linear, both attention
products and the LM head on the unit (int units: per-token activation and
per-channel weight scales, dynamic). ``--elementwise`` also routes elementwise
products (RMSNorm scales, SwiGLU gate, rotary) through FloatMitchell fp32.
Reports tokens/s of the exact pass (best of two), of the first emulated pass
(which also quantizes and encodes every weight) and of the steady-state emulated
pass (weight codes cached), the slowdown, the coverage counts, and the relative
logit difference.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# Torch and Numba each run an OpenMP pool; spinning idle threads of one starve the other (and any
# job sharing the cores). Passive waiting (set before either is imported) is fair to all methods;
# export OMP_WAIT_POLICY=ACTIVE to measure the spinning default.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def build_model(layers: int, hidden: int, vocab: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=2048 * hidden // 768,
        num_hidden_layers=layers,
        num_attention_heads=12,
        num_key_value_heads=12,
        max_position_embeddings=2048,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(cfg).eval()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tokens", type=int, default=128, help="sequence length")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=768)
    parser.add_argument("--vocab", type=int, default=16384)
    parser.add_argument("--unit", default="mitchell", help="exact, mitchell, mbm, ilm, float")
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--fmt", default=None, help="float unit format: fp32, bf16, fp16")
    parser.add_argument("--elementwise", action="store_true", help="also emulate elementwise products (fp32)")
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    args = parser.parse_args(argv)

    import torch

    from kexue_hw import FloatMitchell, unit_from_name
    from kexue_hw.emulate import EmulationConfig, EmulationMode, track
    from kexue_hw.emulate.throughput import use_threads

    threads = use_threads(args.threads)
    unit = unit_from_name(args.unit, width=args.width, signed=True, fmt=args.fmt)
    config = EmulationConfig(unit=unit, elementwise_unit=FloatMitchell("fp32") if args.elementwise else None)

    t0 = time.perf_counter()
    model = build_model(args.layers, args.hidden, args.vocab)
    build_s = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    ids = torch.randint(0, args.vocab, (args.batch, args.tokens), generator=torch.Generator().manual_seed(0))
    n_tokens = args.batch * args.tokens

    with torch.no_grad():
        with EmulationMode(config):  # JIT (cached on disk) and code paths, on a throwaway layer
            torch.nn.functional.linear(torch.randn(2, 8), torch.randn(4, 8))
            torch.nn.functional.scaled_dot_product_attention(*(torch.randn(1, 1, 4, 8) for _ in range(3)))
        exact_s = float("inf")
        for _ in range(2):  # best of two: the first exact pass warms torch up
            t0 = time.perf_counter()
            exact = model(ids).logits
            exact_s = min(exact_s, time.perf_counter() - t0)
        with EmulationMode(config):  # first pass: quantizes and encodes every weight
            t0 = time.perf_counter()
            model(ids)
            cold_s = time.perf_counter() - t0
        with track() as cov, EmulationMode(config):  # steady state: weight codes cached
            t0 = time.perf_counter()
            emulated = model(ids).logits
            emulated_s = time.perf_counter() - t0
    result = {
        "model": f"llama {args.layers}L h{args.hidden} vocab {args.vocab}",
        "params_m": round(params / 1e6, 1),
        "unit": unit.describe(),
        "elementwise": args.elementwise,
        "tokens": n_tokens,
        "threads": threads,
        "omp_wait_policy": os.environ["OMP_WAIT_POLICY"],
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "build_s": round(build_s, 2),
        "exact_s": round(exact_s, 3),
        "emulated_first_pass_s": round(cold_s, 3),
        "emulated_s": round(emulated_s, 3),
        "exact_tokens_per_s": round(n_tokens / exact_s, 1),
        "emulated_first_pass_tokens_per_s": round(n_tokens / cold_s, 1),
        "emulated_tokens_per_s": round(n_tokens / emulated_s, 1),
        "slowdown": round(emulated_s / exact_s, 2),
        "emulated_gmacs": round(sum(cov.emulated_macs.values()) / emulated_s / 1e9, 2),
        "emulated_products": dict(cov.emulated),
        "exact_products_left": dict(cov.exact),
        "logit_rel_diff": round(((emulated - exact).norm() / exact.norm()).item(), 4),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
