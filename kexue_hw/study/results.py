"""Study results: the JSON file (one object per cell), the Markdown table and the Pareto plots."""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["load_results", "save_results", "markdown_table", "pareto_front", "pareto_plot", "SUMMARY_FIELDS"]

#: the fields every cell object carries (others: settings, coverage, examples, cost per target)
SUMMARY_FIELDS = ("model", "unit", "softmax", "n", "accuracy", "delta", "ci95", "mcnemar_p", "agreement", "luts",
                  "lut_ratio", "fmax_ratio")  # fmt: skip


def load_results(path) -> list[dict]:
    """Cells of an earlier run (``--resume``); a missing file is an empty run."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError as e:
        raise ValueError(f"--resume: {path} is not a study result file ({e})") from None
    cells = data.get("cells") if isinstance(data, dict) else data
    if not isinstance(cells, list) or not all(isinstance(c, dict) and "model" in c for c in cells):
        raise ValueError(f"--resume: {path} is not a study result file (no list of cells)")
    return cells


def save_results(path, cells: list[dict], settings: dict) -> None:
    """Write atomically (a crash leaves the previous file)."""
    from .. import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"kexue_hw_version": __version__, "settings": settings, "cells": cells},
                              indent=1, ensure_ascii=False) + "\n", "utf-8")  # fmt: skip
    os.replace(tmp, path)


def _fmt(x, spec):
    return "—" if x is None else format(x, spec)


def markdown_table(cells: list[dict]) -> str:
    """One row per cell; failed cells show their error."""
    from ..tables import markdown_table as table

    header = ["model", "unit", "softmax", "n", "accuracy / ppl", "Δ vs native (95% CI)", "McNemar p", "agreement",
              "LUTs", "LUT ratio", "Fmax ratio", "nothing exact"]  # fmt: skip
    rows = []
    for c in cells:
        if c.get("status") != "ok":
            rows.append([c["model"], c["unit"], c["softmax"], "", f"FAILED: {c.get('error', '?')}"] + [""] * 7)
            continue
        lo, hi = c["ci95"]
        rows.append([
            c["model"], c["unit"], c["softmax"], c["n"], f"{c.get('accuracy', c.get('perplexity')):.4f}",
            f"{c['delta']:+.4f} ({lo:+.4f}, {hi:+.4f})", _fmt(c["mcnemar_p"], ".3g"), f"{c['agreement']:.4f}",
            _fmt(c.get("luts"), "d"), _fmt(c.get("lut_ratio"), ".3f"), _fmt(c.get("fmax_ratio"), ".3f"),
            {None: "", True: "yes", False: "NO"}[c.get("all_emulated")],
        ])  # fmt: skip
    return table(header, rows, "lllrrrrrrrrl")


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points no other point beats on both cost (lower) and accuracy (higher), by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def pareto_plot(cells: list[dict], model: str, path) -> Path | None:
    """Accuracy against LUT ratio for one model, each point labelled ``unit/softmax``, the frontier drawn.

    Units without a cost (native, float units) are drawn as horizontal reference lines. Returns the
    file written, or ``None`` when the model has no costed cell.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [c for c in cells if c["model"] == model and c.get("status") == "ok" and "accuracy" in c]
    pts = [c for c in ok if c.get("lut_ratio") is not None]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    kernels = list(dict.fromkeys(c["softmax"] for c in ok))
    colours = {k: plt.get_cmap("tab10")(i) for i, k in enumerate(kernels)}
    xy = [(c["lut_ratio"], c["accuracy"]) for c in pts]
    for k in kernels:
        mine = [p for c, p in zip(pts, xy) if c["softmax"] == k]
        if mine:
            ax.scatter([p[0] for p in mine], [p[1] for p in mine], color=colours[k], zorder=3, label=f"softmax: {k}")
    labels: dict[tuple, list[str]] = {}
    for c, p in zip(pts, xy):
        labels.setdefault(p, []).append(c["unit"] + ("" if len(kernels) == 1 else f" ({c['softmax']})"))
    for (x, y), names in labels.items():
        ax.annotate("\n".join(names), (x, y), textcoords="offset points", xytext=(5, 3), fontsize=7)
    front = pareto_front(xy)
    ax.step([xy[i][0] for i in front], [xy[i][1] for i in front], where="post", color="black", lw=1.0, alpha=0.7,
            label="Pareto frontier")  # fmt: skip
    for c in ok:
        if c.get("lut_ratio") is None:
            ax.axhline(c["accuracy"], color=colours[c["softmax"]], ls="--", lw=0.8, alpha=0.7)
            ax.annotate(f"{c['unit']} ({c['softmax']}): no LUT cost", (1.0, c["accuracy"]), xycoords=("axes fraction", "data"),
                        fontsize=6, color="grey", ha="right", va="bottom")  # fmt: skip
    n = ok[0]["n"]
    target = next(iter(pts[0].get("cost", {"ice40": None})))
    ax.set_xlabel(f"multiplier LUTs / exact multiplier LUTs ({target}, same width and signedness)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{model}: accuracy vs multiplier cost (n = {n})")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=7)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
