"""Every tensor product torch offers is either emulated or flagged by ``track()``: never silently exact.

``PRODUCTS`` calls each op once on float tensors. Outside any emulation, ``track()`` must list each
as exact (under the name given); inside ``EmulationMode`` each either runs on the unit (equal to the
float result up to the 16-bit quantization) or is still listed as exact.
"""

import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from kexue_hw import Exact, Mitchell
from kexue_hw.emulate import EmulationConfig, EmulationMode, quantize_, summary, track
from kexue_hw.emulate.functional import DeviceError

CFG = EmulationConfig(unit=Exact(16, signed=True))


def _r(*shape):
    return torch.randn(*shape)


def _mha_args():
    mha = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    x = _r(2, 3, 8)
    return x, mha


#: name -> (call, name track() reports when it runs exactly, emulated by EmulationMode?)
PRODUCTS = {
    "mm": (lambda: torch.mm(_r(4, 5), _r(5, 3)), "mm", True),
    "mv": (lambda: torch.mv(_r(4, 5), _r(5)), "mv", True),
    "Tensor.mv": (lambda: _r(4, 5).mv(_r(5)), "mv", True),
    "dot": (lambda: torch.dot(_r(5), _r(5)), "dot", True),
    "vdot": (lambda: torch.vdot(_r(5), _r(5)), "vdot", True),
    "inner": (lambda: torch.inner(_r(4, 5), _r(3, 5)), "mm", True),
    "tensordot": (lambda: torch.tensordot(_r(2, 4, 5), _r(4, 5, 6), dims=([1, 2], [0, 1])), "mm", True),
    "addbmm": (lambda: torch.addbmm(_r(4, 3), _r(2, 4, 5), _r(2, 5, 3)), "addbmm", True),
    "addmv": (lambda: torch.addmv(_r(4), _r(4, 5), _r(5), beta=0.5, alpha=2), "addmv", True),
    "addr": (lambda: torch.addr(_r(4, 5), _r(4), _r(5)), "addr", True),
    "outer": (lambda: torch.outer(_r(4), _r(5)), "outer", True),
    "ger": (lambda: torch.ger(_r(4), _r(5)), "outer", True),
    "einsum bmm": (lambda: torch.einsum("bij,bjk->bik", _r(2, 4, 5), _r(2, 5, 3)), "bmm", True),
    "einsum chain": (lambda: torch.einsum("ij,jk,kl->il", _r(4, 5), _r(5, 3), _r(3, 2)), "bmm", True),
    "einsum ...": (lambda: torch.einsum("...ij,...jk", _r(2, 4, 5), _r(2, 5, 3)), "bmm", True),
    "einsum sum": (lambda: torch.einsum("ij,jk->k", _r(4, 5), _r(5, 3)), "bmm", True),
    "multi_dot": (lambda: torch.linalg.multi_dot([_r(4), _r(4, 5), _r(5, 3), _r(3)]), "mm", True),
    "chain_matmul": (lambda: torch.chain_matmul(_r(4, 5), _r(5, 3)), "mm", True),
    "bilinear": (lambda: F.bilinear(_r(4, 5), _r(4, 6), _r(3, 5, 6), _r(3)), "_trilinear", True),
    "conv_transpose1d": (lambda: F.conv_transpose1d(_r(1, 2, 5), _r(2, 3, 3), stride=2, padding=1, output_padding=1),
                         "convolution", True),  # fmt: skip
    "conv_transpose2d": (lambda: F.conv_transpose2d(_r(2, 4, 5, 5), _r(4, 3, 3, 3), _r(6), stride=2, padding=1,
                                                    groups=2, dilation=2), "convolution", True),  # fmt: skip
    "mm out=": (lambda: torch.mm(_r(4, 5), _r(5, 3), out=torch.empty(4, 3)), "mm", True),
    "matmul out=": (lambda: torch.matmul(_r(4, 5), _r(5, 3), out=torch.empty(4, 3)), "mm", True),
    "addmm_": (lambda: _r(4, 3).addmm_(_r(4, 5), _r(5, 3)), "addmm_", True),
    "baddbmm_": (lambda: _r(2, 4, 3).baddbmm_(_r(2, 4, 5), _r(2, 5, 3), beta=0.5), "baddbmm_", True),
    "MultiheadAttention": (lambda: (lambda x, m: m(x, x, x)[0])(*_mha_args()), "addmm", True),
    # not emulated: track() must list them
    "cdist": (lambda: torch.cdist(_r(4, 5), _r(6, 5)), "_cdist_forward", False),
    "cdist mm": (lambda: torch.cdist(_r(30, 5), _r(30, 5), compute_mode="use_mm_for_euclid_dist"), "_euclidean_dist",
                 False),  # fmt: skip
    "conv3d": (lambda: F.conv3d(_r(1, 2, 4, 4, 4), _r(3, 2, 2, 2, 2)), "convolution", False),
    "conv_transpose3d": (lambda: F.conv_transpose3d(_r(1, 2, 3, 3, 3), _r(2, 3, 2, 2, 2)), "convolution", False),
    "native MHA fast path": (lambda: (lambda x, m: torch._native_multi_head_attention(
        x, x, x, 8, 2, m.in_proj_weight, m.in_proj_bias, m.out_proj.weight, m.out_proj.bias))(*_mha_args()),
        "_native_multi_head_attention", False),  # fmt: skip
    "kron": (lambda: torch.kron(_r(2, 3), _r(3, 2)), "kron", False),
    "vecdot": (lambda: torch.linalg.vecdot(_r(4, 5), _r(4, 5)), "vecdot", False),
    "LSTM": (lambda: nn.LSTM(5, 3)(_r(2, 1, 5))[0], None, False),
}


