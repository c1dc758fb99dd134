"""Fixed-point golden model of Taylor softmax on an approximate unit (numpy + :mod:`kexue_hw.arith`).

Formats (``W`` = multiplier width, ``M = W-1`` for a signed unit, ``W`` for an
unsigned one: the operand magnitude bits; unsigned units get sign-magnitude
around them, see :func:`.fixed.signed_mul`):

* input ``X``: signed integer, ``in_frac`` fraction bits, ``|X| <= x_max * 2**in_frac``
  (checked; anything else raises :class:`ValueError`).
* Horner accumulator ``p``: signed, ``acc_frac`` (= ``P``) fraction bits,
  ``|p| <= 2**M - 1``; coefficients ``c_k = round(2**P / k!)`` (nearest).
* step (``k = n-1 .. 0``): ``p <- sat(floor(mul(p, X) / 2**in_frac) + c_k)``: the
  product is the unit's ``2W``-bit product, the rescale an arithmetic right shift
  (floor), ``sat`` clips to ``+-(2**M - 1)``.
* guard: ``f = max(p, fmin)`` with ``fmin = max(1, floor(f_n(x_n*) * 2**P))``. The
  true ``f_n(x) >= f_n(x_n*)`` so the guard only removes error, and ``f >= 1``:
  approximate products (which can flip the sign of a Horner sum near the minimum)
  can never make an output negative or zero the denominator.
* ``clamp=True``: ``X <- max(X, round(x_n* * 2**in_frac))`` first (monotone variant).
* denominator ``S = sum f`` exact (``W + ceil(log2 L)`` bits).
* ``normalize="divide"``: ``s = max(0, bitlen(S) - D)`` (``D`` = divider operand
  magnitude bits), ``S' = S >> s`` (floor), ``q = div(f, S')`` (``Q`` quotient
  fraction bits, the divider truncates), ``y = floor(q / 2**(Q + s - O))``.
* ``normalize="reciprocal"``: one ``r = div(2**(D-1), S')`` per row, cut to the
  multiplier's ``M`` bits (``t = max(0, bitlen(r) - M)``, ``r' = r >> t``), then
  ``y = floor(mul(f, r') / 2**(Q - t + D - 1 + s - O))``.
* output ``y``: unsigned, ``out_frac`` (= ``O``) fraction bits, clipped to ``2**O``
  (= 1.0). :meth:`TaylorSoftmaxFixed.sum_bounds` states the proven range of ``sum y``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..spec import Exact, IntUnit, SpecError
from .fixed import bit_length, operand_magnitude_bits, shift_floor, signed_mul, unit_error_bounds
from .taylor_minimum import check_order, taylor_coefficients, taylor_exp, taylor_minimum
from .. import arith

__all__ = ["TaylorSoftmaxFixed", "NORMALIZATIONS"]

NORMALIZATIONS = ("divide", "reciprocal")
DEFAULT_X_MAX = 4.0


def _horner_bound(order: int, r: float) -> float:
    """Largest ``|p_k|`` of exact Horner on ``|x| <= r``: ``max_k sum_{j>=k} r**(j-k) / j!``."""
    c = taylor_coefficients(order)
    return max(sum(c[j] * r ** (j - k) for j in range(k, order + 1)) for k in range(order + 1))


@dataclass(frozen=True)
class TaylorSoftmaxFixed:
    """Bit-exact fixed-point Taylor softmax along the last axis (see the module docstring for the formats)."""

    unit: IntUnit
    order: int = 4
    in_frac: int = 12
    x_max: float | None = None  # None: min(4, largest value of the input format)
    acc_frac: int | None = None  # None: the most that fit the exact Horner bound for x_max with a 25 % margin
    out_frac: int | None = None  # None: the divider's operand magnitude bits
    clamp: bool = False
    normalize: str = "divide"
    div_unit: IntUnit | None = None  # None: ``unit`` if it has a divider, else Exact of the same width
    coeffs: tuple = field(init=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.unit, IntUnit):
            raise SpecError(f"TaylorSoftmaxFixed needs an integer unit, got {self.unit!r}")
        check_order(self.order)
        if self.normalize not in NORMALIZATIONS:
            raise SpecError(f"normalize must be one of {NORMALIZATIONS}, got {self.normalize!r}")
        m = operand_magnitude_bits(self.unit)
        if not 0 <= self.in_frac < m:
            raise SpecError(f"in_frac={self.in_frac} must be in 0..{m - 1} for {self.unit.describe()}")
        du = self.div_unit
        if du is None:
            du = self.unit if self.unit.has_divider else Exact(self.unit.width, self.unit.signed)
            object.__setattr__(self, "div_unit", du)
        if not isinstance(du, IntUnit):
            raise SpecError(f"div_unit must be an integer unit, got {du!r}")
        du.check_op("div")  # raises for units without a divider
        fmt_max = ((1 << m) - 1) / 2**self.in_frac
        x_max = self.x_max
        if x_max is None:
            x_max = min(DEFAULT_X_MAX, fmt_max)
            object.__setattr__(self, "x_max", x_max)
        if not 0 < x_max <= fmt_max:
            raise SpecError(f"x_max={x_max} must be in (0, {fmt_max}] for in_frac={self.in_frac}")
        bound = _horner_bound(self.order, x_max)
        if self.acc_frac is None:
            p = m - 1 - math.floor(math.log2(1.25 * bound))
            object.__setattr__(self, "acc_frac", p)
        if self.acc_frac < 0 or bound * 2**self.acc_frac >= 2**m:
            raise SpecError(
                f"acc_frac={self.acc_frac}: Horner sums up to {bound:.4g} for |x| <= {x_max} do not fit "
                f"{m} magnitude bits; lower x_max or acc_frac"
            )
        fmin = taylor_minimum(self.order)[1]
        if fmin * 2**self.acc_frac < 1:
            raise SpecError(f"acc_frac={self.acc_frac} cannot represent min f_{self.order} = {fmin:.4g}")
        if self.out_frac is None:
            object.__setattr__(self, "out_frac", operand_magnitude_bits(du))
        if not 1 <= self.out_frac <= 62 - m:
            raise SpecError(f"out_frac={self.out_frac} must be in 1..{62 - m}")
        object.__setattr__(self, "coeffs", tuple(round(c * 2**self.acc_frac) for c in taylor_coefficients(self.order)))

    # ------------------------------------------------------------------ constants the RTL shares
    @property
    def acc_max(self) -> int:
        return (1 << operand_magnitude_bits(self.unit)) - 1

    @property
    def x_max_int(self) -> int:
        return math.floor(self.x_max * 2**self.in_frac)

    @property
    def f_min_int(self) -> int:
        return max(1, math.floor(taylor_minimum(self.order)[1] * 2**self.acc_frac))

    @property
    def x_star_int(self) -> int:
        return round(taylor_minimum(self.order)[0] * 2**self.in_frac)

    @property
    def div_bits(self) -> int:
        """``D``: divider operand magnitude bits."""
        return operand_magnitude_bits(self.div_unit)

    # ------------------------------------------------------------------ model
    def check_input(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype.kind not in "iu":
            raise ValueError(
                f"Taylor softmax fixed point takes integers (Q.{self.in_frac}), got {x.dtype}; use quantize()"
            )
        x = x.astype(np.int64)
        if x.size and int(np.max(np.abs(x))) > self.x_max_int:
            raise ValueError(
                f"input outside +-{self.x_max_int} (|x| <= {self.x_max} at {self.in_frac} fraction bits): "
                f"max |x| = {int(np.max(np.abs(x)))}"
            )
        return x

    def quantize(self, x) -> np.ndarray:
        """Round float inputs to the input format (nearest); values beyond ``x_max``, NaN and inf raise."""
        xf = np.asarray(x, dtype=np.float64)
        if xf.size and not np.all(np.abs(xf) <= self.x_max + 1):  # also catches NaN before the int cast
            bad = xf[~(np.abs(xf) <= self.x_max + 1)].flat[0]
            raise ValueError(f"input {bad!r} outside +-{self.x_max} (|x| <= x_max at {self.in_frac} fraction bits)")
        q = np.rint(xf * 2**self.in_frac).astype(np.int64)
        return self.check_input(q)

    def numerators(self, x, guard: bool = True) -> np.ndarray:
        """``f`` with ``acc_frac`` fraction bits (``guard=False`` exposes the raw Horner value, for tests)."""
        x = self.check_input(x)
        if self.clamp:
            x = np.maximum(x, self.x_star_int)
        p = np.full(x.shape, self.coeffs[-1], dtype=np.int64)
        for c in reversed(self.coeffs[:-1]):
            prod = signed_mul(self.unit, p, x)
            p = np.clip((prod >> self.in_frac) + c, -self.acc_max, self.acc_max)
        return np.maximum(p, self.f_min_int) if guard else p

    def normalize_rows(self, f) -> np.ndarray:
        """Probabilities with ``out_frac`` fraction bits from numerators ``f >= 1`` (last axis)."""
        f = np.asarray(f, dtype=np.int64)
        d, q, o = self.div_bits, self.div_unit.quotient_frac_bits, self.out_frac
        total = f.sum(axis=-1, keepdims=True)
        s = np.maximum(0, bit_length(total) - d)
        s_cut = total >> s
        if self.normalize == "divide":
            quo = np.asarray(arith.div(self.div_unit, f, s_cut), dtype=np.int64)
            y = shift_floor(quo, q + s - o)
        else:
            r = np.asarray(arith.div(self.div_unit, np.int64(1 << (d - 1)), s_cut), dtype=np.int64)
            t = np.maximum(0, bit_length(r) - operand_magnitude_bits(self.unit))
            prod = signed_mul(self.unit, f, r >> t)
            y = shift_floor(prod, q - t + d - 1 + s - o)
        return np.minimum(y, 1 << o)

    def __call__(self, x) -> np.ndarray:
        """Integer probabilities (``out_frac`` fraction bits) of integer inputs (``in_frac``), last axis."""
        return self.normalize_rows(self.numerators(x))

    def forward_float(self, x) -> np.ndarray:
        """Float in, float out: quantize, run the fixed-point model, scale back."""
        return self(self.quantize(x)) / 2.0**self.out_frac

    def sum_bounds(self, length: int) -> tuple[float, float]:
        """Proven ``[lo, hi]`` of ``sum(y) / 2**out_frac`` for rows of ``length`` elements.

        ``S'`` cut from ``S``: factor in ``[1, 1/(1 - 2**-(D-1))]``; divider and
        multiplier relative errors from :func:`.fixed.unit_error_bounds`; the final
        floor loses under ``2**-min(O, Q)`` per element (nested floors compose; a quotient
        with fewer fraction bits than the output loses its own truncation).
        Reciprocal mode also loses ``< 2**-(Q-1)`` (``r`` truncated, ``r >= 2**(Q-1)``)
        and ``< 2**-(M-1)`` (cutting ``r`` to ``M`` bits).
        """
        d, q, o = self.div_bits, self.div_unit.quotient_frac_bits, self.out_frac
        m = operand_magnitude_bits(self.unit)
        dlo, dhi = unit_error_bounds(self.div_unit, "div")
        cut = 1 / (1 - 2.0 ** -(d - 1))
        if self.normalize == "divide":
            lo, hi = 1 + dlo, (1 + dhi) * cut
            step = 2.0 ** -min(o, q)  # the quotient's own truncation when Q < O (then y = q << (O - Q - s))
        else:
            mlo, mhi = unit_error_bounds(self.unit, "mul")
            lo = ((1 + dlo) - 2.0 ** -(q - 1)) * (1 - 2.0 ** -(m - 1)) * (1 + mlo)
            hi = (1 + dhi) * (1 + mhi) * cut
            step = 2.0**-o
        return lo - length * step, hi

    def reference(self, x) -> np.ndarray:
        """Float64 Taylor softmax of the (integer) inputs: what the model approximates."""
        xf = self.check_input(x) / 2.0**self.in_frac
        if self.clamp:
            xf = np.maximum(xf, taylor_minimum(self.order)[0])
        f = np.vectorize(lambda v: taylor_exp(v, self.order))(xf) if xf.size else xf
        return f / f.sum(axis=-1, keepdims=True)
