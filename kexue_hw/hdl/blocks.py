"""Shared combinational building blocks (pure Amaranth expressions, no state).

Every block is a function from Amaranth values to Amaranth values, so a datapath
can be cut between any two calls when it is pipelined (see :mod:`.components`).
Multi-level blocks (normalizer, barrel shifter) expose one function per level
for that reason, plus a convenience wrapper that applies all levels.

Widths are stated per function; all values are unsigned unless said otherwise.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Mux, Value

__all__ = [
    "bits_for",
    "magnitude",
    "apply_sign",
    "normalize_shifts",
    "normalize_level",
    "normalize",
    "log_encode",
    "barrel_shift_levels",
    "barrel_shift_left_level",
    "barrel_shift_left",
    "antilog_input",
    "antilog_finish",
    "clear_leading_one",
    "leading_one_index",
    "pow2_ceil",
    "leading_zeros",
    "normalize_fill_level",
    "shift_left_fill_level",
]


def bits_for(value: int) -> int:
    """Unsigned bits needed to hold ``value`` (at least 1)."""
    return max(1, int(value).bit_length())


# ----------------------------------------------------------------------------- sign handling


def magnitude(x: Value, width: int, signed: bool) -> tuple[Value, Value]:
    """``(|x|, sign)`` of an ``width``-bit operand; ``|x|`` is ``width`` bits unsigned.

    Two's complement ``-2**(width-1)`` maps to magnitude ``2**(width-1)``, which
    still fits. Unsigned operands pass through with sign 0.
    """
    raw = x.as_unsigned()[:width]
    if not signed:
        return raw, Const(0, 1)
    sign = raw[width - 1]
    negated = (Const(0, width) - raw)[:width]
    return Mux(sign, negated, raw), sign


def apply_sign(mag: Value, sign: Value, width: int) -> Value:
    """Two's complement ``-mag`` if ``sign`` else ``mag``, ``width`` bits (wraps like hardware)."""
    mag = mag.as_unsigned()
    negated = (Const(0, width) - mag)[:width]
    return Mux(sign, negated, mag[:width] if len(mag) >= width else mag)


# ----------------------------------------------------------------------------- leading-one detection


def normalize_shifts(width: int) -> list[int]:
    """Shift amounts (powers of two, largest first) that normalize any ``width``-bit value."""
    shifts = []
    s = 1
    while s < width:
        shifts.append(s)
        s <<= 1
    return shifts[::-1]


def normalize_level(x: Value, lz: Value, shift: int, width: int) -> tuple[Value, Value]:
    """One leading-zero-count level: if the top ``shift`` bits of ``x`` are zero, shift them out.

    ``x`` is ``width`` bits; ``lz`` accumulates the count (``shift`` is a power of
    two, so each level sets its own bit of ``lz``).
    """
    top_zero = x[width - shift : width] == 0
    shifted = Cat(Const(0, shift), x[: width - shift])
    return Mux(top_zero, shifted, x), lz | Mux(top_zero, Const(shift, len(lz)), Const(0, len(lz)))


def normalize(x: Value, width: int) -> tuple[Value, Value]:
    """Leading-one detector fused with the normalizing shift: ``(x << lz, lz)``.

    ``lz`` is the number of leading zeros of the ``width``-bit ``x`` (``x > 0``);
    the normalized value has its leading one at bit ``width - 1``, so that bit is
    0 exactly when ``x == 0``. Depth: ``ceil(log2 width)`` mux levels.
    """
    shifts = normalize_shifts(width)
    lz = Const(0, bits_for(sum(shifts)))
    for s in shifts:
        x, lz = normalize_level(x, lz, s, width)
    return x, lz


def log_encode(normalized: Value, lz: Value, width: int, kept_frac_bits: int) -> tuple[Value, Value, Value]:
    """Mitchell log encoding from a normalized operand: ``(k, frac, is_zero)``.

    ``k = width - 1 - lz`` (the leading-one position), ``frac`` the top
    ``kept_frac_bits`` bits after the leading one (truncated, as the golden
    model's Mitch-w), ``is_zero`` when the operand was 0.
    """
    F = width - 1
    T = kept_frac_bits
    k = (Const(F, bits_for(F)) - lz)[: bits_for(F)]
    frac = normalized[F - T : F] if T else Const(0, 0)
    return k, frac, ~normalized[F]


def leading_one_index(x: Value, width: int) -> Value:
    """``floor(log2 x)`` of the ``width``-bit ``x`` (undefined, but finite, for ``x == 0``)."""
    _, lz = normalize(x, width)
    F = width - 1
    return (Const(F, bits_for(F)) - lz)[: bits_for(F)]


def clear_leading_one(x: Value, width: int) -> Value:
    """``x`` without its leading one (``x - 2**floor(log2 x)``; 0 stays 0), ``width`` bits.

    Bit ``i`` survives when any bit above it is set: a prefix OR from the top.
    """
    above = []
    acc = Const(0, 1)
    for i in reversed(range(width)):
        above.append(acc)
        acc = acc | x[i]
    above = above[::-1]
    return Cat(*[x[i] & above[i] for i in range(width)])


