"""The character n-gram logistic-regression baseline."""

import pytest

from kexue_hw.models.pet.baseline import NgramBaseline, char_ngrams


def test_ngrams():
    assert char_ngrams("好吃好", (1, 2)) == {"好": 2, "吃": 1, "好吃": 1, "吃好": 1}


def test_learns_a_separable_toy_task_and_is_deterministic():
    pos = ["很好吃", "很好", "真好", "好极了", "非常好"]
    neg = ["很难吃", "很差", "真差", "差极了", "非常差"]
    b = NgramBaseline().fit(pos + neg, [1] * 5 + [0] * 5)
    assert b.predict(["好吃好", "太差"]) == [1, 0]
    assert b.accuracy(pos + neg, [1] * 5 + [0] * 5) == 1.0
    b2 = NgramBaseline().fit(pos + neg, [1] * 5 + [0] * 5)
    assert (b.log_probs(["还行"]) == b2.log_probs(["还行"])).all()
    # an unseen text gets the bias only: balanced data, near 50/50
    assert abs(b.log_probs(["xyz"]).exp()[0, 1].item() - 0.5) < 0.05


def test_errors():
    with pytest.raises(ValueError):
        NgramBaseline(orders=())
    with pytest.raises(ValueError):
        NgramBaseline().fit(["a"], [])
