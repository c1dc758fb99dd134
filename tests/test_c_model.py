"""C behavioural models: compiled with the system compiler, tabulated, and checked figure by figure.

The circuits are small 8x8 unsigned multipliers written here; their EvoApproxLib figures are
computed independently in the test (plain numpy on a Python twin of each circuit) and must come
out of ``kexue-hw error table --c FILE --width 8 --json`` to the last digits.
"""

import json

import numpy as np
import pytest

from kexue_hw import Table
from kexue_hw.c_model import c_compiler, function_from_c, load_c_function, table_from_c
from kexue_hw.cli import main
from kexue_hw.spec import SpecError

needs_cc = pytest.mark.skipif(c_compiler() is None, reason="no C compiler (cc, gcc, clang)")

A = np.arange(256)[:, None]
B = np.arange(256)[None, :]


def _or_array(a, b):
    """Partial products combined with OR instead of addition."""
    out = np.zeros(np.broadcast(a, b).shape, np.int64)
    for i in range(8):
        out |= np.where((b >> i) & 1, a << i, 0)
    return out


CIRCUITS = {
    "mul8u_trunc5": (
        "uint64_t mul8u_trunc5(const uint64_t a, const uint64_t b)\n{\n    return ((a * b) >> 5) << 5;\n}\n",
        lambda a, b: ((a * b) >> 5) << 5,
    ),
    "mul8u_drop3": (  # EvoApproxLib's argument order: B first
        "uint64_t mul8u_drop3(const uint64_t B, const uint64_t A)\n{\n    return A * (B & 0xF8);\n}\n",
        lambda a, b: b * (a & 0xF8),
    ),
    "mul8u_or": (
        "uint16_t mul8u_or(uint8_t a, uint8_t b)\n{\n    uint16_t p = 0;\n"
        "    for (int i = 0; i < 8; ++i)\n        if ((b >> i) & 1) p |= (uint16_t)(a << i);\n    return p;\n}\n",
        _or_array,
    ),
}


def _write(tmp_path, name, body):
    path = tmp_path / f"{name}.c"
    path.write_text("#include <stdint.h>\n\n" + body)
    return path


def _figures(products: np.ndarray) -> dict:
    exact = (A * B).astype(np.float64)
    err = np.abs(products.astype(np.float64) - exact)
    nz = exact != 0
    return {
        "EP%": 100 * np.count_nonzero(err) / err.size,
        "MAE": err.mean(),
        "MAE%": 100 * err.mean() / 65536,
        "WCE": err.max(),
        "WCE%": 100 * err.max() / 65536,
        "MRE%": 100 * (err[nz] / exact[nz]).mean(),
        "WCRE%": 100 * (err[nz] / exact[nz]).max(),
        "MSE": (err**2).mean(),
    }


@needs_cc
@pytest.mark.parametrize("name", sorted(CIRCUITS))
def test_cli_reproduces_the_figures_of_a_c_model(name, tmp_path, capsys):
    source, twin = CIRCUITS[name]
    path = _write(tmp_path, name, source)
    assert main(["error", "table", "--c", str(path), "--width", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = _figures(twin(A, B))
    assert out["name"].startswith("table_u8_") and out["exhaustive"] and out["pairs"] == 65536
    for key, value in want.items():
        assert out["evoapprox"][key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


@needs_cc
def test_the_table_is_the_model(tmp_path):
    source, twin = CIRCUITS["mul8u_or"]
    t = table_from_c(_write(tmp_path, "or", source))
    assert isinstance(t, Table) and t.source == "or.c:mul8u_or"
    assert np.array_equal(t.values, twin(A, B))
    assert t == table_from_c(_write(tmp_path, "or_again", source))  # same products, same unit


@needs_cc
def test_signed_models_by_value_or_by_pattern(tmp_path):
    by_value = _write(tmp_path, "sv", "int16_t m4s(int8_t a, int8_t b) { return (int16_t)(a * b) & ~1; }\n")
    by_pattern = _write(tmp_path, "sp", "uint64_t m4p(uint64_t a, uint64_t b)\n"
                        "{ return (uint64_t)(((int64_t)a * (int64_t)b) & ~1) & 0xFF; }\n")  # fmt: skip
    t1 = table_from_c(by_value, width=4, signed=True)
    t2 = table_from_c(by_pattern, width=4, signed=True)
    v = np.arange(-8, 8)
    assert np.array_equal(t1.by_value(), (v[:, None] * v[None, :]) & ~1)
    assert t1 == t2


@needs_cc
def test_the_multiplier_is_found_or_named(tmp_path):
    helper = "static int twice(int x) { return 2 * x; }\n"
    one = _write(tmp_path, "one", helper + "uint64_t m(uint64_t a, uint64_t b) { return a * b; }\n")
    assert load_c_function(one, width=4).__name__ == "m"
    two = _write(tmp_path, "two", "uint64_t m1(uint64_t a, uint64_t b) { return a * b; }\n"
                 "uint64_t m2(uint64_t a, uint64_t b) { return a & b; }\n")  # fmt: skip
    with pytest.raises(SpecError, match="several two-operand functions \\(m1, m2\\).*--function"):
        load_c_function(two, width=4)
    assert np.array_equal(table_from_c(two, "m2", width=4).values, np.arange(16)[:, None] & np.arange(16))
    with pytest.raises(SpecError, match="defines no function 'm3'"):
        load_c_function(two, "m3", width=4)


@needs_cc
def test_models_that_do_not_compile_or_overflow_are_refused(tmp_path):
    broken = _write(tmp_path, "broken", "uint64_t m(uint64_t a, uint64_t b) { return a * ; }\n")
    with pytest.raises(SpecError, match="does not compile"):
        table_from_c(broken, width=4)
    wide = _write(tmp_path, "wide", "uint64_t m(uint64_t a, uint64_t b) { return (a * b) << 1; }\n")
    with pytest.raises(SpecError, match="outside the 8-bit unsigned product range"):
        table_from_c(wide, width=4)


@needs_cc
def test_wide_models_become_function_units(tmp_path):
    f = function_from_c(_write(tmp_path, "w", "uint64_t m(uint64_t a, uint64_t b) { return a * (b & ~7u); }\n"),
                        width=16)  # fmt: skip
    assert f.describe().startswith("function_u16_")
    assert f.evaluate(np.array([1000]), np.array([1001]))[0] == 1000 * 1000


def test_no_compiler_is_a_clear_error(tmp_path, monkeypatch, capsys):
    path = _write(tmp_path, "m", "uint64_t m(uint64_t a, uint64_t b) { return a * b; }\n")
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SpecError, match="no C compiler found"):
        table_from_c(path, width=4)
    assert main(["error", "table", "--c", str(path), "--width", "4"]) == 2
    assert "no C compiler found" in capsys.readouterr().err
