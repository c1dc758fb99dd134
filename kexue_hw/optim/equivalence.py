"""Policy gradient and zeroth-order optimisation are one estimator: a numerical demonstration.

Problem.  Unit-norm features x_i ∈ R^D (‖x_i‖ = 1), labels c_i, a linear classifier W ∈ R^{K×D} with logits
z_i = W x_i, and the reward acc(W) = mean_i 1[argmax_k z_ik = c_i]: piecewise constant, its gradient is zero
almost everywhere, and neither estimator differentiates it.

Both estimators are the score-function (REINFORCE) estimator E_{a~π}[(r(a) − b) ∇ log π(a)] of the gradient
of an expected reward; they differ only in what the policy π randomises.

* ZO randomises the parameters: W' = W + εU ~ N(W, ε²I).  Then ∇_W log π(W') = U/ε and the REINFORCE term
  (acc(W') − b)·U/ε is exactly the ZO estimate (checked below to rounding).  Its expected reward is the
  Gaussian smoothing J_ε(W) = E_U acc(W + εU).  Because ‖x_i‖ = 1 and U has iid N(0, 1) entries, U x_i ~
  N(0, I_K): every example's logits get iid Gaussian noise of std ε, so
      J_ε(W) = mean_i P(argmax(z_i + εg) = c_i) = mean_i ∫ φ(t) Π_{k≠c_i} Φ((z_ic_i − z_ik)/ε + t) dt,
  one-dimensional (the noise on the true class is t), computed with Gauss–Hermite nodes; its autograd
  gradient is the exact reference for ZO.
* PG randomises the outputs: y_i ~ softmax(z_i/τ) per example, reward 1[y_i = c_i].  Its expected reward is
  R_τ(W) = mean_i softmax(z_i/τ)_{c_i}, whose autograd gradient is the exact reference for PG.  By the
  Gumbel-max trick y_i = argmax(z_i + τG) with G iid standard Gumbel, so
      R_τ(W) = mean_i P(argmax(z_i + τG) = c_i).

So both expected rewards are the accuracy of argmax under random logit noise, Gaussian (std ε) or Gumbel
(scale τ), and both tend to acc(W) as ε, τ → 0.  A decision between two classes sees only a noise
difference: N(0, 2ε²) for Gaussian, logistic with variance π²τ²/3 for Gumbel; equal variances give
ε = πτ/√6 (used throughout).  As the scale σ shrinks, each example's gradient concentrates on the decision
boundary with weight ρ(m/σ)/σ (m its margin, ρ the density of the noise difference), which integrates to 1
for either noise, so both gradients tend to the same boundary integral: the gradient of the population
accuracy when the data have a density (on a finite data set, until σ nears the spacing of the margins).

What the script reports (:func:`run`, :func:`markdown`):

* the identity: ZO (Gaussian, b = f(θ)) against autograd REINFORCE of the Gaussian policy, same draws;
* per temperature τ (ε = πτ/√6): acc, R_τ, J_ε; cos(∇R_τ, ∇J_ε) of the exact gradients (and with the
  unmatched ε = τ, where the shape of the noise shows at large scale and fades as it shrinks); the estimates
  at equal cost (the same number of passes over the data set) against their exact references: PG with one
  reward per example, PG with one reward per draw (the data set's accuracy of the sampled labels, a black
  box like ZO's), ZO with antithetic pairs, and cos(ZO, PG);
* variances with and without baseline, as tr Cov(estimate) / ‖exact gradient‖² at 64 draws: ZO with
  b = f(θ) or 0, PG with the leave-one-out mean or 0; and the exact single-draw variance for a uniform
  three-outcome policy with rewards [4, 5, 6] and [−10, 10, 15] (b = 0 or E r = 5), by enumeration.
  For a per-example 0/1 reward of a confident policy the mean baseline need not help (the rewarded
  outcome's score e_c − p is already small when p_c ≈ 1); it pays when one scalar scores many random
  choices, as for ZO and the one-reward-per-draw PG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .pg import log_prob, reinforce_loss, sample
from .zo import direction, direction_seed, zo_grad_

MATCH = math.pi / math.sqrt(6.0)  # ε = MATCH·τ: Gaussian and Gumbel noise differences of equal variance
DTYPE = torch.float64


@dataclass(frozen=True)
class Problem:
    """Unit-norm features ``x`` (n, D), labels ``y`` (n,), and the classifier ``weight`` (K, D) to differentiate at."""

    x: torch.Tensor
    y: torch.Tensor
    weight: torch.Tensor


def make_problem(n: int = 16384, dim: int = 8, classes: int = 4, *, seed: int = 0, spread: float = 0.6,
                 scale: float = 4.0, jitter: float = 1.0) -> Problem:
    """Gaussian clusters around unit class centres, projected to the sphere; W = scale·(centres + jitter noise).

    The jitter puts W away from the nearest-centroid classifier so the accuracy gradient is far from zero.
    """
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(classes, dim, generator=g, dtype=DTYPE)
    mu /= mu.norm(dim=1, keepdim=True)
    y = torch.randint(0, classes, (n,), generator=g)
    x = mu[y] + spread * torch.randn(n, dim, generator=g, dtype=DTYPE)
    x /= x.norm(dim=1, keepdim=True)
    w = scale * (mu + jitter * torch.randn(classes, dim, generator=g, dtype=DTYPE) / math.sqrt(dim))
    return Problem(x=x, y=y, weight=w)


def accuracy(p: Problem, weight: torch.Tensor) -> float:
    """The non-differentiable reward: fraction of examples whose argmax logit is the label."""
    return float(((p.x @ weight.T).argmax(1) == p.y).to(DTYPE).mean())


def softmax_reward(p: Problem, weight: torch.Tensor, tau: float) -> torch.Tensor:
    """R_τ(W) = mean_i softmax(z_i/τ)[c_i]: PG's expected reward (differentiable)."""
    return torch.softmax(p.x @ weight.T / tau, dim=1).gather(1, p.y[:, None]).mean()


