"""Keep torch's and Numba's thread pools from fighting: idle OpenMP threads wait passively.

By default an idle OpenMP thread spins for a few milliseconds before it sleeps. The
emulation kernels (Numba) and torch alternate many times per model forward, so
each side's spinning threads take the cores the other side is about to use; on a
machine shared with other jobs the spinning also competes with them, and the
emulation runs several times slower (``benchmarks/emulate.md``).

:func:`configure` (run when ``kexue_hw`` is imported) sets ``OMP_WAIT_POLICY=PASSIVE``
unless the user chose a policy. OpenMP runtimes read it when they load, so it holds
for every runtime loaded afterwards: torch's, if ``kexue_hw`` is imported first, and
Numba's. If an OpenMP runtime was loaded before (``import torch`` first) and the
user set no policy, that runtime keeps spinning; Numba then gets its ``workqueue``
threading layer (plain threads that sleep when idle) instead of OpenMP, and
:func:`warn_if_spinning` says how to make torch's threads passive as well.
Export ``OMP_WAIT_POLICY`` (or ``NUMBA_THREADING_LAYER``) to override either choice.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["configure", "warn_if_spinning", "USER_POLICY", "OPENMP_LOADED_BEFORE"]

#: the user's ``OMP_WAIT_POLICY`` when kexue_hw was imported (``None``: not set)
USER_POLICY = os.environ.get("OMP_WAIT_POLICY")


def _openmp_loaded() -> bool:
    """Whether an OpenMP runtime (GNU, LLVM or Intel) is already mapped into this process."""
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:  # not Linux: torch is the runtime that matters here
        return "torch" in sys.modules
    return any(name in maps for name in ("libgomp", "libomp.so", "libiomp5"))


#: an OpenMP runtime was loaded before kexue_hw, so it read the policy already
OPENMP_LOADED_BEFORE = _openmp_loaded()
_warned = False


def configure() -> None:
    """Passive OpenMP waiting unless the user chose otherwise; Numba off OpenMP if that comes too late."""
    if USER_POLICY is not None:
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    if OPENMP_LOADED_BEFORE and "NUMBA_THREADING_LAYER" not in os.environ:
        import numba
        from numba.np.ufunc import parallel

        if not parallel._is_initialized:  # the layer is chosen at Numba's first parallel launch
            numba.config.THREADING_LAYER = "workqueue"


def warn_if_spinning() -> None:
    """Warn once when an OpenMP runtime loaded before kexue_hw spins between calls (see the module docstring)."""
    global _warned
    if _warned or USER_POLICY is not None or not OPENMP_LOADED_BEFORE:
        return
    _warned = True
    warnings.warn(
        "an OpenMP runtime (torch's) was loaded before kexue_hw with OMP_WAIT_POLICY unset, so its idle threads "
        "spin and slow the emulation kernels that run between torch calls (several times on a busy machine); "
        "import kexue_hw before torch, or export OMP_WAIT_POLICY=PASSIVE",
        RuntimeWarning,
        stacklevel=3,
    )
