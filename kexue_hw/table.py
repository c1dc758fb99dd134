"""Bring your own multiplier: a unit given by its product table, or by a function of two operands.

* :class:`Table`: a ``2**N x 2**N`` product table (``N`` = 2..12), signed or unsigned.
  ``values[i, j]`` is the product of the operands whose ``N``-bit patterns are ``i``
  and ``j`` (two's complement when signed; an unsigned table is simply
  ``values[a, b]``). Products must fit the ``2N``-bit output. Build one with
  :meth:`Table.from_array`, :meth:`Table.from_file` (``.npy``/``.npz``),
  :meth:`Table.from_function` (a vectorised callable run over all pairs),
  :func:`kexue_hw.c_model.table_from_c` (a C behavioural model),
  :func:`kexue_hw.hdl.external.table_from_verilog` (a Verilog module under Verilator)
  or :func:`kexue_hw.arith.tabulate` (a built-in unit's golden model).
* :class:`FunctionUnit`: a vectorised callable ``fn(a, b) -> products`` (int64 arrays of
  operand values in, integers out) for circuits too wide to tabulate (``N`` up to 31
  unsigned, 32 signed). Metrics sample it; emulation calls it once per contraction
  step (the slow path: a Python call per ``k`` of every matrix product).

Both are integer unit specs (no divider) that every face takes. Their name carries a
content hash: ``table_u8_3f2a9c1b04de`` (sha256 of the products) and
``function_u16_...`` (sha256 of the function's products on a fixed probe set), so
caches and reports tell circuits apart. ``parse_unit`` reads ``table:FILE.npy`` (and
the name of any table or function unit built earlier in this process).
"""

from __future__ import annotations

import hashlib
import pathlib

import numpy as np

from .spec import MAX_WIDTH, IntUnit, SpecError, Unit

__all__ = ["Table", "FunctionUnit", "MAX_TABLE_WIDTH"]

#: widest table: 2**24 entries (64 MiB as int32)
MAX_TABLE_WIDTH = 12

#: every table and function unit built in this process, by name, so ``parse_unit(u.describe())`` finds it
#: for the rest of the process (the study and the emulation op pass units around by name)
_ALIVE: dict = {}


def patterns_to_values(patterns: np.ndarray, width: int, signed: bool) -> np.ndarray:
    """Operand values of ``width``-bit patterns (two's complement when ``signed``)."""
    patterns = patterns.astype(np.int64)
    if signed:
        return np.where(patterns >= (1 << (width - 1)), patterns - (1 << width), patterns)
    return patterns


def _output_range(width: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(1 << (2 * width - 1)), (1 << (2 * width - 1)) - 1
    return 0, (1 << (2 * width)) - 1


def _check_products(products: np.ndarray, width: int, signed: bool, what: str) -> np.ndarray:
    """``products`` as int64 after checking the dtype and the ``2N``-bit output range."""
    products = np.asarray(products)
    if products.dtype.kind not in "iu" or products.dtype == np.bool_:
        raise SpecError(f"{what} holds {products.dtype} values: products must be integers")
    lo, hi = _output_range(width, signed)
    if products.size:
        pmin, pmax = int(products.min()), int(products.max())
        if pmin < lo or pmax > hi:
            kind = "signed" if signed else "unsigned"
            bad = pmin if pmin < lo else pmax
            raise SpecError(f"{what} holds {bad}, outside the {2 * width}-bit {kind} product range {lo}..{hi}")
    return products.astype(np.int64)


class _ContentUnit(IntUnit):
    """An integer unit known by its behaviour: equal, hashed and named by a content digest."""

    digest: str
    source: str

    def _finish(self, width: int, signed: bool, digest: str, source: str) -> None:
        for name, value in (("width", width), ("signed", signed), ("digest", digest), ("source", source)):
            object.__setattr__(self, name, value)
        IntUnit.__post_init__(self)
        _ALIVE[self.describe()] = self

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and (self.width, self.signed, self.digest) == (
            other.width, other.signed, other.digest)  # fmt: skip

    def __hash__(self) -> int:
        return hash((self.family, self.width, self.signed, self.digest))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(width={self.width}, signed={self.signed}, digest={self.digest!r}, source={self.source!r})"

    def describe(self) -> str:
        return f"{self.family}_{self._tag()}_{self.digest}"

    def params(self) -> dict:
        return {"width": self.width, "signed": self.signed, "digest": self.digest, "source": self.source}

    @classmethod
    def parse_name(cls, rest: str) -> Unit:
        unit = _ALIVE.get(f"{cls.family}_{rest}")
        if unit is None:
            raise SpecError(
                f"{cls.family}_{rest} names a unit by its content hash and none with that hash was loaded; "
                f"build it first (e.g. {cls.example})"
            )
        return unit

    @classmethod
    def from_options(cls, options: dict) -> Unit:
        raise SpecError(f"a {cls.family} unit is built from its source: {cls.example}")


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256(b"kexue-hw unit v1")
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:12]


