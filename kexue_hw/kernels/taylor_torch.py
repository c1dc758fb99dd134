"""Taylor softmax in torch: ``f_n(x_i) / sum_j f_n(x_j)`` with ``f_n`` the order-``n`` Taylor polynomial of exp.

Banerjee et al., "Exploring Alternatives to Softmax Function" (arXiv 2011.11538).
Even ``n`` only (``f_n > 0``). Differentiable (plain torch ops), any ``dim``.
``clamp=True`` replaces ``x`` by ``max(x, x_n*)`` so the map is monotone in
each input (``f_n`` is increasing right of its minimiser ``x_n*``).
Unlike softmax it is not shift-invariant, so no max is subtracted; ``f_n`` grows
like ``|x|**n / n!``, so fp32 overflows for ``|x|`` beyond roughly ``(n! * 3e38)**(1/n)``.
"""

from __future__ import annotations

import torch

from .taylor_minimum import check_order, taylor_coefficients, taylor_minimum

__all__ = ["taylor_softmax", "taylor_weights", "TaylorSoftmax"]


def taylor_weights(x: torch.Tensor, order: int = 2, clamp: bool = False) -> torch.Tensor:
    """Unnormalised weights ``f_n(x)`` (Horner; positive for even ``n``), elementwise."""
    n = check_order(order)
    if clamp:
        x = torch.clamp(x, min=taylor_minimum(n)[0])
    coeffs = taylor_coefficients(n)
    f = torch.full_like(x, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        f = f * x + c
    return f


def taylor_softmax(x: torch.Tensor, order: int = 2, dim: int = -1, clamp: bool = False) -> torch.Tensor:
    """Taylor softmax of ``x`` along ``dim`` (same dtype and shape as ``x``)."""
    f = taylor_weights(x, order, clamp)
    return f / f.sum(dim=dim, keepdim=True)


class TaylorSoftmax(torch.nn.Module):
    """Drop-in replacement for :class:`torch.nn.Softmax` (``dim`` argument first, as there)."""

    def __init__(self, dim: int = -1, order: int = 2, clamp: bool = False):
        super().__init__()
        self.dim = dim
        self.order = check_order(order)
        self.clamp = clamp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return taylor_softmax(x, order=self.order, dim=self.dim, clamp=self.clamp)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, order={self.order}, clamp={self.clamp}"
