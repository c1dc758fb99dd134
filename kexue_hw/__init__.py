"""kexue-hw: what cheap (logarithmic) arithmetic does to real models, from golden model to RTL.

One frozen spec object describes a unit; every face takes it:

* :mod:`kexue_hw.arith`   bit-exact golden models (Numba)
* :mod:`kexue_hw.metrics` error characterization (exhaustive up to 16 bits)
"""

from .spec import ILM, MBM, Exact, FloatMitchell, Mitchell, SpecError, Unit, parse_unit, unit_from_name
from .table import FunctionUnit, Table

__version__ = "0.1.0"

__all__ = ["Exact", "Mitchell", "MBM", "ILM", "FloatMitchell", "Table", "FunctionUnit", "Unit", "SpecError",
           "unit_from_name", "parse_unit", "__version__"]  # fmt: skip
