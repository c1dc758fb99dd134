"""The kernel as a torch.library custom op: opcheck, fake tensors, autograd."""

import pytest
import torch

from kexue_hw import FloatMitchell, Mitchell
from kexue_hw.emulate import approx_matmul, round_to_format, unit_key


@pytest.mark.parametrize("unit", [Mitchell(8, signed=True), Mitchell(6, signed=False), FloatMitchell("fp32")])
def test_opcheck(unit):
    if unit.is_float:
        a = torch.randn(2, 3, 5, requires_grad=True)
        b = torch.randn(2, 5, 4, requires_grad=True)
    else:
        a = torch.randint(unit.min_value, unit.max_value + 1, (2, 3, 5))
        b = torch.randint(unit.min_value, unit.max_value + 1, (2, 5, 4))
    torch.library.opcheck(torch.ops.kexue_hw.approx_bmm.default, (a, b, unit_key(unit), False))


def test_fake_tensor_shapes():
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        a = torch.empty(3, 7, 5, dtype=torch.int8)
        b = torch.empty(3, 5, 2, dtype=torch.int8)
        out = torch.ops.kexue_hw.approx_bmm(a, b, unit_key(Mitchell(8, signed=True)), False)
        assert out.shape == (3, 7, 2) and out.dtype == torch.int64
        fa = torch.empty(1, 4, 6)
        out = torch.ops.kexue_hw.approx_bmm(fa, fa.transpose(1, 2), unit_key(FloatMitchell("bf16")))
        assert out.dtype == torch.float32 and out.shape == (1, 4, 4)


def test_float_unit_straight_through_gradient():
    unit = FloatMitchell("bf16")
    a = round_to_format(torch.randn(4, 6), unit).requires_grad_()
    b = round_to_format(torch.randn(6, 3), unit).requires_grad_()
    approx_matmul(a, b, unit).sum().backward()
    ga, gb = a.grad.clone(), b.grad.clone()
    a.grad = b.grad = None
    (a @ b).sum().backward()
    torch.testing.assert_close(ga, a.grad)
    torch.testing.assert_close(gb, b.grad)
