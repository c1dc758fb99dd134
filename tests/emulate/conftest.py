import os

import pytest

# torch and Numba each run an OpenMP pool; passive waiting keeps them from starving each other
# (only effective when torch is not imported yet; see benchmarks/emulate.md)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)

