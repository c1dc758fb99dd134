"""REINFORCE for categorical policies: the estimator's exact expectation by enumeration, loop, errors."""

import itertools

import pytest

torch = pytest.importorskip("torch")

from kexue_hw.optim import PolicyGradient, advantages, entropy, policy_gradient, reinforce_loss, sample  # noqa: E402

D = torch.float64


def _logits():
    return torch.tensor([[0.3, -0.5, 1.1], [-0.2, 0.4, 0.0]], dtype=D, requires_grad=True)


REWARD = torch.tensor([[4.0, 5.0, 6.0], [-10.0, 10.0, 15.0]], dtype=D)  # reward of class k at position i


def _expected_gradient(logits, rewards_of, samples, baseline, joint, entropy_weight=0.0):
    """E over all S-tuples of joint outcomes of the estimator's gradient (minus the loss gradient)."""
    probs = torch.softmax(logits.detach(), -1)
    outcomes = list(itertools.product(range(3), repeat=2))  # one class per row
    total = torch.zeros_like(logits)
    for draw in itertools.product(outcomes, repeat=samples):
        actions = torch.tensor(draw)  # (S, 2)
        weight = torch.prod(torch.stack([probs[i, a[i]] for a in draw for i in range(2)]))
        rewards = rewards_of(actions)
        loss = reinforce_loss(logits, actions, rewards, baseline=baseline, entropy_weight=entropy_weight)
        total += weight * torch.autograd.grad(loss, logits)[0]
    return -total


def _rewards_batch(actions):  # (S, 2): each row its own problem
    return REWARD[torch.arange(2), actions]


def _rewards_joint(actions):  # (S,): one reward for the joint choice, with an interaction term
    r = REWARD[torch.arange(2), actions]
    return r.sum(-1) + 3.0 * (actions[:, 0] == actions[:, 1]).to(D)


def _exact_objective(logits, joint):
    p = torch.softmax(logits, -1)
    if not joint:
        return (p * REWARD).sum(-1).mean()
    joint_p = p[0][:, None] * p[1][None, :]
    r = REWARD[0][:, None] + REWARD[1][None, :] + 3.0 * torch.eye(3, dtype=D)
    return (joint_p * r).sum()


@pytest.mark.parametrize("joint", [False, True])
@pytest.mark.parametrize("baseline, samples", [("none", 1), ("none", 2), ("mean", 2), (2.5, 1)])
def test_estimator_expectation_equals_exact_gradient(joint, baseline, samples):
    """Enumerating every draw: E[estimate] = ∇E[r] exactly, with and without (leave-one-out) baselines."""
    logits = _logits()
    exact = torch.autograd.grad(_exact_objective(logits, joint), logits)[0]
    fn = _rewards_joint if joint else _rewards_batch
    got = _expected_gradient(logits, fn, samples, baseline, joint)
    assert torch.allclose(got, exact, atol=1e-12), (got, exact)


def test_entropy_term_adds_its_exact_gradient():
    logits = _logits()
    beta = 0.7
    objective = _exact_objective(logits, False) + beta * entropy(logits).mean()
    exact = torch.autograd.grad(objective, logits)[0]
    got = _expected_gradient(logits, _rewards_batch, 1, "none", False, entropy_weight=beta)
    assert torch.allclose(got, exact, atol=1e-12)
    h = entropy(torch.zeros(2, 4, dtype=D), event_dims=1)
    assert torch.allclose(h, torch.log(torch.tensor(4.0, dtype=D)) * 2)