def pow2_ceil(width: int) -> int:
    """Smallest power of two ``>= width``."""
    return 1 << max(0, (width - 1).bit_length())


def leading_zeros(x: Value, width: int, fill: Value | None = None) -> tuple[Value, Value]:
    """Leading-zero count of the ``width``-bit ``x`` by a parallel priority tree: ``(lz, is_zero)``.

    ``x`` is padded at the bottom to a power of two ``P`` with ``fill`` bits (0
    when ``None``), so ``lz`` has ``log2 P`` bits and a zero ``x`` counts ``width``
    when ``fill`` is 1 (``P - 1`` when it is 0). Bit ``j`` of ``lz`` is settled
    after ``log2 P - j`` mux levels, so the normalizing shifter can start with
    its largest shift while the smaller count bits are still being resolved.
    ``is_zero`` tells ``x == 0`` (the padding ignored).
    """
    P = pow2_ceil(width)
    pad = P - width
    fill = Const(0, 1) if fill is None else fill
    bits = [x[i] for i in reversed(range(width))] + [fill] * pad  # MSB first

    def tree(bits):  # -> (zero, [lz bits, MSB first])
        if len(bits) == 1:
            return ~bits[0], []
        half = len(bits) // 2
        zh, lh = tree(bits[:half])
        zl, ll = tree(bits[half:])
        return zh & zl, [zh] + [Mux(zh, lo, hi) for hi, lo in zip(lh, ll)]

    _, lz = tree(bits) if P > 1 else (None, [])
    zero = x[:width] == 0
    return (Cat(*reversed(lz)) if lz else Const(0, 1)), zero


def normalize_fill_level(x: Value, lz: Value, level: int, width: int, fill: Value) -> Value:
    """One normalizing shift: ``x << 2**level`` (shifting in ``fill``) when bit ``level`` of ``lz`` is set.

    ``x`` is ``width`` bits; the shifts, largest first, move the leading one of
    a non-zero value to bit ``width - 1``.
    """
    s = 1 << level
    if s >= width:
        return x
    shifted = Cat(fill.replicate(s), x[: width - s])
    return Mux(lz[level], shifted, x)


# ----------------------------------------------------------------------------- barrel shifter


def barrel_shift_levels(amount_bits: int) -> list[int]:
    """Bit indices of the shift amount, one mux level each (smallest shift first)."""
    return list(range(amount_bits))


def barrel_shift_left_level(x: Value, amount: Value, level: int, cap: int) -> Value:
    """Shift ``x`` left by ``2**level`` when bit ``level`` of ``amount`` is set; result ``<= cap`` bits.

    Bits pushed above ``cap`` are dropped (callers size ``cap`` so only zeros are).
    """
    s = 1 << level
    width = min(len(x) + s, cap)
    shifted = Cat(Const(0, s), x)[:width]
    return Mux(amount[level], shifted, x.as_unsigned())[:width]


def shift_left_fill_level(x: Value, top: Value, amount: Value, level: int, cap: int) -> Value:
    """As :func:`barrel_shift_left_level` for a value whose bits above ``len(x)`` all equal ``top``.

    Used for two's complement mantissas (``top`` is the sign); the result,
    ``<= cap`` bits, again stands for itself extended with ``top``.
    """
    s = 1 << level
    width = min(len(x) + s, cap)
    ext = Cat(x, top.replicate(width - len(x))) if width > len(x) else x[:width]
    shifted = Cat(Const(0, s), ext)[:width]
    return Mux(amount[level], shifted, ext)


def barrel_shift_left(x: Value, amount: Value, cap: int) -> Value:
    """Logarithmic barrel shifter: ``(x << amount)`` truncated to ``cap`` bits."""
    for level in barrel_shift_levels(len(amount)):
        x = barrel_shift_left_level(x, amount, level, cap)
    return x


# ----------------------------------------------------------------------------- antilog


def antilog_input(log_value: Value, frac_bits: int, gate: Value) -> tuple[Value, Value]:
    """Split a fixed-point log value into ``(mantissa, exponent)`` for the antilog shifter.

    ``mantissa = 1.frac`` as a ``frac_bits + 1``-bit integer (forced to 0 when
    ``gate`` is 0, which zeroes the whole result), ``exponent = int(log_value)``.
    """
    frac = log_value[:frac_bits] if frac_bits else Const(0, 0)
    mant = Cat(frac, Const(1, 1))
    mant = Mux(gate, mant, Const(0, frac_bits + 1))
    return mant, log_value[frac_bits:]


def antilog_finish(shifted: Value, drop: int, out_bits: int) -> Value:
    """Final antilog scaling: ``floor(shifted / 2**drop)`` (truncating), ``out_bits`` wide.

    A negative ``drop`` scales up instead.
    """
    if drop >= 0:
        v = shifted[drop:]
    else:
        v = Cat(Const(0, -drop), shifted)
    if len(v) >= out_bits:
        return v[:out_bits]
    return Cat(v, Const(0, out_bits - len(v)))
