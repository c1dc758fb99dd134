"""Policy gradient (REINFORCE) for categorical policies: rewards may be expensive and non-differentiable.

For a categorical policy p_θ(y) = softmax(logits_θ)[y] and any reward r(y),

    ∇_θ E_{y~p_θ}[r(y)] = E_{y~p_θ}[(r(y) − b) ∇_θ log p_θ(y)]

for every baseline b that does not depend on y (E[∇ log p] = 0), so b changes only the variance.
The estimate averages S samples.  ``baseline="mean"`` uses, for sample s, the mean reward of the other
S − 1 samples of the same problem (leave-one-out), which keeps the estimate unbiased; the plain mean
including r(y_s) would shrink it by (S − 1)/S.  ``baseline="none"`` is b = 0; a number or tensor
(broadcast against the rewards) is used as given, e.g. a running average.

Shapes.  ``logits`` (*batch, *event, K): independent problems along ``batch`` (each with its own reward,
e.g. one example of a data set) and one joint action along ``event`` (a factorised policy, e.g. one
unit choice per layer, log p summed over it).  Actions are (S, *batch, *event); rewards are (S, *batch),
so the reward's shape says where batch ends.  The estimate is of ∇ mean_batch E[r].

Entropy.  ``entropy=β`` adds β·H(p_θ) (exact, summed over the event dims, mean over batch) to the
objective, which keeps the policy from collapsing before the reward has been explored.

Sign.  :func:`reinforce_loss` returns a loss to *minimise*: its gradient is −(PG estimate + β∇H), so
``loss.backward()`` followed by any torch optimizer ascends the expected reward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

BASELINES = ("mean", "none")


def _check_logits(logits: torch.Tensor) -> None:
    if not isinstance(logits, torch.Tensor) or logits.dim() < 1 or logits.shape[-1] < 1:
        shape = getattr(logits, "shape", logits)
        raise ValueError(f"logits must be a tensor of shape (..., K) with K >= 1, got {shape!r}")


def sample(logits: torch.Tensor, samples: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``samples`` independent draws y ~ softmax(logits): a long tensor (samples, *logits.shape[:-1])."""
    _check_logits(logits)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
    probs = torch.softmax(logits.detach().float(), dim=-1).reshape(-1, logits.shape[-1])
    draws = torch.multinomial(probs, samples, replacement=True, generator=generator)  # (M, S)
    return draws.T.reshape(samples, *logits.shape[:-1])


