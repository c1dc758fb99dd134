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

from amaranth.hdl import Cat, Const, Mux, Shape, Signal, signed, unsigned

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


def _normalize_steps(dp: Datapath) -> None:
    """Leading-one detection + normalization of both magnitudes, one step per level."""
    N = dp.unit.width
    shifts = B.normalize_shifts(N)
    lz_bits = B.bits_for(sum(shifts))

    def start(v):
        rest = {k: x for k, x in v.items() if k not in ("ma", "mb")}
        return {**rest, "xa": v["ma"], "xb": v["mb"], "lza": Const(0, lz_bits), "lzb": Const(0, lz_bits)}

    first = True
    for s in shifts:

        def level(v, s=s, first=first):
            if first:
                v = start(v)
            xa, lza = B.normalize_level(v["xa"], v["lza"], s, N)
            xb, lzb = B.normalize_level(v["xb"], v["lzb"], s, N)
            return {**v, "xa": xa, "xb": xb, "lza": lza, "lzb": lzb}

        dp.add(f"normalize_{s}", 2, level)  # OR-reduce + mux
        first = False
    if not shifts:  # 1-bit magnitudes never occur (width >= 2), kept for safety
        dp.add("normalize", 0, start)


def _antilog_steps(dp: Datapath, amount_bits: int, cap: int) -> None:
    """Barrel-shift ``mant`` left by ``shift``, one step per level, capped at ``cap`` bits."""
    for level in B.barrel_shift_levels(amount_bits):

        def fn(v, level=level):
            return {**v, "mant": B.barrel_shift_left_level(v["mant"], v["shift"], level, cap)}

        dp.add(f"antilog_shift_{1 << level}", 1, fn)


# ----------------------------------------------------------------------------- Mitchell / MBM multiply


def _log_multiplier(dp: Datapath, mbm: bool) -> None:
    u = dp.unit
    N, T = u.width, u.kept_frac_bits
    mag_bits = 2 * N
    e_bits = B.bits_for(2 * N - 1)  # product exponent ka + kb + carry <= 2N - 1
    _magnitude_step(dp)
    _normalize_steps(dp)

    def log_add(v):
        ka, fa, za = B.log_encode(v["xa"], v["lza"], N, T)
        kb, fb, zb = B.log_encode(v["xb"], v["lzb"], N, T)
        total = Cat(fa, ka) + Cat(fb, kb)  # La + Lb: a fraction carry moves into the exponent
        mant, shift = B.antilog_input(total, T, ~(za | zb))
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
    _normalize_steps(dp)

    def log_sub(v):
        ka, fa, za = B.log_encode(v["xa"], v["lza"], N, T)
        _, fb, zb = B.log_encode(v["xb"], v["lzb"], N, T)
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
    u = dp.unit
    P = 2 * u.width

    def multiply(v):
        a, b = v["a"], v["b"]
        if u.signed:
            prod = a.as_signed() * b.as_signed()
        else:
            prod = a.as_unsigned() * b.as_unsigned()
        return {"p": prod.as_unsigned()[:P]}

    dp.add("multiply", 32, multiply)


# ----------------------------------------------------------------------------- registries

#: the step builders of each unit family: ``fn(datapath)`` appends the steps of the product / quotient
MULTIPLIERS = SpecRegistry("the RTL multiplier (kexue_hw.hdl)")
MULTIPLIERS.register(Mitchell, lambda dp: _log_multiplier(dp, mbm=False))
MULTIPLIERS.register(MBM, lambda dp: _log_multiplier(dp, mbm=True))
MULTIPLIERS.register(ILM, _ilm_multiplier)
MULTIPLIERS.register(Exact, _exact_multiplier)
DIVIDERS = SpecRegistry("the RTL divider (kexue_hw.hdl)")
DIVIDERS.register(Mitchell, _log_divider)


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
