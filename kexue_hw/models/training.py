"""What every trainer of kexue-hw shares: seeding, a wall-clock budget, checkpoints, progress, manifests.

A trainer on these machines runs for tens of minutes on two cores, in the background, and must
survive an interruption: it checks a :class:`WallClockBudget`, saves a :class:`Checkpointer`
state every couple of minutes (atomically: a crash never leaves half a file), resumes from it,
and reports through :class:`TrainingProgress` (a bar on a terminal, a line every 30 s in a log).
A shipped model is a folder of fp16 safetensors weights beside ``manifest.json``
(:func:`write_manifest`): the data files and their SHA-256, the settings, the seed, the training
time, the code commit that trained it and the figures it reached.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

import torch

__all__ = [
    "configure_torch",
    "WallClockBudget",
    "Checkpointer",
    "TrainingProgress",
    "file_sha256",
    "code_commit",
    "save_weights",
    "load_weights",
    "write_manifest",
    "read_manifest",
    "MANIFEST",
]

MANIFEST = "manifest.json"


def configure_torch(seed: int, threads: int = 2) -> torch.Generator:
    """Seed Python, NumPy and torch; use ``threads`` intra-op threads. Returns a seeded generator."""
    import numpy as np

    if threads < 1:
        raise ValueError(f"--threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


class WallClockBudget:
    """A budget in minutes of wall-clock time (``None``: unlimited), counted from construction.

    ``spent`` seconds from an earlier, interrupted run can be carried in, so a resumed run
    stops at the same total.
    """

    def __init__(self, minutes: float | None, spent: float = 0.0):
        if minutes is not None and not minutes > 0:
            raise ValueError(f"--minutes must be positive, got {minutes}")
        self.seconds = None if minutes is None else 60.0 * minutes
        self._start = time.monotonic() - spent

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    @property
    def remaining(self) -> float:
        return float("inf") if self.seconds is None else max(0.0, self.seconds - self.elapsed)

    def exhausted(self) -> bool:
        return self.seconds is not None and self.elapsed >= self.seconds


class Checkpointer:
    """Atomic save/load of a training state (a dict of tensors and plain values) in ``directory``.

    ``due()`` is true every ``every_seconds``; ``save`` writes ``checkpoint.pt`` through a temporary
    file and ``os.replace``, so an interrupted save leaves the previous checkpoint intact.
    """

    FILE = "checkpoint.pt"

    def __init__(self, directory, every_seconds: float = 120.0):
        self.directory = Path(directory)
        self.every_seconds = every_seconds
        self._last = time.monotonic()

    @property
    def path(self) -> Path:
        return self.directory / self.FILE

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.every_seconds

    def save(self, state: dict) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)
        self._last = time.monotonic()
        return self.path

    def load(self) -> dict | None:
        if not self.path.exists():
            return None
        try:
            return torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as e:  # a truncated or foreign file: say so, do not guess
            raise ValueError(f"--resume: cannot read checkpoint {self.path}: {e}") from None


class TrainingProgress:
    """Progress of a long loop: a rich bar on a terminal, a plain line every ``log_every`` s otherwise.

    ``update(advance, **metrics)`` advances the count and shows the latest metrics (floats
    printed with 4 significant digits). ``total=None`` shows a count without a bar.
    """

    def __init__(self, total: int | None, description: str, *, log_every: float = 30.0, stream=None, enabled=True):
        self.total = total
        self.description = description
        self.log_every = log_every
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.count = 0
        self.metrics: dict = {}
        self._bar = None
        self._start = self._last_log = time.monotonic()

    def __enter__(self):
        if self.enabled and getattr(self.stream, "isatty", lambda: False)():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[metrics]}"),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total, metrics="")
        return self

    def _metrics_text(self) -> str:
        return " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in self.metrics.items())

    def update(self, advance: int = 1, **metrics) -> None:
        self.count += advance
        self.metrics.update(metrics)
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, advance=advance, metrics=self._metrics_text())
            return
        now = time.monotonic()
        if now - self._last_log >= self.log_every:
            self._last_log = now
            self.log()

    def log(self, message: str | None = None) -> None:
        if not self.enabled:
            return
        of = f"/{self.total}" if self.total else ""
        text = message or f"{self.description}: {self.count}{of} [{time.monotonic() - self._start:.0f}s] {self._metrics_text()}"
        if self._bar is not None:
            self._bar.console.print(text)
        else:
            print(text, file=self.stream, flush=True)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
        elif self.enabled and self.count:
            self.log()
        return False


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def code_commit() -> str:
    """The git commit of the kexue_hw source tree, ``-dirty`` when it has uncommitted changes, else ``unknown``."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "kexue_hw"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def save_weights(state_dict: dict, path, dtype: torch.dtype = torch.float16) -> Path:
    """Save floating-point tensors as ``dtype`` (others unchanged) in safetensors format."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, v in state_dict.items():
        v = v.detach().cpu()
        out[k] = (v.to(dtype) if v.is_floating_point() else v).contiguous()
    tmp = path.with_suffix(".tmp")
    save_file(out, str(tmp))
    os.replace(tmp, path)
    return path


def load_weights(path) -> dict:
    """Load safetensors weights, floating-point tensors as float32."""
    from safetensors.torch import load_file

    return {k: (v.float() if v.is_floating_point() else v) for k, v in load_file(str(path)).items()}


def write_manifest(
    directory,
    *,
    model: str,
    data: list,
    settings: dict,
    seed: int,
    training_seconds: float,
    figures: dict,
    extra: dict | None = None,
    commit: str | None = None,
) -> dict:
    """Write ``manifest.json`` describing the shipped model in ``directory`` and return it.

    Records every data file with its size and SHA-256, the settings and seed, the training time,
    the code commit (``commit``: the one read when training started; default: now), library
    versions, and each weight file in the folder with its SHA-256.
    """
    from .. import __version__

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.name != MANIFEST)
    manifest = {
        "model": model,
        "kexue_hw_version": __version__,
        "code_commit": commit or code_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seed": seed,
        "training_seconds": round(float(training_seconds), 1),
        "settings": settings,
        "data": [{"file": Path(p).name, "bytes": os.path.getsize(p), "sha256": file_sha256(p)} for p in data],
        "files": [{"file": p.name, "bytes": p.stat().st_size, "sha256": file_sha256(p)} for p in files],
        "figures": figures,
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "machine": platform.machine(),
        },
    }
    if extra:
        manifest.update(extra)
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def read_manifest(directory) -> dict:
    path = Path(directory) / MANIFEST
    if not path.exists():
        raise ValueError(f"no {MANIFEST} in {directory}: not a kexue-hw model folder")
    return json.loads(path.read_text(encoding="utf-8"))
