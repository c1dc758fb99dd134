"""Shared check: a fast exhaustive metrics engine equals the brute-force sweep, figure for figure."""

import math

#: exact in both engines: counts, extremes (computed by the same float arithmetic) and worst pairs
EXACT_FIELDS = ("unit", "op", "width", "signed", "pairs", "exhaustive", "ep", "wce", "wcre", "rel_min", "rel_max")
EXACT_FIELDS += ("worst_abs_pair", "worst_rel_pair", "params")
#: float sums (closed forms vs pair-by-pair accumulation): to 1e-12 relative
SUM_FIELDS = ("mae", "mse", "mre", "bias", "nmed")


def assert_same_metrics(fast, slow, label=""):
    """``fast`` equals the brute force's ``slow``: exact fields bit for bit, sums to 1e-12 relative."""
    for f in EXACT_FIELDS:
        assert getattr(fast, f) == getattr(slow, f), (label, f, getattr(fast, f), getattr(slow, f))
    assert fast.ep * fast.pairs == slow.ep * slow.pairs, label  # the count itself
    for f in SUM_FIELDS:
        x, y = getattr(fast, f), getattr(slow, f)
        assert x == y or math.isclose(x, y, rel_tol=1e-12, abs_tol=0.0), (label, f, x, y)