def _first(out):
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_track_flags_every_product_that_runs_exactly(name):
    call, exact_name, _ = PRODUCTS[name]
    torch.manual_seed(0)
    with warnings.catch_warnings(), torch.no_grad(), track() as cov:
        warnings.simplefilter("ignore")  # chain_matmul is deprecated
        call()
    assert not cov.all_emulated and not cov.emulated
    if exact_name is not None:
        assert exact_name in cov.exact, cov.table()


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_emulated_or_flagged_inside_the_mode(name):
    call, _, emulated = PRODUCTS[name]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        ref = _first(call())
        torch.manual_seed(0)
        with track() as cov, EmulationMode(CFG):
            out = _first(call())
    if emulated:
        assert cov.all_emulated and sum(cov.emulated.values()) >= 1, cov.table()
        assert out.shape == ref.shape
        assert ((out - ref).norm() / ref.norm()).item() < 2e-3  # Exact 16-bit: the quantization only
    else:
        assert not cov.all_emulated, cov.table()


def test_einsum_forms_left_to_torch_are_flagged():
    with torch.no_grad(), track() as cov, EmulationMode(CFG):
        torch.einsum("ii,ij->j", _r(4, 4), _r(4, 3))  # a diagonal: not rewritten, runs exactly
    assert not cov.all_emulated


# ----------------------------------------------------------------------------- module swap


def test_module_swap_covers_transposed_convs_bilinear_and_attention():
    torch.manual_seed(0)
    model = nn.ModuleDict({"up": nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1), "bi": nn.Bilinear(5, 6, 3),
                           "attn": nn.MultiheadAttention(8, 2, batch_first=True)}).eval()  # fmt: skip
    x, a, b, s = _r(1, 3, 5, 5), _r(4, 5), _r(4, 6), _r(2, 3, 8)

    def run():
        return (model["up"](x, output_size=(10, 10)), model["bi"](a, b), model["attn"](s, s, s)[0])

    with torch.no_grad():
        refs = run()
        quantize_(model, CFG)
        with track() as cov:
            outs = run()
    info = summary(model)
    assert sorted(info["swapped"]["exact_s16"]) == ["attn", "bi", "up"] and info["exact"] == []
    assert cov.all_emulated, cov.table()
    assert set(cov.layers) == {"up", "bi", "attn"}
    for out, ref in zip(outs, refs):
        assert out.shape == ref.shape and ((out - ref).norm() / ref.norm()).item() < 2e-3


def test_module_swap_keeps_encoder_layers_off_the_fused_path():
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True).eval()  # eligible for the fused fast path
    quantize_(layer, EmulationConfig(unit=Mitchell(8, signed=True)))
    with torch.no_grad(), track() as cov:
        layer(_r(2, 5, 16))
    assert cov.all_emulated, cov.table()
    assert cov.emulated["linear"] == 4 and cov.emulated["attention_qk"] == 1


def test_module_swap_warns_and_lists_what_it_leaves_exact():
    model = nn.Sequential(nn.Linear(4, 4), nn.Conv3d(1, 1, 2), nn.LSTM(4, 4))
    with pytest.warns(UserWarning, match=r"2 product layer\(s\) have no emulated version.*1 \(Conv3d\), 2 \(LSTM\)"):
        quantize_(model, CFG)
    assert summary(model) == {"swapped": {"exact_s16": ["0"]}, "exact": ["1", "2"]}


# ----------------------------------------------------------------------------- devices


def test_tensors_off_the_cpu_are_one_clear_error():
    meta = torch.empty(3, 4, device="meta")
    with pytest.raises(DeviceError, match=r"a linear product .* tensors on meta; .* runs on the CPU"):
        with EmulationMode(CFG):
            F.linear(meta, torch.empty(5, 4, device="meta"))
    model = nn.Sequential(nn.Linear(4, 5)).to("meta")
    quantize_(model, CFG)
    with pytest.raises(DeviceError, match=r"layer '0': tensors on meta"):
        model(meta)
    with pytest.raises(DeviceError, match="tensors on meta"):
        with EmulationMode(EmulationConfig(unit=CFG.unit, elementwise_unit=None)):
            torch.einsum("ij,jk", meta, torch.empty(4, 2, device="meta"))
    from kexue_hw.emulate.ops import _check_shapes

    with pytest.raises(ValueError, match="operands on meta"):
        _check_shapes(torch.empty(1, 2, 3, device="meta"), torch.empty(1, 3, 2, device="meta"))
