"""``kexue-hw report``: the main job, one self-contained folder (Markdown + PNG plots + JSON).

The report answers "which cheap unit can my model run on, what does it cost in accuracy, what
does it save in hardware" before the detail:

1. **Summary**: per unit, one row joining its error (signed and unsigned), its multiplier's cost
   (LUT and Fmax ratios to the exact multiplier, latency) and the accuracy change of each shipped
   model, then the accuracy-vs-cost Pareto plots (:mod:`kexue_hw.study`);
2. the study's cells in full (every model x unit x attention kernel, paired with native);
3. error metrics of the built-in units at 8 and 16 bits, unsigned and signed (exhaustive; the
   16-bit sweeps use the closed-form paths), the float units (sampled), and relative-error heat
   maps on one shared colour scale;
4. the other faces' sections: RTL cost and timing, kernels.

Sizes: ``quick`` (under a minute: a small study, 16-bit metrics sampled, no synthesis sweep),
``default`` (under five minutes on 2 cores), ``full`` (every shipped model, the Taylor and
Performer kernels, 1,000 examples, the 32-bit RTL rows). Every figure is computed when the report
is written; the header gives start and end time and the last table each step's wall-clock seconds.
"""

from __future__ import annotations

import importlib
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from .spec import FLOAT_FORMATS, ILM, MBM, FloatMitchell, Mitchell
from .tables import markdown_table

MODES = ("quick", "default", "full")

#: (title, module) of the face sections after the arithmetic ones
FACE_SECTIONS = [
    ("RTL cost and timing", "kexue_hw.hdl.report"),
    ("Kernels: Taylor softmax and Performer", "kexue_hw.kernels.report"),
]


