"""The ZO / PG equivalence demonstration: its references are right and its quick run meets the bar."""

import math

import pytest

torch = pytest.importorskip("torch")

from kexue_hw.optim import equivalence as eq  # noqa: E402


@pytest.fixture(scope="module")
def small():
    return eq.make_problem(n=256, seed=1)


def test_gaussian_reward_matches_monte_carlo(small):
    """J_ε by quadrature equals the mean accuracy over Gaussian parameter draws (the ZO expected reward)."""
    eps = 0.5
    g = torch.Generator().manual_seed(0)
    draws = [eq.accuracy(small, small.weight + eps * torch.randn(small.weight.shape, generator=g, dtype=eq.DTYPE))
             for _ in range(4000)]
    mc = sum(draws) / len(draws)
    sd = (sum((d - mc) ** 2 for d in draws) / len(draws) / len(draws)) ** 0.5
    assert abs(float(eq.gaussian_reward(small, small.weight, eps)) - mc) < 4 * sd + 1e-3


def test_softmax_reward_is_gumbel_argmax_accuracy(small):
    """R_τ = accuracy of argmax(z + τ·Gumbel): the PG expected reward is a perturbed-argmax accuracy too."""
    tau = 0.7
    g = torch.Generator().manual_seed(0)
    z = small.x @ small.weight.T
    hits = 0.0
    for _ in range(400):
        gumbel = -torch.log(-torch.log(torch.rand(z.shape, generator=g, dtype=eq.DTYPE)))
        hits += float(((z + tau * gumbel).argmax(1) == small.y).to(eq.DTYPE).mean())
    assert hits / 400 == pytest.approx(float(eq.softmax_reward(small, small.weight, tau)), abs=0.01)


def test_exact_single_draw_variances():
    """The seed's reward sets under a uniform policy: exact variances by enumeration."""
    got = {(tuple(t["rewards"]), t["baseline"]): t["variance"]
           for r in ([4, 5, 6], [-10, 10, 15]) for t in [eq.single_draw_variance(r, b) for b in (0.0, 5.0)]}
    # one draw g = (r_y − b)(e_y − p): E‖g‖² = mean_y (r_y − b)²·2/3, ‖E g‖² = ‖r − 5‖²/9
    assert got[((4.0, 5.0, 6.0), 0.0)] == pytest.approx(77 / 3 * 2 / 3 - 2 / 9)
    assert got[((4.0, 5.0, 6.0), 5.0)] == pytest.approx(2 / 9)
    assert got[((-10.0, 10.0, 15.0), 0.0)] == pytest.approx(425 / 3 * 2 / 3 - 350 / 9)
    assert got[((-10.0, 10.0, 15.0), 5.0)] == pytest.approx(350 / 3 * 2 / 3 - 350 / 9)


def test_quick_run_meets_the_bar():
    res = eq.run(quick=True)
    assert res["identity"]["relative_diff"] < 1e-12  # ZO is REINFORCE of N(θ, ε²I), to rounding
    for row in res["rows"]:
        assert row["cos_exact"] > 0.99 and row["cos_pg"] > 0.99
        assert row["cos_zo"] > 0.7 and row["cos_pg_joint"] > 0.7
        assert abs(row["gaussian_reward"] - row["softmax_reward"]) < 0.01
    small_scale = res["rows"][-1]
    assert abs(small_scale["softmax_reward"] - small_scale["accuracy"]) < 0.005
    for v in res["variance"]:
        assert v["zo_baseline"] * 100 < v["zo_none"]
        assert v["pg_joint_baseline"] * 100 < v["pg_joint_none"]
    text = eq.markdown(res)
    assert "| [4, 5, 6] | 5 |" in text and "Bar:" in text
    assert math.isclose(res["setup"]["eps_over_tau"], math.pi / math.sqrt(6))
