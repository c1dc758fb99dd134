"""Integer-unit dispatch by a small op code, so Numba loops stay cacheable.

Loops that work for every integer unit (the vectorized golden model, the metrics
sweep) take an ``int`` op code instead of function objects: Numba caches such
functions on disk reliably, and the branch on a loop-invariant code costs
nothing measurable next to the datapath.

A new integer family adds its scalar primitives (a module beside :mod:`.mitchell`),
an op code and its branch in :func:`encode`/:func:`combine`, and one
:data:`INT_FAMILIES` entry; every integer face (golden model, metrics sweep,
emulation kernel) then covers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from numba import njit

from ..registry import SpecRegistry
from ..spec import ILM, MBM, Exact, IntUnit, Mitchell, Unit
from . import ilm, mitchell

MITCHELL_MUL, MBM_MUL, ILM_MUL, EXACT_MUL, MITCHELL_DIV, EXACT_DIV = range(6)


@dataclass(frozen=True)
class IntFamily:
    """One integer family's op codes, and what the ``extra`` slot of its parameter tuple holds."""

    mul: int
    div: int | None = None  # None: no divider (``unit.has_divider`` is False)
    extra: Callable[[IntUnit], int] = lambda unit: unit.product_magnitude_bits


#: the integer families of the golden model, by spec type
INT_FAMILIES = SpecRegistry("the integer golden model (kexue_hw.arith.dispatch)")
INT_FAMILIES.register(Mitchell, IntFamily(MITCHELL_MUL, MITCHELL_DIV))
INT_FAMILIES.register(MBM, IntFamily(MBM_MUL))
INT_FAMILIES.register(ILM, IntFamily(ILM_MUL, extra=lambda unit: unit.corrections))
INT_FAMILIES.register(Exact, IntFamily(EXACT_MUL, EXACT_DIV))


def op_code(unit: Unit, op: str) -> int:
    """The op code of ``unit`` for ``op`` in ``mul|div``; :class:`SpecError` if it has no such op."""
    family = INT_FAMILIES.lookup(unit)
    return family.mul if unit.check_op(op) == "mul" else family.div


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
