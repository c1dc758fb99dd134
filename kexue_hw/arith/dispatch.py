"""Integer-unit dispatch by a small op code, so Numba loops stay cacheable.

Loops that work for every integer unit (the vectorized golden model, the metrics
sweep) take an ``int`` op code instead of function objects: Numba caches such
functions on disk reliably, and the branch on a loop-invariant code costs
nothing measurable next to the datapath.
"""

from __future__ import annotations

from numba import njit

from ..spec import ILM, MBM, Exact, Mitchell, SpecError, Unit
from . import ilm, mitchell

MITCHELL_MUL, MBM_MUL, ILM_MUL, EXACT_MUL, MITCHELL_DIV, EXACT_DIV = range(6)


def op_code(unit: Unit, op: str) -> int:
    """The op code of ``unit`` for ``op`` in ``mul|div``; :class:`SpecError` if it has no such op."""
    if op not in ("mul", "div"):
        raise SpecError(f"op must be 'mul' or 'div', got {op!r}")
    if isinstance(unit, Mitchell):
        return MITCHELL_MUL if op == "mul" else MITCHELL_DIV
    if isinstance(unit, Exact):
        return EXACT_MUL if op == "mul" else EXACT_DIV
    if op == "div" and isinstance(unit, (MBM, ILM)):
        raise SpecError(f"{type(unit).__name__} has no divider: division is defined for Mitchell and Exact")
    if isinstance(unit, MBM):
        return MBM_MUL
    if isinstance(unit, ILM):
        return ILM_MUL
    raise SpecError(f"no integer kernel for {unit!r}")


@njit(inline="always", cache=True)
def encode(code, m, p):
    """Per-operand encoding: the fixed-point log for log-domain units, the magnitude otherwise."""
    if code == MITCHELL_MUL or code == MBM_MUL or code == MITCHELL_DIV:
        return mitchell.log_encode(m, p)
    return m


@njit(inline="always", cache=True)
def combine(code, la, lb, ma, mb, p):
    """Result magnitude (uint64) from the encodings ``la, lb`` and magnitudes ``ma, mb``."""
    if code == MITCHELL_MUL:
        return mitchell.mitchell_mul_mag(la, lb, ma, mb, p)
    if code == MBM_MUL:
        return mitchell.mbm_mul_mag(la, lb, ma, mb, p)
    if code == ILM_MUL:
        return ilm.ilm_mul_mag(la, lb, ma, mb, p)
    if code == EXACT_MUL:
        return ilm.exact_mul_mag(la, lb, ma, mb, p)
    if code == MITCHELL_DIV:
        return mitchell.mitchell_div_mag(la, lb, ma, mb, p)
    return ilm.exact_div_mag(la, lb, ma, mb, p)
