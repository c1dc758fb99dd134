"""C behavioural models (EvoApproxLib style) as units: compiled with the system C compiler, called via ctypes.

A model is a C source file with a function of two integer operands that returns the
product, e.g. ``uint64_t mul8u_XYZ(const uint64_t a, const uint64_t b)`` or
``int16_t mul8s_XYZ(int8_t A, int8_t B)``. The file is compiled together with a small
loop (``cc -O2 -shared -fPIC``) into a shared library in a temporary folder, so the
function's own parameter and return types convert the operands (passed as their
values, negative ones for signed units) and the product. The product is read as a
``2N``-bit two's complement value: a signed return type gives it directly; an unsigned
one that holds the product's bit pattern is read back as negative when its top bit is set.

:func:`table_from_c` tabulates all pairs (up to 12 bits); :func:`function_from_c` wraps the
model as a :class:`~kexue_hw.table.FunctionUnit` (wider units: sampled metrics, slow emulation).
The compiler is ``$CC`` or the first of ``cc``, ``gcc``, ``clang`` on the PATH.
"""

from __future__ import annotations

import ctypes
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import numpy as np

from .spec import SpecError
from .table import FunctionUnit, Table

__all__ = ["load_c_function", "table_from_c", "function_from_c", "c_compiler"]

_WRAPPER = """#include <stddef.h>
#include <stdint.h>
#include "{source}"
void kx_eval(const int64_t* a, const int64_t* b, int64_t* out, size_t n) {{
    for (size_t i = 0; i < n; ++i) out[i] = (int64_t)({function}(a[i], b[i]));
}}
"""

#: a function definition with exactly two parameters: ``<type> name(<param>, <param>) {``
_TWO_ARG_DEF = re.compile(r"^[ \t]*(?:static\s+|inline\s+)*[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\(([^(),]+),([^(),]+)\)\s*\{",
                          re.M)  # fmt: skip


def c_compiler() -> str | None:
    """The C compiler used: ``$CC``, else the first of ``cc``, ``gcc``, ``clang`` found on the PATH."""
    for name in filter(None, (os.environ.get("CC"), "cc", "gcc", "clang")):
        path = shutil.which(name)
        if path:
            return path
    return None


def _function_name(text: str, path: pathlib.Path, name: str | None) -> str:
    found = [m.group(1) for m in _TWO_ARG_DEF.finditer(text) if m.group(1) not in ("if", "for", "while", "switch")]
    if name is not None:
        if name not in found and not re.search(rf"\b{re.escape(name)}\s*\(", text):
            raise SpecError(f"{path.name} defines no function {name!r} (two-operand functions found: {found or 'none'})")
        return name
    if len(found) != 1:
        what = f"several two-operand functions ({', '.join(found)})" if found else "no function of two operands"
        raise SpecError(f"{path.name} has {what}; name the one that multiplies (--function NAME)")
    return found[0]


def load_c_function(path, name: str | None = None, *, width: int, signed: bool = False):
    """Compile the model in ``path`` and return a vectorised ``fn(a, b) -> int64 products``.

    ``name``: the function (found when the file defines exactly one function of two operands).
    Raises :class:`SpecError` when there is no compiler, the file does not compile, or the name is wrong.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise SpecError(f"C model {str(path)!r} does not exist")
    text = path.read_text(errors="replace")
    function = _function_name(text, path, name)
    cc = c_compiler()
    if cc is None:
        raise SpecError(
            "no C compiler found (set $CC or install cc/gcc/clang) to build the C model; "
            "or tabulate the model yourself and pass the table (--file TABLE.npy)"
        )
    with tempfile.TemporaryDirectory(prefix="kexue-cmodel-") as tmp:
        tmpdir = pathlib.Path(tmp)
        (tmpdir / "model.c").write_text(text)
        (tmpdir / "kx_wrapper.c").write_text(_WRAPPER.format(source="model.c", function=function))
        lib_path = tmpdir / "model.so"
        proc = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-w", "-o", str(lib_path), "kx_wrapper.c", "-lm"],
                              cwd=tmpdir, capture_output=True, text=True)  # fmt: skip
        if proc.returncode != 0:
            raise SpecError(f"the C model {path.name} does not compile ({os.path.basename(cc)}):\n{proc.stderr[-2000:]}")
        lib = ctypes.CDLL(str(lib_path))  # the mapping outlives the deleted file
    kx_eval = lib.kx_eval
    kx_eval.restype = None
    kx_eval.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    mask = (1 << (2 * width)) - 1
    top = 1 << (2 * width - 1)

    def fn(a, b):
        a2, b2 = np.broadcast_arrays(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
        a2, b2 = np.ascontiguousarray(a2), np.ascontiguousarray(b2)
        out = np.empty(a2.shape, dtype=np.int64)
        kx_eval(a2.ctypes.data, b2.ctypes.data, out.ctypes.data, a2.size)
        if signed:  # a 2N-bit pattern in an unsigned return type reads back as the negative product
            out = np.where((out >= top) & (out <= mask), out - (mask + 1), out)
        return out

    fn.__name__ = function
    fn._library = lib  # keep the library loaded as long as the function lives
    return fn


def table_from_c(path, name: str | None = None, *, width: int = 8, signed: bool = False) -> Table:
    """The :class:`Table` of a C model: every pair of ``width``-bit operands (2..12 bits)."""
    fn = load_c_function(path, name, width=width, signed=signed)
    return Table.from_function(fn, width, signed=signed, name=f"{pathlib.Path(path).name}:{fn.__name__}")


def function_from_c(path, name: str | None = None, *, width: int, signed: bool = False) -> FunctionUnit:
    """A C model as a :class:`FunctionUnit` (any width up to 31 bits unsigned, 32 signed)."""
    fn = load_c_function(path, name, width=width, signed=signed)
    return FunctionUnit(fn, width, signed=signed, name=f"{pathlib.Path(path).name}:{fn.__name__}")
