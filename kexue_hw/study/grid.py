"""The study grid: model x unit x attention kernel, each cell evaluated and compared with native.

A cell runs its model's evaluation with every matrix product on the unit
(:func:`kexue_hw.models.evaluation.unit_context`) and the attention kernel swapped in
(:func:`kexue_hw.kernels.attention_context`). Its figures are paired with the model's
*reference* cell (``native`` unit, ``softmax`` kernel), which runs first: accuracy (or
perplexity), the difference with its 95 % interval, the exact McNemar p-value, agreement of
predictions, and the unit's hardware cost (:mod:`.cost`). A probe under
:func:`kexue_hw.emulate.track` records whether any product stayed exact.

Cells are independent given the reference outcomes, so they run in-process or as Ray tasks
(:func:`run_study` with ``ray``); results are identical either way because every cell fixes its
thread count and seed. A failing cell becomes a row with ``status: "failed"`` and its error.
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from ..kernels.attention import attention_kernel
from ..models.evaluation import NATIVE, resolve_unit, unit_context
from ..stats import paired_comparison
from .tasks import Outcome, check_model_name, load_task, perplexity

__all__ = ["Cell", "StudySettings", "plan_cells", "evaluate_cell", "run_study", "REFERENCE_UNIT", "REFERENCE_KERNEL"]

REFERENCE_UNIT = NATIVE
REFERENCE_KERNEL = "softmax"


@dataclass(frozen=True)
class Cell:
    model: str
    unit: str
    softmax: str

    @property
    def is_reference(self) -> bool:
        return self.unit == REFERENCE_UNIT and self.softmax == REFERENCE_KERNEL

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.model, self.unit, self.softmax)


@dataclass
class StudySettings:
    """What a study evaluates and how; recorded with every cell."""

    models: list[str]
    units: list[str]
    kernels: list[str] = field(default_factory=lambda: ["softmax"])
    limit: int | None = None
    targets: list[str] = field(default_factory=lambda: ["ice40"])
    threads: int = 2
    seed: int = 0
    beam: int = 3
    cost: bool = True
    data: dict = field(default_factory=dict)  # model -> data file
    checkpoints: dict = field(default_factory=dict)  # model -> checkpoint folder (default: shipped)
    text: str | None = None  # perplexity texts for hf: models
    cache_dir: str | None = None

    def __post_init__(self):
        if not self.models:
            raise ValueError("--models: give at least one model")
        if not self.units:
            raise ValueError("--units: give at least one unit")
        self.models = [check_model_name(m) for m in self.models]
        self.units = [NATIVE if resolve_unit(u) is None else resolve_unit(u).describe() for u in self.units]
        self.kernels = [attention_kernel(k).name for k in self.kernels]
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit must be at least 1, got {self.limit}")
        from ..hdl.synth import TARGETS

        for t in self.targets:
            if t not in TARGETS:
                raise ValueError(f"--targets: unknown target {t!r}, choose from {', '.join(TARGETS)}")

    def task_settings(self, model: str) -> dict:
        out = {"beam": self.beam, "text": self.text}
        if model in self.data:
            out["mwp_data" if model == "mwp" else f"{model}_data"] = self.data[model]
        if model in self.checkpoints:
            out["mwp_checkpoint" if model == "mwp" else f"{model}_checkpoint"] = self.checkpoints[model]
        return out


def plan_cells(settings: StudySettings) -> list[Cell]:
    """Every requested cell, each model's reference cell first (added when not requested)."""
    cells = []
    for model in settings.models:
        cells.append(Cell(model, REFERENCE_UNIT, REFERENCE_KERNEL))
        for unit in dict.fromkeys(settings.units):
            for kernel in dict.fromkeys(settings.kernels):
                cell = Cell(model, unit, kernel)
                if not cell.is_reference:
                    cells.append(cell)
    return cells


def _seed_everything(seed: int, threads: int) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def _bootstrap_ppl_ci(ref: list[Outcome], out: list[Outcome], seed: int, rounds: int = 1000) -> list[float]:
    rng = random.Random(seed)
    n = len(ref)
    diffs = []
    for _ in range(rounds):
        idx = [rng.randrange(n) for _ in range(n)]
        diffs.append(perplexity([out[i] for i in idx]) - perplexity([ref[i] for i in idx]))
    diffs.sort()
    return [diffs[int(0.025 * rounds)], diffs[int(0.975 * rounds) - 1]]


