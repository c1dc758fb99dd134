"""Zeroth-order (ZO) gradients: forward evaluations only, directions regenerated from seeds.

For a scalar f(θ) (a loss through a non-differentiable unit, an accuracy, anything a closure returns)
and random directions u, the estimate over ``directions`` draws is

    ĝ = mean_k (f(θ + ε u_k) − b) / ε · u_k                     (one-sided, baseline b)
    ĝ = mean_k (f(θ + ε u_k) − f(θ − ε u_k)) / (2ε) · u_k         (antithetic pair ±u_k; b cancels)

With Gaussian u ~ N(0, I), Stein's lemma gives E[ĝ] = ∇f_ε(θ) exactly, where
f_ε(θ) = E_u f(θ + εu) is the Gaussian smoothing of f: smooth even where f is piecewise constant, and
f_ε → f, ∇f_ε → ∇f as ε → 0 where f is differentiable (bias O(ε²) for smooth f).  Since E[u] = 0 any
baseline b leaves the mean unchanged; b = f(θ) (the default) removes the f(θ)²·d/ε² term that
otherwise dominates the variance.  Rademacher u (entries ±1, E[uuᵀ] = I) gives the same O(ε²)
finite-difference estimate of ∇f for smooth f; only the Gaussian one is exactly a smoothing gradient.

The same estimate is REINFORCE: sample θ' ~ π_θ = N(θ, ε²I); then ∇_θ log π_θ(θ') = (θ' − θ)/ε² = u/ε
and (f(θ') − b) ∇_θ log π_θ(θ') is the ZO term above (see :mod:`kexue_hw.optim.equivalence`).

Memory (as in MeZO, Malladi et al. 2023): θ is perturbed in place and every u_k is regenerated from a
per-direction seed each time it is needed (perturb, reverse, restore, update; the optimizer folds the last
direction's update into its restore), one parameter tensor at a time.  Beyond the parameters an estimate
holds one direction tensor the size of one parameter plus one float per direction; no direction is ever
stored, so memory does not grow with ``directions`` (benchmarks/optim_zo.py measures it).
Restoring θ by adding and subtracting ε·u leaves rounding drift of a few ulp of ε·|u| per direction in
float32/64; in fp16/bf16 θ ± εu itself rounds to the parameter's ulp, so choose ε well above it (or keep
a float32 master copy) or both the estimate and the restore lose precision.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import torch

DISTRIBUTIONS = ("gaussian", "rademacher")
BASELINES = ("center", "none")
_MASK64 = (1 << 64) - 1


def _mix(*values: int) -> int:
    """A 63-bit seed from integers (splitmix64 finaliser over each value): distinct inputs, unrelated streams."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (int(v) & _MASK64)) * 0xBF58476D1CE4E5B9 & _MASK64
        h = (h ^ (h >> 31)) * 0x94D049BB133111EB & _MASK64
        h ^= h >> 29
    return h >> 1


def _draw(param: torch.Tensor, gen: torch.Generator, distribution: str) -> torch.Tensor:
    if distribution == "gaussian":
        return torch.randn(param.shape, generator=gen, dtype=param.dtype, device=param.device)
    u = torch.randint(0, 2, param.shape, generator=gen, device=param.device).to(param.dtype)
    return u.mul_(2).sub_(1)


def direction(params: Iterable[torch.Tensor], seed: int, distribution: str = "gaussian") -> Iterator[torch.Tensor]:
    """Direction number ``seed``, one tensor per parameter in order: same seed, same tensors, every time.

    Gaussian entries N(0, 1) or Rademacher ±1, in each parameter's shape, dtype and device (one generator
    per device, seeded from ``seed``).  A generator: each tensor can be dropped before the next is drawn.
    """
    gens: dict[torch.device, torch.Generator] = {}
    for p in params:
        gen = gens.get(p.device)
        if gen is None:
            gen = gens[p.device] = torch.Generator(device=p.device)
            gen.manual_seed(_mix(seed, zlib.crc32(str(p.device).encode())))
        yield _draw(p, gen, distribution)