_NODES: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}


def gaussian_reward(p: Problem, weight: torch.Tensor, eps: float, nodes: int = 32) -> torch.Tensor:
    """J_ε(W) = E_U acc(W + εU) = mean_i ∫ φ(t) Π_{k≠c} Φ((z_c − z_k)/ε + t) dt.

    Gauss–Hermite with ``nodes`` points (32 agree with 128 to 1e-10 here); differentiable in ``weight``.
    """
    if nodes not in _NODES:
        t, w = np.polynomial.hermite_e.hermegauss(nodes)
        _NODES[nodes] = torch.tensor(t, dtype=DTYPE), torch.tensor(w / math.sqrt(2 * math.pi), dtype=DTYPE)
    t, w = _NODES[nodes]
    z = p.x @ weight.T
    gap = (z.gather(1, p.y[:, None]) - z) / eps  # (n, K), zero in the label's column
    cdf = torch.special.ndtr(gap[:, :, None] + t)  # (n, K, nodes)
    own = torch.nn.functional.one_hot(p.y, z.shape[1]).bool()[:, :, None]
    cdf = torch.where(own, torch.ones_like(cdf), cdf)
    return (cdf.prod(1) * w).sum(1).mean()


def exact_gradient(reward, p: Problem, scale: float) -> torch.Tensor:
    """Autograd gradient in W of ``reward(p, W, scale)`` (:func:`softmax_reward` or :func:`gaussian_reward`)."""
    w = p.weight.clone().requires_grad_(True)
    return torch.autograd.grad(reward(p, w, scale), w)[0]


def zo_estimate(p: Problem, eps: float, directions: int, *, antithetic: bool = True, baseline="center",
                seed: int = 0) -> torch.Tensor:
    """ZO estimate of ∇J_ε through :func:`~kexue_hw.optim.zo_grad_`, the closure being the accuracy."""
    w = p.weight.clone()
    zo_grad_(w, lambda: accuracy(p, w), eps=eps, directions=directions, antithetic=antithetic,
             baseline=baseline, seed=seed)
    return w.grad


def pg_estimate(p: Problem, tau: float, samples: int, *, joint: bool = False, baseline="mean",
                seed: int = 0, chunk: int = 128) -> torch.Tensor:
    """PG estimate of ∇R_τ through :func:`~kexue_hw.optim.reinforce_loss`.

    ``joint=False``: one reward per example (rewards (S, n)); ``joint=True``: one reward per draw, the
    accuracy of the sampled labels over the data set (rewards (S,)), a black box like ZO's closure.
    Draws are taken ``chunk`` at a time (the baseline within each chunk) to bound memory; the result is
    the draw-weighted mean of the chunk estimates.
    """
    w = p.weight.clone().requires_grad_(True)
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros_like(p.weight)
    for start in range(0, samples, chunk):
        s = min(chunk, samples - start)
        logits = p.x @ w.T / tau
        actions = sample(logits, s, generator=gen)
        rewards = (actions == p.y).to(DTYPE)
        if joint:
            rewards = rewards.mean(1)
        loss = reinforce_loss(logits, actions, rewards, baseline=baseline)
        total -= s * torch.autograd.grad(loss, w)[0]
    return total / samples


