"""The study inside ``kexue-hw report``: the shipped models on the main units, and the summary that opens the report.

Sizes (``mode``): ``quick`` (MWP on 50 problems, 3 units; under a minute with a warm cost cache),
``default`` (MWP and PET-MLM on 200 examples each, the six main units), ``full`` (every shipped
model incl. the SmolLM2 scorer, 1,000 examples, Taylor and Performer kernels too).
"""

from __future__ import annotations

from pathlib import Path

from ..spec import Unit

__all__ = ["MODES", "study_settings", "study_section", "summary_table"]

MAIN_UNITS = ["native", "exact_s8", "mitchell_s8", "mbm_s8", "ilm_s8_c1", "float_mitchell_bf16"]

MODES = {
    "quick": dict(models=["mwp"], units=["native", "exact_s8", "mitchell_s8"], kernels=["softmax"], limit=50),
    "default": dict(models=["mwp", "pet-mlm"], units=MAIN_UNITS, kernels=["softmax"], limit=200),
    "full": dict(models=["mwp", "pet-mlm", "pet-clm"], units=MAIN_UNITS, kernels=["softmax", "taylor4", "performer"],
                 limit=1000),  # fmt: skip
}


def study_settings(mode: str):
    from .grid import StudySettings

    if mode not in MODES:
        raise ValueError(f"report mode {mode!r}: choose one of {', '.join(MODES)}")
    return StudySettings(**MODES[mode])


def study_section(outdir: Path, mode: str, log=lambda msg: None) -> tuple[str, list[dict]]:
    """Run the study at the mode's size; Markdown (table, Pareto plots) and the cells."""
    from .grid import run_study
    from .results import markdown_table, pareto_plot, save_results

    settings = study_settings(mode)
    log(f"study: {len(settings.models)} models x {len(settings.units)} units x {len(settings.kernels)} kernels")
    cells = run_study(settings, progress=False, on_row=lambda r: log(f"study cell {r['model']}/{r['unit']}/"
                                                                       f"{r['softmax']}: {r['status']}"))  # fmt: skip
    from dataclasses import asdict

    save_results(Path(outdir) / "study.json", cells, asdict(settings))
    parts = [
        "Every product of each model's forward pass on the unit (`EmulationMode`), paired with the native run on "
        f"the same examples (first {settings.limit} of each model's evaluation data): Δ with its 95 % interval, exact "
        "McNemar p, agreement of predictions. Cost: the unit's multiplier against the exact multiplier of the same "
        "width and signedness on iCE40 (cached synthesis). Full cells with settings and checkpoints: `study.json`.\n",
        markdown_table(cells),
    ]
    for model in settings.models:
        name = f"pareto_{model}.png"
        if pareto_plot(cells, model, Path(outdir) / name):
            parts.append(f"\n![{model}: accuracy vs multiplier cost]({name})\n")
    return "\n".join(parts) + "\n", cells


def _unit_metrics(unit: Unit) -> dict:
    """8-bit-class error figures of the unit and of its unsigned / signed twin (exhaustive up to 16 bits)."""
    from dataclasses import replace

    from ..metrics import error_metrics
    from ..spec import IntUnit

    out = {"mre": error_metrics(unit, "mul", samples=200_000).mre}
    if isinstance(unit, IntUnit):
        twin = replace(unit, signed=not unit.signed)
        out["twin_mre"] = error_metrics(twin, "mul").mre
        out["wcre"] = error_metrics(unit, "mul").wcre
    return out


def summary_table(cells: list[dict]) -> str:
    """One row per unit: error (signed and unsigned), cost (LUT, Fmax ratios, latency), Δ accuracy per model."""
    from ..models.evaluation import resolve_unit

    models = list(dict.fromkeys(c["model"] for c in cells))
    units = list(dict.fromkeys(c["unit"] for c in cells if c["unit"] != "native"))
    head = ["unit", "mre (signed)", "mre (unsigned)", "wcre", "LUT ratio", "Fmax ratio", "latency (cycles)"]
    head += [f"Δ {m}" for m in models]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in units:
        unit = resolve_unit(name)
        m = _unit_metrics(unit)
        row = [c for c in cells if c["unit"] == name and c["softmax"] == "softmax"]
        cost = next((c for c in row if c.get("lut_ratio") is not None), {})
        signed = getattr(unit, "signed", True)
        mre_s = m["mre"] if signed else m.get("twin_mre")
        mre_u = m.get("twin_mre") if signed else m["mre"]
        fmt = lambda x, s: "—" if x is None else format(x, s)  # noqa: E731
        deltas = []
        for model in models:
            c = next((c for c in row if c["model"] == model), None)
            if c is None or c.get("status") != "ok":
                deltas.append("failed" if c else "—")
            else:
                deltas.append(f"{c['delta']:+.3f} (p {c['mcnemar_p']:.2g})" if c.get("mcnemar_p") is not None
                              else f"{c['delta']:+.3f}")  # fmt: skip
        first = next((c for c in row), {})
        latency = (first.get("cost") or {}).get("ice40", {}).get("latency_cycles") if first else None
        lines.append("| " + " | ".join([
            name, fmt(mre_s, ".4f"), fmt(mre_u, ".4f"), fmt(m.get("wcre"), ".4f"), fmt(cost.get("lut_ratio"), ".3f"),
            fmt(cost.get("fmax_ratio"), ".3f"), fmt(latency, "d"), *deltas]) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"
