"""Run a Hugging Face Llama-style model with every multiplication on a Mitchell unit.

    python examples/emulate_llama_mitchell.py

Builds a small model from a config (random weights, nothing downloaded), then:

1. function mode: every Linear, attention QK^T and PV, and (optionally) the
   elementwise products go through the unit; the coverage table proves it;
2. module swap: ``quantize_`` replaces the Linear layers, keeping the LM head exact,
   with calibrated (static, per-tensor) activation scales.
"""

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from kexue_hw import FloatMitchell, Mitchell
from kexue_hw.emulate import EmulationConfig, EmulationMode, calibrate, quantize_, summary, track

torch.manual_seed(0)
cfg = LlamaConfig(
    vocab_size=1000, hidden_size=128, intermediate_size=344, num_hidden_layers=2, num_attention_heads=4
)
model = LlamaForCausalLM(cfg).eval()
ids = torch.randint(0, 1000, (1, 24))

with torch.no_grad():
    exact = model(ids).logits

    # 1. function mode: all matrix products on Mitchell 8-bit, elementwise products on FloatMitchell bf16
    config = EmulationConfig(unit=Mitchell(8, signed=True), elementwise_unit=FloatMitchell("bf16"))
    with track() as cov, EmulationMode(config):
        emulated = model(ids).logits
    print(cov.table())
    print(f"relative logit error: {((emulated - exact).norm() / exact.norm()):.4f}")

    # 2. module swap with calibrated activation scales; the LM head stays exact
    config = EmulationConfig(unit=Mitchell(8, signed=True), act_scale="calibrated", exclude=("lm_head",))
    quantize_(model, config)
    print("exact layers:", summary(model)["exact"])
    with calibrate(model):
        model(ids)
    swapped = model(ids).logits
    print(f"module swap, relative logit error: {((swapped - exact).norm() / exact.norm()):.4f}")
