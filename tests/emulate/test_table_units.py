"""Table and function units under emulation: the product-table kernel is bit-exact with the unit it tabulates."""

import pytest
import torch

from kexue_hw import ILM, MBM, FunctionUnit, Mitchell, Table
from kexue_hw.arith import OperandError, mul, tabulate
from kexue_hw.emulate import EmulationConfig, EmulationMode, approx_matmul, lut_matmul, quantize_, unit_from_key, unit_key


def _operands(unit, shape_a, shape_b, sign_magnitude=False, dtype=torch.int64):
    lo = -unit.max_value if sign_magnitude and not unit.signed else unit.min_value
    a = torch.randint(lo, unit.max_value + 1, shape_a, dtype=torch.int64).to(dtype)
    b = torch.randint(lo, unit.max_value + 1, shape_b, dtype=torch.int64).to(dtype)
    return a, b


@pytest.mark.parametrize(
    "unit,dtype",
    [(Mitchell(8, signed=True), torch.int8), (Mitchell(8, signed=True), torch.int64), (MBM(7, signed=True), torch.int16),
     (ILM(12, signed=True, corrections=0), torch.int16)],
    ids=lambda x: x.describe() if hasattr(x, "describe") else str(x),
)  # fmt: skip
def test_signed_tables_equal_their_unit(unit, dtype):
    t = tabulate(unit)
    k = 1100  # a 12-bit table's int32 blocks hold 511 products: this crosses them
    a, b = _operands(unit, (2, 5, k), (2, k, 37), dtype=dtype)
    assert torch.equal(approx_matmul(a, b, t), approx_matmul(a, b, unit))


@pytest.mark.parametrize("unit", [Mitchell(8), MBM(6), ILM(9, corrections=1)], ids=lambda u: u.describe())
def test_unsigned_tables_take_signed_data_sign_magnitude(unit):
    t = tabulate(unit)
    a, b = _operands(unit, (3, 64), (64, 19), sign_magnitude=True, dtype=torch.int16)
    got = approx_matmul(a, b, t, sign_magnitude=True)
    assert torch.equal(got, approx_matmul(a, b, unit, sign_magnitude=True))
    with pytest.raises(OperandError, match="outside"):
        approx_matmul(a, b, t)  # negative operands need sign_magnitude on an unsigned table


def test_a_table_whose_zero_row_is_not_zero_keeps_the_sign_of_the_other_operand():
    values = torch.arange(16).reshape(4, 4).numpy()  # table[0, b] = b: zero is not absorbing
    t = Table(values)
    a = torch.tensor([[0, 0, -2]])
    b = torch.tensor([[-3], [3], [1]])
    # sign-magnitude: magnitudes through the table, sign = sign(a) xor sign(b) with sign(0) = +
    want = -int(values[0, 3]) + int(values[0, 3]) - int(values[2, 1])
    assert approx_matmul(a, b, t, sign_magnitude=True).item() == want


def test_models_run_on_a_table_exactly_as_on_the_unit():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(24, 32), torch.nn.GELU(), torch.nn.Linear(32, 8))
    x = torch.randn(5, 24)
    for unit in (Mitchell(8, signed=True), Mitchell(8)):  # the unsigned one sees sign-magnitude data
        with torch.no_grad(), EmulationMode(EmulationConfig(unit=unit)):
            want = model(x)
        with torch.no_grad(), EmulationMode(EmulationConfig(unit=tabulate(unit))):
            got = model(x)
        assert torch.equal(got, want)
    swapped = quantize_(torch.nn.Sequential(*[m for m in model]), EmulationConfig(unit=tabulate(Mitchell(8, True))))
    with torch.no_grad():
        with EmulationMode(EmulationConfig(unit=Mitchell(8, signed=True))):
            reference = model(x)
        assert torch.equal(swapped(x), reference)


def test_function_units_take_the_slow_path_bit_exactly():
    unit = Mitchell(10, signed=True)
    f = FunctionUnit(lambda a, b: mul(unit, a, b), 10, signed=True)
    a, b = _operands(unit, (2, 4, 30), (2, 30, 6))
    assert torch.equal(approx_matmul(a, b, f), approx_matmul(a, b, unit))
    g = FunctionUnit(lambda a, b: mul(Mitchell(10), a, b), 10)
    a, b = _operands(Mitchell(10), (4, 30), (30, 6), sign_magnitude=True)
    assert torch.equal(approx_matmul(a, b, g, sign_magnitude=True), approx_matmul(a, b, Mitchell(10), sign_magnitude=True))


def test_keys_and_the_lut_entry_point():
    t = tabulate(Mitchell(6))
    assert unit_from_key(unit_key(t)) is t
    a, b = _operands(Mitchell(8, signed=True), (7, 33), (33, 5), dtype=torch.int8)
    assert torch.equal(lut_matmul(a, b, Mitchell(8, signed=True)), approx_matmul(a, b, Mitchell(8, signed=True)))
