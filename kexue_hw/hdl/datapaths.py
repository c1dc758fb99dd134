"""Unit datapaths as ordered lists of combinational steps, one per unit family.

A :class:`Datapath` is the bit-exact hardware twin of one golden-model kernel
(:mod:`kexue_hw.arith.mitchell`, :mod:`kexue_hw.arith.ilm`). Its steps map a
dict of live values to the next dict; the combinational component runs them
back to back, the pipelined one registers the live dict between some of them
(:mod:`.components`). Step weights are rough logic depths used to balance stages.

Operands enter as ``a``/``b`` (``N``-bit two's complement when signed); the
result dict holds ``p`` (multipliers) or ``q`` and ``div_by_zero`` (dividers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from amaranth.hdl import Cat, Const, Mux, Shape, Signal, Value, signed, unsigned

from ..registry import SpecRegistry
from ..spec import ILM, MBM, MBM_C_NUM, MBM_C_SHIFT, OPS, Exact, IntUnit, Mitchell, SpecError, Unit
from . import blocks as B

__all__ = ["Step", "Datapath", "datapath_for", "MULTIPLIERS", "DIVIDERS"]

Values = dict


@dataclass(frozen=True)
class Step:
    """One combinational step: ``fn(values) -> values`` with a rough logic-depth ``weight``."""

    name: str
    weight: int
    fn: Callable[[Values], Values]


@dataclass
class Datapath:
    """The steps of one unit/op plus its port shapes and the golden function it mirrors."""

    unit: IntUnit
    op: str
    operand_shape: Shape
    result_shapes: dict[str, Shape]
    steps: list[Step] = field(default_factory=list)
    golden: str = ""
    #: optional ``(a, b) -> values`` used instead of the steps when the unit is combinational
    combinational: Callable | None = None

    def add(self, name: str, weight: int, fn: Callable[[Values], Values]) -> None:
        self.steps.append(Step(name, weight, fn))

    def evaluate(self, m, a, b, *, cut=None) -> Values:
        """Run every step on operands ``a``, ``b`` inside module ``m``.

        Each step's outputs are given names (``<step>_<value>`` comb signals), so
        shared sub-expressions are built once. ``cut(index, values)``, if given,
        may replace the values after step ``index`` (the pipeline registers).
        """
        vals = {"a": a, "b": b}
        for index, step in enumerate(self.steps):
            vals = {name: _named(m, f"{step.name}_{name}", value) for name, value in step.fn(vals).items()}
            if cut is not None:
                vals = cut(index, vals)
        return {k: vals[k] for k in self.result_shapes}


def _named(m, name: str, value):
    """``value`` as a comb signal called ``name`` (constants and plain signals pass through)."""
    if isinstance(value, (Signal, Const)):
        return value
    sig = Signal(value.shape(), name=name)
    m.d.comb += sig.eq(value)
    return sig


# ----------------------------------------------------------------------------- shared step groups


def _magnitude_step(dp: Datapath) -> None:
    N, sgn = dp.unit.width, dp.unit.signed

    def fn(v):
        ma, sa = B.magnitude(v["a"], N, sgn)
        mb, sb = B.magnitude(v["b"], N, sgn)
        return {"ma": ma, "mb": mb, "sa": sa, "sb": sb}

    dp.add("magnitude", 2 if sgn else 0, fn)


def _magnitudes_to_u(v: Values) -> Values:
    """Rename the magnitudes ``ma``/``mb`` to the normalizer's inputs ``ua``/``ub``."""
    return {**{k: x for k, x in v.items() if k not in ("ma", "mb")}, "ua": v["ma"], "ub": v["mb"]}


def _antilog_steps(dp: Datapath, amount_bits: int, cap: int) -> None:
    """Barrel-shift ``mant`` left by ``shift``, one step per level, capped at ``cap`` bits."""
    for level in B.barrel_shift_levels(amount_bits):

        def fn(v, level=level):
            return {**v, "mant": B.barrel_shift_left_level(v["mant"], v["shift"], level, cap)}

        dp.add(f"antilog_shift_{1 << level}", 1, fn)


# ----------------------------------------------------------------------------- Mitchell multiply


