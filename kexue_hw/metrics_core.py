"""The record every error-metric path returns, and the progress bar the long sweeps share.

Kept apart from :mod:`kexue_hw.metrics` so that the sweep (:mod:`.metrics`) and the
closed-form paths (:mod:`.metrics_analytic`) both build on it without importing each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["ErrorMetrics", "progress_bar"]


@dataclass
class ErrorMetrics:
    """Result of :func:`error_metrics` (field names as in the ``--json`` output)."""

    unit: str
    op: str
    width: int
    signed: bool
    pairs: int
    exhaustive: bool
    seconds: float
    ep: float
    mae: float
    mse: float
    wce: float
    mre: float
    wcre: float
    bias: float
    nmed: float
    rel_min: float  # most negative signed relative error
    rel_max: float  # most positive signed relative error
    worst_abs_pair: tuple  # operands (a, b) reaching wce
    worst_rel_pair: tuple  # operands (a, b) reaching wcre
    seed: int | None = None
    params: dict | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["worst_abs_pair"] = list(self.worst_abs_pair)
        d["worst_rel_pair"] = list(self.worst_rel_pair)
        return d


def progress_bar(total: int, enabled: bool, label: str):
    if not enabled:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    prog = Progress(
        TextColumn(label), BarColumn(), TextColumn("{task.percentage:>5.1f}%"), TimeElapsedColumn(), TimeRemainingColumn()
    )
    prog.start()
    prog.add_task(label, total=total)
    return prog
