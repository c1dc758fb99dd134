"""A learned per-layer choice of unit: policy gradient against accuracy minus hardware cost.

The *sites* of a model are the modules whose products run on a unit: every ``nn.Linear`` (and
other modules calling ``F.linear``), every module that calls ``F.scaled_dot_product_attention``
(its ``Q K^T`` and ``P V``), and ``<default>`` for products outside any module (such as a tied
output head). :func:`product_sites` finds them and their MACs from one tracked forward.

A categorical policy picks one of ``choices`` (unit names) per site. An assignment's reward is

    accuracy(assignment) − λ · cost(assignment),   cost = Σ_i MACs_i · LUTs(unit_i) / Σ_i MACs_i · LUTs(exact, widest choice)

with LUTs from the synthesis cost cache (:mod:`kexue_hw.study.cost`; the unit's multiplier at its
width and signedness), i.e. the multiplier area a layer-by-layer datapath would need, weighted by
how much work each layer does. :class:`kexue_hw.optim.PolicyGradient` maximises it (REINFORCE,
leave-one-out baseline); every distinct assignment is evaluated once (a cache), because rewards
are expensive. The result is a :class:`kexue_hw.emulate.ModuleConfigs` that ``quantize_`` and
``EmulationMode(model=)`` apply.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from ..models.evaluation import resolve_unit

__all__ = ["Site", "product_sites", "unit_lut_ratios", "assignment_configs", "assignment_cost", "AssignmentSearch"]


@dataclass(frozen=True)
class Site:
    name: str
    macs: int


def product_sites(model: torch.nn.Module, probe: Callable[[], object], unit="exact_s8") -> list[Site]:
    """Every module whose products the emulation sees, with the MACs one ``probe()`` spends in it."""
    from ..emulate import EmulationConfig, EmulationMode, ModuleConfigs, track

    cfg = EmulationConfig(unit=resolve_unit(unit))
    with EmulationMode(ModuleConfigs({"*": cfg}, default=cfg), model=model), track() as cov:
        probe()
    if cov.exact:
        raise ValueError(f"products outside the emulation: {dict(cov.exact)}")
    return [Site(name, int(macs)) for name, macs in cov.layer_macs.items()]


def unit_lut_ratios(choices: Sequence[str], target: str = "ice40", cache=None) -> dict[str, float]:
    """LUTs of each choice's multiplier over those of the exact multiplier of the widest choice.

    One scale for every choice, so choices of different widths compare (``exact_s4`` against
    ``mitchell_s8``); when all choices share a width this is each one's ratio to its own exact
    multiplier. Signedness: the widest choice's.
    """
    from ..spec import Exact, IntUnit
    from ..study.cost import CostCache, unit_cost

    cache = cache or CostCache()
    units = {name: resolve_unit(name) for name in choices}
    for name, unit in units.items():
        if not isinstance(unit, IntUnit):
            raise ValueError(f"choice {name!r} has no hardware cost (choose integer units)")
    widest = max(units.values(), key=lambda u: u.width)
    reference = unit_cost(Exact(widest.width, widest.signed), target, cache)
    out = {}
    for name, unit in units.items():
        cost = unit_cost(unit, target, cache)
        if cost.get("luts") is None:
            raise ValueError(f"choice {name!r} has no hardware cost ({cost.get('reason')})")
        out[name] = cost["luts"] / reference["luts"]
    return out


def assignment_configs(sites: Sequence[Site], units: Sequence[str]):
    """The :class:`~kexue_hw.emulate.ModuleConfigs` putting ``units[i]`` on ``sites[i]``."""
    from ..emulate import EmulationConfig, ModuleConfigs
    from ..emulate.per_module import DEFAULT_SITE

    cfgs = {s.name: EmulationConfig(unit=resolve_unit(u)) for s, u in zip(sites, units)}
    default = cfgs.pop(DEFAULT_SITE, None)
    if default is None:  # no product outside the sites: any default will do
        default = EmulationConfig(unit=resolve_unit(units[0]))
    return ModuleConfigs(cfgs, default=default)


def assignment_cost(sites: Sequence[Site], units: Sequence[str], lut_ratio: dict[str, float]) -> float:
    total = sum(s.macs for s in sites)
    return sum(s.macs * lut_ratio[u] for s, u in zip(sites, units)) / total


@dataclass
class AssignmentSearch:
    """PG over one unit per site; ``accuracy(configs) -> float`` scores an assignment (expensive, cached)."""

    sites: list[Site]
    choices: list[str]
    accuracy: Callable[[object], float]
    lut_ratio: dict[str, float]
    lam: float = 0.5
    samples: int = 8
    lr: float = 0.3
    entropy_weight: float = 0.01
    seed: int = 0
    init_choice: str | None = None  # start with most of the mass on this unit everywhere
    cache: dict = field(default_factory=dict)
    history: list = field(default_factory=list)

    def evaluate(self, units: tuple[str, ...]) -> tuple[float, float]:
        """(accuracy, cost) of one assignment, computed once."""
        if units not in self.cache:
            acc = float(self.accuracy(assignment_configs(self.sites, units)))
            self.cache[units] = (acc, assignment_cost(self.sites, units, self.lut_ratio))
        return self.cache[units]

    def reward(self, units) -> float:
        acc, cost = self.evaluate(units)
        return acc - self.lam * cost

    def run(self, steps: int, *, minutes: float | None = None, log=lambda msg: None) -> dict:
        """``steps`` PG steps (or until ``minutes``); returns the best assignment seen and the search record."""
        from .pg import PolicyGradient

        logits = torch.zeros(len(self.sites), len(self.choices))
        if self.init_choice is not None:
            logits[:, self.choices.index(self.init_choice)] = 2.0
        logits.requires_grad_(True)

        def reward_fn(actions: torch.Tensor) -> torch.Tensor:
            return torch.tensor([self.reward(tuple(self.choices[i] for i in row.tolist())) for row in actions])

        pg = PolicyGradient(logits, reward_fn, samples=self.samples, lr=self.lr, entropy_weight=self.entropy_weight,
                            seed=self.seed)  # fmt: skip
        t0 = time.perf_counter()
        for step in range(steps):
            info = pg.step()
            self.history.append({"step": step, "mean_reward": info.mean_reward, "best_reward": info.best_reward,
                                 "entropy": info.entropy, "evaluated": len(self.cache)})  # fmt: skip
            log(f"PG step {step + 1}: mean reward {info.mean_reward:.4f}, best {pg.best_reward:.4f}, "
                f"{len(self.cache)} assignments evaluated")  # fmt: skip
            if minutes is not None and time.perf_counter() - t0 > 60 * minutes:
                break
        greedy = tuple(self.choices[i] for i in pg.greedy().tolist())
        self.evaluate(greedy)
        best = max(self.cache, key=self.reward)
        acc, cost = self.cache[best]
        return {
            "lambda": self.lam,
            "best": dict(zip((s.name for s in self.sites), best)),
            "best_accuracy": acc,
            "best_cost": cost,
            "greedy": dict(zip((s.name for s in self.sites), greedy)),
            "evaluated": len(self.cache),
            "seconds": round(time.perf_counter() - t0, 1),
        }
