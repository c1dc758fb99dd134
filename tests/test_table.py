"""Bring your own multiplier: table and function units through the spec, the golden model and the metrics."""

import hashlib
import json

import numpy as np
import pytest

from kexue_hw import MBM, FunctionUnit, Mitchell, SpecError, Table, parse_unit
from kexue_hw.arith import div, mul, tabulate
from kexue_hw.metrics import error_metrics, evoapprox_figures

TINY = np.arange(16, dtype=np.int64).reshape(4, 4) // 3  # a 2-bit unsigned "multiplier": values 0..5


def _documented_digest(kind: bytes, width: int, signed: bool, products: np.ndarray) -> str:
    """sha256 over b"kexue-hw unit v1" and the length-prefixed parts: kind, (width, signed), int64 LE products."""
    h = hashlib.sha256(b"kexue-hw unit v1")
    for part in (kind, bytes([width, signed]), products.astype("<i8").tobytes()):
        h.update(len(part).to_bytes(8, "little") + part)
    return h.hexdigest()[:12]


def test_hash_is_pinned_and_ignores_the_dtype():
    # the digest format is part of the name users keep in their reports: it must not drift
    assert Table(TINY).digest == _documented_digest(b"table", 2, False, TINY) == "ae8863e66167"
    assert Table(TINY.astype(np.uint8)) == Table(TINY.astype(np.int32)) == Table(TINY.ravel())
    assert hash(Table(TINY)) == hash(Table(TINY.astype(np.int16)))
    other = TINY.copy()
    other[3, 3] += 1
    assert Table(other) != Table(TINY) and Table(other).digest != Table(TINY).digest
    assert Table(TINY, signed=True).digest != Table(TINY).digest  # same numbers, other circuit


def test_signedness_is_inferred_from_a_negative_product():
    assert not Table(TINY).signed
    t = tabulate(Mitchell(4, signed=True))
    assert Table(t.values).signed and Table(t.values) == t


def test_names_round_trip_while_the_unit_lives(tmp_path):
    t = tabulate(MBM(5))
    assert parse_unit(t.describe()) is t
    np.save(tmp_path / "m.npy", t.values)
    assert parse_unit(f"table:{tmp_path / 'm.npy'}") == t
    np.savez(tmp_path / "two.npz", first=t.values, second=TINY)
    assert parse_unit(f"table:{tmp_path / 'two.npz'}:second") == Table(TINY)
    with pytest.raises(SpecError, match="name one"):
        Table.from_file(tmp_path / "two.npz")
    with pytest.raises(SpecError, match="none with that hash was loaded"):
        parse_unit("table_u8_000000000000")
    with pytest.raises(SpecError, match="does not exist"):
        parse_unit("table:/no/such/file.npy")
    with pytest.raises(SpecError, match="unknown scheme"):
        parse_unit("lut:x.npy")


@pytest.mark.parametrize(
    "values,needle",
    [
        (np.zeros((256, 255), np.int32), "square"),
        (np.zeros((6, 6), np.int32), "2\\*\\*N rows"),
        (np.zeros((2, 2), np.int32), "2\\*\\*N rows"),
        (np.zeros(17, np.int32), "square"),
        (np.zeros((4, 4, 4), np.int32), "square"),
        (np.zeros((16, 16)), "holds integers, got dtype float64"),
        (np.zeros((16, 16), bool), "dtype bool"),
        (np.full((16, 16), 256), "outside the 8-bit unsigned product range 0..255"),
        (np.full((16, 16), 300, np.int64) - 600, "outside the 8-bit signed product range -128..127"),
    ],
)
def test_bad_tables_are_refused_clearly(values, needle):
    with pytest.raises(SpecError, match=needle):
        Table(values, signed=bool(values.dtype.kind == "i" and values.size and values.min() < 0) or None)


def test_unsigned_table_with_negative_values_is_refused():
    with pytest.raises(SpecError, match="unsigned product range"):
        Table(-np.ones((4, 4), np.int64), signed=False)


def test_bad_files_are_refused(tmp_path):
    (tmp_path / "junk.npy").write_text("not numpy")
    with pytest.raises(SpecError, match="not a .npy/.npz"):
        Table.from_file(tmp_path / "junk.npy")


