"""Score a solver on a problem file, natively and with every product of its forward pass on each unit."""

from __future__ import annotations

import sys

from ..evaluation import compare_units
from .data import load_problems, map_numbers
from .solver import Solver

__all__ = ["evaluate_solver", "solver_run"]


def solver_run(solver: Solver, problems, *, beam: int):
    """A ``run()`` for :func:`kexue_hw.models.evaluation.compare_units`: (correct, predicted equations)."""

    def run():
        preds = solver.predict(problems, beam=beam)
        run.last = preds
        return [p.correct for p in preds], [p.equation for p in preds]

    return run


def evaluate_solver(data, *, checkpoint=None, limit=None, beam=3, units=(), progress=False) -> dict:
    """Answer accuracy and equation exact-match on ``data``; per unit accuracy, agreement, McNemar p.

    Returns ``n``, ``accuracy``, ``exact_match``, ``dropped`` (records the loader dropped, by
    reason), ``seconds`` and ``units`` (rows of :func:`kexue_hw.models.evaluation.compare_units`,
    each with ``all_emulated`` from a tracked decode of a few problems).
    """
    solver = Solver.load(checkpoint)
    problems, report = load_problems(data)
    if limit is not None:
        problems = problems[:limit]
    if not problems:
        raise ValueError(f"--data {data}: no usable problems ({dict(report.dropped)})")
    def print_unit_row(name, row):
        print(f"  {name}: accuracy {row['accuracy']:.4f} [{row['seconds']:.1f} s]", file=sys.stderr, flush=True)

    on_unit = print_unit_row if progress else None

    probe_problems = problems[:4]
    run = solver_run(solver, problems, beam=beam)
    native_preds = []

    def native_first():  # compare_units calls run natively first: keep those predictions
        out = run()
        if not native_preds:
            native_preds.extend(run.last)
        return out

    result = compare_units(
        native_first,
        [u for u in units if u != "native"],
        probe=lambda: solver.predict(probe_problems, beam=beam),
        on_unit=on_unit,
    )
    result["exact_match"] = sum(p.tokens == map_numbers(q).target for p, q in zip(native_preds, problems)) / len(
        problems
    )
    result["dropped"] = dict(report.dropped)
    result["beam"] = beam
    return {k: result[k] for k in ("n", "accuracy", "exact_match", "dropped", "beam", "seconds", "units")}
