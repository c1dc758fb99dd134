"""Calibration on hand-made class log-probabilities."""

import math

import pytest
import torch

from kexue_hw.models.pet.calibration import Calibrator


def lp(rows):
    return torch.tensor(rows, dtype=torch.float32).log_softmax(-1)


def test_none_is_identity():
    x = lp([[0.0, 1.0], [2.0, 0.0]])
    assert torch.equal(Calibrator.fit("none").apply(x), x)


def test_median_threshold_splits_the_fit_set_in_half():
    # every example leans positive: uncalibrated, all are positive
    x = lp([[0.0, d] for d in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)])
    assert (x.argmax(-1) == 1).all()
    cal = Calibrator.fit("median", x)
    pred = cal.apply(x).argmax(-1).tolist()
    assert pred == [0, 0, 0, 1, 1, 1]  # threshold at the median difference, 1.75
    # the offset puts the decision boundary exactly at the median of lp1 - lp0
    edge = lp([[0.0, 1.75 + 1e-3], [0.0, 1.75 - 1e-3]])
    assert cal.apply(edge).argmax(-1).tolist() == [1, 0]
    assert torch.allclose(cal.apply(x).exp().sum(-1), torch.ones(6))


def test_contextual_divides_by_the_content_free_probabilities():
    content_free = lp([[0.0, math.log(3.0)]])  # p = (0.25, 0.75)
    cal = Calibrator.fit("contextual", content_free=content_free)
    x = lp([[0.0, math.log(3.0)]])
    assert torch.allclose(cal.apply(x).exp(), torch.tensor([[0.5, 0.5]]), atol=1e-6)
    y = lp([[0.0, math.log(6.0)]])  # 6:1 over a 3:1 prior -> 2:1
    assert torch.allclose(cal.apply(y).exp(), torch.tensor([[1 / 3, 2 / 3]]), atol=1e-6)


def test_round_trip_and_errors():
    cal = Calibrator.fit("median", lp([[0.0, 1.0], [0.0, 3.0]]))
    assert Calibrator.from_dict(cal.to_dict()) == cal
    with pytest.raises(ValueError, match="--calibration"):
        Calibrator("platt")
    with pytest.raises(ValueError, match="fit set"):
        Calibrator.fit("median", None)
    with pytest.raises(ValueError, match="3 classes"):
        Calibrator("median", (0.0, 0.0, 0.0)).apply(lp([[0.0, 1.0]]))