def _log_normalize_steps(dp: Datapath) -> None:
    """Leading-one detection fused with the normalizing shifts of ``ua``/``ub``, largest shift first.

    ``ua``/``ub`` are ``N``-bit magnitudes shifted with zeros coming in. Adds
    ``lza``/``lzb`` (the shift amounts), ``za``/``zb`` (operand is 0) and the
    normalized ``xa``/``xb`` (``P = pow2_ceil(N)`` bits, leading one at the top;
    for ``P > N`` the low ``P - N`` bits are 0).

    Each shift is taken when the top bits of the partly shifted value are zero
    (one LUT level, folded with the shift's mux for the small shifts). Up to 16
    bits the first two decisions read quarter-wise zero flags of the operand
    instead, so the second is one mux after the first (fewer LUTs and levels;
    at 32 bits the wide flags cost more than they save).
    """
    N = dp.unit.width
    P = B.pow2_ceil(N)
    levels = list(range(P.bit_length() - 2, -1, -1))  # log2(P) - 1 .. 0: largest shift first
    quarters = 4 <= P <= 16

    def first(v):
        out = {k: x for k, x in v.items() if k not in ("ua", "ub")}
        for op in ("a", "b"):
            u = v["u" + op]
            x = Cat(Const(0, P - N), u) if P > N else u
            out["x" + op] = x
            if quarters:
                q = P // 4
                zq = [x[i * q : (i + 1) * q] == 0 for i in range(4)]
                top = zq[3] & zq[2]
                out.update({"t" + op: top, "q" + op: Mux(top, zq[1], zq[3]), "z" + op: top & zq[1] & zq[0]})
            else:
                out["z" + op] = u == 0
        return out

    for index, level in enumerate(levels):
        sh = 1 << level

        def shift(v, sh=sh, index=index):
            v = first(v) if index == 0 else v
            out = {k: x for k, x in v.items() if not (k[0] in "tq" and k[1:] in ("a", "b"))}
            for op in ("a", "b"):
                x = v["x" + op]
                t = v[("t", "q")[index] + op] if (quarters and index < 2) else x[P - sh : P] == 0
                out["x" + op] = Mux(t, Cat(Const(0, sh), x[: P - sh]), x)
                out["lz" + op] = t if index == 0 else Cat(t, v["lz" + op])  # count bits, MSB found first
                if index == 0 and quarters:
                    out["q" + op] = v["q" + op]
            return out

        dp.add(f"normalize_{sh}", 3 if index == 0 else 1, shift)


def _tree_normalize_steps(dp: Datapath, sign_fill: bool = False) -> None:
    """Normalizing shifts of ``ua``/``ub`` with all shift amounts from parallel priority trees.

    Adds the same values as :func:`_log_normalize_steps`. The count bits settle
    in parallel (the largest first), so the shifts run back to back: one LUT
    level less on iCE40 than the fused detection, for about 5 % more LUTs.

    With ``sign_fill`` the operands are two's complement and ``u = x << 1``
    (``N`` bits, the sign ``sa``/``sb`` dropped off the top): the counts are
    those of the one's complement ``u XOR s``, and the result is that value
    normalized with ``s`` shifted in, ``(u << lz) XOR s``; the XOR folds into
    the last shift's mux. ``za``/``zb`` flag ``x == 0``.
    """
    N = dp.unit.width
    P = B.pow2_ceil(N)
    levels = list(range(P.bit_length() - 2, -1, -1))

    def count(v):
        out = {k: x for k, x in v.items() if k not in ("ua", "ub")}
        for op in ("a", "b"):
            u = v["u" + op]
            s = v["s" + op] if sign_fill else Const(0, 1)
            x = Cat(Const(0, P - N), u) if P > N else u
            lz, _ = B.leading_zeros(x ^ s.replicate(P), P)
            out.update({"x" + op: x, "lz" + op: lz, "z" + op: (u == 0) & ~s})
        return out

    dp.add("leading_zeros", 3, count)
    for index, level in enumerate(levels):
        last = index == len(levels) - 1

        def shift(v, level=level, last=last):
            out = dict(v)
            for op in ("a", "b"):
                s = v["s" + op] if sign_fill else Const(0, 1)
                x = B.normalize_fill_level(v["x" + op], v["lz" + op], level, P, Const(0, 1))
                out["x" + op] = x ^ s.replicate(P) if (sign_fill and last) else x
            return out

        dp.add(f"normalize_{1 << level}", 1, shift)


