"""Tensor contractions other than the matrix product, rewritten as matrix products on the unit.

``einsum``, ``tensordot``, ``inner``, ``F.bilinear`` and transposed convolutions are permutes and
reshapes around a matrix product; here that product is :func:`~kexue_hw.emulate.functional.emulated_matmul`
(so quantization, exact accumulation, coverage and gradients are the matrix product's). A form
these functions do not rewrite returns ``None``: the caller then runs it exactly, and
:func:`~kexue_hw.emulate.track` reports it as an exact product.

Transposed convolutions insert ``stride - 1`` zeros between input samples and run the ordinary
convolution with the flipped kernel; the zero products count in the MACs.
"""

from __future__ import annotations

import math
import string

import torch
import torch.nn.functional as F

from .config import EmulationConfig
from .functional import _pair, emulated_conv2d, emulated_matmul

__all__ = ["emulated_einsum", "emulated_tensordot", "emulated_inner", "emulated_bilinear", "emulated_conv_transpose"]


def _floats(*xs) -> bool:
    return all(isinstance(x, torch.Tensor) and x.is_floating_point() for x in xs)


# ----------------------------------------------------------------------------- tensordot, inner


def emulated_tensordot(a, b, dims, config: EmulationConfig, *, layer=None):
    """``torch.tensordot(a, b, dims)`` on the unit (``dims``: an int, or two lists of dimensions)."""
    if isinstance(dims, torch.Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0 or dims > min(a.dim(), b.dim()):
            return None
        da, db = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        da, db = [d % a.dim() for d in da], [d % b.dim() for d in db]
        if len(da) != len(db):
            return None
    if any(a.shape[i] != b.shape[j] for i, j in zip(da, db)):
        return None  # torch reports the mismatch
    free_a = [i for i in range(a.dim()) if i not in da]
    free_b = [j for j in range(b.dim()) if j not in db]
    k = math.prod(a.shape[i] for i in da)
    a2 = a.permute(*free_a, *da).reshape(-1, k)
    b2 = b.permute(*db, *free_b).reshape(k, -1)
    out = emulated_matmul(a2, b2, config, kind="tensordot", layer=layer)
    return out.reshape(tuple(a.shape[i] for i in free_a) + tuple(b.shape[j] for j in free_b))


def emulated_inner(a, b, config: EmulationConfig, *, layer=None):
    """``torch.inner(a, b)``: the last dimensions contracted (a scalar operand is an elementwise product: ``None``)."""
    if a.dim() == 0 or b.dim() == 0:
        return None
    return emulated_tensordot(a, b, ([-1], [-1]), config, layer=layer)


# ----------------------------------------------------------------------------- einsum


def _terms(equation: str, operands) -> tuple[list[str], str] | None:
    """Input terms and output term with ``...`` spelt out as letters; ``None`` for forms left to torch."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        return None
    used = set(eq) - {".", ",", "-", ">"}
    spare = [c for c in string.ascii_letters if c not in used]
    ell = max((op.dim() - (len(t) - 3) for t, op in zip(terms, operands) if "..." in t), default=0)
    if ell > len(spare):
        return None
    block = "".join(spare[:ell])
    out_terms = []
    for t, op in zip(terms, operands):
        if "..." in t:
            n = op.dim() - (len(t) - 3)
            if n < 0:
                return None
            t = t.replace("...", block[ell - n :] if n else "")
        if len(t) != op.dim() or not all(c in string.ascii_letters for c in t) or len(set(t)) != len(t):
            return None  # wrong rank, or a diagonal (a letter twice in one operand): torch handles it
        out_terms.append(t)
    if arrow:
        out = rhs.replace("...", block)
    else:
        counts = {c: sum(t.count(c) for t in out_terms) for c in set("".join(out_terms))}
        out = block + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in block))
    if len(set(out)) != len(out) or any(c not in "".join(out_terms) for c in out):
        return None
    return out_terms, out


def _sum_unused(t: str, x, other: str, keep: set):
    """Sum out the letters of ``t`` found neither in ``other`` nor in ``keep`` (no product involves them)."""
    gone = [i for i, c in enumerate(t) if c not in other and c not in keep]
    if not gone:
        return t, x
    return "".join(c for i, c in enumerate(t) if i not in gone), x.sum(dim=gone)


def _contract(ta: str, a, tb: str, b, keep: set, config, layer):
    """One pairwise contraction of ``(term, tensor)`` pairs, keeping the letters in ``keep``; ``None`` if unsupported."""
    ta, a = _sum_unused(ta, a, tb, keep)
    tb, b = _sum_unused(tb, b, ta, keep)
    size = {}
    for t, x in ((ta, a), (tb, b)):
        for c, n in zip(t, x.shape):
            if size.get(c, 1) not in (1, n) and n != 1:
                return None  # mismatched sizes: torch reports them
            size[c] = max(size.get(c, 1), n)
    a = a.expand(*[size[c] for c in ta])
    b = b.expand(*[size[c] for c in tb])
    batch = [c for c in ta if c in tb and c in keep]
    inner = [c for c in ta if c in tb and c not in keep]
    a_only = [c for c in ta if c not in tb]
    b_only = [c for c in tb if c not in ta]
    bs, m, k, n = ([size[c] for c in g] for g in (batch, a_only, inner, b_only))
    a3 = a.permute(*[ta.index(c) for c in batch + a_only + inner]).reshape(math.prod(bs), math.prod(m), math.prod(k))
    b3 = b.permute(*[tb.index(c) for c in batch + inner + b_only]).reshape(math.prod(bs), math.prod(k), math.prod(n))
    out = emulated_matmul(a3, b3, config, kind="einsum", layer=layer)
    return "".join(batch + a_only + b_only), out.reshape(tuple(bs + m + n))


def emulated_einsum(equation, operands, config: EmulationConfig, *, layer=None):
    """``torch.einsum`` with two or more float operands, contracted left to right on the unit.

    Handles explicit and implicit outputs, ``...`` and size-1 broadcasting; returns ``None``
    (run exactly) for one operand, diagonals such as ``ii->i``, and the sublist form.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str) or len(operands) < 2 or not _floats(*operands):
        return None
    parsed = _terms(equation, operands)
    if parsed is None:
        return None
    terms, out = parsed
    term, acc = terms[0], operands[0]
    for i in range(1, len(terms)):
        keep = set(out).union(*terms[i + 1 :])
        step = _contract(term, acc, terms[i], operands[i], keep, config, layer)
        if step is None:
            return None
        term, acc = step
    extra = [i for i, c in enumerate(term) if c not in out]
    if extra:
        acc = acc.sum(dim=extra)
        term = "".join(c for c in term if c in out)
    return acc.permute(*[term.index(c) for c in out]) if term != out else acc


