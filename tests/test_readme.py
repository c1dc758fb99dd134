"""README.md as written: every Python snippet runs, every ``kexue-hw`` line parses, the quick ones run."""

import re
import shlex
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text("utf-8")
PYTHON = re.findall(r"```python\n(.*?)```", TEXT, re.S)
COMMANDS = [
    line.split(" #")[0].strip()
    for block in re.findall(r"```bash\n(.*?)```", TEXT, re.S)
    for line in block.splitlines()
    if line.startswith("kexue-hw ")
]
#: command lines cheap enough to run here (seconds); the others are only parsed
QUICK = ("kexue-hw error mitchell --op mul", "kexue-hw error mitchell_s8_t3", "kexue-hw mul", "kexue-hw div",
         "kexue-hw rtl mitchell", "kexue-hw taylor-softmax")  # fmt: skip


def test_the_readme_has_snippets_and_commands():
    assert len(PYTHON) >= 3 and len(COMMANDS) >= 15


@pytest.mark.parametrize("index", range(len(PYTHON)))
def test_python_snippet_runs(index, tmp_path, monkeypatch, capsys):
    code = PYTHON[index]
    if "import torch" in code:
        pytest.importorskip("torch")
    if "transformers" in code:
        pytest.importorskip("transformers")
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. Amaranth's note on components built and not elaborated
        exec(compile(code, f"README.md python snippet {index}", "exec"), {"__name__": "readme"})


def _write_user_multipliers(folder: Path) -> None:
    """The files the README's bring-your-own-multiplier lines name: a table, a C model, a Verilog module."""
    import numpy as np

    from kexue_hw import Mitchell
    from kexue_hw.arith import tabulate

    np.save(folder / "mul8u_XYZ.npy", tabulate(Mitchell(8)).values)
    (folder / "mul8u_XYZ.c").write_text("uint16_t mul8u_XYZ(uint8_t a, uint8_t b) { return a * b; }\n")
    (folder / "mul8u_XYZ.v").write_text(
        "module mul8u_XYZ(input [7:0] a, input [7:0] b, output [15:0] p);\n  assign p = a * b;\nendmodule\n"
    )


@pytest.mark.parametrize("line", COMMANDS)
def test_command_line_parses(line, tmp_path, monkeypatch):
    from kexue_hw.cli import build_parser

    from kexue_hw.cli_options import unit_from_args

    monkeypatch.chdir(tmp_path)
    _write_user_multipliers(tmp_path)
    argv = shlex.split(line)[1:]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:
        pytest.fail(f"README command does not parse (exit {e.code}): {line}")
    if getattr(args, "unit", None) and hasattr(args, "width_default") and not getattr(args, "verilog", None):
        unit_from_args(args)  # the unit options make a unit (a Verilog module's Verilator build is left out)


@pytest.mark.parametrize("line", [c for c in COMMANDS if c.startswith(QUICK)])
def test_quick_command_line_runs(line, run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(shlex.split(line)[1:])
    assert code == 0, err
    assert out
