"""The approximate matrix product as a ``torch.library`` custom op: ``torch.ops.kexue_hw.approx_bmm``.

``approx_bmm(a (B,M,K), b (B,K,N), unit, sign_magnitude)`` computes every
elementwise product ``a[b,i,k] * b[b,k,j]`` on ``unit`` (bit-exact with
:func:`kexue_hw.arith.mul`) and sums them exactly over ``k``:

* integer units: integer tensors inside the unit's range in, int64 out; the
  sum is exact (two's complement int64, exact whenever it fits 63 bits, which
  ``N <= 16`` and ``K < 2**30`` guarantee). Mitchell up to 8 bits takes the
  int32-lane fast path; the Exact unit multiplies in float64 ``bmm`` when every
  partial sum is an integer below ``2**53``; other units use the golden primitives. ``sign_magnitude=True`` lets an
  unsigned unit take signed data: magnitudes up to ``2**N - 1`` go through the
  unit, the sign of the product is applied outside it.
* float units: float32 tensors whose values are exact in the unit's format
  in, float32 out, accumulated in fp32 in ascending ``k`` (round to nearest even
  after each add). NaN/inf/subnormal operands follow the hardware corners
  (``strict=False`` of the golden model).

:func:`approx_matmul` is the public, ``torch.matmul``-shaped entry.
"""

from __future__ import annotations

import weakref
from functools import lru_cache

import numpy as np
import torch

from .. import _threads
from ..arith import OperandError, unit_params
from ..arith.dispatch import op_code
from ..registry import SpecRegistry
from ..spec import ILM, MBM, Exact, FloatMitchell, IntUnit, Mitchell
from . import fastpath
from . import kernels as K
from .units import as_unit, unit_from_key, unit_key

__all__ = ["approx_matmul", "approx_bmm", "check_operands", "KERNELS"]

#: the matrix-product kernel of each unit family: ``fn(spec, a, b, sign_magnitude) -> (B, M, N) numpy array``
#: taking the op's (B,M,K) and (B,K,N) tensors; it checks its operands itself (:func:`check_operands`)
KERNELS = SpecRegistry("the emulation kernel (kexue_hw.emulate)")

_threads.warn_if_spinning()

#: K slice summed in int32 registers by the fast Mitchell kernel (a 16-column block of b fits L1)
KBLOCK = 256

_FMT_CODE = {"fp32": 0, "bf16": 1, "fp16": 2}
_F16_TABLE = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)


# ----------------------------------------------------------------------------- checks


def check_operands(a: torch.Tensor, b: torch.Tensor, unit, sign_magnitude: bool = False) -> None:
    """Raise :class:`~kexue_hw.arith.OperandError` unless ``a`` and ``b`` fit ``unit``'s format."""
    unit = as_unit(unit)
    for name, x in (("a", a), ("b", b)):
        if unit.is_float:
            _check_float_operand(name, x, unit)
        else:
            _check_int_operand(name, x, unit, sign_magnitude)


def _check_float_operand(name: str, x: torch.Tensor, unit: FloatMitchell) -> None:
    if not x.is_floating_point():
        raise OperandError(f"operand {name}: {unit.describe()} takes float tensors, got {x.dtype}")
    if x.dtype == torch.float64:
        raise OperandError(f"operand {name}: float64 is not a unit format; cast to float32 first")
    fmt_dtype = unit.format.torch_dtype
    if fmt_dtype != torch.float32 and x.numel() and x.dtype != fmt_dtype:
        x32 = x.to(torch.float32)
        same = (x32.to(fmt_dtype).to(torch.float32) == x32) | torch.isnan(x32)
        if not bool(same.all()):
            bad = int((~same).sum())
            raise OperandError(
                f"operand {name}: {bad} value(s) are not exact in {unit.fmt}; round them first "
                "(kexue_hw.emulate.round_to_format)"
            )