def gaussian_policy_reinforce(p: Problem, eps: float, directions: int, *, seed: int = 0) -> torch.Tensor:
    """REINFORCE for the policy W' ~ N(W, ε²I), reward acc(W'), b = acc(W), on ZO's own draws (autograd score)."""
    w = p.weight.clone().requires_grad_(True)
    b = accuracy(p, p.weight)
    total = torch.zeros_like(p.weight)
    for k in range(directions):
        sample_w = p.weight + eps * next(direction([p.weight], direction_seed(seed, 0, k)))
        logp = torch.distributions.Normal(w, eps).log_prob(sample_w).sum()
        total += (accuracy(p, sample_w) - b) * torch.autograd.grad(logp, w)[0]
    return total / directions


def single_draw_variance(rewards, baseline: float, logits=None) -> dict:
    """Exact mean and total variance of one REINFORCE draw (r(y) − b)∇log p(y), by enumerating y."""
    r = torch.as_tensor(rewards, dtype=DTYPE)
    theta = (torch.zeros_like(r) if logits is None else torch.as_tensor(logits, dtype=DTYPE)).requires_grad_(True)
    probs = torch.softmax(theta.detach(), 0)
    terms = []
    for y in range(len(r)):
        score = torch.autograd.grad(log_prob(theta, torch.tensor([y]))[0], theta)[0]
        terms.append((r[y] - baseline) * score)
    g = torch.stack(terms)
    mean = (probs[:, None] * g).sum(0)
    var = float((probs * ((g - mean) ** 2).sum(1)).sum())
    return {"rewards": [float(v) for v in r], "baseline": baseline, "mean": [round(float(v), 6) for v in mean],
            "variance": var}


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0))


def _relative_variance(estimates: list[torch.Tensor], ref: torch.Tensor) -> float:
    g = torch.stack([e.flatten() for e in estimates])
    tr = float(((g - g.mean(0)) ** 2).sum(1).sum()) / (len(estimates) - 1)
    return tr / float(ref.norm() ** 2)


