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
    "kexue_hw.models.pet.cli",
    "kexue_hw.study.cli",
    "kexue_hw.optim.cli",
]


class CommandParser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit status 2): the problem and where to read more."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


#: exceptions that mean the user asked for something impossible: one line, exit status 2
USAGE_ERRORS = (ValueError, ZeroDivisionError, OSError, MemoryError)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = CommandParser(
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

    # torch and Numba keep separate OpenMP thread pools; spin-waiting between them
    # slows emulated models several-fold (benchmarks/emulate.md). Set before torch loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    leaf = _leaf_parser(parser, args)
    if extra:  # name the subcommand the options were given to
        leaf.error(f"unrecognized arguments: {' '.join(extra)}")
    args.prog = leaf.prog
    if os.environ.get("KEXUE_HW_DEBUG"):
        return int(args.func(args) or 0)
    try:
        return int(args.func(args) or 0)
    except USAGE_ERRORS as e:  # SpecError, UsageError, OperandError, a file that cannot be read or written
        _error(args, e)
        return 2
    except (RuntimeError, ImportError) as e:  # a tool, a run or an optional part that failed or is missing
        _error(args, e)
        return 1
    except KeyboardInterrupt:
        print(f"{args.prog}: interrupted", file=sys.stderr)
        return 130


def _leaf_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)parser of the subcommand ``args`` were parsed for (``kexue-hw mwp eval``'s, say)."""
    while True:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or getattr(args, sub.dest, None) not in sub.choices:
            return parser
        parser = sub.choices[getattr(args, sub.dest)]


def _error(args, e: BaseException) -> None:
    """One line on stderr: the command, and the message (its lines joined; the class name if it has none)."""
    text = "; ".join(line.strip() for line in str(e).splitlines() if line.strip()) or type(e).__name__
    if isinstance(e, MemoryError):
        text = f"out of memory ({text}); ask for less"
    elif isinstance(e, ImportError):
        text += " (an optional part of kexue-hw is not installed)"
    elif isinstance(e, RuntimeError):
        text += " (KEXUE_HW_DEBUG=1 shows the traceback)"
    print(f"{args.prog}: error: {text}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
