"""Zeroth-order estimator and optimizer: convergence, antithetic variance, closures, memory, errors."""

import weakref

import pytest

torch = pytest.importorskip("torch")

from kexue_hw.optim import ZerothOrderSGD, direction, zo_grad_  # noqa: E402
from kexue_hw.optim import zo as zo_module  # noqa: E402


def _quadratic(d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    h = a @ a.T / d + torch.eye(d, dtype=torch.float64)
    c = torch.randn(d, generator=g, dtype=torch.float64)
    theta = torch.randn(d, generator=g, dtype=torch.float64)
    return h, c, theta


@pytest.mark.parametrize("distribution", ["gaussian", "rademacher"])
@pytest.mark.parametrize("antithetic", [True, False])
def test_quadratic_gradient_converges(distribution, antithetic):
    h, c, theta = _quadratic()
    true = h @ theta + c

    def f():
        return 0.5 * theta @ h @ theta + c @ theta

    errs = []
    for n in (16, 256, 4096):
        zo_grad_(theta, f, eps=1e-3, directions=n, antithetic=antithetic, distribution=distribution, seed=3)
        errs.append(float((theta.grad - true).norm() / true.norm()))
    # Monte Carlo error ~ sqrt(d / n): 0.6, 0.15, 0.04
    assert errs[2] < 0.08, errs
    assert errs[2] < errs[0] / 4, errs
    assert float((theta - _quadratic()[2]).abs().max()) < 1e-12  # θ restored after every evaluation


def _variance(estimates):
    g = torch.stack(estimates)
    return float(((g - g.mean(0)) ** 2).sum(1).mean())


def test_antithetic_variance_below_plain():
    # Near the minimum with a finite eps the one-sided estimate carries the curvature term (eps/2)(uᵀHu)u;
    # the antithetic pair cancels it.  Equal cost: 8 pairs vs 16 one-sided directions.
    h, c, _ = _quadratic(d=8, seed=1)
    theta = torch.linalg.solve(h, -c) + 0.01

    def f():
        return 0.5 * theta @ h @ theta + c @ theta

    def est(**kw):
        out = []
        for s in range(40):
            zo_grad_(theta, f, eps=0.1, seed=s, **kw)
            out.append(theta.grad.clone())
        return out

    anti = _variance(est(directions=8, antithetic=True))
    plain = _variance(est(directions=16, antithetic=False, baseline="center"))
    none = _variance(est(directions=16, antithetic=False, baseline="none"))
    assert anti < plain / 4, (anti, plain)
    assert plain < none, (plain, none)


def test_gaussian_estimate_is_unbiased_for_the_smoothed_function():
    # f(θ) = |θ|₁ is non-differentiable at 0; E_u f(θ+εu) has gradient 2Φ(θ/ε) − 1 per coordinate.
    theta = torch.tensor([0.0, 0.05, -0.2], dtype=torch.float64)
    eps = 0.1
    zo_grad_(theta, lambda: theta.abs().sum(), eps=eps, directions=8000, antithetic=True, seed=7)
    smooth = 2 * torch.special.ndtr(theta / eps) - 1
    assert torch.allclose(theta.grad, smooth, atol=0.06), (theta.grad, smooth)  # sign(θ) would be off by 0.6


def _regression(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    x = torch.randn(64, 4)
    y = x.sum(1, keepdim=True).sin()
    return model, x, y


def test_optimizer_steps_module_through_closure():
    model, x, y = _regression()
    before = [p.detach().clone() for p in model.parameters()]
    ids = [id(p) for p in model.parameters()]
    calls = []

    def closure():
        calls.append(torch.is_grad_enabled())
        return torch.nn.functional.mse_loss(model(x), y)

    opt = ZerothOrderSGD(model.parameters(), lr=0.05, eps=1e-3, directions=4)
    with torch.no_grad():
        start = float(closure())
    calls.clear()
    for _ in range(100):
        opt.step(closure)
    with torch.no_grad():
        end = float(closure())
    assert end < 0.6 * start, (start, end)
    assert len(calls) == 1 + 100 * 4 * 2  # antithetic: two evaluations per direction
    assert not any(calls[:-1])  # evaluated without autograd
    assert [id(p) for p in model.parameters()] == ids  # updated in place
    assert all(p.grad is None for p in model.parameters())  # no gradient buffers
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
    assert opt.param_groups[0]["step"] == 100


def test_optimizer_maximize_weight_decay_and_groups():
    theta = torch.zeros(3, dtype=torch.float64)
    other = torch.ones(2, dtype=torch.float64)
    target = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    opt = ZerothOrderSGD([{"params": [theta]}, {"params": [other], "lr": 0.0, "weight_decay": 0.5}],
                         lr=0.1, eps=1e-4, directions=8, maximize=True, seed=1)
    for _ in range(150):
        opt.step(lambda: -((theta - target) ** 2).sum())
    assert torch.allclose(theta, target, atol=0.05)
    assert torch.allclose(other, torch.ones(2, dtype=torch.float64))  # lr 0: decay scaled by lr, no step


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("antithetic", [True, False])
def test_optimizer_step_is_sgd_on_the_zo_gradient(weight_decay, antithetic):
    """The in-place step (last update fused with its restore) equals θ(1 − lr·wd) − lr·ĝ from zo_grad_."""
    h, c, theta0 = _quadratic(d=5, seed=4)
    other0 = torch.linspace(-1, 1, 3, dtype=torch.float64)
    kw = dict(eps=0.01, directions=3, antithetic=antithetic, seed=9)
    theta, other = theta0.clone(), other0.clone()

    def f():
        return 0.5 * theta @ h @ theta + c @ theta + (other**2).sum()

    zo_grad_([theta, other], f, step=0, **kw)
    expect = [t0 * (1 - 0.1 * weight_decay) - 0.1 * t.grad for t0, t in ((theta0, theta), (other0, other))]
    theta, other = theta0.clone(), other0.clone()
    ZerothOrderSGD([theta, other], lr=0.1, weight_decay=weight_decay, **kw).step(f)
    assert torch.allclose(theta, expect[0], atol=1e-12) and torch.allclose(other, expect[1], atol=1e-12)


def test_zo_grad_feeds_any_torch_optimizer():
    model, x, y = _regression(1)
    adam = torch.optim.Adam(model.parameters(), lr=0.02)

    def loss():
        return torch.nn.functional.mse_loss(model(x), y)

    with torch.no_grad():
        start = float(loss())
    for step in range(150):
        zo_grad_(model.parameters(), loss, eps=1e-3, directions=4, step=step)
        adam.step()
    with torch.no_grad():
        assert float(loss()) < 0.6 * start


def test_seeded_and_reproducible():
    def run(seed, steps=3):
        model, x, y = _regression(2)
        opt = ZerothOrderSGD(model.parameters(), lr=0.1, directions=2, seed=seed)
        for _ in range(steps):
            opt.step(lambda: torch.nn.functional.mse_loss(model(x), y))
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert torch.equal(run(5), run(5))
    assert not torch.equal(run(5), run(6))
    params = [torch.zeros(4), torch.zeros(2, 3)]
    a, b, c = (list(direction(params, s)) for s in (11, 11, 12))
    assert all(torch.equal(x, y) for x, y in zip(a, b)) and not torch.equal(a[0], c[0])
    assert [u.shape for u in a] == [(4,), (2, 3)] and not torch.equal(a[0], a[1].flatten()[:4])
    assert all(set(u.flatten().tolist()) <= {-1.0, 1.0} for u in direction(params, 3, "rademacher"))


@pytest.mark.parametrize("antithetic", [True, False])
def test_memory_does_not_grow_with_directions(monkeypatch, antithetic):
    """Directions are regenerated, never kept: at every draw no earlier draw is alive, and the state is fixed."""
    live, peak = [], [0]
    real = zo_module._draw

    def tracked(*args, **kwargs):
        alive = sum(r() is not None for r in live)
        peak[0] = max(peak[0], alive)
        u = real(*args, **kwargs)
        live.append(weakref.ref(u))
        return u

    monkeypatch.setattr(zo_module, "_draw", tracked)
    sizes = {}
    for n in (1, 64):
        model, x, y = _regression(3)
        opt = ZerothOrderSGD(model.parameters(), lr=0.01, directions=n, antithetic=antithetic)
        live.clear()
        opt.step(lambda: torch.nn.functional.mse_loss(model(x), y))
        state = opt.state_dict()
        tensors = sum(t.numel() for s in state["state"].values() for t in s.values() if torch.is_tensor(t))
        sizes[n] = (len(state["state"]), tensors, sorted(state["param_groups"][0]))
        # per parameter: perturb, (reverse,) restore per direction, update for all but the last (fused with restore)
        assert len(live) == ((4 if antithetic else 3) * n - 1) * 4
    assert peak[0] == 0, f"{peak[0]} earlier direction tensors alive at a new draw"
    assert sizes[1] == sizes[64]


def test_closure_error_restores_parameters():
    theta = torch.arange(4, dtype=torch.float64)
    calls = []

    def bad():
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("unit fault")
        return theta.sum()

    with pytest.raises(RuntimeError, match="unit fault"):
        zo_grad_(theta, bad, eps=0.5, directions=3)
    assert torch.allclose(theta, torch.arange(4, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"eps": 0}, "eps must be"),
        ({"eps": float("nan")}, "eps must be"),
        ({"directions": 0}, "directions must be"),
        ({"directions": 2.5}, "directions must be"),
        ({"distribution": "uniform"}, "distribution must be"),
        ({"baseline": "mean"}, "baseline must be"),
    ],
)
def test_bad_options_name_the_option(kwargs, message):
    theta = torch.zeros(2)
    with pytest.raises(ValueError, match=message):
        zo_grad_(theta, lambda: 0.0, **kwargs)
    with pytest.raises(ValueError, match=message):
        ZerothOrderSGD([theta], **kwargs)


def test_bad_closure_and_lr():
    theta = torch.zeros(2)
    with pytest.raises(TypeError, match="scalar"):
        zo_grad_(theta, lambda: torch.zeros(3))
    with pytest.raises(ValueError, match="lr must be"):
        ZerothOrderSGD([theta], lr=-1)
    with pytest.raises(TypeError, match="closure"):
        ZerothOrderSGD([theta]).step(None)
