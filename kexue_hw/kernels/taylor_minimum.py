"""Minima of the even-order Taylor polynomial of exp (no torch).

``f_n(x) = sum_{k<=n} x**k / k!`` for even ``n`` is positive on the real line;
``f_n' = f_{n-1}`` has exactly one real root ``x_n*`` (odd degree, increasing),
where ``f_n`` is minimal with ``f_n(x_n*) = x_n***n / n!`` (because
``f_n = f_{n-1} + x**n/n!``). Computed in float64 by bisection.
"""

from __future__ import annotations

import math

__all__ = ["check_order", "taylor_coefficients", "taylor_exp", "taylor_minimum"]


#: highest order accepted (1/32! is below 2**-117: no fixed-point format here keeps the term)
MAX_ORDER = 32


def check_order(order) -> int:
    """Validate a Taylor-softmax order: a positive even int (odd orders go negative)."""
    if isinstance(order, bool) or not isinstance(order, int):
        raise ValueError(f"order must be an int, got {order!r}")
    if order > MAX_ORDER:
        raise ValueError(f"order={order} is not allowed: at most {MAX_ORDER} (higher terms vanish in any fixed-point format)")
    if order < 2 or order % 2:
        raise ValueError(
            f"order={order} is not allowed: Taylor softmax needs an even order >= 2 "
            "(odd-order polynomials of exp take negative values, so the 'probabilities' could be negative)"
        )
    return order


def taylor_coefficients(order: int) -> list[float]:
    """``[1/0!, 1/1!, ..., 1/n!]``."""
    return [1.0 / math.factorial(k) for k in range(order + 1)]


def taylor_exp(x: float, order: int) -> float:
    """``f_n(x)`` in float64 (Horner)."""
    acc = 0.0
    for c in reversed(taylor_coefficients(order)):
        acc = acc * x + c
    return acc


def taylor_minimum(order: int) -> tuple[float, float]:
    """``(x_n*, f_n(x_n*))``: the minimiser and the minimum of ``f_n`` (even ``n``)."""
    n = check_order(order)
    lo, hi = -float(n + 1), 0.0  # f_{n-1}(-(n+1)) < 0 < f_{n-1}(0) = 1
    while taylor_exp(lo, n - 1) >= 0:  # defensive; never taken for n <= 100
        lo *= 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if taylor_exp(mid, n - 1) < 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * max(1.0, abs(lo)):
            break
    x = 0.5 * (lo + hi)
    return x, taylor_exp(x, n)
