import os

# torch and Numba keep separate OpenMP pools; spin-waiting between them slows both (benchmarks/emulate.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Hypothesis: deterministic and quick in CI; the golden models are exercised with arrays per example.
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


import pytest  # noqa: E402


@pytest.fixture
def run_cli(capsys):
    """``kexue-hw`` in process: ``run(argv) -> (exit status, stdout, stderr)``; argparse's exits count as statuses."""
    from kexue_hw.cli import main

    def run(argv):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:
            code = e.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def pytest_configure(config):
    config.addinivalue_line("markers", "requires_tools(*names): skip without the tools; fail instead when CI=true")


def pytest_runtest_setup(item):
    from tool_requirements import require_tools

    for mark in item.iter_markers("requires_tools"):
        require_tools(*mark.args)