# ----------------------------------------------------------------------------- bilinear


def emulated_bilinear(x1, x2, weight, bias, config: EmulationConfig, *, layer=None):
    """``F.bilinear``: ``y[..., o] = x1 W[o] x2 (+ bias[o])`` as two matrix products on the unit."""
    out_f, in1, in2 = weight.shape
    lead = x1.shape[:-1]
    a = x1.reshape(-1, in1)
    t = emulated_matmul(a, weight.permute(1, 0, 2).reshape(in1, out_f * in2), config, kind="bilinear", layer=layer,
                        b_is_weight=True)  # fmt: skip
    y = emulated_matmul(t.reshape(-1, out_f, in2), x2.reshape(-1, in2, 1), config, kind="bilinear", layer=layer)
    y = y.reshape(*lead, out_f)
    return y if bias is None else y + bias


# ----------------------------------------------------------------------------- transposed convolution


def emulated_conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation,
                            config: EmulationConfig, *, dims: int, layer=None):  # fmt: skip
    """``F.conv_transpose1d`` (``dims=1``) or ``conv_transpose2d`` (``dims=2``) on the unit.

    The input gets ``stride - 1`` zeros between samples and ``dilation * (k - 1) - padding`` of
    padding (``output_padding`` more at the end; negative values crop), then an ordinary
    convolution with the kernel flipped and its channel axes swapped per group.
    """
    if dims == 1:
        unbatched = x.dim() == 2
        x = x.unsqueeze(0) if unbatched else x
        out = emulated_conv_transpose(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, _pair(stride, 1)[0]),
                                      (0, _pair(padding, 1)[0]), (0, _pair(output_padding, 1)[0]), groups,
                                      (1, _pair(dilation, 1)[0]), config, dims=2, layer=layer).squeeze(2)  # fmt: skip
        return out.squeeze(0) if unbatched else out
    unbatched = x.dim() == 3
    x = x.unsqueeze(0) if unbatched else x
    s, p, op, d = _pair(stride, 2), _pair(padding, 2), _pair(output_padding, 2), _pair(dilation, 2)
    n, cin, h, w = x.shape
    kh, kw = weight.shape[-2:]
    if s != (1, 1):
        up = x.new_zeros(n, cin, (h - 1) * s[0] + 1, (w - 1) * s[1] + 1)
        up[:, :, :: s[0], :: s[1]] = x
        x = up
    lo = [d[i] * (k - 1) - p[i] for i, k in enumerate((kh, kw))]
    x = F.pad(x, (lo[1], lo[1] + op[1], lo[0], lo[0] + op[0]))
    cin_g, cout_g = cin // groups, weight.shape[1]
    flipped = weight.reshape(groups, cin_g, cout_g, kh, kw).transpose(1, 2).reshape(groups * cout_g, cin_g, kh, kw)
    out = emulated_conv2d(x, flipped.flip(-2, -1), bias, 1, 0, d, groups, config, layer=layer)
    return out.squeeze(0) if unbatched else out