def compare(task_metric: str, ref: list[Outcome], out: list[Outcome], seed: int) -> dict:
    """The cell's figures against the reference outcomes."""
    if len(ref) != len(out):
        raise ValueError(f"the cell scored {len(out)} examples, the reference {len(ref)}")
    if task_metric == "accuracy":
        s = paired_comparison([o.correct for o in ref], [o.correct for o in out],
                              [o.prediction for o in ref], [o.prediction for o in out])  # fmt: skip
        return {k: s[k] for k in ("accuracy", "delta", "ci95", "mcnemar_p", "agreement")}
    ppl, ref_ppl = perplexity(out), perplexity(ref)
    same = sum(a == b for r, o in zip(ref, out) for a, b in zip(r.prediction, o.prediction))
    total = sum(len(r.prediction) for r in ref)
    return {
        "perplexity": ppl,
        "delta": ppl - ref_ppl,
        "ci95": _bootstrap_ppl_ci(ref, out, seed),
        "mcnemar_p": None,
        "agreement": same / max(1, total),
    }


def evaluate_cell(
    cell: Cell,
    settings: StudySettings,
    reference: list[Outcome] | None,
    *,
    tasks: dict | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict, list[Outcome] | None]:
    """Run one cell; returns its row and its outcomes. Errors become a ``failed`` row, never an exception."""
    from .. import __version__

    row = {"model": cell.model, "unit": cell.unit, "softmax": cell.softmax, "kexue_hw_version": __version__}
    t0 = time.perf_counter()
    try:
        _seed_everything(settings.seed, settings.threads)
        tasks = {} if tasks is None else tasks
        if cell.model not in tasks:
            tasks[cell.model] = load_task(cell.model, settings.task_settings(cell.model), settings.limit)
        task = tasks[cell.model]
        row.update(n=task.n, metric=task.metric, checkpoint_sha256=task.checkpoint_hash, data=task.data,
                   model_settings=task.settings)  # fmt: skip
        from ..emulate import track
        from ..kernels.attention import attention_context

        with unit_context(cell.unit), attention_context(cell.softmax):
            outcomes = task.run(progress)
        with unit_context(cell.unit), attention_context(cell.softmax), track() as cov:
            task.probe()
        row["all_emulated"] = cov.all_emulated if cell.unit != NATIVE else None
        row["exact_ops"] = dict(cov.exact)
        row["kernel_calls"] = {k: v for k, v in cov.emulated.items() if k.startswith("attention_")}
        if cell.is_reference:
            reference = outcomes
        row.update(compare(task.metric, reference, outcomes, settings.seed))
        if task.metric == "accuracy":
            row["examples"] = {"correct": "".join("1" if o.correct else "0" for o in outcomes),
                               "predictions": [o.prediction for o in outcomes]}  # fmt: skip
        else:
            row["examples"] = {"nll": [o.nll for o in outcomes], "tokens": [o.tokens for o in outcomes],
                               "predictions": [o.prediction for o in outcomes]}  # fmt: skip
        row["status"] = "ok"
    except Exception as e:  # a failing cell is a result, reported and counted, never lost
        outcomes = None
        row["status"] = "failed"
        row["error"] = f"{type(e).__name__}: {e}".splitlines()[0]
        row["traceback"] = traceback.format_exc(limit=6)
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row, outcomes


def outcomes_from_row(row: dict) -> list[Outcome]:
    """The per-example outcomes stored in a result row (for ``--resume``)."""
    ex = row["examples"]
    if "correct" in ex:
        return [Outcome(p, correct=c == "1") for c, p in zip(ex["correct"], ex["predictions"])]
    return [Outcome(p, nll=n, tokens=t) for n, t, p in zip(ex["nll"], ex["tokens"], ex["predictions"])]


def _ray_cell(cell: Cell, settings: dict, reference):
    row, _ = evaluate_cell(cell, StudySettings(**settings), reference)
    return row