def test_mean_baseline_cuts_variance_of_shifted_rewards():
    """Rewards [4, 5, 6] (all positive, close together): the baseline cuts the variance tenfold."""
    logits = torch.zeros(1, 3, dtype=D, requires_grad=True)
    reward = torch.tensor([4.0, 5.0, 6.0], dtype=D)

    def spread(baseline):
        est = []
        for s in range(300):
            e = policy_gradient(logits, lambda a: reward[a], samples=4, baseline=baseline,
                                generator=torch.Generator().manual_seed(s))
            est.append(-torch.autograd.grad(e.loss, logits)[0].flatten())
        g = torch.stack(est)
        return float(((g - g.mean(0)) ** 2).sum(1).mean()), g.mean(0)

    v_none, m_none = spread("none")
    v_mean, m_mean = spread("mean")
    assert v_mean < v_none / 10, (v_mean, v_none)
    exact = torch.tensor([-1.0, 0.0, 1.0], dtype=D) / 3
    assert torch.allclose(m_mean, exact, atol=0.05) and torch.allclose(m_none, exact, atol=0.5)


def test_leave_one_out_advantages():
    r = torch.tensor([[1.0], [2.0], [6.0]])
    assert torch.allclose(advantages(r, "mean"), torch.tensor([[-3.0], [-1.5], [4.5]]))
    assert torch.equal(advantages(r, "none"), r)
    assert torch.allclose(advantages(r, torch.tensor([1.0])), r - 1)


def test_sample_shapes_and_frequencies():
    logits = torch.tensor([[0.0, 1.0, 2.0]] * 2)
    a = sample(logits, 20000, generator=torch.Generator().manual_seed(0))
    assert a.shape == (20000, 2) and a.dtype == torch.long
    freq = torch.bincount(a[:, 0], minlength=3).float() / 20000
    assert torch.allclose(freq, torch.softmax(logits[0], 0), atol=0.015)


def test_policy_gradient_loop_finds_the_best_assignment():
    """Five 'layers', four choices each, black-box reward: matches to a hidden target minus a cost."""
    target = torch.tensor([2, 0, 3, 1, 2])
    cost = torch.tensor([0.0, 0.1, 0.2, 0.3])
    calls = []

    def reward(actions):  # (S, 5), called once per step outside autograd
        calls.append(actions.shape)
        return (actions == target).float().sum(1) - cost[actions].sum(1)

    logits = torch.zeros(5, 4, requires_grad=True)
    loop = PolicyGradient(logits, reward, samples=8, entropy_weight=0.01, lr=0.2, seed=0)
    history = loop.run(120)
    assert torch.equal(loop.greedy(), target)
    assert history[-1].mean_reward > history[0].mean_reward + 2
    assert history[-1].entropy < history[0].entropy
    assert torch.equal(loop.best, target) and loop.best_reward == pytest.approx(float(5 - cost[target].sum()))
    assert len(calls) == 120 and calls[0] == (8, 5)


def test_policy_gradient_loop_accepts_a_module():
    class Policy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(3, 2))

        def forward(self):
            return self.w

    loop = PolicyGradient(Policy(), lambda a: (a == 1).float().sum(1), samples=4, lr=0.3)
    loop.run(40)
    assert torch.equal(loop.greedy(), torch.ones(3, dtype=torch.long))


def test_errors_are_clear():
    logits = torch.zeros(2, 3, requires_grad=True)
    a = torch.zeros(4, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="rewards must have shape"):
        reinforce_loss(logits, a, torch.zeros(4, 3))
    with pytest.raises(ValueError, match="actions must have shape"):
        reinforce_loss(logits, torch.zeros(4, 3, dtype=torch.long), torch.zeros(4))
    with pytest.raises(ValueError, match="samples >= 2"):
        reinforce_loss(logits, a[:1], torch.zeros(1))
    with pytest.raises(ValueError, match="baseline must be"):
        reinforce_loss(logits, a, torch.zeros(4), baseline="median")
    with pytest.raises(ValueError, match="samples must be"):
        sample(logits, 0)
    with pytest.raises(TypeError, match="policy must be"):
        PolicyGradient(torch.zeros(2, 3), lambda a: a.sum(1))
    loop = PolicyGradient(logits, lambda a: torch.zeros(2), samples=4)
    with pytest.raises(ValueError, match="one reward per draw"):
        loop.step()