def log_prob(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log p(actions) per draw and position: (S, *logits.shape[:-1]), differentiable in ``logits``."""
    logp = torch.log_softmax(logits, dim=-1)
    expanded = logp.unsqueeze(0).expand(actions.shape[0], *logp.shape)
    return expanded.gather(-1, actions.unsqueeze(-1)).squeeze(-1)


def entropy(logits: torch.Tensor, event_dims: int = 0) -> torch.Tensor:
    """H(softmax(logits)) summed over the last ``event_dims`` positions: shape logits.shape[:-1-event_dims]."""
    logp = torch.log_softmax(logits, dim=-1)
    h = -(logp.exp() * logp).sum(-1)
    return h.sum(dim=tuple(range(-event_dims, 0))) if event_dims else h


def advantages(rewards: torch.Tensor, baseline: str | float | torch.Tensor = "mean") -> torch.Tensor:
    """r − b per draw (S, *batch), b as in the module docstring; detached."""
    r = torch.as_tensor(rewards).detach()
    if not torch.is_floating_point(r):
        r = r.to(torch.get_default_dtype())
    if isinstance(baseline, str):
        if baseline == "none":
            return r
        if baseline == "mean":
            s = r.shape[0]
            if s < 2:
                raise ValueError("baseline='mean' needs samples >= 2 (leave-one-out mean of the other samples)")
            return r - (r.sum(0, keepdim=True) - r) / (s - 1)
        raise ValueError(f"baseline must be one of {BASELINES}, a number or a tensor, got {baseline!r}")
    return r - torch.as_tensor(baseline, dtype=r.dtype).detach()


def reinforce_loss(
    logits: torch.Tensor,
    actions: torch.Tensor,
    rewards: torch.Tensor,
    *,
    baseline: str | float | torch.Tensor = "mean",
    entropy_weight: float = 0.0,
) -> torch.Tensor:
    """Scalar surrogate −mean[(r − b)·log p(y)] − β·H: its gradient is −(PG estimate + β∇H)."""
    _check_logits(logits)
    actions = torch.as_tensor(actions)
    rewards = torch.as_tensor(rewards)
    s = actions.shape[0] if actions.dim() else 0
    if actions.dim() != logits.dim() or tuple(actions.shape[1:]) != tuple(logits.shape[:-1]):
        raise ValueError(f"actions must have shape (S, *{tuple(logits.shape[:-1])}), got {tuple(actions.shape)}")
    nb = rewards.dim() - 1
    if rewards.dim() < 1 or rewards.shape[0] != s or tuple(rewards.shape[1:]) != tuple(logits.shape[:nb]):
        raise ValueError(
            f"rewards must have shape (S={s}, *batch) with batch a prefix of {tuple(logits.shape[:-1])}, "
            f"got {tuple(rewards.shape)}"
        )
    event_dims = logits.dim() - 1 - nb
    logp = log_prob(logits, actions)
    if event_dims:
        logp = logp.sum(dim=tuple(range(-event_dims, 0)))
    adv = advantages(rewards, baseline).to(logp.dtype)
    loss = -(adv * logp).mean()
    if entropy_weight:
        loss = loss - entropy_weight * entropy(logits, event_dims).mean()
    return loss


@dataclass(frozen=True)
class PGEstimate:
    """One REINFORCE estimate: the surrogate ``loss`` (call ``.backward()``), the draws and their rewards."""

    loss: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor

    @property
    def mean_reward(self) -> float:
        return float(self.rewards.float().mean())


def policy_gradient(
    logits: torch.Tensor,
    reward_fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    samples: int = 8,
    baseline: str | float | torch.Tensor = "mean",
    entropy_weight: float = 0.0,
    generator: torch.Generator | None = None,
) -> PGEstimate:
    """Sample ``samples`` actions, score them with ``reward_fn(actions) -> rewards (S, *batch)``, build the loss.

    ``reward_fn`` is called once, outside autograd, with all draws; it may be slow and non-differentiable.
    """
    actions = sample(logits, samples, generator=generator)
    with torch.no_grad():
        rewards = torch.as_tensor(reward_fn(actions))
    loss = reinforce_loss(logits, actions, rewards, baseline=baseline, entropy_weight=entropy_weight)
    return PGEstimate(loss=loss, actions=actions, rewards=rewards)


@dataclass(frozen=True)
class PGStep:
    """One optimizer step: mean reward of its draws, the best draw, and the policy entropy before the step."""

    mean_reward: float
    best_reward: float
    best_action: torch.Tensor
    entropy: float


class PolicyGradient:
    """A small REINFORCE loop for a policy whose reward is a black box (one joint action per draw).

    ``policy`` is a leaf tensor of logits (*event, K) with ``requires_grad`` (for example one row of unit
    choices per layer), or an ``nn.Module`` whose ``forward()`` (no arguments) returns such logits.
    ``reward_fn(actions)`` gets a (samples, *event) long tensor and returns ``samples`` rewards.
    Each :meth:`step` draws ``samples`` actions, calls ``reward_fn`` once, and takes one step of
    ``optimizer`` (default Adam at ``lr``) on :func:`reinforce_loss`.  ``best`` keeps the best draw seen.
    """

    def __init__(
        self,
        policy: torch.Tensor | torch.nn.Module,
        reward_fn: Callable[[torch.Tensor], torch.Tensor],
        *,
        samples: int = 8,
        baseline: str | float | torch.Tensor = "mean",
        entropy_weight: float = 0.0,
        lr: float = 0.1,
        optimizer: torch.optim.Optimizer | None = None,
        seed: int = 0,
    ):
        if isinstance(policy, torch.nn.Module):
            self._logits, params = policy, list(policy.parameters())
        elif isinstance(policy, torch.Tensor) and policy.is_leaf and policy.requires_grad:
            self._logits, params = (lambda: policy), [policy]
        else:
            raise TypeError("policy must be a leaf logits tensor with requires_grad=True or an nn.Module")
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
        if isinstance(baseline, str) and baseline == "mean" and samples < 2:
            raise ValueError("baseline='mean' needs samples >= 2 (leave-one-out mean of the other samples)")
        self.reward_fn, self.samples, self.baseline, self.entropy_weight = reward_fn, samples, baseline, entropy_weight
        self.optimizer = optimizer if optimizer is not None else torch.optim.Adam(params, lr=lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.best_reward = -float("inf")
        self.best: torch.Tensor | None = None

    def logits(self) -> torch.Tensor:
        return self._logits()

    def greedy(self) -> torch.Tensor:
        """The most probable joint action."""
        with torch.no_grad():
            return self.logits().argmax(-1)

    def step(self) -> PGStep:
        logits = self.logits()
        est = policy_gradient(
            logits, self._batched_reward, samples=self.samples, baseline=self.baseline,
            entropy_weight=self.entropy_weight, generator=self.generator,
        )
        self.optimizer.zero_grad()
        est.loss.backward()
        self.optimizer.step()
        r = est.rewards.float()
        i = int(r.argmax())
        if float(r[i]) > self.best_reward:
            self.best_reward, self.best = float(r[i]), est.actions[i].clone()
        with torch.no_grad():
            h = float(entropy(logits.detach(), logits.dim() - 1))
        return PGStep(mean_reward=float(r.mean()), best_reward=float(r[i]), best_action=est.actions[i], entropy=h)

    def run(self, steps: int) -> list[PGStep]:
        return [self.step() for _ in range(steps)]

    def _batched_reward(self, actions: torch.Tensor) -> torch.Tensor:
        rewards = torch.as_tensor(self.reward_fn(actions), dtype=torch.get_default_dtype())
        if rewards.shape != (actions.shape[0],):
            raise ValueError(f"reward_fn must return one reward per draw, shape ({actions.shape[0]},), "
                             f"got {tuple(rewards.shape)}")
        return rewards