def _log_fields(x: Value, lz: Value, N: int, T: int) -> tuple[Value, Value]:
    """``(frac, k)`` of a normalized ``pow2_ceil(N)``-bit value: top-``T`` fraction bits, ``F - lz``."""
    P = B.pow2_ceil(N)
    F = N - 1
    k_bits = B.bits_for(F)
    k = ~lz[:k_bits] if P == N else (Const(F, k_bits) - lz)[:k_bits]  # F = 2**j - 1: F - lz = ~lz
    frac = x[P - 1 - T : P - 1] if T else Const(0, 0)
    return frac, k


#: unsigned multipliers with a 5-bit shift amount (9 to 16 bits): the antilog levels in the order,
#: and with the last two merged into one 4:1 mux, that Yosys and ABC map to the fewest iCE40
#: LUTs, found by trial (16 bits: 237 LUTs against 257 smallest-first). Elsewhere smallest-first:
#: at 32 bits it was also the smallest; at 8 bits the cheaper orders (101 against 108 LUTs) lost
#: 3 % of Fmax; signed units (the incrementer is their critical path) gained from none.
_UNSIGNED_ANTILOG = {5: ([2, 0, 1, 3, 4], 3)}


def _antilog_plan(e_bits: int, signed: bool) -> tuple[list[int], list[int]]:
    """``(levels in order, positions in that order whose level is merged with the next)``."""
    order, pair = (None, None) if signed else _UNSIGNED_ANTILOG.get(e_bits, (None, None))
    if order is None:
        return list(range(e_bits)), []
    return order, [pair]


