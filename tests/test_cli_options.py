"""The shared unit options: a family with options, or a full name; clear exit-2 errors otherwise."""

import json

import pytest

from kexue_hw.cli import main


def test_a_full_name_stands_for_family_and_options(capsys):
    assert main(["error", "mitchell_s6_t2", "--json"]) == 0
    by_name = json.loads(capsys.readouterr().out)
    assert main(["error", "mitchell", "--width", "6", "--signed", "--frac-bits", "2", "--json"]) == 0
    by_options = json.loads(capsys.readouterr().out)
    by_name.pop("seconds"), by_options.pop("seconds")
    assert by_name == by_options and by_name["params"] == {"width": 6, "signed": True, "frac_bits": 2,
                                                           "quotient_frac": None}  # fmt: skip


def test_mul_takes_a_full_name(capsys):
    assert main(["mul", "3", "3", "--unit", "mitchell_u8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["approx"] == 8


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["error", "mitchell_s8", "--width", "16"], "--width conflicts with the full unit name"),
        (["error", "ilm", "--frac-bits", "3"], "--frac-bits does not apply to ilm"),
        (["rtl", "mitchell"], "--width is required"),
    ],
)
def test_inconsistent_options_exit_2(argv, needle, run_cli):
    code, _, err = run_cli(argv)
    assert code == 2 and needle in err


@pytest.mark.parametrize("argv", [["error", "booth_u8"], ["error", "mitchell_u8_x3"], ["mul", "1", "2", "--unit", "m8"]])
def test_names_that_do_not_parse_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "unit" in err and "Traceback" not in err


def test_rtl_takes_a_full_name(tmp_path):
    out = tmp_path / "m.v"
    assert main(["rtl", "mitchell_s8", "--stages", "2", "-o", str(out)]) == 0
    assert "module mitchell_s8_mul_p2" in out.read_text()
