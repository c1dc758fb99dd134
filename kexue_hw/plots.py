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


def plot_error_heatmap(unit: IntUnit, op: str, path: str | Path, size: int = 256, limit: float | None = None,
                       grid=None) -> Path:  # fmt: skip
    """Heat map of the signed relative error over a ``size x size`` operand grid; returns the path.

    A diverging colour map centred on zero: blue under-estimates, red over-estimates. ``limit`` fixes
    the colour scale to ``[-limit, limit]`` (so several maps share one scale); by default it is the
    map's own largest ``|error|``. ``grid`` reuses a :func:`relative_error_grid` result.
    """
    if unit.is_float:
        raise ValueError("heat maps are drawn for integer units (use --width/--signed, not --format)")
    plt = _pyplot()
    a, b, rel = grid if grid is not None else relative_error_grid(unit, op, size)
    lim = limit if limit is not None else (float(np.nanmax(np.abs(rel))) or 1e-12)
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
    ax.set_title(
        f"{unit.describe()} {op}, {len(a)}x{len(b)} operand grid: relative error in "
        f"[{np.nanmin(rel):.4f}, {np.nanmax(rel):.4f}]",
        fontsize=9,
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