def run(*, quick: bool = False, seed: int = 0) -> dict:
    """All figures of the demonstration as a JSON-ready dict (``quick``: a smaller data set and fewer rows)."""
    n = 4096 if quick else 16384
    taus = (1.0, 0.1) if quick else (2.0, 1.0, 0.5, 0.2, 0.1, 0.05, 0.02)
    passes = 512 if quick else 1024  # data-set passes per estimate: ZO 2·pairs evaluations, PG draws
    var_taus = (0.1,) if quick else (1.0, 0.1)
    var_draws, var_repeats = 64, (4 if quick else 12)
    p = make_problem(n=n, seed=seed)
    acc = accuracy(p, p.weight)

    eps0 = MATCH * taus[len(taus) // 2]
    zo = zo_estimate(p, eps0, 16, antithetic=False, seed=seed)
    rf = gaussian_policy_reinforce(p, eps0, 16, seed=seed)
    identity = {"eps": eps0, "directions": 16, "max_abs_diff": float((zo - rf).abs().max()),
                "relative_diff": float((zo - rf).norm() / rf.norm())}

    rows = []
    for tau in taus:
        eps = MATCH * tau
        g_r, g_j = exact_gradient(softmax_reward, p, tau), exact_gradient(gaussian_reward, p, eps)
        pg = pg_estimate(p, tau, passes, seed=seed)
        pg_joint = pg_estimate(p, tau, passes, joint=True, seed=seed + 1)
        zo = zo_estimate(p, eps, passes // 2, seed=seed + 2)
        rows.append({
            "tau": tau, "eps": eps, "accuracy": acc,
            "softmax_reward": float(softmax_reward(p, p.weight, tau)),
            "gaussian_reward": float(gaussian_reward(p, p.weight, eps)),
            "cos_exact": _cos(g_r, g_j),
            "cos_exact_unmatched": _cos(g_r, exact_gradient(gaussian_reward, p, tau)),
            "cos_pg": _cos(pg, g_r), "cos_pg_joint": _cos(pg_joint, g_r), "cos_zo": _cos(zo, g_j),
            "cos_zo_pg": _cos(zo, pg),
        })

    variances = []
    for tau in var_taus:
        eps = MATCH * tau
        g_r, g_j = exact_gradient(softmax_reward, p, tau), exact_gradient(gaussian_reward, p, eps)
        reps = range(var_repeats)

        def rv(fn, ref):
            return _relative_variance([fn(100 + s) for s in reps], ref)

        variances.append({
            "tau": tau, "eps": eps, "draws": var_draws, "repeats": var_repeats,
            "zo_baseline": rv(lambda s: zo_estimate(p, eps, var_draws, antithetic=False, seed=s), g_j),
            "zo_none": rv(lambda s: zo_estimate(p, eps, var_draws, antithetic=False, baseline="none", seed=s), g_j),
            "pg_joint_baseline": rv(lambda s: pg_estimate(p, tau, var_draws, joint=True, seed=s), g_r),
            "pg_joint_none": rv(lambda s: pg_estimate(p, tau, var_draws, joint=True, baseline="none", seed=s), g_r),
            "pg_baseline": rv(lambda s: pg_estimate(p, tau, var_draws, seed=s), g_r),
            "pg_none": rv(lambda s: pg_estimate(p, tau, var_draws, baseline="none", seed=s), g_r),
        })

    tiny = [single_draw_variance(r, b) for r in ([4, 5, 6], [-10, 10, 15]) for b in (0.0, 5.0)]
    last = rows[-1]
    bar_keys = ("cos_exact", "cos_pg", "cos_pg_joint", "cos_zo", "cos_zo_pg")
    return {
        "setup": {"examples": n, "features": p.x.shape[1], "classes": p.weight.shape[0], "parameters": p.weight.numel(),
                  "passes_per_estimate": passes, "eps_over_tau": MATCH, "seed": seed, "quick": quick},
        "identity": identity,
        "rows": rows,
        "variance": variances,
        "tiny": tiny,
        "bar": {"min_cosine_at_smallest_scale": min(last[k] for k in bar_keys), "threshold": 0.9,
                "met": min(last[k] for k in bar_keys) >= 0.9},
    }


_COLUMNS = (  # (header, row key, format) of the cosine table
    ("τ", "tau", "{:g}"), ("ε", "eps", "{:.3f}"), ("acc", "accuracy", "{:.4f}"), ("R_τ", "softmax_reward", "{:.4f}"),
    ("J_ε", "gaussian_reward", "{:.4f}"), ("cos(∇R_τ, ∇J_ε)", "cos_exact", "{:.4f}"),
    ("same, ε = τ", "cos_exact_unmatched", "{:.4f}"), ("PG per example", "cos_pg", "{:.4f}"),
    ("PG one reward/draw", "cos_pg_joint", "{:.4f}"), ("ZO", "cos_zo", "{:.4f}"),
    ("cos(ZO, PG)", "cos_zo_pg", "{:.4f}"),
)
_VARIANCE_COLUMNS = (
    ("τ", "tau", "{:g}"), ("ZO b=f(θ)", "zo_baseline", "{:.3g}"), ("ZO b=0", "zo_none", "{:.3g}"),
    ("PG one reward/draw, b=LOO mean", "pg_joint_baseline", "{:.3g}"), ("b=0", "pg_joint_none", "{:.3g}"),
    ("PG per example, b=LOO mean", "pg_baseline", "{:.3g}"), ("b=0", "pg_none", "{:.3g}"),
)


def _table(columns, rows) -> list[str]:
    out = ["| " + " | ".join(c[0] for c in columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(fmt.format(r[key]) for _, key, fmt in columns) + " |" for r in rows]
    return out


def markdown(res: dict) -> str:
    """The figures of :func:`run` as text with markdown tables."""
    s, ident, v0, bar = res["setup"], res["identity"], res["variance"][0], res["bar"]
    passes = s["passes_per_estimate"]
    out = [
        f"Linear classifier, {s['examples']} examples on the unit sphere in R^{s['features']}, "
        f"{s['classes']} classes, {s['parameters']} parameters; reward = accuracy of argmax. "
        "ε = πτ/√6 (equal-variance noise differences).",
        "",
        f"Identity (ZO, Gaussian, b = f(θ), {ident['directions']} directions) vs REINFORCE of N(θ, ε²I) "
        f"on the same draws: max |diff| {ident['max_abs_diff']:.1e}, relative {ident['relative_diff']:.1e}.",
        "",
        "Cosines; references are exact gradients (∇R_τ closed form, ∇J_ε quadrature); every estimate costs "
        f"{passes} passes over the data (ZO: {passes // 2} antithetic pairs; PG: {passes} draws).",
        "",
        *_table(_COLUMNS, res["rows"]),
        "",
        f"Variance tr Cov / ‖∇‖² of one estimate from {v0['draws']} draws ({v0['repeats']} repeats), "
        "with baseline vs without:",
        "",
        *_table(_VARIANCE_COLUMNS, res["variance"]),
        "",
        "Uniform 3-outcome policy, one draw, exact by enumeration:",
        "",
        "| rewards | b | E[estimate] | total variance |",
        "|---|---|---|---|",
    ]
    for t in res["tiny"]:
        out.append(f"| {[int(v) for v in t['rewards']]} | {t['baseline']:g} | {t['mean']} | {t['variance']:.4g} |")
    out += ["", f"Bar: min cosine at the smallest τ = {bar['min_cosine_at_smallest_scale']:.4f} "
                f"({'met' if bar['met'] else 'NOT met'}, threshold {bar['threshold']})."]
    return "\n".join(out)