def _check_int_operand(name: str, x: torch.Tensor, unit: IntUnit, sign_magnitude: bool) -> None:
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise OperandError(
            f"operand {name}: {unit.describe()} takes integer tensors, got {x.dtype} "
            "(quantize first, e.g. kexue_hw.emulate.quantize_symmetric)"
        )
    if x.numel():
        lo, hi = int(x.min()), int(x.max())
        min_v = -unit.max_value if sign_magnitude and not unit.signed else unit.min_value
        if lo < min_v or hi > unit.max_value:
            bad = int(((x < min_v) | (x > unit.max_value)).sum())
            raise OperandError(
                f"operand {name}: {bad} value(s) outside the {unit.width}-bit "
                f"{'signed' if unit.signed else 'unsigned'} range {min_v}..{unit.max_value}"
                f" (e.g. {lo if lo < min_v else hi})"
            )


# ----------------------------------------------------------------------------- numpy kernels


def _int_bmm(unit: IntUnit, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Generic integer path (any unit, the golden primitives): int64 operands, already range-checked."""
    nb, m, k = a.shape
    n = b.shape[2]
    out = np.zeros((nb, m, n), dtype=np.int64)
    if k == 0 or out.size == 0:
        return out
    p = unit_params(unit)
    code = op_code(unit, "mul")
    la = np.empty(a.size, np.int64)
    lb = np.empty(b.size, np.int64)
    K.encode_int_operand(code, a.ravel(), p, la)
    K.encode_int_operand(code, b.ravel(), p, lb)
    K.int_bmm_generic(code, a, la.reshape(a.shape), b, lb.reshape(b.shape), p, out)
    return out


@lru_cache(maxsize=None)
def _lane_tables(unit: Mitchell, lo: int):
    p = unit_params(unit)
    return K.mitchell_lane_table(lo, unit.max_value, p, False), K.mitchell_lane_table(lo, unit.max_value, p, True)


def _mitchell_small(unit: Mitchell, a: torch.Tensor, b: torch.Tensor, sign_magnitude: bool) -> np.ndarray:
    """Fast path (Mitchell <= 12 bits, MBM): lane codes of ``a (B,M,K)`` and ``b`` transposed ``(B,N,K)``.

    Operands are range-checked unless their dtype cannot leave the unit's range (int8 on a
    signed 8-bit unit). ``b`` stored as ``(B,N,K)`` (e.g. a transposed weight) is read as is;
    the codes of static operands (:func:`mark_static`) are encoded once.
    """
    nb, m, k = a.shape
    n = b.shape[2]
    out = np.zeros((nb, m, n), dtype=np.int64)
    if k == 0 or out.size == 0:
        return out
    lo = unit.min_value if unit.signed or not sign_magnitude else -unit.max_value
    table_a, table_b = _lane_tables(unit, lo)
    lb = _static_codes(b, (unit, lo))
    if not (_dtype_within(a, lo, unit.max_value) and (lb is not None or _dtype_within(b, lo, unit.max_value))):
        check_operands(a, b, unit, sign_magnitude)
    la = np.empty((nb, m, k), np.int32)
    K.encode_lanes(_int_numpy(a.contiguous()), table_a, lo, False, la)
    if lb is None:
        lb = np.empty((nb, n, k), np.int32)
        b_t = b.transpose(1, 2)
        if b_t.is_contiguous():
            K.encode_lanes(_int_numpy(b_t), table_b, lo, False, lb)
        else:
            K.encode_lanes(_int_numpy(b.contiguous()), table_b, lo, True, lb)
        _store_static_codes(b, (unit, lo), lb)
    if isinstance(unit, MBM):
        fastpath.mbm_small(unit, la, lb, lo, out, a, b)
        return out
    kblock = max(1, min(KBLOCK, (2**31 - 1) // (unit.max_magnitude * unit.max_magnitude)))
    K.mitchell_small_bmm(la, lb, kblock, out)
    return out


# ----------------------------------------------------------------------------- static operands

#: lane codes of right operands that are views of a tensor marked static (a quantized weight):
#: ``id(base) -> (weakref(base), base._version, {(view geometry, unit, lo): codes})``
_static: dict = {}


def mark_static(t: torch.Tensor) -> None:
    """Let the fast kernel cache the lane codes of right operands viewing ``t`` (until ``t`` changes or dies).

    For quantized weights, whose encoding then happens once instead of on every call.
    """
    t = t._base if t._base is not None else t
    entry = _static.get(id(t))
    if entry is None or entry[0]() is not t:
        weakref.finalize(t, _static.pop, id(t), None)
        _static[id(t)] = (weakref.ref(t), t._version, {})


def _static_entry(b: torch.Tensor):
    base = b._base if b._base is not None else b
    entry = _static.get(id(base))
    if entry is None or entry[0]() is not base:
        return None, None
    if entry[1] != base._version:  # changed in place: forget its codes
        entry = _static[id(base)] = (entry[0], base._version, {})
    return entry, (tuple(b.shape), tuple(b.stride()), b.storage_offset())


def _static_codes(b: torch.Tensor, key):
    entry, geometry = _static_entry(b)
    return None if entry is None else entry[2].get((geometry, key))


def _store_static_codes(b: torch.Tensor, key, codes: np.ndarray) -> None:
    entry, geometry = _static_entry(b)
    if entry is not None:
        entry[2][(geometry, key)] = codes


def _dtype_within(x: torch.Tensor, lo: int, hi: int) -> bool:
    info = torch.iinfo(x.dtype)
    return lo <= info.min and info.max <= hi


def _int_numpy(x: torch.Tensor) -> np.ndarray:
    """numpy view of an integer tensor (int8..int64, uint8 kept as is)."""
    return x.detach().numpy()


def _float_bits(unit: FloatMitchell, x: torch.Tensor) -> np.ndarray:
    """Bit patterns (int64) of ``x``'s values in ``unit``'s format (values already exact in it)."""
    fmt = unit.format
    container = x.to(torch.float32).to(getattr(torch, f"float{fmt.container_bits}")).contiguous()
    words = container.view(getattr(torch, f"int{fmt.container_bits}")).numpy().astype(np.int64)
    return (words >> fmt.shift) & ((1 << fmt.bits) - 1)


_FP32 = FloatMitchell("fp32")


def _fp32_fast(unit: FloatMitchell) -> bool:
    """Formats whose values are fp32 values with fp32's exponent range (fp32, bf16) share the fp32 fast path."""
    fmt = unit.format
    return fmt.container_bits == 32 and fmt.exp_bits == _FP32.format.exp_bits