def _mitchell_multiplier(dp: Datapath) -> None:
    """Mitchell's product; for signed units the sign is folded into the log datapath.

    Unsigned: normalize ``a``, ``b``; ``T = (ka, fa) + (kb, fb)`` (``F = N - 1``
    fraction bits); the product is ``(1.t << E) >> F`` for ``t``, ``E`` the
    fraction and integer part of ``T``.

    Signed (untruncated), with no carry chain at the ports and none at the
    output: the one's complement ``v = x XOR s = |x| - s`` is normalized with
    the sign ``s`` shifted in, which gives ``A = La - s`` for ``La`` the log of
    ``|x|`` (with ``k + 1`` in the exponent field, so ``x = -1`` reads
    ``A = -1``, all ones, exactly). With ``T = A + B + (sa & sb)`` the product is
    ``(M << E) >> (F + 2)`` for the two's complement mantissa

    * ``M = 1.t`` when both signs are 0 (``T = La + Lb``);
    * ``M = NOT 1.t``, sign-extended, when the signs differ: ``T = La + Lb - 1``
      and ``-antilog(T + 1)`` is exactly the shifted one's complement of
      ``1.t``, so the product needs no negation;
    * ``M = 1.t + 1`` when both are negative (``T = La + Lb - 1``; a two's
      complement pair needs one increment that no adder carry-in can give).

    Products with a zero operand are forced to 0 at the output. Signed Mitch-w
    (``frac_bits`` set) uses :func:`_log_multiplier` on magnitudes instead:
    truncating the fraction does not commute with the one's complement.
    """
    u = dp.unit
    N, T = u.width, u.kept_frac_bits
    F = N - 1
    fold = u.signed
    bias = 2 if fold else 0  # fraction bits of the mantissa below the point, beyond F
    e_bits = B.bits_for(2 * F + 1)
    out_bits = 2 * N

    def prepare(v):
        if fold:
            ra, rb = v["a"].as_unsigned()[:N], v["b"].as_unsigned()[:N]
            return {"ua": Cat(Const(0, 1), ra[: N - 1]), "ub": Cat(Const(0, 1), rb[: N - 1]),
                    "sa": ra[N - 1], "sb": rb[N - 1]}  # fmt: skip
        return {"ua": v["a"].as_unsigned()[:N], "ub": v["b"].as_unsigned()[:N]}

    dp.add("fold_sign" if fold else "operands", 0, prepare)
    if fold:
        _tree_normalize_steps(dp, sign_fill=True)  # faster: the incrementer below costs a LUT level
    else:
        _log_normalize_steps(dp)

    def log_add(v):
        fa, ka = _log_fields(v["xa"], v["lza"], N, T)
        fb, kb = _log_fields(v["xb"], v["lzb"], N, T)
        pad = Const(0, F - T)  # Mitch-w: truncated fraction bits read as 0
        both = v["sa"] & v["sb"] if fold else Const(0, 1)
        total = Cat(pad, fa, ka) + Cat(pad, fb, kb) + both
        out = {"t": total[:F], "e": total[F : F + e_bits], "zero": v["za"] | v["zb"]}
        if fold:
            out.update(neg=v["sa"] ^ v["sb"], inc=both)
        return out

    dp.add("log_add", 2, log_add)  # carry chain

    if fold:

        def mantissa(v):
            # 1.t (+1 when both operands are negative), complemented when the signs differ
            m = (Cat(v["t"], Const(1, 1)) + v["inc"])[: F + 2]
            return {"m": m ^ v["neg"].replicate(F + 2), "top": v["neg"], "e": v["e"], "zero": v["zero"]}

        dp.add("mantissa", 1, mantissa)  # incrementer (carry chain); the XOR folds into the shifter
    else:

        def mantissa(v):
            return {"m": Cat(v["t"], Const(1, 1)), "top": Const(0, 1), "e": v["e"], "zero": v["zero"]}

        dp.add("mantissa", 0, mantissa)

    cap = F + bias + out_bits
    order, pairs = _antilog_plan(e_bits, fold)
    i = 0
    while i < len(order):
        if i in pairs:
            lo, hi = order[i], order[i + 1]

            def shift(v, lo=lo, hi=hi):
                m, e = v["m"], v["e"]
                width = min(len(m) + (1 << lo) + (1 << hi), cap)
                ext = Cat(m, v["top"].replicate(width))[:width]  # the bits above m all equal top
                c = [Cat(Const(0, s), ext)[:width] if s else ext for s in (0, 1 << lo, 1 << hi, (1 << lo) + (1 << hi))]
                return {**v, "m": Mux(e[hi], Mux(e[lo], c[3], c[2]), Mux(e[lo], c[1], c[0]))}

            dp.add(f"antilog_shift_{1 << lo}_{1 << hi}", 2, shift)
            i += 2
            continue
        level = order[i]

        def shift(v, level=level):
            return {**v, "m": B.shift_left_fill_level(v["m"], v["top"], v["e"], level, cap)}

        dp.add(f"antilog_shift_{1 << level}", 1, shift)
        i += 1

    def finish(v):
        m = v["m"]
        if len(m) < cap:
            m = Cat(m, v["top"].replicate(cap - len(m)))
        p = m[F + bias : F + bias + out_bits]
        return {"p": Mux(v["zero"], Const(0, out_bits), p)}

    dp.add("finish", 1, finish)


# ----------------------------------------------------------------------------- MBM multiply (magnitudes)


def _log_multiplier(dp: Datapath, mbm: bool) -> None:
    u = dp.unit
    N, T = u.width, u.kept_frac_bits
    mag_bits = 2 * N
    e_bits = B.bits_for(2 * N - 1)  # product exponent ka + kb + carry <= 2N - 1
    _magnitude_step(dp)
    dp.add("magnitudes", 0, _magnitudes_to_u)
    _log_normalize_steps(dp)

    def log_add(v):
        fa, ka = _log_fields(v["xa"], v["lza"], N, T)
        fb, kb = _log_fields(v["xb"], v["lzb"], N, T)
        total = Cat(fa, ka) + Cat(fb, kb)  # La + Lb: a fraction carry moves into the exponent
        mant, shift = B.antilog_input(total, T, ~(v["za"] | v["zb"]))
        out = {"mant": mant, "shift": shift[:e_bits], "sign": v["sa"] ^ v["sb"]}
        if mbm:
            out["ksum"] = ka + kb
        return out

    dp.add("log_add", 2, log_add)  # carry chain
    _antilog_steps(dp, e_bits, mag_bits + T)

    def finish(v):
        out = {"mag": B.antilog_finish(v["mant"], T, mag_bits), "sign": v["sign"]}
        if mbm:
            out["ksum"] = v["ksum"]
            out["live"] = v["mant"] != 0
        return out

    dp.add("antilog_scale", 0, finish)

    if mbm:
        out_mag_bits = u.product_magnitude_bits  # golden: saturate to the output's magnitude range

        def correct(v):
            # floor(5/64 * 2**(ka+kb)) = (5 << ksum) >> 6; zero operands get no correction
            corr = (Const(MBM_C_NUM, 3) << v["ksum"])[MBM_C_SHIFT:]
            corr = Mux(v["live"], corr, 0)
            total = v["mag"] + corr
            limit = (1 << out_mag_bits) - 1
            over = total[out_mag_bits:] != 0
            return {"mag": Mux(over, Const(limit, out_mag_bits), total[:out_mag_bits]), "sign": v["sign"]}

        dp.add("mbm_correct", 3, correct)

    def sign(v):
        return {"p": B.apply_sign(v["mag"], v["sign"], 2 * N)}

    dp.add("apply_sign", 2 if u.signed else 0, sign)


