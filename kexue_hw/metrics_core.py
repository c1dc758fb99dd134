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
    """A progress reporter on stderr (``None`` when not ``enabled``), used as ``bar.update(bar.task_ids[0],
    advance=n)`` and ``bar.stop()``: a live bar on a terminal, elsewhere a line every 10 s after the first 2 s."""
    if not enabled:
        return None
    import sys

    if not sys.stderr.isatty():
        return _LineProgress(total, label)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    prog = Progress(
        TextColumn(label), BarColumn(), TextColumn("{task.percentage:>5.1f}%"), TimeElapsedColumn(), TimeRemainingColumn()
    )
    prog.start()
    prog.add_task(label, total=total)
    return prog


class _LineProgress:
    """:func:`progress_bar` off a terminal (logs, CI, pipes): a line every ``interval`` seconds after the first
    ``grace``, from a timer thread, so a long step without updates never looks stuck."""

    task_ids = [0]

    def __init__(self, total: int, label: str, grace: float = 2.0, interval: float = 10.0):
        import threading
        import time

        self.total, self.label, self.grace, self.interval = total, label, grace, interval
        self.done = 0
        self.t0 = time.perf_counter()
        self.printed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kexue-progress", daemon=True)
        self._thread.start()

    def update(self, task_id=0, advance: int = 0) -> None:
        self.done += advance

    def _run(self) -> None:
        import time

        if self._stop.wait(self.grace):
            return
        while True:
            self._line(time.perf_counter() - self.t0)
            if self._stop.wait(self.interval):
                return

    def _line(self, now: float, end: str = "") -> None:
        import sys

        self.printed = True
        share = min(self.done / self.total, 1.0) if self.total else 1.0
        left = f" (~{now / share - now:.0f} s left)" if 0 < share < 1 else ""
        print(f"{self.label}: {100 * share:5.1f}% {now:.0f} s{left}{end}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        import time

        self._stop.set()
        self._thread.join()
        if self.printed:
            self._line(time.perf_counter() - self.t0, end=", done")
