"""kexue-hw: what cheap (logarithmic) arithmetic does to real models, from golden model to RTL.

One frozen spec object describes a unit; every face takes it:

* :mod:`kexue_hw.arith`   bit-exact golden models (Numba)
* :mod:`kexue_hw.metrics` error characterization (exhaustive up to 16 bits)

Importing the package sets ``OMP_WAIT_POLICY=PASSIVE`` unless it is set
(:mod:`kexue_hw._threads`): torch's and Numba's idle threads then sleep instead
of spinning, which keeps the emulation kernels fast next to torch.
"""

from . import _threads

_threads.configure()  # idle OpenMP threads wait passively (torch and Numba alternate; see kexue_hw._threads)

from .spec import ILM, MBM, Exact, FloatMitchell, Mitchell, SpecError, Unit, unit_from_name  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Exact", "Mitchell", "MBM", "ILM", "FloatMitchell", "Unit", "SpecError", "unit_from_name", "__version__"]
