"""The values users type on the ``kexue-hw`` command line: one set of checks, one wording.

* argparse ``type=`` functions (:func:`positive_int`, :func:`seed`, :func:`probability`,
  :func:`shape`, ...) raise :class:`argparse.ArgumentTypeError` naming the bad value; argparse
  adds the option, so the user reads ``argument --seed: must be >= 0, got -1``.
* checks a handler runs before any work (:func:`output_file`, :func:`output_dir`,
  :func:`refuse`, :func:`fits_in_memory`) raise :class:`UsageError`, which ``kexue-hw``
  prints as one line with exit status 2, like argparse's own errors.

Integer counts accept ``1e6`` and ``1_000_000`` as well as ``1000000``. Floats must be finite.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path

__all__ = [
    "UsageError",
    "integer",
    "int_range",
    "positive_int",
    "non_negative_int",
    "seed",
    "finite_float",
    "float_range",
    "positive_float",
    "non_negative_float",
    "probability",
    "fraction",
    "shape",
    "identifier",
    "csv_list",
    "output_file",
    "output_dir",
    "input_file",
    "input_dir",
    "refuse",
    "fits_in_memory",
    "available_memory",
    "format_bytes",
]

#: largest seed accepted (numpy, torch and Python's random all take 0..2**32-1)
MAX_SEED = 2**32 - 1


class UsageError(ValueError):
    """A command-line mistake found after parsing: the message names the option and the value."""


# ----------------------------------------------------------------------------- numbers


def integer(text: str) -> int:
    """An integer written as ``12``, ``0x10``, ``1_000`` or ``1e6`` (a float form must be integral)."""
    t = text.strip()
    try:
        return int(t, 0)
    except ValueError:
        pass
    try:
        value = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not math.isfinite(value) or value != int(value):
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    return int(value)


def int_range(lo: int | None = None, hi: int | None = None):
    """argparse type: an integer in ``lo..hi`` (either bound may be ``None``)."""

    def parse(text: str) -> int:
        value = integer(text)
        if lo is not None and value < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {text}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"must be <= {hi}, got {text}")
        return value

    parse.__name__ = "integer"  # argparse's fallback message says "invalid integer value"
    return parse


positive_int = int_range(1)
non_negative_int = int_range(0)
seed = int_range(0, MAX_SEED)


def finite_float(text: str) -> float:
    """A finite float (``nan`` and ``inf`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def float_range(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False):
    """argparse type: a finite float in the interval from ``lo`` to ``hi`` (``*_open``: bound excluded)."""

    def parse(text: str) -> float:
        value = finite_float(text)
        if lo is not None and (value <= lo if lo_open else value < lo):
            raise argparse.ArgumentTypeError(f"must be {'>' if lo_open else '>='} {lo:g}, got {text}")
        if hi is not None and (value >= hi if hi_open else value > hi):
            raise argparse.ArgumentTypeError(f"must be {'<' if hi_open else '<='} {hi:g}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


positive_float = float_range(0.0, lo_open=True)
non_negative_float = float_range(0.0)
#: a probability of an event that must be able to happen: ``(0, 1]``
probability = float_range(0.0, 1.0, lo_open=True)
#: a share, weight or rate: ``[0, 1]``
fraction = float_range(0.0, 1.0)


def shape(text: str) -> tuple[int, ...]:
    """A matrix-product shape ``MxKxN`` (three positive integers, e.g. ``128x768x768``)."""
    parts = text.lower().split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MxKxN (e.g. 128x768x768), got {text!r}") from None
    if len(dims) != 3:
        raise argparse.ArgumentTypeError(f"expected three sizes MxKxN, got {text!r}")
    if min(dims) < 1:
        raise argparse.ArgumentTypeError(f"every size must be >= 1, got {text!r}")
    return dims


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def identifier(text: str) -> str:
    """A name usable as a Verilog module or Python identifier: letters, digits, ``_``, not starting with a digit."""
    if not _IDENTIFIER.match(text):
        raise argparse.ArgumentTypeError(
            f"expected a name of letters, digits and _ not starting with a digit, got {text!r}"
        )
    return text


def csv_list(text: str) -> list[str]:
    """A comma-separated list (empty items dropped); at least one item."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return items


# ----------------------------------------------------------------------------- files


def _check_writable_folder(option: str, path: Path, folder: Path) -> None:
    for parent in [folder, *folder.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{option} {path}: {str(parent)!r} is a file, not a folder")
            break
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: folder {str(folder)!r} does not exist")
    probe = folder / f".kexue-hw-write-test-{os.getpid()}"
    try:
        probe.open("x").close()
        probe.unlink()
    except OSError as e:
        raise UsageError(f"{option} {path}: cannot write in {str(folder)!r} ({e.strerror or e})") from None


def output_file(option: str, path: str | os.PathLike, *, force: bool = False, force_option: str = "--force") -> Path:
    """``path`` as a new output file: its folder exists and is writable, and it is not there yet unless ``force``."""
    p = Path(path)
    if str(path) in ("", "."):
        raise UsageError(f"{option}: expected a file name, got {str(path)!r}")
    if p.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name")
    _check_writable_folder(option, p, p.parent if str(p.parent) else Path("."))
    if p.exists() and not force:
        raise UsageError(f"{option} {path}: file exists; pass {force_option} to overwrite it")
    return p


def output_dir(option: str, path: str | os.PathLike) -> Path:
    """``path`` as an output folder: an existing writable folder, or a new one in an existing writable folder."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{option} {path}: is a file, not a folder")
    _check_writable_folder(option, p, p if p.is_dir() else p.parent)
    return p


def input_file(option: str, path: str | os.PathLike) -> Path:
    """``path`` as an existing readable file."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{option} {path}: is a folder, not a file")
    if not p.is_file():
        raise UsageError(f"{option} {path}: no such file")
    if not os.access(p, os.R_OK):
        raise UsageError(f"{option} {path}: not readable")
    return p


def input_dir(option: str, path: str | os.PathLike) -> Path:
    """``path`` as an existing folder."""
    p = Path(path)
    if not p.is_dir():
        raise UsageError(f"{option} {path}: {'is a file, not a folder' if p.exists() else 'no such folder'}")
    return p


# ----------------------------------------------------------------------------- options that do not apply


def refuse(args: argparse.Namespace, dests, reason: str) -> None:
    """:class:`UsageError` if any option among ``dests`` (argparse ``dest`` names) was given.

    An option counts as given when its value is not ``None``/``False`` (give such options a
    ``None`` default). ``reason`` completes ``--option ... applies ...``, e.g.
    ``"applies to sampled sweeps only"``.
    """
    for dest in dests:
        value = getattr(args, dest, None)
        if value is not None and value is not False and value != []:
            raise UsageError(f"{_flag(dest)} {reason}")


def _flag(dest: str) -> str:
    return {"fmt": "--format"}.get(dest, "--" + dest.replace("_", "-"))


# ----------------------------------------------------------------------------- memory


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``; ``None`` where unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def fits_in_memory(what: str, nbytes: float, *, share: float = 0.5) -> None:
    """:class:`UsageError` unless ``nbytes`` fit in ``share`` of the memory available now (say how much it needs)."""
    avail = available_memory()
    if avail is not None and nbytes > share * avail:
        raise UsageError(
            f"{what} needs about {format_bytes(nbytes)} of memory; {format_bytes(avail)} is available"
        )