# ----------------------------------------------------------------------------- Mitchell divide


def _log_divider(dp: Datapath) -> None:
    u = dp.unit
    N, T, Q = u.width, u.kept_frac_bits, u.quotient_frac_bits
    qmag_bits = N + Q
    drop = N + T - Q  # antilog scaling: q = (mant << u) >> drop, u = exponent + N >= 0
    u_bits = B.bits_for(2 * N - 1)
    _magnitude_step(dp)
    dp.add("magnitudes", 0, _magnitudes_to_u)
    _log_normalize_steps(dp)

    def log_sub(v):
        fa, ka = _log_fields(v["xa"], v["lza"], N, T)
        fb, _ = _log_fields(v["xb"], v["lzb"], N, T)
        za, zb = v["za"], v["zb"]
        # La - Lb + N*2**T = La + (lzb*2**T | ~fb) + 1: the divisor's complement is free
        inv_b = Cat(~fb if T else Const(0, 0), v["lzb"])
        diff = (Cat(fa, ka) + inv_b + 1)[: T + u_bits]
        mant, shift = B.antilog_input(diff, T, ~za)
        return {"mant": mant, "shift": shift, "sa": v["sa"], "sb": v["sb"], "zb": zb}

    dp.add("log_sub", 2, log_sub)  # carry chain
    _antilog_steps(dp, u_bits, max(qmag_bits + drop, 1))

    def finish(v):
        mag = B.antilog_finish(v["mant"], drop, qmag_bits)
        mag = Mux(v["zb"], Const((1 << qmag_bits) - 1, qmag_bits), mag)  # x/0 saturates
        sign = Mux(v["zb"], v["sa"], v["sa"] ^ v["sb"])  # ... with the dividend's sign
        return {"mag": mag, "sign": sign, "zb": v["zb"]}

    dp.add("antilog_scale", 1, finish)

    def sign(v):
        return {"q": B.apply_sign(v["mag"], v["sign"], u.quotient_bits), "div_by_zero": v["zb"]}

    dp.add("apply_sign", 2 if u.signed else 0, sign)


# ----------------------------------------------------------------------------- ILM multiply


