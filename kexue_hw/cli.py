"""The ``kexue-hw`` command.

Each face contributes its subcommands through a ``register(subparsers)``
function in its own ``cli`` module (listed in :data:`COMMAND_MODULES`); handlers
import heavy dependencies (torch, amaranth) lazily so ``kexue-hw --help`` stays
fast. A handler returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: modules providing ``register(subparsers)``; a face whose module is absent is skipped
COMMAND_MODULES = [
    "kexue_hw.arith_cli",
    "kexue_hw.report",
    "kexue_hw.hdl.cli",
    "kexue_hw.emulate.cli",
    "kexue_hw.kernels.cli",
    "kexue_hw.models.mwp.cli",
    "kexue_hw.study.cli",
]


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="kexue-hw",
        description="Log-domain approximate arithmetic: golden models, error metrics, RTL, torch emulation.",
    )
    parser.add_argument("--version", action="version", version=f"kexue-hw {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and (name == e.name or name.startswith(e.name + ".")):
                continue  # that face is not part of this install
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    import os

    from .spec import SpecError

    # torch and Numba keep separate OpenMP thread pools; spin-waiting between them
    # slows emulated models several-fold (benchmarks/emulate.md). Set before torch loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (SpecError, ValueError, ZeroDivisionError) as e:
        print(f"kexue-hw {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