def _float_bmm(unit: FloatMitchell, a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """FloatMitchell product, fp32 accumulation.

    Finite fp32 and bf16 operands take the fp32 fast path: bf16 values are fp32 patterns
    with 16 zero low bits and the same exponent range, so ``(a<<16) + (b<<16) - bits32(1)``
    is ``(a + b - bits16(1)) << 16`` with identical flush and overflow limits (the tests
    check it against the bf16 golden model). Everything else uses the golden primitive.
    """
    nb, m, k = a.shape
    n = b.shape[2]
    out = np.zeros((nb, m, n), dtype=np.float32)
    if k == 0 or out.size == 0:
        return out
    fast = fastpath.float_inrange_bmm(unit, a, b)
    if fast is not None:
        return fast
    if _fp32_fast(unit) and bool(torch.isfinite(a).all()) and bool(torch.isfinite(b).all()):
        ab = _float_bits(_FP32, a)
        bb = _float_bits(_FP32, b)
        ar, am = np.empty(ab.size, np.int32), np.empty(ab.size, np.int32)
        br, bm = np.empty(bb.size, np.int32), np.empty(bb.size, np.int32)
        K.encode_f32_finite(ab.ravel(), ar, am)
        K.encode_f32_finite(bb.ravel(), br, bm)
        a_words = (ar.reshape(ab.shape), am.reshape(ab.shape))
        K.float32_bmm_finite(*a_words, br.reshape(bb.shape), bm.reshape(bb.shape), out)
        return out
    ab = _float_bits(unit, a)
    bb = _float_bits(unit, b)
    fmt = unit.format
    K.float_bmm_generic(ab, bb, fmt.exp_bits, fmt.man_bits, _FMT_CODE[unit.fmt], _F16_TABLE, out)
    return out


# ----------------------------------------------------------------------------- the custom op


@torch.library.custom_op("kexue_hw::approx_bmm", mutates_args=())
def approx_bmm(a: torch.Tensor, b: torch.Tensor, unit: str, sign_magnitude: bool = False) -> torch.Tensor:
    """Batched approximate product ``(B,M,K) x (B,K,N)``; ``unit`` is a :func:`unit_key` string."""
    spec = unit_from_key(unit)
    _check_shapes(a, b)
    return torch.from_numpy(KERNELS.lookup(spec)(spec, a, b, sign_magnitude))


@KERNELS.register(IntUnit)
def _int_kernel(spec: IntUnit, a: torch.Tensor, b: torch.Tensor, sign_magnitude: bool) -> np.ndarray:
    """Any integer family: the golden primitives (:func:`_int_bmm`)."""
    check_operands(a, b, spec, sign_magnitude)
    return _int_bmm(spec, _int64_numpy(a), _int64_numpy(b))


def _lane_width_ok(spec) -> bool:
    """Units on the int32-lane kernels: Mitchell up to 12 bits (products below ``2**24``, exact in float32),
    MBM (Mitchell's lanes plus its correction) while the corrected products stay below ``2**24``."""
    if isinstance(spec, MBM):
        return spec.width <= (12 if spec.signed else 11)
    return spec.width <= 12


@KERNELS.register(Mitchell)
@KERNELS.register(MBM)
def _lane_kernel(spec, a: torch.Tensor, b: torch.Tensor, sign_magnitude: bool) -> np.ndarray:
    """Mitchell and MBM on integer tensors: the int32-lane fast path (it checks the operands itself)."""
    if _lane_width_ok(spec) and _integer_dtypes(a, b):
        return _mitchell_small(spec, a, b, sign_magnitude)
    return _int_kernel(spec, a, b, sign_magnitude)


@KERNELS.register(ILM)
def _ilm_kernel(spec: ILM, a: torch.Tensor, b: torch.Tensor, sign_magnitude: bool) -> np.ndarray:
    """ILM = ``a*b - sR(a)*sR(b)``: two exact float GEMMs (:mod:`.fastpath`), else the golden primitives."""
    check_operands(a, b, spec, sign_magnitude)
    if _integer_dtypes(a, b):
        out = fastpath.separable_bmm(spec, a.detach(), b.detach(), sign_magnitude)
        if out is not None:
            return out
    return _int_bmm(spec, _int64_numpy(a), _int64_numpy(b))


@KERNELS.register(Exact)
def _exact_kernel(spec: Exact, a: torch.Tensor, b: torch.Tensor, sign_magnitude: bool) -> np.ndarray:
    """Exact products as an exact float GEMM (:mod:`.fastpath`), or in float64 while every partial sum is an
    integer below ``2**53``, else the golden primitives."""
    check_operands(a, b, spec, sign_magnitude)
    if _integer_dtypes(a, b):
        out = fastpath.separable_bmm(spec, a.detach(), b.detach(), sign_magnitude)
        if out is not None:
            return out
    if a.shape[2] * (1 << (2 * spec.width)) < (1 << 53):
        return torch.bmm(a.detach().to(torch.float64), b.detach().to(torch.float64)).to(torch.int64).numpy()
    return _int_bmm(spec, _int64_numpy(a), _int64_numpy(b))


@KERNELS.register(FloatMitchell)
def _float_kernel(spec: FloatMitchell, a: torch.Tensor, b: torch.Tensor, sign_magnitude: bool) -> np.ndarray:
    check_operands(a, b, spec, sign_magnitude)
    return _float_bmm(spec, a.detach(), b.detach())


def _int64_numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().to(torch.int64).contiguous().numpy()


_INT_DTYPES = (torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64)


def _integer_dtypes(*xs) -> bool:
    return all(x.dtype in _INT_DTYPES for x in xs)


def _check_shapes(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.dim() != 3 or b.dim() != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ValueError(f"approx_bmm needs (B,M,K) x (B,K,N) operands, got {tuple(a.shape)} x {tuple(b.shape)}")
    if a.device.type != "cpu" or b.device.type != "cpu":
        device = a.device if a.device.type != "cpu" else b.device
        raise ValueError(f"approx_bmm: operands on {device}; the unit's Numba kernels run on CPU tensors (.cpu() first)")


@approx_bmm.register_fake
def _(a, b, unit, sign_magnitude=False):
    spec = unit_from_key(unit)
    torch._check(a.dim() == 3 and b.dim() == 3)
    torch._check(a.shape[0] == b.shape[0])
    torch._check(a.shape[2] == b.shape[1])
    dtype = torch.float32 if spec.is_float else torch.int64
    return a.new_empty((a.shape[0], a.shape[1], b.shape[2]), dtype=dtype)


def _setup_context(ctx, inputs, output):
    a, b, unit, _ = inputs
    ctx.save_for_backward(a, b)
    ctx.unit = unit


def _backward(ctx, grad):
    """Float units: gradient of the exact product (straight-through)."""
    a, b = ctx.saved_tensors
    grad_a = grad_b = None
    g = grad.to(torch.float32)
    if ctx.needs_input_grad[0]:
        grad_a = torch.bmm(g, b.to(torch.float32).transpose(1, 2)).to(a.dtype)
    if ctx.needs_input_grad[1]:
        grad_b = torch.bmm(a.to(torch.float32).transpose(1, 2), g).to(b.dtype)
    return grad_a, grad_b, None, None


approx_bmm.register_autograd(_backward, setup_context=_setup_context)


# ----------------------------------------------------------------------------- public entry


def approx_matmul(a: torch.Tensor, b: torch.Tensor, unit, *, sign_magnitude: bool = False) -> torch.Tensor:
    """``a @ b`` with every product on ``unit`` and exact accumulation (``torch.matmul`` shapes).

    ``a (..., M, K)``, ``b (..., K, N)`` with broadcastable batch dims (1-D operands
    as in ``torch.matmul``). Integer units: integer tensors in the unit's range,
    int64 result. Float units: float tensors exact in the unit's format, float32
    result accumulated in fp32. Out-of-range operands raise ``OperandError``.
    """
    spec = as_unit(unit)
    if a.dim() == 0 or b.dim() == 0:
        raise ValueError("approx_matmul needs operands with at least one dimension")
    squeeze_a = a.dim() == 1
    squeeze_b = b.dim() == 1
    a2 = a.unsqueeze(0) if squeeze_a else a
    b2 = b.unsqueeze(-1) if squeeze_b else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(f"approx_matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied")
    m, k, n = a2.shape[-2], a2.shape[-1], b2.shape[-1]
    if b2.dim() == 2 and a2.dim() > 2:  # shared right operand (a weight): fold the batch into the rows
        lead = a2.shape[:-2]
        out = torch.ops.kexue_hw.approx_bmm(a2.reshape(1, -1, k), b2.unsqueeze(0), unit_key(spec), sign_magnitude)
        out = out.reshape(*lead, m, n)
        return out.squeeze(-2) if squeeze_a else (out.squeeze(-1) if squeeze_b else out)
    batch = torch.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    a3 = a2.expand(*batch, m, k).reshape(-1, m, k)
    b3 = b2.expand(*batch, k, n).reshape(-1, k, n)
    out = torch.ops.kexue_hw.approx_bmm(a3, b3, unit_key(spec), sign_magnitude).reshape(*batch, m, n)
    if squeeze_a:
        out = out.squeeze(-2)
    if squeeze_b:
        out = out.squeeze(-1)
    return out

