"""``kexue-hw report``: a self-contained report folder (Markdown + PNG plots) on the built-in units.

Every figure in it is computed when the report is written. Sections:

1. error metrics of the built-in units at 8 and 16 bits (exhaustive; ``--quick``
   samples the 16-bit ones) and of the float units (sampled);
2. relative-error heat maps;
3. the other faces, each from its own ``report.section(outdir, quick)``:
   RTL cost (:mod:`kexue_hw.hdl`), model accuracy under emulation
   (:mod:`kexue_hw.emulate`), kernels (:mod:`kexue_hw.kernels`). A face that is
   not installed is listed as skipped; one that fails shows its error.
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

#: (title, module) of the face sections appended after the arithmetic ones
FACE_SECTIONS = [
    ("RTL cost and timing", "kexue_hw.hdl.report"),
    ("Kernels: Taylor softmax and Performer", "kexue_hw.kernels.report"),
    ("Models under emulation", "kexue_hw.emulate.report"),
]


def builtin_units(width: int) -> list:
    """The units the report compares at one width."""
    return [
        Mitchell(width),
        Mitchell(width, frac_bits=width // 2),
        MBM(width),
        ILM(width, corrections=0),
        ILM(width, corrections=1),
        ILM(width, corrections=2),
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


def units_section(units, log) -> str:
    """Metrics of the user's units (``--units``): exhaustive where that is cheap, with EvoApproxLib's figures."""
    from .metrics import error_metrics, evoapprox_figures

    rows, evo_rows = [], []
    for unit in units:
        log(f"metrics {unit.describe()} mul")
        m = error_metrics(unit, "mul", samples=1_000_000)
        rows.append((unit.describe(), m))
        evo = evoapprox_figures(m, unit)
        if evo:
            evo_rows.append([unit.describe()] + [f"{v:.6g}" for v in evo.values()])
    text = "\n### Your units\n\n" + metrics_table(rows)
    if evo_rows:
        text += "\nUnder EvoApproxLib's names (MAE% and WCE% of 2^(2N)):\n\n"
        text += markdown_table(["unit", "EP%", "MAE", "MAE%", "WCE", "WCE%", "MRE%", "WCRE%", "MSE"], evo_rows,
                               "l" + "r" * 8) + "\n"  # fmt: skip
    return text


def arithmetic_section(outdir: Path, quick: bool, log) -> str:
    from .metrics import error_metrics
    from .plots import plot_error_heatmap

    parts = ["## Error metrics\n"]
    parts.append(
        "EvoApproxLib definitions (see `kexue_hw.metrics`): relative figures are fractions; "
        "`mre`, `wcre`, `bias` over pairs with a non-zero exact result; `nmed = mae / max|exact|`. "
        "Mitchell multiplication rows use the closed-form exhaustive path (`kexue_hw.metrics_analytic`, "
        "proven equal to the brute-force sweep), hence their near-zero time.\n"
    )
    for width in (8, 16):
        exhaustive = not (quick and width > 8)
        rows = []
        for unit in builtin_units(width):
            log(f"metrics {unit.describe()} mul")
            rows.append((unit.describe(), error_metrics(unit, "mul", exhaustive=exhaustive, samples=1_000_000)))
        div_unit = Mitchell(width)
        log(f"metrics {div_unit.describe()} div")
        rows.append((div_unit.describe(), error_metrics(div_unit, "div", exhaustive=exhaustive, samples=1_000_000)))
        parts.append(f"\n### {width}-bit unsigned\n\n" + metrics_table(rows))
    rows = []
    for fmt in FLOAT_FORMATS:
        unit = FloatMitchell(fmt)
        log(f"metrics {unit.describe()}")
        rows.append((unit.describe(), error_metrics(unit, "mul", samples=200_000)))
    parts.append(
        "\n### Float units (sampled: normal operands, log2 uniform in [-8, 8), fp16 in [-6, 6))\n\n"
        + metrics_table(rows)
    )

    parts.append("\n## Relative-error landscapes\n\nBlue: under-estimate; red: over-estimate.\n")
    for unit, op in ((Mitchell(8), "mul"), (MBM(8), "mul"), (ILM(8, corrections=1), "mul"), (Mitchell(8), "div")):
        name = f"heat_{unit.describe()}_{op}.png"
        log(f"plot {name}")
        plot_error_heatmap(unit, op, outdir / name)
        parts.append(f"\n![{unit.describe()} {op}]({name})\n")
    return "".join(parts)


def face_section(title: str, module_name: str, outdir: Path, quick: bool, log) -> str:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            return f"\n## {title}\n\n_Skipped: `{module_name}` is not part of this install._\n"
        raise
    log(f"section: {title}")
    try:
        body = module.section(outdir, quick=quick)
    except Exception:  # a failing face must not hide the others; its error is shown, not swallowed
        return f"\n## {title}\n\n**This section failed:**\n\n```\n{traceback.format_exc()}```\n"
    return f"\n## {title}\n\n{_demote_headings(body.strip())}\n"


def _demote_headings(markdown: str) -> str:
    """Nest a face's own headings under the report's section heading."""
    lines = markdown.splitlines()
    out, fenced = [], False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        out.append("#" + line if line.startswith("#") and not fenced else line)
    return "\n".join(out)


def write_report(outdir: str | Path = "kexue-report", quick: bool = False, verbose: bool = True, units=()) -> Path:
    """Write ``outdir/report.md`` (+ PNGs) and return its path; ``units``: more specs to characterize."""
    from . import __version__

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        if verbose:
            print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    header = (
        f"# kexue-hw report\n\nkexue-hw {__version__}, written {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} "
        f"on {platform.machine()} / Python {platform.python_version()}"
        f"{' (quick mode: 16-bit metrics sampled)' if quick else ''}.\n\n"
    )
    body = arithmetic_section(outdir, quick, log) + (units_section(units, log) if units else "")
    for title, module_name in FACE_SECTIONS:
        body += face_section(title, module_name, outdir, quick, log)
    footer = f"\n---\nWritten in {time.perf_counter() - t0:.0f} s by `kexue-hw report{' --quick' if quick else ''}`.\n"
    path = outdir / "report.md"
    path.write_text(header + body + footer)
    log(f"wrote {path}")
    return path


def register(sub) -> None:
    p = sub.add_parser("report", help="write a report folder comparing the built-in units (the main job)")
    p.add_argument("-o", "--output", default="kexue-report", help="folder to write (default: kexue-report)")
    p.add_argument("--quick", action="store_true", help="sample the 16-bit sweeps and skip the slowest sections")
    p.add_argument("--units", default="", metavar="NAME,...",
                   help="more units to characterize: names such as mitchell_s8_t3 or table:FILE.npy")  # fmt: skip
    p.set_defaults(func=_cmd)


def _cmd(args) -> int:
    from .spec import parse_unit

    units = [parse_unit(name) for name in args.units.split(",") if name.strip()]
    path = write_report(args.output, quick=args.quick, units=units)
    print(path)
    return 0
