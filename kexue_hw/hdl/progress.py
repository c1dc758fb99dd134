"""Progress lines for long RTL runs (synthesis, exhaustive simulation), on stderr.

Silent for runs shorter than ``grace`` seconds. After that, on a terminal one
status line is redrawn in place a few times per second; elsewhere (logs, CI,
pipes) a full line is written every ``interval`` seconds and at each phase
change, so a long run never looks stuck. stdout stays clean for ``--json``.

    with Progress("verify mitchell_u16", total=2**32) as bar:
        bar.update(phase="build")
        ...
        bar.update(done=n, phase="simulate")
"""

from __future__ import annotations

import sys
import threading
import time

__all__ = ["Progress"]


class Progress:
    """Thread-backed status reporter; the working thread calls ``update(done=..., phase=...)``."""

    def __init__(self, label: str, total: int | None = None, *, stream=None, enabled: bool = True,
                 grace: float = 2.0, interval: float = 10.0, tick: float = 0.25):  # fmt: skip
        self.label = label
        self.total = total
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.grace = grace
        self.interval = interval
        self.tick = tick
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.phase = ""
        self._t0 = time.perf_counter()
        self._first: tuple[float, int] | None = None  # (time, done) of the first counted update
        self._last_line: float | None = None
        self._printed = False
        self._phase_changed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def update(self, done: int | None = None, phase: str | None = None) -> None:
        with self._lock:
            if done is not None:
                if self._first is None and done > 0:
                    self._first = (time.perf_counter(), done)
                self.done = done
            if phase is not None and phase != self.phase:
                self.phase = phase
                self._phase_changed = True

    def status(self) -> str:
        """Label, phase, fraction done, elapsed seconds and (once measurable) seconds left."""
        now = time.perf_counter()
        with self._lock:
            done, phase, first = self.done, self.phase, self._first
        parts = [f"{self.label}:"] + ([phase] if phase else [])
        if self.total and done:
            parts.append(f"{100 * min(done / self.total, 1.0):5.1f}%")
        parts.append(f"{now - self._t0:.0f} s")
        if self.total and first is not None and first[1] < done < self.total and now > first[0]:
            rate = (done - first[1]) / (now - first[0])
            parts.append(f"(~{(self.total - done) / rate:.0f} s left)")
        return " ".join(parts)

    def __enter__(self) -> Progress:
        self._t0 = time.perf_counter()
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="kexue-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._printed:
            end = "failed" if exc_type is not None else "done"
            self._write(f"{self.label}: {end} in {time.perf_counter() - self._t0:.1f} s", final=True)

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            elapsed = time.perf_counter() - self._t0
            if elapsed < self.grace:
                continue
            with self._lock:
                changed, self._phase_changed = self._phase_changed, False
            if self.tty or changed or self._last_line is None or elapsed - self._last_line >= self.interval:
                self._last_line = elapsed
                self._write(self.status())

    def _write(self, text: str, final: bool = False) -> None:
        self._printed = True
        try:
            if self.tty:
                self.stream.write("\r\x1b[2K" + text + ("\n" if final else ""))
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed stream: progress is best effort
            pass
