"""Patterns and verbalizers as data."""

import pytest

from kexue_hw.models.pet.patterns import CLM_PATTERN, MLM_PATTERNS, Pattern, Verbalizer


def test_parts_of_prefix_suffix_and_causal_patterns():
    assert Pattern("{mask}满意。{x}").parts() == ("", "满意。", "", "mask_first")
    assert Pattern("{x}。总之{mask}满意。").parts() == ("", "。总之", "满意。", "x_first")
    assert CLM_PATTERN.parts() == ("Review: ", "", "\nSentiment:", "no_mask")
    assert all(p.cloze for p in MLM_PATTERNS) and not CLM_PATTERN.cloze
    assert Pattern("{x}!", max_chars=3).fill("abcdef") == "abc!"


def test_pattern_errors():
    with pytest.raises(ValueError, match="exactly one"):
        Pattern("{mask}满意")
    with pytest.raises(ValueError, match="at most one"):
        Pattern("{mask}{mask}{x}")
    with pytest.raises(ValueError, match="max_chars"):
        Pattern("{x}", max_chars=0)


def test_verbalizer_words():
    v = Verbalizer((("差", "不好"), "好"))
    assert v.words == (("差", "不好"), ("好",))
    assert v.flat() == [(0, "差"), (0, "不好"), (1, "好")]
    assert Verbalizer((("a",), ("b",), ("c",))).names == ("class0", "class1", "class2")
    with pytest.raises(ValueError):
        Verbalizer((("a",),))
    with pytest.raises(ValueError):
        Verbalizer((("a",), ("",)))
