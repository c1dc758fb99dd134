"""Error figures: published ones (cited where they are asserted), derived ones, and regression pins.

A *regression pin* is a figure this code printed once and the test holds it to (so a change shows up);
it proves nothing by itself: the brute-force comparisons below and in ``test_metrics_analytic.py``
are what tie the figures to the golden models. Sources: Mitchell, "Computer multiplication and division
using binary logarithms", IRE Trans. Electronic Computers EC-11(4), 1962 (product error in [-1/9, 0],
quotient error in [0, 1/8]).
"""

import json

import numpy as np
import pytest

from kexue_hw import ILM, MBM, Exact, FloatMitchell, Mitchell
from kexue_hw.arith import mul
from kexue_hw.cli import main
from kexue_hw.metrics import error_metrics


@pytest.mark.parametrize("method", ["brute", "analytic"])
def test_mitchell_8bit_exhaustive_figures(method):
    m = error_metrics(Mitchell(8), method=method)
    assert m.exhaustive and m.pairs == 65536
    assert m.ep == pytest.approx(0.9309, abs=5e-5)  # regression pin
    assert m.mae == pytest.approx(606.4, abs=0.05)  # regression pin
    assert m.wce == 4096  # derived: (3 * 2**6)**2 - 2**15 at a = b = 192
    assert m.mre == pytest.approx(0.03788, abs=5e-6)  # regression pin
    assert m.wcre == pytest.approx(1 / 9, rel=1e-12)  # published (Mitchell 1962)
    assert m.bias == pytest.approx(-0.03788, abs=5e-6)  # regression pin (= -mre: the error is never positive)
    assert m.rel_max == 0.0  # published (Mitchell 1962): the product is never too large
    assert m.worst_abs_pair == (192, 192) and m.worst_rel_pair == (3, 3)  # derived (first in sweep order)
    assert m.nmed == pytest.approx(m.mae / (255 * 255))


@pytest.mark.parametrize("unit", [Mitchell(7, signed=True, frac_bits=3), MBM(7, signed=True), ILM(7, corrections=1)])
def test_metrics_match_a_numpy_brute_force(unit):
    v = np.arange(unit.min_value, unit.max_value + 1)
    a, b = v[:, None], v[None, :]
    err = (mul(unit, a, b) - a * b).astype(float)
    ex = (a * b).astype(float)
    nz = ex != 0
    rel = err[nz] / ex[nz]
    m = error_metrics(unit, method="brute")
    assert m.ep == pytest.approx(np.count_nonzero(err) / err.size)
    assert m.mae == pytest.approx(np.abs(err).mean())
    assert m.mse == pytest.approx((err**2).mean())
    assert m.wce == np.abs(err).max()
    assert m.mre == pytest.approx(np.abs(rel).mean())
    assert m.bias == pytest.approx(rel.mean())
    assert m.wcre == pytest.approx(np.abs(rel).max())


@pytest.mark.parametrize("width", [8, 12])
def test_mitchell_division_error_in_zero_to_one_eighth(width):
    m = error_metrics(Mitchell(width), "div")
    assert m.pairs == (1 << width) * ((1 << width) - 1)
    assert m.rel_min >= 0.0  # published (Mitchell 1962): the quotient error lies in [0, 1/8]
    assert m.rel_max <= 0.125 + 1e-12
    assert m.bias == pytest.approx(0.041, abs=0.001)  # regression pin


@pytest.mark.parametrize("corrections,mre", [(0, 0.089131), (1, 0.008337), (2, 0.000708), (3, 0.000048)])
def test_ilm_8bit_mre(corrections, mre):
    """Regression pins (this code's output, 6 digits); each correction term cuts the error about tenfold."""
    assert error_metrics(ILM(8, corrections=corrections)).mre == pytest.approx(mre, abs=5e-7)


def test_mbm_16bit_sampled():
    m = error_metrics(MBM(16), exhaustive=False, samples=400_000, seed=1)  # regression pins, sampled
    assert m.bias == pytest.approx(-0.0009, abs=0.0003)
    assert m.mre == pytest.approx(0.0258, abs=0.0004)
    assert m.wcre == pytest.approx(0.078, abs=0.002)


def test_exact_unit_has_no_error_and_sampling_is_seeded():
    m = error_metrics(Exact(24), exhaustive=False, samples=10_000, seed=3)
    assert m.ep == 0 and m.mae == 0 and m.wcre == 0
    a = error_metrics(Mitchell(24), exhaustive=False, samples=10_000, seed=3)
    b = error_metrics(Mitchell(24), exhaustive=False, samples=10_000, seed=3)
    assert a.mae == b.mae and a.rel_min >= -1 / 9 - 1e-12 and a.rel_max <= 0


def test_float_metrics_are_mitchell_like():
    m = error_metrics(FloatMitchell("fp32"), samples=50_000)
    assert -1 / 9 - 1e-6 <= m.rel_min and m.rel_max <= 1e-7  # Mitchell's bounds on the significands
    assert m.mre == pytest.approx(0.0379, abs=0.002)  # regression pin


def test_cli_error_json(capsys):
    assert main(["error", "mitchell", "--op", "mul", "--width", "8", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in "unit op width signed pairs exhaustive seconds ep mae mse wce mre wcre bias nmed".split():
        assert key in d
    assert d["wce"] == 4096 and round(d["mre"], 5) == 0.03788


def test_cli_mul_div_and_errors(capsys, tmp_path):
    assert main(["mul", "3", "3", "--width", "8"]) == 0
    out = capsys.readouterr().out
    assert "approx    8" in out and "exact     9" in out
    assert main(["div", "7", "0", "--width", "8"]) == 2
    assert "divisor" in capsys.readouterr().err
    assert main(["mul", "300", "2", "--width", "8"]) == 2
    png = tmp_path / "heat.png"
    assert main(["error", "mitchell", "--width", "6", "--plot", str(png)]) == 0
    assert png.stat().st_size > 1000