def builtin_units(width: int, signed: bool = False) -> list:
    """The units the report compares at one width."""
    return [
        Mitchell(width, signed),
        Mitchell(width, signed, frac_bits=width // 2),
        MBM(width, signed),
        ILM(width, signed, corrections=0),
        ILM(width, signed, corrections=1),
        ILM(width, signed, corrections=2),
    ]


def _fmt(x: float, rel: bool = False) -> str:
    return f"{x:.5f}" if rel else f"{x:.6g}"


def metrics_table(rows: list) -> str:
    """``(name, ErrorMetrics)`` rows as a Markdown table (trailing newline)."""
    header = ["unit", "op", "pairs", "ep", "mae", "wce", "mre", "wcre", "bias", "nmed", "seconds"]
    body = [
        [name, m.op, f"{m.pairs:,}" + ("" if m.exhaustive else " (sampled)"), f"{m.ep:.4f}", _fmt(m.mae), _fmt(m.wce),
         f"{m.mre:.5f}", f"{m.wcre:.5f}", f"{m.bias:+.5f}", f"{m.nmed:.2e}", f"{m.seconds:.2f}"]
        for name, m in rows
    ]  # fmt: skip
    return markdown_table(header, body, "ll" + "r" * 9) + "\n"


class Steps:
    """Wall-clock seconds of each step of the report (what the last table shows)."""

    def __init__(self, verbose: bool):
        self.verbose = verbose
        self.t0 = time.perf_counter()
        self.rows: list[tuple[str, float]] = []

    def log(self, msg: str) -> None:
        if self.verbose:
            print(f"[{time.perf_counter() - self.t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    def run(self, name: str, fn, *args, **kwargs):
        self.log(name)
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.rows.append((name, time.perf_counter() - start))

    def table(self) -> str:
        rows = [[name, f"{sec:.1f}"] for name, sec in self.rows]
        rows.append(["total", f"{time.perf_counter() - self.t0:.1f}"])
        return markdown_table(["step", "seconds"], rows, "lr")


def units_section(units, steps: Steps, found: dict) -> str:
    """Metrics of the user's units (``--units``): exhaustive where that is cheap, with EvoApproxLib's figures."""
    from .metrics import error_metrics, evoapprox_figures

    rows, evo_rows = [], []
    for unit in units:
        m = steps.run(f"metrics {unit.describe()} mul", error_metrics, unit, "mul", samples=1_000_000, seed=0)
        rows.append((unit.describe(), m))
        found[unit.describe(), "mul"] = m
        evo = evoapprox_figures(m, unit)
        if evo:
            evo_rows.append([unit.describe()] + [f"{v:.6g}" for v in evo.values()])
    text = "\n### Your units\n\n" + metrics_table(rows)
    if evo_rows:
        text += "\nUnder EvoApproxLib's names (MAE% and WCE% of 2^(2N)):\n\n"
        text += markdown_table(["unit", "EP%", "MAE", "MAE%", "WCE", "WCE%", "MRE%", "WCRE%", "MSE"], evo_rows,
                               "l" + "r" * 8) + "\n"  # fmt: skip
    return text


def metrics_section(mode: str, steps: Steps, found: dict) -> str:
    """Metrics tables; every result also goes into ``found[(unit name, op)]`` for the summary."""
    from .metrics import error_metrics

    exhaustive16 = mode != "quick"
    parts = [
        "EvoApproxLib definitions (`kexue_hw.metrics`): relative figures are fractions; `mre`, `wcre`, `bias` over "
        "pairs with a non-zero exact result; `nmed = mae / max|exact|`. `seconds` is each sweep's own time "
        f"({'16-bit rows sampled with 1,000,000 pairs, seed 0' if not exhaustive16 else 'all 2^32 pairs at 16 bits, through the closed-form paths of `kexue_hw.metrics_analytic`, equal to the brute-force sweep up to 16 bits by `benchmarks/metrics_analytic.py --check`'}).\n"
    ]
    for width in (8, 16):
        for signed in (False, True):
            exhaustive = width <= 8 or exhaustive16
            units = builtin_units(width, signed) + [Mitchell(width, signed)]
            ops = ["mul"] * (len(units) - 1) + ["div"]
            rows = []
            for unit, op in zip(units, ops):
                m = steps.run(f"metrics {unit.describe()} {op}", error_metrics, unit, op, exhaustive=exhaustive,
                              samples=1_000_000, seed=0)  # fmt: skip
                rows.append((unit.describe(), m))
                found[unit.describe(), op] = m
            parts.append(f"\n### {width}-bit {'signed' if signed else 'unsigned'}\n\n" + metrics_table(rows))
    rows = []
    for fmt in FLOAT_FORMATS:
        unit = FloatMitchell(fmt)
        rows.append((unit.describe(), steps.run(f"metrics {unit.describe()}", error_metrics, unit, "mul",
                                                samples=200_000, seed=0)))  # fmt: skip
    parts.append("\n### Float units (sampled: normal operands, log2 uniform in [-8, 8), fp16 in [-6, 6); 200,000 pairs, "
                 "seed 0)\n\n" + metrics_table(rows))  # fmt: skip
    return "".join(parts)


def heatmap_section(outdir: Path, steps: Steps) -> str:
    """Relative-error maps of four 8-bit units on one shared colour scale."""
    import numpy as np

    from .metrics import relative_error_grid
    from .plots import plot_error_heatmap

    maps = [(Mitchell(8), "mul"), (MBM(8), "mul"), (ILM(8, corrections=1), "mul"), (Mitchell(8), "div")]
    grids = [steps.run(f"error grid {u.describe()} {op}", relative_error_grid, u, op) for u, op in maps]
    limit = max(float(np.nanmax(np.abs(g[2]))) for g in grids)
    parts = [f"Blue: under-estimate; red: over-estimate; every map on the scale ±{limit:.4f} (the largest |error| "
             "among them), 8-bit unsigned operands.\n"]  # fmt: skip
    for (unit, op), grid in zip(maps, grids):
        name = f"heat_{unit.describe()}_{op}.png"
        steps.run(f"plot {name}", plot_error_heatmap, unit, op, outdir / name, limit=limit, grid=grid)
        parts.append(f"\n![{unit.describe()} {op}]({name})\n")
    return "".join(parts)


def face_section(title: str, module_name: str, outdir: Path, quick: bool, steps: Steps) -> str:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            return f"\n## {title}\n\n_Skipped: `{module_name}` is not part of this install._\n"
        raise
    try:
        body = steps.run(f"section: {title}", module.section, outdir, quick=quick)
    except Exception:  # a failing face must not hide the others; its error is shown, not swallowed
        return f"\n## {title}\n\n**This section failed:**\n\n```\n{traceback.format_exc()}```\n"
    return f"\n## {title}\n\n{_demote_headings(body.strip())}\n"


def _demote_headings(markdown: str, levels: int = 1) -> str:
    """Nest a section's own headings under the report's section heading."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        out.append("#" * levels + line if line.startswith("#") and not fenced else line)
    return "\n".join(out)


def study_part(outdir: Path, mode: str, steps: Steps, metrics: dict) -> tuple[str, str]:
    """(summary Markdown, detail Markdown) of the study; a failure is shown, not hidden."""
    try:
        from .study.report import summary_table

        detail, cells = steps.run("study (models x units)", _study, outdir, mode, steps)
        if not cells:  # no model could run (no evaluation data): the detail says why
            return detail, detail
        summary = steps.run("summary table", summary_table, cells, metrics)
        pictures = "".join(f"\n![{m}: accuracy vs multiplier cost](pareto_{m}.png)\n"
                           for m in dict.fromkeys(c["model"] for c in cells) if (outdir / f"pareto_{m}.png").exists())  # fmt: skip
        return summary + pictures, detail
    except Exception:
        err = f"**The study failed:**\n\n```\n{traceback.format_exc()}```\n"
        return err, err


def _study(outdir, mode, steps):
    from .study.report import study_section

    return study_section(outdir, mode, log=steps.log)


def write_report(outdir: str | Path = "kexue-report", mode: str = "default", *, force: bool = False,
                 verbose: bool = True, units=()) -> Path:  # fmt: skip
    """Write ``outdir/report.md`` (+ PNGs, ``study.json``) and return its path.

    Refuses to overwrite an existing ``report.md`` unless ``force``. ``units``: more specs (a
    user's table units, say) whose metrics join the error-metrics section.
    """
    from . import __version__

    if mode not in MODES:
        raise ValueError(f"report mode {mode!r}: choose one of {', '.join(MODES)}")
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise ValueError(f"-o {outdir}: exists and is not a folder")
    path = outdir / "report.md"
    if path.exists() and not force:
        raise ValueError(f"-o {outdir}: {path} exists; pass --force to overwrite it or -o another folder")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"-o {outdir}: cannot create the folder ({e.strerror})") from None
    steps = Steps(verbose)
    started = datetime.now(timezone.utc)

    found: dict = {}
    metrics = metrics_section(mode, steps, found) + (units_section(units, steps, found) if units else "")
    summary, study_detail = study_part(outdir, mode, steps, found)
    heat = heatmap_section(outdir, steps)
    if mode == "quick":
        faces = "".join(f"\n## {t}\n\n_Skipped in `--quick` (run `kexue-hw report` or `--full`)._\n" for t, _ in FACE_SECTIONS)
    else:
        faces = "".join(face_section(t, m, outdir, mode != "full", steps) for t, m in FACE_SECTIONS)

    ended = datetime.now(timezone.utc)
    header = (
        f"# kexue-hw report\n\nkexue-hw {__version__}, `kexue-hw report{'' if mode == 'default' else ' --' + mode}`, "
        f"started {started:%Y-%m-%d %H:%M:%S} UTC, finished {ended:%H:%M:%S} UTC "
        f"({(ended - started).total_seconds():.0f} s) on {platform.machine()} / Python {platform.python_version()}.\n"
    )
    body = [
        header,
        "\n## Summary: what each unit costs and saves\n\n"
        "Per unit: its multiplier's error (8-bit class, exhaustive), its cost on iCE40 against the exact multiplier "
        "of the same width and signedness, and the change of each shipped model's accuracy with every product on "
        "the unit (paired with native; McNemar p in brackets).\n\n" + summary,
        "\n## Models on the units\n\n" + _demote_headings(study_detail.strip()) + "\n",
        "\n## Error metrics\n\n" + metrics,
        "\n## Relative-error landscapes\n\n" + heat,
        faces,
        "\n## Steps\n\n" + steps.table() + "\n",
    ]
    path.write_text("".join(body), encoding="utf-8")
    steps.log(f"wrote {path}")
    return path


def register(sub) -> None:
    p = sub.add_parser("report", help="write the report folder: models x units x cost, metrics, RTL (the main job)")
    p.add_argument("-o", "--output", default="kexue-report", help="folder to write (default: kexue-report)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="under a minute: a small study, sampled 16-bit sweeps")
    size.add_argument("--full", action="store_true", help="the whole grid, every shipped model, 32-bit RTL rows")
    p.add_argument("--force", action="store_true", help="overwrite an existing report.md")
    p.add_argument("--units", default="", metavar="NAME,...",
                   help="more units for the metrics section: names such as mitchell_s8_t3 or table:FILE.npy")  # fmt: skip
    p.set_defaults(func=_cmd)


def _cmd(args) -> int:
    from .spec import parse_unit

    from .cli_values import output_dir

    output_dir("-o", args.output)
    mode = "quick" if args.quick else "full" if args.full else "default"
    units = [parse_unit(name) for name in args.units.split(",") if name.strip()]
    path = write_report(args.output, mode, force=args.force, units=units)
    print(path)
    return 0