def direction_seed(seed: int, step: int, k: int) -> int:
    """The seed of direction ``k`` at ``step`` for the estimator seeded ``seed``."""
    return _mix(seed, step, k)


def _check_options(eps, directions, distribution, baseline) -> None:
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"directions must be an integer >= 1, got {directions!r}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    known = baseline in BASELINES if isinstance(baseline, str) else isinstance(baseline, (int, float))
    if not known or isinstance(baseline, bool):
        raise ValueError(f"baseline must be one of {BASELINES} or a number, got {baseline!r}")


def _as_float(value, what: str = "closure") -> float:
    try:
        out = float(value.detach() if isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{what} must return a scalar (float or one-element tensor), got {type(value).__name__}")
    return out


def _params_list(params) -> list[torch.Tensor]:
    if isinstance(params, torch.Tensor):
        return [params]
    out = [p for p in params]
    if not out:
        raise ValueError("params is empty: nothing to estimate a gradient for")
    return out


@dataclass(frozen=True)
class ZOEstimate:
    """What one estimate cost and saw.

    ``loss``: f(θ) when it was evaluated (one-sided with ``baseline="center"``), else the mean of the
    perturbed evaluations (f(θ) + O(ε²) for smooth f).  ``evaluations``: closure calls made.
    """

    loss: float
    evaluations: int


def _perturb(params: list[torch.Tensor], seed: int, scale: float, distribution: str) -> None:
    u = direction(params, seed, distribution)
    for p in params:  # next(u), not zip: zip's reused result tuple would keep the previous tensor alive
        p.add_(next(u), alpha=scale)


def _coefficients(params, closure, eps, directions, antithetic, distribution, baseline, seed, step, fuse=None):
    """Evaluate around θ; return the per-direction scalars c_k with ĝ = mean_k c_k u_k, the loss and count.

    ``fuse(c) -> per-parameter scales``: added along the last direction while restoring θ from it, which
    saves one regeneration of that direction (the optimizer's update for it); θ is otherwise restored.
    """
    coeffs: list[float] = []
    evals = 0
    f0 = None
    if not antithetic and baseline == "center":
        f0 = _as_float(closure())
        evals += 1
    b = 0.0 if baseline == "none" else (f0 if baseline == "center" else float(baseline))
    total = 0.0
    for k in range(directions):
        s = direction_seed(seed, step, k)
        offset = 0.0  # θ's current displacement along u_k
        try:
            _perturb(params, s, eps, distribution)
            offset = eps
            f_plus = _as_float(closure())
            evals += 1
            if antithetic:
                _perturb(params, s, -2.0 * eps, distribution)
                offset = -eps
                f_minus = _as_float(closure())
                evals += 1
        except BaseException:  # restore θ, then let the closure's error through
            if offset:
                _perturb(params, s, -offset, distribution)
            raise
        if antithetic:
            c = (f_plus - f_minus) / (2.0 * eps)
            total += f_plus + f_minus
        else:
            c = (f_plus - b) / eps
            total += f_plus
        coeffs.append(c)
        if fuse is not None and k == directions - 1:
            u = direction(params, s, distribution)
            for p, extra in zip(params, fuse(c)):
                p.add_(next(u), alpha=extra - offset)
        else:
            _perturb(params, s, -offset, distribution)
    loss = f0 if f0 is not None else total / evals
    return coeffs, ZOEstimate(loss=loss, evaluations=evals)


@torch.no_grad()
def zo_grad_(
    params: Iterable[torch.Tensor] | torch.Tensor,
    closure: Callable[[], float | torch.Tensor],
    *,
    eps: float = 1e-3,
    directions: int = 1,
    antithetic: bool = True,
    distribution: str = "gaussian",
    baseline: str | float = "center",
    seed: int = 0,
    step: int = 0,
) -> ZOEstimate:
    """Set every ``p.grad`` to the ZO estimate of ∇f (f = ``closure()``, evaluated without autograd).

    A drop-in for ``loss.backward()`` when there is no backward pass: follow it with any torch optimizer.
    ``baseline`` ("center" = f(θ), "none" = 0, or a number) matters only when ``antithetic=False``.
    ``(seed, step)`` fixes the directions; pass a new ``step`` each call.  Extra memory: one ``.grad``
    per parameter (as backward would) plus one parameter-sized direction at a time.
    """
    params = _params_list(params)
    _check_options(eps, directions, distribution, baseline)
    coeffs, info = _coefficients(params, closure, eps, directions, antithetic, distribution, baseline, seed, step)
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        else:
            p.grad.zero_()
    for k, c in enumerate(coeffs):
        u = direction(params, direction_seed(seed, step, k), distribution)
        for p in params:
            p.grad.add_(next(u), alpha=c / directions)
    return info


class ZerothOrderSGD(torch.optim.Optimizer):
    """SGD on a ZO gradient estimate, in place and without ``.grad`` buffers (MeZO-style memory).

    ``step(closure)`` calls ``closure()`` (no backward; it returns the scalar loss, a float or a
    one-element tensor) ``directions`` times (twice that with ``antithetic``; once more for the one-sided
    ``baseline="center"``), then updates θ ← θ − lr·(ĝ + weight_decay·θ) (ascends with ``maximize``).
    Estimator settings (``eps``, ``directions``, ``antithetic``, ``distribution``, ``baseline``,
    ``seed``) apply to all parameters jointly, since one direction spans every group; ``lr`` and
    ``weight_decay`` may differ per group.  State is one step counter per group; it does not grow with
    ``directions``.  Returns f(θ) (see :class:`ZOEstimate` for the antithetic case).

        opt = ZerothOrderSGD(model.parameters(), lr=1e-3, eps=1e-3, directions=4)
        for batch in data:
            opt.step(lambda: loss_fn(model(batch.x), batch.y))
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        *,
        eps: float = 1e-3,
        directions: int = 1,
        antithetic: bool = True,
        distribution: str = "gaussian",
        baseline: str | float = "center",
        weight_decay: float = 0.0,
        maximize: bool = False,
        seed: int = 0,
    ):
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr >= 0):
            raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
        if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        _check_options(eps, directions, distribution, baseline)
        defaults = dict(lr=lr, weight_decay=weight_decay)
        super().__init__(params, defaults)
        self.eps, self.directions, self.antithetic = float(eps), directions, bool(antithetic)
        self.distribution, self.baseline, self.maximize, self.seed = distribution, baseline, bool(maximize), seed
        for group in self.param_groups:
            group.setdefault("step", 0)
        self.last: ZOEstimate | None = None

    @torch.no_grad()
    def step(self, closure: Callable[[], float | torch.Tensor]) -> float:  # type: ignore[override]
        if closure is None:
            raise TypeError("ZerothOrderSGD.step needs a closure returning the loss (there is no backward pass)")
        params = [p for g in self.param_groups for p in g["params"]]
        owner = [g for g in self.param_groups for _ in g["params"]]
        step = self.param_groups[0]["step"]
        sign = 1.0 if self.maximize else -1.0
        decay = any(g["weight_decay"] for g in owner)

        def scales(c):  # this direction's update per parameter
            return [sign * g["lr"] * c / self.directions for g in owner]

        # Without weight decay the last direction's update rides on its restore (one regeneration fewer).
        coeffs, info = _coefficients(params, closure, self.eps, self.directions, self.antithetic,
                                     self.distribution, self.baseline, self.seed, step,
                                     fuse=None if decay else scales)
        if decay:
            for p, g in zip(params, owner):
                p.mul_(1.0 - g["lr"] * g["weight_decay"])
        for k, c in enumerate(coeffs if decay else coeffs[:-1]):
            u = direction(params, direction_seed(self.seed, step, k), self.distribution)
            for p, a in zip(params, scales(c)):
                p.add_(next(u), alpha=a)  # drawn even at lr 0, to keep the stream aligned
        for group in self.param_groups:
            group["step"] += 1
        self.last = info
        return info.loss