class Table(_ContentUnit):
    """A multiplier given by its full product table (see the module docstring for the layout)."""

    family = "table"
    scheme = "table"
    example = "table:FILE.npy"

    def __init__(self, values, *, signed: bool | None = None, source: str = "array"):
        arr = np.asarray(values)
        if arr.dtype.kind not in "iu" or arr.dtype == np.bool_:
            raise SpecError(f"a product table holds integers, got dtype {arr.dtype} (from {source})")
        if arr.ndim == 1 and arr.size > 1:  # flat table[a << N | b]
            side = int(round(arr.size**0.5))
            if side * side == arr.size:
                arr = arr.reshape(side, side)
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise SpecError(f"a product table is square, 2**N x 2**N, got shape {arr.shape} (from {source})")
        width = arr.shape[0].bit_length() - 1
        if arr.shape[0] != 1 << width or not 2 <= width <= MAX_TABLE_WIDTH:
            raise SpecError(
                f"a product table has 2**N rows with N in 2..{MAX_TABLE_WIDTH}, got {arr.shape[0]} (from {source})"
            )
        if signed is None:
            signed = bool(arr.size) and int(arr.min()) < 0
        if not isinstance(signed, bool):
            raise SpecError(f"signed must be a bool, got {signed!r}")
        products = _check_products(arr, width, signed, f"the table from {source}")
        canonical = np.ascontiguousarray(products, dtype="<i8")
        values = canonical.astype(np.int32)  # 2N <= 24 bits
        values.flags.writeable = False
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "verilog", None)  # (text, module, ports) when tabulated from a Verilog module
        self._finish(width, signed, _digest(b"table", bytes([width, signed]), canonical.tobytes()), source)

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_array(cls, values, *, signed: bool | None = None) -> Table:
        """From a ``2**N x 2**N`` (or flat ``4**N``) integer array; ``signed=None``: signed iff it holds a negative."""
        return cls(values, signed=signed)

    @classmethod
    def from_file(cls, path, *, key: str | None = None, signed: bool | None = None) -> Table:
        """From a ``.npy`` file, or one array of a ``.npz`` (``key``, needed when it holds several)."""
        path = pathlib.Path(path)
        if not path.is_file():
            raise SpecError(f"table file {str(path)!r} does not exist")
        try:
            data = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise SpecError(f"table file {str(path)!r} is not a .npy/.npz file: {e}") from None
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                names = list(data.files)
                if key is None and len(names) != 1:
                    raise SpecError(f"{path.name} holds arrays {names}; name one (table:{path}:KEY)")
                if key is not None and key not in names:
                    raise SpecError(f"{path.name} has no array {key!r}; it holds {names}")
                data = data[key or names[0]]
        return cls(data, signed=signed, source=path.name)

    @classmethod
    def from_function(cls, fn, width: int, *, signed: bool = False, name: str | None = None) -> Table:
        """Run the vectorised ``fn(a, b)`` over all ``4**width`` operand pairs (int64 operand values in)."""
        if isinstance(width, bool) or not isinstance(width, int) or not 2 <= width <= MAX_TABLE_WIDTH:
            raise SpecError(f"width={width!r}: a table covers 2..{MAX_TABLE_WIDTH} bits (use FunctionUnit above)")
        values = patterns_to_values(np.arange(1 << width), width, signed)
        products = np.asarray(fn(values[:, None], values[None, :]))
        label = name or getattr(fn, "__name__", "function")
        if products.shape != (1 << width, 1 << width):
            raise SpecError(f"{label} returned shape {products.shape} for {1 << width}x{1 << width} operand pairs")
        return cls(products, signed=signed, source=label)

    @classmethod
    def parse_scheme(cls, rest: str) -> Table:
        """``table:FILE.npy`` or ``table:FILE.npz[:KEY]``."""
        path, _, key = rest.partition(".npz:")
        if key:
            return cls.from_file(path + ".npz", key=key)
        return cls.from_file(rest)

    # ------------------------------------------------------------------ the table

    @property
    def side(self) -> int:
        return 1 << self.width

    def products(self, a, b) -> np.ndarray:
        """Products of operand values ``a``, ``b`` (int64 arrays inside the unit's range; not checked here)."""
        mask = self.side - 1
        return self.values[np.asarray(a, dtype=np.int64) & mask, np.asarray(b, dtype=np.int64) & mask].astype(np.int64)

    def by_value(self) -> np.ndarray:
        """The table indexed by ``(a - min_value, b - min_value)`` (rows and columns in value order)."""
        order = (np.arange(self.side) + self.min_value) & (self.side - 1)
        return self.values[np.ix_(order, order)]


