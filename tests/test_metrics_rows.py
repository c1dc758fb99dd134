"""The row engine (MBM, ILM, Mitchell's divider and product) equals the brute-force sweep, figure for figure."""

import json

import numpy as np
import pytest
from metrics_compare import assert_same_metrics

from kexue_hw import ILM, MBM, Exact, Mitchell
from kexue_hw.arith import mul
from kexue_hw.cli import main
from kexue_hw.metrics import error_metrics
from kexue_hw.metrics_rows import _ilm_residual, rows_error_metrics, rows_supported
from kexue_hw.spec import SpecError


def _units(width, signed):
    yield MBM(width, signed), "mul"
    yield Mitchell(width, signed), "mul"
    for c in range(4):
        yield ILM(width, signed, c), "mul"
    yield Mitchell(width, signed), "div"


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("width", range(2, 13))
def test_equals_brute_force_every_width(width, signed):
    """Every unit the engine covers, every width up to 12: extremes and worst pairs exactly, sums to 1e-12."""
    for unit, op in _units(width, signed):
        fast = rows_error_metrics(unit, op)
        slow = error_metrics(unit, op, exhaustive=True, method="brute")
        assert_same_metrics(fast, slow, f"{unit.describe()} {op}")


def test_auto_takes_the_row_engine_and_brute_stays_available():
    unit = MBM(10, signed=True)
    auto = error_metrics(unit)
    assert {**auto.as_dict(), "seconds": 0} == {**rows_error_metrics(unit).as_dict(), "seconds": 0}
    assert_same_metrics(auto, error_metrics(unit, method="brute"))
    assert_same_metrics(error_metrics(ILM(9), method="analytic"), error_metrics(ILM(9), method="brute"))


def test_signed_ties_go_to_the_first_pair_of_the_sweep():
    """Negative values come first: the worst pairs of a signed unit are negative where the error allows."""
    m = error_metrics(MBM(8, signed=True))
    assert m.worst_abs_pair == (-128, -128)
    assert all(v < 0 for v in m.worst_rel_pair)
    d = error_metrics(Mitchell(8, signed=True), "div")
    assert d.worst_abs_pair[0] == -128 and d.rel_min == 0.0 and d.bias == d.mre


@pytest.mark.parametrize("corrections", range(4))
def test_ilm_error_is_a_product_of_residuals(corrections):
    """The identity the ILM engine rests on: exact - ILM(a, b) = R(a) * R(b), R = top c+1 set bits cleared."""
    unit = ILM(9, corrections=corrections)
    v = np.arange(0, 512)
    err = v[:, None] * v[None, :] - mul(unit, v[:, None], v[None, :])
    r = np.array([_ilm_residual(int(x), corrections + 1) for x in v])
    np.testing.assert_array_equal(err, r[:, None] * r[None, :])


def test_coverage_and_refusals():
    assert rows_supported(MBM(16)) and rows_supported(ILM(20, corrections=3)) and rows_supported(Mitchell(16), "div")
    assert not rows_supported(MBM(16, frac_bits=4))  # truncated MBM: brute force
    assert not rows_supported(Mitchell(16, frac_bits=4), "div")
    assert not rows_supported(Mitchell(12, quotient_frac=8), "div")  # quotient truncated below Mitchell's value
    assert not rows_supported(Mitchell(17), "div") and not rows_supported(Exact(8))
    with pytest.raises(SpecError, match="no closed-form row engine"):
        rows_error_metrics(MBM(8, frac_bits=2))
    with pytest.raises(SpecError, match="method='brute'"):
        error_metrics(MBM(8, frac_bits=2), method="analytic")
    truncated = error_metrics(MBM(8, frac_bits=2))  # auto falls back to the brute force
    assert truncated.exhaustive and truncated.pairs == 65536


def test_cli_mbm_16bit_exhaustive_json(capsys):
    """The issue-14 bar command: exhaustive, every pair counted, in well under the brute force's minute."""
    assert main(["error", "mbm", "--width", "16", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["exhaustive"] and d["pairs"] == 2**32 and d["seconds"] < 15
    assert d["rel_max"] == 0.078125 and d["worst_abs_pair"] == [49152, 49152]
