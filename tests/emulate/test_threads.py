"""The library keeps torch's and Numba's idle threads from spinning without the user setting anything."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys, time, warnings
warnings.simplefilter("always")
first = sys.argv[1]
if first == "kexue":
    import kexue_hw
import torch
import kexue_hw, numba, os
from kexue_hw import Mitchell
from kexue_hw.emulate import approx_matmul
torch.manual_seed(0)
a, b = torch.randn(64, 256), torch.randn(256, 256)
ai = torch.randint(-128, 128, (64, 256), dtype=torch.int8)
bi = torch.randint(-128, 128, (256, 256), dtype=torch.int8)
unit = Mitchell(8, signed=True)
def alternate(n=10):
    t0 = time.perf_counter()
    for _ in range(n):
        torch.matmul(a, b)
        approx_matmul(ai, bi, unit)
    return (time.perf_counter() - t0) / n
alternate(2)
best = min(alternate() for _ in range(7))
print(os.environ.get("OMP_WAIT_POLICY"), numba.threading_layer(), best)
"""


def _env(**env_set):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "NUMBA_THREADING_LAYER")}
    env.update(env_set)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(first: str, **env_set):
    out = subprocess.run(
        [sys.executable, "-c", PROBE, first], env=_env(**env_set), capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    policy, layer, seconds = out.stdout.split()
    return policy, layer, float(seconds), out.stderr


@pytest.mark.slow  # two fresh interpreters importing torch (a few seconds each on an idle machine)
def test_passive_without_the_user_setting_it():
    """kexue_hw imported first: the variable is set before torch loads OpenMP, and the
    alternating torch/emulated matmul runs as fast as with the variable exported (generous factor)."""
    policy, layer, unset_s, err = _run("kexue")
    assert policy == "PASSIVE" and layer == "omp" and "RuntimeWarning" not in err
    _, _, set_s, _ = _run("kexue", OMP_WAIT_POLICY="PASSIVE")
    assert unset_s < 2.5 * set_s, (unset_s, set_s)


def test_torch_first_moves_numba_off_openmp_and_says_why():
    policy, layer, _, err = _run("torch")
    assert policy == "PASSIVE" and layer == "workqueue"
    assert "RuntimeWarning" in err and "import kexue_hw before torch" in err


def test_a_policy_the_user_chose_is_kept():
    code = "import kexue_hw, os; print(os.environ['OMP_WAIT_POLICY'])"
    for policy in ("ACTIVE", "PASSIVE"):
        out = subprocess.run([sys.executable, "-c", code], env=_env(OMP_WAIT_POLICY=policy), capture_output=True, text=True)
        assert out.stdout.strip() == policy, out.stderr