def _ilm_multiplier(dp: Datapath) -> None:
    u = dp.unit
    N = u.width
    P = 2 * N
    F = N - 1
    k_bits = B.bits_for(F)
    ksum_bits = B.bits_for(2 * F)
    shifts = B.normalize_shifts(N)
    lz_bits = B.bits_for(sum(shifts))
    _magnitude_step(dp)

    def start(v):
        return {"a": v["ma"], "b": v["mb"], "sign": v["sa"] ^ v["sb"], "acc": Const(0, P)}

    dp.add("ilm_start", 0, start)
    for i in range(u.corrections + 1):

        def detect(v):
            a, b = v["a"], v["b"]
            return {
                "sign": v["sign"],
                "acc": v["acc"],
                "live": (a != 0) & (b != 0),
                "xa": B.clear_leading_one(a, N),
                "xb": B.clear_leading_one(b, N),
                "na": a,
                "nb": b,
                "lza": Const(0, lz_bits),
                "lzb": Const(0, lz_bits),
            }

        dp.add(f"ilm{i}_residues", 2, detect)
        for s in shifts:

            def level(v, s=s):
                na, lza = B.normalize_level(v["na"], v["lza"], s, N)
                nb, lzb = B.normalize_level(v["nb"], v["lzb"], s, N)
                return {**v, "na": na, "nb": nb, "lza": lza, "lzb": lzb}

            dp.add(f"ilm{i}_normalize_{s}", 1, level)

        def exponents(v):
            ka = (Const(F, k_bits) - v["lza"])[:k_bits]
            kb = (Const(F, k_bits) - v["lzb"])[:k_bits]
            keep = {k: v[k] for k in ("sign", "acc", "live", "xa", "xb")}
            # term = 2**(ka+kb) + xa << kb + xb << ka (the basic block; xa*xb is left to the next block)
            return {**keep, "ka": ka, "kb": kb, "ksum": (ka + kb)[:ksum_bits], "lead": Const(1, 1),
                    "sa_": v["xa"], "sb_": v["xb"]}

        dp.add(f"ilm{i}_exponents", 2, exponents)
        for level in B.barrel_shift_levels(ksum_bits):

            def shift(v, level=level):
                v = {**v, "lead": B.barrel_shift_left_level(v["lead"], v["ksum"], level, P)}
                if level < k_bits:
                    v["sa_"] = B.barrel_shift_left_level(v["sa_"], v["kb"], level, P)
                    v["sb_"] = B.barrel_shift_left_level(v["sb_"], v["ka"], level, P)
                return v

            dp.add(f"ilm{i}_shift_{1 << level}", 1, shift)

        def accumulate(v):
            term = v["lead"] + v["sa_"] + v["sb_"]
            acc = (v["acc"] + Mux(v["live"], term, 0))[:P]
            return {"a": v["xa"], "b": v["xb"], "sign": v["sign"], "acc": acc}

        dp.add(f"ilm{i}_accumulate", 4, accumulate)

    def sign(v):
        return {"p": B.apply_sign(v["acc"], v["sign"], P)}

    dp.add("apply_sign", 2 if u.signed else 0, sign)


# ----------------------------------------------------------------------------- exact baseline


def _exact_multiplier(dp: Datapath) -> None:
    """Exact product: Yosys's own multiplier when combinational, rows of partial products when pipelined.

    Step ``i`` adds ``a * b[4i : 4i + 4] << 4i`` (a small multiplier; for
    signed units the top slice of ``b`` is signed) to a ``2N``-bit accumulator,
    so register ranks can sit between any two steps (:data:`EXACT_ROW_BITS`).
    ``dp.combinational`` keeps the combinational unit at ``a * b``, as
    synthesis tools build it (the cost baseline).
    """
    u = dp.unit
    N, P = u.width, 2 * u.width

    def operand(x):
        return x.as_signed() if u.signed else x.as_unsigned()

    def direct(a, b):
        return {"p": (operand(a) * operand(b)).as_unsigned()[:P]}

    dp.combinational = direct

    def start(v):
        return {"a": v["a"], "b": v["b"], "acc": Const(0, P)}

    dp.add("rows", 0, start)
    c = EXACT_ROW_BITS
    for lo in range(0, N, c):
        hi = min(lo + c, N)

        def rows(v, lo=lo, hi=hi):
            chunk = v["b"][lo:hi]
            chunk = chunk.as_signed() if (u.signed and hi == N) else chunk.as_unsigned()
            acc = (v["acc"] + ((operand(v["a"]) * chunk) << lo))[:P]
            if hi == N:
                return {"p": acc}
            return {"a": v["a"], "b": v["b"], "acc": acc}

        dp.add(f"rows_{lo}_{hi - 1}", 2 * (hi - lo), rows)


#: bits of ``b`` per step of the pipelined exact multiplier: a 16-bit unit has 4 steps. Against
#: rows of 1 or 2 bits this gave the fastest and smallest 2- to 4-stage iCE40 multipliers
#: (16 bits, 2 stages: 552 LUTs at 79 MHz; 1-bit rows: 638 at 67), the fairest reference.
EXACT_ROW_BITS = 4


