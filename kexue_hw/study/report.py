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

    from dataclasses import replace

    from ..models.shared_data import DATA_HINT
    from .tasks import missing_data

    settings = study_settings(mode)
    missing = missing_data(settings.models, settings.data)
    note = ""
    if missing:
        note = ("**Not run for lack of evaluation data:** " + "; ".join(f"{m} (needs `{f}`)" for m, f in missing.items())
                + f". The data sets do not ship with kexue-hw: {DATA_HINT}.\n\n")  # fmt: skip
        log(f"study: no evaluation data for {', '.join(missing)} ({DATA_HINT})")
        remaining = [m for m in settings.models if m not in missing]
        if not remaining:
            return note, []
        settings = replace(settings, models=remaining)
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
    return note + "\n".join(parts) + "\n", cells


def _unit_metrics(unit: Unit, known: dict) -> dict:
    """Error figures of the unit and of its unsigned / signed twin (exhaustive up to 16 bits, floats sampled).

    ``known`` maps ``(unit name, "mul")`` to metrics already computed (the report's tables).
    """
    from dataclasses import replace

    from ..metrics import error_metrics
    from ..spec import IntUnit

    def metrics(u):
        key = (u.describe(), "mul")
        if key not in known:
            known[key] = error_metrics(u, "mul", samples=200_000, seed=0)
        return known[key]

    own = metrics(unit)
    out = {"mre": own.mre, "wcre": abs(own.wcre)}
    if isinstance(unit, IntUnit):
        out["twin_mre"] = metrics(replace(unit, signed=not unit.signed)).mre
    return out


def summary_table(cells: list[dict], known_metrics: dict | None = None) -> str:
    """One row per unit: error (signed and unsigned), cost (LUT, Fmax ratios, latency), Δ accuracy per model."""
    from ..models.evaluation import resolve_unit

    models = list(dict.fromkeys(c["model"] for c in cells))
    units = list(dict.fromkeys(c["unit"] for c in cells if c["unit"] != "native"))
    from ..tables import markdown_table

    head = ["unit", "mre (signed)", "mre (unsigned)", "wcre", "LUT ratio", "Fmax ratio", "latency (cycles)"]
    head += [f"Δ {m}" for m in models]
    lines = []
    for name in units:
        unit = resolve_unit(name)
        m = _unit_metrics(unit, {} if known_metrics is None else known_metrics)
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
        lines.append([name, fmt(mre_s, ".4f"), fmt(mre_u, ".4f"), fmt(m.get("wcre"), ".4f"),
                      fmt(cost.get("lut_ratio"), ".3f"), fmt(cost.get("fmax_ratio"), ".3f"), fmt(latency, "d"),
                      *deltas])  # fmt: skip
    return markdown_table(head, lines, "l" + "r" * (len(head) - 1)) + "\n"