#: operand pairs that fingerprint a function: corners plus a fixed pseudo-random set
PROBE_PAIRS = 4096


class FunctionUnit(_ContentUnit):
    """A multiplier given by a vectorised callable ``fn(a, b)`` (int64 operand values in, integer products out).

    For widths a table cannot hold (up to 31 bits unsigned, 32 signed; products then fit int64):
    metrics sample it, emulation calls it once per contraction step (slow). Identity is a
    sha256 of its products on :data:`PROBE_PAIRS` fixed operand pairs.
    """

    family = "function"
    example = "FunctionUnit(fn, width=16)"

    def __init__(self, fn, width: int, *, signed: bool = False, name: str | None = None):
        if not callable(fn):
            raise SpecError(f"FunctionUnit needs a callable, got {fn!r}")
        limit = MAX_WIDTH if signed else MAX_WIDTH - 1
        if isinstance(width, bool) or not isinstance(width, int) or not 2 <= width <= limit:
            raise SpecError(f"width={width!r}: a function unit covers 2..{limit} bits ({'signed' if signed else 'unsigned'})")
        object.__setattr__(self, "fn", fn)
        label = name or getattr(fn, "__name__", "function")
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "signed", bool(signed))
        a, b = self.probe_pairs()
        products = self.evaluate(a, b, label)
        self._finish(width, bool(signed), _digest(b"function", bytes([width, signed]), products.astype("<i8").tobytes()), label)

    def probe_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        corners = np.array(sorted({0, 1, 2, self.max_value, self.min_value, self.max_value - 1}), dtype=np.int64)
        rng = np.random.default_rng(0x6B65787565)
        n = PROBE_PAIRS - corners.size**2
        a = rng.integers(self.min_value, self.max_value, size=n, endpoint=True, dtype=np.int64)
        b = rng.integers(self.min_value, self.max_value, size=n, endpoint=True, dtype=np.int64)
        return np.concatenate([np.repeat(corners, corners.size), a]), np.concatenate([np.tile(corners, corners.size), b])

    def products(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``fn(a, b)`` as int64, checked against the ``2N``-bit output range (operands not checked)."""
        return self.evaluate(a, b)

    def evaluate(self, a: np.ndarray, b: np.ndarray, what: str | None = None) -> np.ndarray:
        """``fn(a, b)`` as int64, checked against the ``2N``-bit output range (operands not checked)."""
        out = np.asarray(self.fn(a, b))
        shape = np.broadcast_shapes(np.shape(a), np.shape(b))
        label = what or self.source
        if out.shape != shape:
            raise SpecError(f"{label} returned shape {out.shape} for operands of shape {shape}")
        return _check_products(out, self.width, self.signed, f"the output of {label}")
