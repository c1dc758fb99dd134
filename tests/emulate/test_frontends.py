"""Module swap, function mode, quantization, autograd and coverage on small plain-torch models."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from kexue_hw import ILM, MBM, Exact, FloatMitchell, Mitchell
from kexue_hw.arith import mul
from kexue_hw.emulate import (
    ApproxLinear,
    EmulationConfig,
    EmulationMode,
    calibrate,
    emulated_linear,
    quantize_,
    quantize_symmetric,
    round_to_format,
    summary,
    track,
)

S8 = Mitchell(8, signed=True)


def fake_quant_linear(x, w, unit):
    """Reference: per-token / per-channel symmetric quantization, exact float64 product."""
    qx, sx = quantize_symmetric(x, unit, -1)
    qw, sw = quantize_symmetric(w.t(), unit, -2)
    acc = torch.matmul(qx.double(), qw.double())
    return (acc * sx.double() * sw.double()).float()


def test_exact_unit_equals_fake_quant_reference_bit_for_bit():
    x, w = torch.randn(3, 10, 64), torch.randn(32, 64)
    for unit in (Exact(8, signed=True), Exact(6, signed=False)):
        got = emulated_linear(x, w, None, EmulationConfig(unit=unit))
        assert torch.equal(got, fake_quant_linear(x, w, unit))


def test_mitchell_error_matches_the_units_product_error():
    """Output error of a Linear equals what the golden products predict, within sampling noise."""
    x, w = torch.randn(64, 256), torch.randn(128, 256)
    cfg = EmulationConfig(unit=S8)
    qx, sx = quantize_symmetric(x, S8, -1)
    qw, sw = quantize_symmetric(w.t(), S8, -2)
    scale = (sx.double() * sw.double()).numpy()
    exact = (qx.double() @ qw.double()).numpy() * scale
    qx_n, qw_n = qx.numpy().astype(np.int64), qw.numpy().astype(np.int64)
    approx = mul(S8, qx_n[:, :, None], qw_n[None, :, :]).sum(axis=1) * scale
    predicted = np.linalg.norm(approx - exact) / np.linalg.norm(exact)
    ref = fake_quant_linear(x, w, Exact(8, signed=True))
    got = emulated_linear(x, w, None, cfg)
    measured = ((got - ref).norm() / ref.norm()).item()
    assert measured == pytest.approx(predicted, rel=1e-3)
    assert 0.005 < measured < 0.2
    # positive data: every product errs in [-1/9, 0], so does every output
    xp, wp = x.abs(), w.abs()
    ratio = emulated_linear(xp, wp, None, cfg) / fake_quant_linear(xp, wp, Exact(8, signed=True))
    assert ratio.min() >= 8 / 9 - 1e-6 and ratio.max() <= 1 + 1e-6


class Block(nn.Module):
    """Attention + MLP + conv written with direct function calls (what the mode must catch)."""

    def __init__(self, d=32):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.conv = nn.Conv1d(d, d, 3, padding=1, groups=2)
        self.gain = nn.Parameter(torch.rand(d) + 0.5)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        b, t, d = q.shape
        q, k, v = (z.view(b, t, 4, d // 4).transpose(1, 2) for z in (q, k, v))
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d)
        scores = torch.softmax(q @ k.transpose(-1, -2), -1)
        att = att + torch.matmul(scores, v).transpose(1, 2).reshape(b, t, d)
        h = self.conv(x.transpose(1, 2)).transpose(1, 2)
        return self.mlp(att + h) * self.gain


def test_mode_covers_every_product_and_none_stays_exact():
    model = Block().eval()
    x = torch.randn(2, 8, 32)
    with torch.no_grad():
        ref = model(x)
        with track() as cov, EmulationMode(EmulationConfig(unit=S8, elementwise_unit=FloatMitchell("bf16"))):
            out = model(x)
    assert cov.all_emulated, cov.table()
    assert cov.emulated["linear"] == 3
    assert cov.emulated["attention_qk"] == 1 and cov.emulated["attention_av"] == 1
    assert cov.emulated["matmul"] == 2 and cov.emulated["conv"] == 2  # two groups
    assert cov.emulated["elementwise"] >= 1
    assert cov.kernel_calls == sum(cov.emulated[k] for k in cov.emulated if k != "elementwise")
    rel = ((out - ref).norm() / ref.norm()).item()
    assert 1e-3 < rel < 0.2
    with track() as cov_exact:  # without emulation every product shows up as exact
        model(x)
    assert cov_exact.exact and not cov_exact.emulated


def test_mode_float_units_and_exact_int16_close_to_float():
    model = Block().eval()
    x = torch.randn(2, 8, 32)
    with torch.no_grad():
        ref = model(x)
        with EmulationMode(EmulationConfig(unit=Exact(16, signed=True))):
            close = model(x)
        with EmulationMode(EmulationConfig(unit=FloatMitchell("fp16"))):
            approx = model(x)
    assert ((close - ref).norm() / ref.norm()) < 1e-3
    assert 1e-3 < ((approx - ref).norm() / ref.norm()) < 0.2


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_conv2d_matches_torch_with_exact_unit():
    x, w, b = torch.randn(2, 4, 9, 8), torch.randn(6, 2, 3, 2), torch.randn(6)
    cfg = EmulationConfig(unit=Exact(16, signed=True))
    for kw in ({"stride": 2, "padding": 1, "groups": 2}, {"dilation": (2, 1), "padding": "same", "groups": 2}):
        with EmulationMode(cfg):
            got = F.conv2d(x, w, b, **kw)
        want = F.conv2d(x, w, b, **kw)
        assert got.shape == want.shape
        assert ((got - want).norm() / want.norm()) < 1e-3


def test_module_swap_filter_exclude_and_summary():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Sequential(nn.Linear(16, 16), nn.Linear(16, 4)))
    cfg = EmulationConfig(unit=S8, exclude=("2.1",))
    quantize_(model, cfg, filter_fn=lambda mod, name: name != "0")
    assert isinstance(model[2][0], ApproxLinear)
    assert type(model[0]) is nn.Linear and type(model[2][1]) is nn.Linear
    assert summary(model) == {"swapped": {"mitchell_s8": ["2.0"]}, "exact": ["0", "2.1"]}
    with track() as cov:
        model(torch.randn(3, 8))
    assert cov.layers == {"2.0": 1} and cov.exact["addmm"] == 2


def test_calibrated_activation_scales():
    model = nn.Sequential(nn.Linear(8, 8))
    cfg = EmulationConfig(unit=Exact(8, signed=True), act_scale="calibrated")
    quantize_(model, cfg)
    x = torch.randn(5, 8)
    with pytest.raises(RuntimeError, match="calibration"):
        model(x)
    with calibrate(model):
        model(x)
        model(2 * x)
    amax = (2 * x).abs().max()
    assert torch.equal(model[0].input_amax, amax)
    qx, sx = quantize_symmetric(x, cfg.unit, None, amax / 127)
    qw, sw = quantize_symmetric(model[0].weight.t(), cfg.unit, -2)
    want = (qx.double() @ qw.double() * sx.double() * sw.double()).float() + model[0].bias
    assert torch.equal(model(x), want)


@pytest.mark.parametrize("unit", [S8, FloatMitchell("bf16")], ids=lambda u: u.describe())
def test_autograd_straight_through_and_approximate_backward(unit):
    x = torch.randn(4, 6, 16, requires_grad=True)
    w = torch.randn(8, 16, requires_grad=True)
    target = torch.randn(4, 6, 8)

    def grads(cfg):
        x.grad = w.grad = None
        ((emulated_linear(x, w, None, cfg) - target) ** 2).sum().backward()
        return x.grad.clone(), w.grad.clone()

    ste = grads(EmulationConfig(unit=unit))
    approx = grads(EmulationConfig(unit=unit, approx_backward=True))
    # straight-through: the gradient of the exact product at the emulated output
    y = emulated_linear(x, w, None, EmulationConfig(unit=unit)).detach()
    g = 2 * (y - target)
    torch.testing.assert_close(ste[0], g @ w.detach())
    torch.testing.assert_close(ste[1], (g.reshape(-1, 8).t() @ x.detach().reshape(-1, 16)))
    for s, a in zip(ste, approx):
        rel = ((a - s).norm() / s.norm()).item()
        assert 1e-4 < rel < 0.2


def test_elementwise_scope_uses_the_float_unit():
    unit = FloatMitchell("fp32")
    a, b = torch.randn(5, 7), torch.randn(7)
    with EmulationMode(EmulationConfig(unit=S8, elementwise_unit=unit)):
        got = a * b
        scaled = 3.0 * a
    want = mul(unit, a.numpy(), b.numpy())
    assert np.array_equal(got.numpy(), want)
    assert np.array_equal(scaled.numpy(), mul(unit, np.float32(3.0), a.numpy()))
    unit16 = FloatMitchell("bf16")
    with EmulationMode(EmulationConfig(elementwise_unit=unit16)):
        got = a * b
    ra, rb = round_to_format(a, unit16).numpy(), round_to_format(b, unit16).numpy()
    assert np.array_equal(got.numpy(), mul(unit16, ra, rb))


def test_unsigned_units_take_sign_magnitude_data():
    x, w = torch.randn(4, 32), torch.randn(8, 32)
    got = emulated_linear(x, w, None, EmulationConfig(unit=ILM(8, signed=False, corrections=3)))
    ref = F.linear(x, w)
    assert ((got - ref).norm() / ref.norm()) < 0.02


@pytest.mark.parametrize(
    "unit", [Mitchell(8), Mitchell(6, frac_bits=2), MBM(7), ILM(8, corrections=1), Exact(8)], ids=lambda u: u.describe()
)
def test_sign_magnitude_products_are_the_golden_models_bit_for_bit(unit):
    """Unsigned units fed signed data: each magnitude pair through the golden model, the sign outside, exact sums."""
    from kexue_hw.emulate import approx_matmul

    g = torch.Generator().manual_seed(3)
    a = torch.randint(-unit.max_value, unit.max_value + 1, (2, 5, 19), generator=g)
    b = torch.randint(-unit.max_value, unit.max_value + 1, (2, 19, 4), generator=g)
    got = approx_matmul(a, b, unit, sign_magnitude=True)
    an, bn = a.numpy()[..., :, :, None], b.numpy()[..., None, :, :]
    prod = np.sign(an) * np.sign(bn) * mul(unit, np.abs(an), np.abs(bn))
    assert got.dtype == torch.int64 and np.array_equal(got.numpy(), prod.sum(axis=-2))
    with pytest.raises(Exception, match="outside"):
        approx_matmul(a, b, unit)  # without sign_magnitude the negative operands are out of range


def test_fused_row_quantizer_equals_torch_reference():
    from kexue_hw.emulate.quant import quantize_symmetric_torch

    x = torch.randn(37, 50) * torch.logspace(-3, 3, 37)[:, None]
    x[3] = 0.0
    x[5, :7] = torch.tensor([0.5, -0.5, 1.5, 2.5, -2.5, 127.5, -127.5]) * (x[5].abs().max() / 127.5)
    for unit in (Mitchell(8, signed=True), Mitchell(8, signed=False), Exact(12, signed=True), Mitchell(4, True)):
        q, s = quantize_symmetric(x.view(37, 1, 50), unit, -1)
        q_ref, s_ref = quantize_symmetric_torch(x.view(37, 1, 50), unit, -1)
        assert q.dtype == q_ref.dtype and torch.equal(q, q_ref) and torch.equal(s, s_ref)


def test_exact_unit_fast_path_is_not_counted_as_an_exact_product():
    """The Exact unit multiplies inside the kernel op (float64, exact); the watcher sees only the op."""
    lin = nn.Linear(8, 4)
    with track() as cov, EmulationMode(EmulationConfig(unit=Exact(8, signed=True))):
        lin(torch.randn(3, 8))
    assert cov.all_emulated and cov.kernel_calls == 1