def run_study(
    settings: StudySettings,
    *,
    previous: list[dict] | None = None,
    ray_address: str | None | bool = False,
    on_row: Callable[[dict], None] | None = None,
    progress: bool = True,
) -> list[dict]:
    """Every cell of the plan (reusing ``previous`` rows that succeeded), with hardware cost per unit.

    ``ray_address``: ``False`` in-process; ``None``/``"local"`` a local Ray instance; an address an
    existing cluster. ``on_row(row)`` sees each finished row (to save progress).
    """
    from ..models.training import TrainingProgress

    cells = plan_cells(settings)
    done = {(r["model"], r["unit"], r["softmax"]): r for r in (previous or []) if r.get("status") == "ok"}
    rows: dict[tuple, dict] = {}
    references: dict[str, list[Outcome] | None] = {}
    todo = []
    for cell in cells:
        if cell.key in done:
            rows[cell.key] = done[cell.key]
            if cell.is_reference:
                references[cell.model] = outcomes_from_row(done[cell.key])
        else:
            todo.append(cell)

    def finish(row, bar):
        rows[(row["model"], row["unit"], row["softmax"])] = row
        if on_row:
            on_row(row)
        bar.update(1, last=f"{row['model']}/{row['unit']}/{row['softmax']} {row['status']}")

    with TrainingProgress(len(cells), "study cells", enabled=progress) as bar:
        bar.update(len(cells) - len(todo))
        ref_todo = [c for c in todo if c.is_reference]
        rest = [c for c in todo if not c.is_reference]
        if ray_address is False:
            tasks: dict = {}
            for cell in ref_todo + rest:
                if not cell.is_reference and references.get(cell.model) is None:
                    row = {"model": cell.model, "unit": cell.unit, "softmax": cell.softmax, "status": "failed",
                           "error": "the model's reference cell (native, softmax) failed"}  # fmt: skip
                    finish(row, bar)
                    continue
                with TrainingProgress(None, f"  {cell.model}/{cell.unit}/{cell.softmax} examples",
                                      enabled=progress) as inner:  # fmt: skip
                    row, outcomes = evaluate_cell(
                        cell, settings, references.get(cell.model), tasks=tasks,
                        progress=lambda done_n: inner.update(done_n - inner.count),
                    )  # fmt: skip
                if cell.is_reference:
                    references[cell.model] = outcomes
                finish(row, bar)
                if cell.is_reference:  # one model's tasks at a time keeps memory flat
                    for other in [m for m in tasks if m != cell.model]:
                        del tasks[other]
        else:
            import ray

            if not ray.is_initialized():
                address = None if ray_address in (None, "local") else ray_address
                ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
            remote = ray.remote(num_cpus=settings.threads)(_ray_cell)
            s = asdict(settings)
            for group in (ref_todo, rest):
                pending = {}
                for cell in group:
                    ref = references.get(cell.model)
                    if not cell.is_reference and ref is None:
                        finish({"model": cell.model, "unit": cell.unit, "softmax": cell.softmax, "status": "failed",
                                "error": "the model's reference cell (native, softmax) failed"}, bar)  # fmt: skip
                        continue
                    pending[remote.remote(cell, s, ref)] = cell
                while pending:
                    ready, _ = ray.wait(list(pending), num_returns=1)
                    cell = pending.pop(ready[0])
                    row = ray.get(ready[0])
                    if cell.is_reference and row["status"] == "ok":
                        references[cell.model] = outcomes_from_row(row)
                    finish(row, bar)
    out = [rows[c.key] for c in cells]
    if settings.cost:
        attach_costs(out, settings)
    return out


def attach_costs(rows: list[dict], settings: StudySettings) -> None:
    """Hardware cost of each row's unit (each unit synthesised at most once, cached on disk)."""
    from ..hdl.synth import tools_available
    from .cost import CostCache, unit_cost

    cache = CostCache(settings.cache_dir)
    by_unit: dict[tuple[str, str], dict] = {}
    for target in settings.targets:
        for unit in dict.fromkeys(r["unit"] for r in rows):
            if not tools_available(target):
                by_unit[unit, target] = {"cost": None, "reason": f"synthesis tools for {target} are not installed"}
                continue
            try:
                by_unit[unit, target] = unit_cost(resolve_unit(unit), target, cache)
            except Exception as e:  # reported in the row, never fatal
                by_unit[unit, target] = {"cost": None, "reason": f"{type(e).__name__}: {e}".splitlines()[0]}
    first = settings.targets[0]
    for r in rows:
        c = by_unit[r["unit"], first]
        r["luts"] = c.get("luts")
        r["lut_ratio"] = c.get("lut_ratio")
        r["fmax_ratio"] = c.get("fmax_ratio")
        r["cost"] = {t: by_unit[r["unit"], t] for t in settings.targets}
    settings_cache = {"hits": cache.hits, "misses": cache.misses}
    for r in rows:
        r["cost_cache"] = settings_cache