def test_golden_model_is_the_table():
    t = Table(TINY)
    assert mul(t, 3, 2) == TINY[3, 2] and mul(t, 0, 3) == TINY[0, 3]
    a = np.array([[1, 2], [3, 0]])
    assert np.array_equal(mul(t, a, a.T), TINY[a, a.T])
    s = tabulate(Mitchell(6, signed=True))
    vals = np.arange(-32, 32)
    assert np.array_equal(mul(s, vals[:, None], vals), mul(Mitchell(6, signed=True), vals[:, None], vals))
    with pytest.raises(SpecError, match="Table has no divider"):
        div(t, 1, 1)
    with pytest.raises(ValueError, match="outside the 2-bit unsigned range"):
        mul(t, 4, 1)


@pytest.mark.parametrize("unit", [Mitchell(8), Mitchell(8, signed=True)], ids=lambda u: u.describe())
def test_a_table_of_mitchell_gives_exactly_mitchells_metrics(unit):
    t = tabulate(unit)
    mine, theirs = error_metrics(t).as_dict(), error_metrics(unit, method="brute").as_dict()
    for key in ("seconds", "unit", "params"):
        mine.pop(key), theirs.pop(key)
    assert mine == theirs  # bit for bit, every figure and the worst pairs
    assert json.dumps(mine) == json.dumps(theirs)  # also the signs of zeros
    analytic = error_metrics(unit)  # the default closed-form path: the same to the last ulp or two
    assert analytic.wce == mine["wce"] and analytic.ep == mine["ep"] and analytic.mae == mine["mae"]
    assert analytic.mre == pytest.approx(mine["mre"], rel=1e-14)


def _evoapprox_by_hand(table: np.ndarray, width: int) -> dict:
    """EvoApproxLib's figures computed here directly from the table (independent of kexue_hw.metrics)."""
    a = np.arange(1 << width)
    exact = (a[:, None] * a[None, :]).astype(np.float64)
    err = np.abs(table.astype(np.float64) - exact)
    nz = exact != 0
    return {
        "EP%": 100 * np.count_nonzero(err) / err.size,
        "MAE": err.mean(),
        "MAE%": 100 * err.mean() / 2 ** (2 * width),
        "WCE": err.max(),
        "WCE%": 100 * err.max() / 2 ** (2 * width),
        "MRE%": 100 * (err[nz] / exact[nz]).mean(),
        "WCRE%": 100 * (err[nz] / exact[nz]).max(),
        "MSE": (err**2).mean(),
    }


def test_evoapprox_names_and_scales():
    a = np.arange(256)
    truncated = (a[:, None] * (a[None, :] & 0xF0)).astype(np.int64)  # drops b's low partial products
    t = Table(truncated)
    got = evoapprox_figures(error_metrics(t), t)
    want = _evoapprox_by_hand(truncated, 8)
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-12), key
    assert evoapprox_figures(error_metrics(Mitchell(8), "div"), Mitchell(8)) is None


def test_function_units_are_sampled_above_twelve_bits():
    f = FunctionUnit(lambda a, b: (a >> 3 << 3) * b, 16, name="drop3")
    assert f.describe().startswith("function_u16_") and parse_unit(f.describe()) is f
    assert FunctionUnit(lambda x, y: (x >> 3 << 3) * y, 16) == f  # identity is the behaviour, not the object
    m = error_metrics(f, samples=20000, seed=1)
    assert not m.exhaustive and m.pairs == 20000 and 0 < m.mre < 0.2 and m.rel_max == 0.0
    with pytest.raises(SpecError, match="not swept exhaustively"):
        error_metrics(f, exhaustive=True)
    small = FunctionUnit(lambda a, b: mul(Mitchell(6), a, b), 6)
    assert error_metrics(small).as_dict()["mre"] == error_metrics(Mitchell(6), method="brute").mre


@pytest.mark.parametrize(
    "fn,needle",
    [
        (lambda a, b: a * b * 1.0, "float64 values"),
        (lambda a, b: np.zeros(3, np.int64), "returned shape"),
        (lambda a, b: a * b + (1 << 40), "outside the 32-bit unsigned product range"),
        ("not callable", "needs a callable"),
    ],
)
def test_bad_functions_are_refused(fn, needle):
    with pytest.raises(SpecError, match=needle):
        FunctionUnit(fn, 16)
