"""Fine-tuning a model while every forward product runs on the emulated unit: three gradient choices.

* ``ste`` (straight-through): the forward uses the unit, the backward the exact product's gradient
  (``EmulationConfig(approx_backward=False)``, the shim's default);
* ``unit_backward``: the backward's products run on the unit too (``approx_backward=True``);
* ``zo``: no backward pass at all; :class:`kexue_hw.optim.ZerothOrderSGD` estimates the gradient
  from forward passes through the unit alone (antithetic Gaussian directions, MeZO memory).

:func:`finetune` is model-agnostic: it takes the model, a ``loss(batch)`` callable and a batch
iterator, and runs for a wall-clock budget (so methods are compared at equal time). Task
adapters (:mod:`.tasks`) provide those pieces and an ``evaluate(unit)`` for the shipped models.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from ..models.evaluation import resolve_unit
from ..models.training import TrainingProgress, WallClockBudget

__all__ = ["METHODS", "FinetuneSettings", "finetune"]

METHODS = ("ste", "unit_backward", "zo")


@dataclass
class FinetuneSettings:
    """How to fine-tune: unit name, gradient method, wall-clock budget, optimiser settings."""

    unit: str
    method: str = "ste"
    minutes: float = 5.0
    lr: float = 1e-4
    weight_decay: float = 0.0
    zo_lr: float = 1e-5
    zo_eps: float = 1e-3
    zo_directions: int = 2
    max_steps: int | None = None
    seed: int = 0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"--method {self.method!r}: choose one of {', '.join(METHODS)}")
        if resolve_unit(self.unit) is None:
            raise ValueError("--unit: fine-tuning on the unit needs an emulated unit, not native")
        if not self.minutes > 0:
            raise ValueError(f"--minutes must be positive, got {self.minutes}")
        for name in ("lr", "zo_lr", "zo_eps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.zo_directions < 1:
            raise ValueError(f"--zo-directions must be at least 1, got {self.zo_directions}")

    def emulation_config(self):
        from ..emulate import EmulationConfig

        return EmulationConfig(unit=resolve_unit(self.unit), approx_backward=self.method == "unit_backward")


def finetune(
    model: torch.nn.Module,
    loss: Callable[[object], torch.Tensor],
    batches: Iterator,
    settings: FinetuneSettings,
    *,
    parameters=None,
    progress: bool = True,
) -> dict:
    """Fine-tune ``model`` in place on ``settings.unit`` until the budget (or ``max_steps``) is spent.

    ``loss(batch)`` returns a scalar tensor computed by the model (it is called inside the
    emulation). ``parameters`` defaults to every parameter that requires a gradient. Returns
    ``{"method", "unit", "steps", "seconds", "first_loss", "last_loss"}`` (``last_loss``: mean of
    the last 20 steps).
    """
    from ..emulate import EmulationMode

    torch.manual_seed(settings.seed)
    params = [p for p in (parameters if parameters is not None else model.parameters()) if p.requires_grad]
    if not params:
        raise ValueError("nothing to fine-tune: no parameter requires a gradient")
    config = settings.emulation_config()
    budget = WallClockBudget(settings.minutes)
    losses: list[float] = []
    model.train()
    if settings.method == "zo":
        from .zo import ZerothOrderSGD

        opt = ZerothOrderSGD(params, lr=settings.zo_lr, eps=settings.zo_eps, directions=settings.zo_directions,
                             weight_decay=settings.weight_decay, seed=settings.seed)  # fmt: skip
    else:
        opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    t0 = time.perf_counter()
    with TrainingProgress(settings.max_steps, f"finetune {settings.method} on {settings.unit}",
                          enabled=progress) as bar:  # fmt: skip
        while not budget.exhausted() and (settings.max_steps is None or len(losses) < settings.max_steps):
            batch = next(batches)
            if settings.method == "zo":
                model.eval()  # no dropout: the two sides of a direction must see the same function

                def closure():
                    with torch.no_grad(), EmulationMode(config):
                        return loss(batch)

                value = opt.step(closure)
            else:
                with EmulationMode(config):
                    out = loss(batch)
                opt.zero_grad(set_to_none=True)
                out.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                value = out.item()
            if not math.isfinite(value):
                raise ValueError(f"fine-tuning diverged at step {len(losses) + 1} (loss {value}); lower the learning rate")
            losses.append(value)
            bar.update(1, loss=value)
    model.eval()
    tail = losses[-20:]
    return {
        "method": settings.method,
        "unit": resolve_unit(settings.unit).describe(),
        "steps": len(losses),
        "seconds": round(time.perf_counter() - t0, 1),
        "first_loss": losses[0] if losses else None,
        "last_loss": sum(tail) / len(tail) if tail else None,
    }
