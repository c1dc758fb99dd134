"""The committed RTL set (``rtl/``) and its manifest.

:data:`STANDARD_RTL` is a plain list of :class:`RtlTarget`: the arithmetic units
of this face. Faces built on top of ``kexue_hw.hdl`` contribute their own targets
(a streaming softmax, say) as ``RtlTarget`` entries with a ``generate`` callable
that returns the complete file text; the command line joins them
(:func:`kexue_hw.hdl.cli.committed_rtl`), so this module never imports the faces above it::

    RtlTarget("softmax_u16.v", {"unit": "softmax", ...}, make_softmax_verilog)

``kexue-hw rtl --standard`` rewrites every file and ``rtl/MANIFEST.json``
(parameters + sha256); ``tests/hdl/test_standard_rtl.py`` fails when a
committed file is stale.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from dataclasses import dataclass, field
from typing import Callable

from ..spec import MBM, Mitchell
from .export import top_name, unit_params, unit_verilog

__all__ = ["RtlTarget", "unit_target", "STANDARD_RTL", "write_standard", "stale_files", "MANIFEST"]

MANIFEST = "MANIFEST.json"


@dataclass(frozen=True)
class RtlTarget:
    """One committed Verilog file: its name, its parameters, and how to generate its text."""

    filename: str
    params: dict = field(hash=False)
    generate: Callable[[], str] = field(hash=False, compare=False)


def unit_target(unit, op: str = "mul", stages: int = 0) -> RtlTarget:
    """Target for one arithmetic unit built by :func:`kexue_hw.hdl.build`."""
    filename = f"{top_name(unit, op, stages)}.v"
    return RtlTarget(filename, unit_params(unit, op, stages), lambda: unit_verilog(unit, op, stages))


def _default_targets() -> list[RtlTarget]:
    targets = []
    for width in (8, 16, 32):
        for signed in (False, True):
            for stages in (0, 2):
                targets.append(unit_target(Mitchell(width, signed), "mul", stages))
    for width in (16, 32):
        for signed in (False, True):
            targets.append(unit_target(Mitchell(width, signed), "div", 0))
    targets.append(unit_target(Mitchell(16), "div", 3))
    targets.append(unit_target(MBM(16), "mul", 0))
    targets.append(unit_target(MBM(16, True), "mul", 0))
    return targets


#: the arithmetic units of the committed set (the other faces' targets are joined by the command line)
STANDARD_RTL: list[RtlTarget] = _default_targets()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_standard(directory: pathlib.Path, targets: list[RtlTarget] | None = None) -> list[pathlib.Path]:
    """Write every target and the manifest into ``directory``; returns the written paths."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    targets = STANDARD_RTL if targets is None else targets
    written, entries = [], []
    for target in targets:
        text = target.generate()
        path = directory / target.filename
        path.write_text(text)
        written.append(path)
        entries.append({"file": target.filename, "params": target.params, "sha256": _sha256(text)})
    manifest = directory / MANIFEST
    manifest.write_text(json.dumps({"files": entries}, indent=2) + "\n")
    written.append(manifest)
    return written


def stale_files(directory: pathlib.Path, targets: list[RtlTarget] | None = None) -> list[str]:
    """Names of targets whose committed file (or manifest entry) differs from a fresh generation."""
    directory = pathlib.Path(directory)
    targets = STANDARD_RTL if targets is None else targets
    manifest_path = directory / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"files": []}
    recorded = {e["file"]: e for e in manifest["files"]}
    stale = []
    for target in targets:
        text = target.generate()
        path = directory / target.filename
        entry = recorded.get(target.filename)
        if (
            not path.exists()
            or path.read_text() != text
            or entry is None
            or entry["sha256"] != _sha256(text)
            or entry["params"] != json.loads(json.dumps(target.params))
        ):
            stale.append(target.filename)
    return stale