def _exact_divider(dp: Datapath) -> None:
    """Exact quotient ``floor(|a| * 2**Q / |b|)`` with the sign of ``a / b``, by restoring division.

    One step per quotient bit (``N + Q`` of them, most significant first):
    shift the next dividend bit into the ``N + 1``-bit remainder, subtract the
    divisor when it fits. A zero divisor always "fits", which gives the
    saturated all-ones quotient with the dividend's sign, as the golden model
    (``kexue_hw.arith.div(strict=False)``).
    """
    u = dp.unit
    N, Q = u.width, u.quotient_frac_bits
    R = N + 1
    _magnitude_step(dp)

    def start(v):
        return {"rest": v["ma"], "mb": v["mb"], "sign": v["sa"] ^ v["sb"], "zb": v["mb"] == 0,
                "r": Const(0, R), "q": Const(0, 0)}  # fmt: skip

    dp.add("remainder", 1, start)
    for i in range(N + Q):

        def row(v, i=i):
            bit = v["rest"][N - 1 - i] if i < N else Const(0, 1)
            shifted = Cat(bit, v["r"][: R - 1])
            diff = shifted - v["mb"]  # R + 1 bits: the top bit is the borrow
            fits = ~diff[R]
            out = {k: v[k] for k in ("rest", "mb", "sign", "zb") if k in v}
            out["r"] = Mux(fits, diff[:R], shifted)
            out["q"] = Cat(fits, v["q"])  # the new bit is the least significant so far
            if i == N - 1:
                out.pop("rest")
            return out

        dp.add(f"quotient_bit_{N + Q - 1 - i}", 2, row)  # carry chain + mux

    def sign(v):
        return {"q": B.apply_sign(v["q"], v["sign"], u.quotient_bits), "div_by_zero": v["zb"]}

    dp.add("apply_sign", 2 if u.signed else 0, sign)


def _mitchell_product(dp: Datapath) -> None:
    """Mitchell multiplier steps: sign folded into the log datapath, except for signed Mitch-w."""
    u = dp.unit
    if u.signed and u.frac_bits is not None:  # truncation does not commute with the sign folding
        _log_multiplier(dp, mbm=False)
    else:
        _mitchell_multiplier(dp)


# ----------------------------------------------------------------------------- registries

#: the step builders of each unit family: ``fn(datapath)`` appends the steps of the product / quotient
MULTIPLIERS = SpecRegistry("the RTL multiplier (kexue_hw.hdl)")
MULTIPLIERS.register(Mitchell, _mitchell_product)
MULTIPLIERS.register(MBM, lambda dp: _log_multiplier(dp, mbm=True))
MULTIPLIERS.register(ILM, _ilm_multiplier)
MULTIPLIERS.register(Exact, _exact_multiplier)
DIVIDERS = SpecRegistry("the RTL divider (kexue_hw.hdl)")
DIVIDERS.register(Mitchell, _log_divider)
DIVIDERS.register(Exact, _exact_divider)


def datapath_for(unit: Unit, op: str = "mul") -> Datapath:
    """The datapath of ``unit`` for ``op`` (``mul`` or ``div``); raises :class:`SpecError` if none."""
    if op not in OPS:
        raise SpecError(f"op must be 'mul' or 'div', got {op!r}")
    if not isinstance(unit, IntUnit):
        raise SpecError(f"RTL exists for integer units only (exact, mitchell, mbm, ilm), not {unit!r}")
    builders = MULTIPLIERS if op == "mul" else DIVIDERS
    if not builders.covers(unit):
        covered = ", ".join(t.__name__ for t in builders.types)
        kind = "multiplier" if op == "mul" else "divider"
        raise SpecError(f"no RTL {kind} for {type(unit).__name__}: the {kind} RTL covers {covered}")
    shape = signed(unit.width) if unit.signed else unsigned(unit.width)
    if op == "mul":
        pshape = signed(2 * unit.width) if unit.signed else unsigned(2 * unit.width)
        dp = Datapath(unit, op, shape, {"p": pshape}, golden="kexue_hw.arith.mul")
    else:
        qshape = signed(unit.quotient_bits) if unit.signed else unsigned(unit.quotient_bits)
        dp = Datapath(
            unit, op, shape, {"q": qshape, "div_by_zero": unsigned(1)}, golden="kexue_hw.arith.div(strict=False)"
        )
    builders.lookup(unit)(dp)
    return dp
