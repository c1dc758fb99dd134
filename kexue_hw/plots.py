"""Plots of error landscapes (matplotlib, headless Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .metrics import relative_error_grid
from .spec import IntUnit


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_error_heatmap(unit: IntUnit, op: str, path: str | Path, size: int = 256) -> Path:
    """Heat map of the signed relative error over a ``size x size`` operand grid; returns the path.

    A diverging colour map centred on zero: blue under-estimates, red over-estimates.
    """
    if unit.is_float:
        raise ValueError("heat maps are drawn for integer units (use --width/--signed, not --format)")
    plt = _pyplot()
    a, b, rel = relative_error_grid(unit, op, size)
    lim = float(np.nanmax(np.abs(rel))) or 1e-12
    fig, ax = plt.subplots(figsize=(6.2, 5.2), dpi=110)
    im = ax.imshow(
        rel,
        origin="lower",
        cmap="RdBu_r",
        vmin=-lim,
        vmax=lim,
        extent=(b[0], b[-1], a[0], a[-1]),
        aspect="auto",
        interpolation="nearest",
    )
    fig.colorbar(im, ax=ax, label="relative error (approx - exact) / exact")
    ax.set_xlabel("b (divisor)" if op == "div" else "b")
    ax.set_ylabel("a (dividend)" if op == "div" else "a")
    ax.set_title(f"{unit.describe()} {op}: relative error, range [{np.nanmin(rel):.4f}, {np.nanmax(rel):.4f}]")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
