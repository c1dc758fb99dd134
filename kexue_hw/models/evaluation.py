"""Run one evaluation natively and on emulated units, and compare the runs pairwise.

A model's evaluation is handed over as ``run``: a callable that evaluates every example and
returns ``(correct, predictions)``. :func:`compare_units` calls it once natively and once inside
:func:`unit_context` per unit, so every product of the forward pass sits on the unit (through
:class:`kexue_hw.emulate.EmulationMode`), and reports accuracy, the paired difference to native
with its 95 % interval, the exact McNemar p-value and the agreement of predictions
(:func:`kexue_hw.stats.paired_comparison`). A ``probe`` (a small forward pass) is run under
:func:`kexue_hw.emulate.track` per unit to prove that no product stayed exact; it is separate
from ``run`` because tracking slows every op and would distort the timing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence

from ..spec import Unit, parse_unit
from ..stats import paired_comparison

__all__ = ["NATIVE", "resolve_unit", "unit_context", "compare_units"]

NATIVE = "native"


def resolve_unit(unit) -> Unit | None:
    """``None``/``"native"`` -> ``None``; a spec stays; a name goes through :func:`kexue_hw.spec.parse_unit`."""
    if unit is None or (isinstance(unit, str) and unit.strip().lower() == NATIVE):
        return None
    if isinstance(unit, Unit):
        return unit
    return parse_unit(unit)


def unit_name(unit) -> str:
    spec = resolve_unit(unit)
    return NATIVE if spec is None else spec.describe()


def unit_context(unit, config=None):
    """A context that runs every matrix product of the code inside on ``unit`` (``native``: unchanged).

    ``config`` is an :class:`kexue_hw.emulate.EmulationConfig` whose other settings to keep.
    """
    spec = resolve_unit(unit)
    if spec is None:
        return contextlib.nullcontext()
    from ..emulate import EmulationConfig, EmulationMode

    config = EmulationConfig(unit=spec) if config is None else config.with_unit(spec)
    return EmulationMode(config)


def _timed(run: Callable[[], tuple[Sequence[bool], Sequence]]):
    t0 = time.perf_counter()
    correct, predictions = run()
    return list(correct), list(predictions), time.perf_counter() - t0


def compare_units(
    run: Callable[[], tuple[Sequence[bool], Sequence]],
    units: Sequence,
    *,
    probe: Callable[[], object] | None = None,
    config=None,
    on_unit: Callable[[str, dict], None] | None = None,
) -> dict:
    """Evaluate natively, then on each unit; return the native figures and one row per unit.

    Each unit row holds ``unit``, ``accuracy``, ``delta``, ``ci95``, ``mcnemar_p``, ``agreement``
    (with the native predictions), ``seconds``, ``time_ratio`` (to the native run) and, when a
    ``probe`` is given, ``all_emulated`` and ``exact_ops`` (aten products that stayed exact).
    ``on_unit(name, row)`` is called as each row is ready (for progress output).
    """
    specs = [resolve_unit(u) for u in units]  # parse every name before any work
    native_correct, native_pred, native_seconds = _timed(run)
    if not native_correct:
        raise ValueError("the evaluation returned no examples")
    result = {
        "n": len(native_correct),
        "accuracy": sum(native_correct) / len(native_correct),
        "seconds": native_seconds,
        "units": [],
    }
    for spec in specs:
        if spec is None:
            continue
        with unit_context(spec, config):
            correct, pred, seconds = _timed(run)
        row = {"unit": spec.describe()}
        stats = paired_comparison(native_correct, correct, native_pred, pred)
        row.update({k: stats[k] for k in ("accuracy", "delta", "ci95", "mcnemar_p", "agreement", "b", "c")})
        row["seconds"] = seconds
        row["time_ratio"] = seconds / native_seconds if native_seconds > 0 else float("nan")
        if probe is not None:
            from ..emulate import track

            with unit_context(spec, config), track() as cov:
                probe()
            row["all_emulated"] = cov.all_emulated
            row["exact_ops"] = dict(cov.exact)
            row["emulated_calls"] = dict(cov.emulated)
        result["units"].append(row)
        if on_unit is not None:
            on_unit(row["unit"], row)
    return result
