"""Bad input on the command line: one line naming the option and the value, exit status 2, no traceback.

A representative subset of the bad-invocation list (every verb); each runs in process and fails before
any real work, so the whole file takes seconds.
"""

import argparse

import pytest

from kexue_hw import cli_values as V

#: (argv, a phrase the one-line error must contain); {tmp}, {file} (a plain file), {existing} (an existing
#: output file), {missing} (a folder that does not exist) are filled in per test
BAD = [
    (["error", "mitchell", "--width", "8", "--samples", "10000000000"], "--samples 10000000000 needs about"),
    (["error", "mitchell", "--width", "8", "--samples", "abc"], "argument --samples: expected an integer"),
    (["error", "mitchell", "--width", "8", "--seed", "-1"], "argument --seed: must be >= 0, got -1"),
    (["error", "mitchell", "--format", "fp16", "--exhaustive"], "--exhaustive applies to integer units"),
    (["error", "mitchell", "--width", "4", "--plot", "{file}/heat.png"], "is a file, not a folder"),
    (["error", "mitchell", "--width", "4", "--plot", "{missing}/heat.png"], "does not exist"),
    (["error", "mitchell", "--width", "4", "--plot", "{existing}"], "pass --force to overwrite"),
    (["error", "mitchell", "--width", "4", "--force"], "--force applies to --plot"),
    (["mul", "3", "4", "--unit", "mitchell", "--corrections", "3"], "--corrections does not apply"),
    (["mul", "3", "4", "--unit", "mitchell", "--corrections", "1"], "--corrections does not apply"),
    (["mul", "3", "4", "--unit", "ilm", "--frac-bits", "2"], "--frac-bits does not apply"),
    (["mul", "3", "4", "--format", "fp16", "--signed"], "--signed does not apply"),
    (["mul", "3", "4", "--format", "fp16", "--width", "8"], "--width does not apply"),
    (["mul", "3", "4", "--quotient-frac", "8"], "--quotient-frac applies to division"),
    (["mul", "nan", "3", "--format", "fp32"], "pass --no-strict"),
    (["mul", "70000", "1", "--format", "fp16"], "overflows fp16"),
    (["mul", "300", "3", "--width", "8"], "operand a 300 is outside"),
    (["div", "0", "0", "--format", "fp32"], "(NaN)"),
    (["div", "3", "0"], "pass --no-strict"),
    (["report", "-o", "{file}/sub"], "is a file, not a folder"),
    (["rtl", "mitchell", "--width", "8", "-o", "{missing}/m.v"], "does not exist"),
    (["rtl", "mitchell", "--width", "8", "-o", "{existing}"], "pass --force to overwrite"),
    (["rtl", "--check", "-o", "{missing}"], "no such folder"),
    (["rtl", "--standard", "mitchell", "--width", "8"], "does not apply with --standard"),
    (["rtl", "mitchell", "--width", "8", "--format", "fp32"], "kexue-hw rtl: error: unrecognized arguments"),
    (["verify", "mitchell", "--width", "8", "--ready", "nan"], "argument --ready: expected a finite number"),
    (["verify", "mitchell", "--width", "8", "--vcd", "{file}/w.vcd"], "is a file, not a folder"),
    (["verify", "mitchell", "--width", "8", "--exhaustive", "--samples", "5"], "exclude each other"),
    (["emulate-bench", "--threads", "-2"], "argument --threads: must be >= 1, got -2"),
    (["emulate-bench", "--shapes", "0x8x8"], "every size must be >= 1"),
    (["emulate-bench", "--shapes", "abc"], "expected MxKxN"),
    (["emulate-bench", "--reps", "0"], "argument --reps: must be >= 1, got 0"),
    (["emulate-bench", "--shapes", "100000x100000x100000"], "needs about"),
    (["taylor-softmax", "nan", "1"], "expected a finite number, got 'nan'"),
    (["taylor-softmax", "1e30", "1"], "input 1e+30 is outside the input range"),
    (["taylor-softmax", "1", "2", "--order", "1000"], "argument --order: must be <= 32"),
    (["softmax-rtl", "{tmp}/o.v", "--name", "my module"], "argument --name"),
    (["softmax-rtl", "{tmp}/o.v", "--max-length", "1e8"], "--max-length 100000000 needs about"),
    (["softmax-rtl", "{existing}"], "pass --force to overwrite"),
    (["mwp", "train", "--data", "{missing}/p.json", "--out", "{tmp}/run"], "kexue-hw mwp train: error: --data"),
    (["mwp", "train", "--data", "{file}", "--out", "{tmp}/run", "--teaforn-weights", "-1"], "must be >= 0"),
    (["mwp", "solve", ""], "the problem is empty"),
    (["mwp", "eval", "--data", "{file}", "--unit", "booth_s8"], "argument --unit"),
    (["study", "--units", "booth_s8", "--no-cost"], "argument --units"),
    (["study", "--text", "{file}", "--no-cost"], "--text applies to hf:DIR models"),
    (["study", "--markdown", "{existing}", "--no-cost"], "pass --force to overwrite"),
    (["study", "--cache-dir", "{tmp}", "--no-cost"], "--cache-dir applies to the synthesis cost"),
    (["finetune", "--unit", "native"], "native has no unit"),
    (["finetune", "--unit", "mitchell_s8", "--zo-lr", "1e-4"], "--zo-lr applies to --method zo"),
    (["finetune", "--unit", "mitchell_s8", "--out", "{file}"], "is a file, not a folder"),
    (["assign", "--choices", "mitchell_s8"], "at least two different units"),
    (["assign", "--lambda", "nan"], "argument --lambda: expected a finite number"),
]


@pytest.fixture
def paths(tmp_path):
    (tmp_path / "afile").write_text("a plain file\n")
    (tmp_path / "existing.v").write_text("// already here\n")
    return {"tmp": tmp_path, "file": tmp_path / "afile", "existing": tmp_path / "existing.v",
            "missing": tmp_path / "no" / "such"}  # fmt: skip


@pytest.mark.parametrize("argv,phrase", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_one_line_exit_2(argv, phrase, paths, run_cli):
    code, out, err = run_cli([a.format(**paths) for a in argv])
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert "Traceback" not in err + out
    assert len(lines) == 1 and phrase in lines[0], err
    assert lines[0].startswith("kexue-hw")
    assert "strict=False" not in err and "or --format for floats" not in err


def test_nothing_is_written_by_a_refused_run(paths, run_cli):
    assert run_cli(["rtl", "mitchell", "--width", "8", "-o", paths["existing"]])[0] == 2
    assert paths["existing"].read_text() == "// already here\n"
    assert not paths["missing"].parent.exists()


def test_force_overwrites(paths, run_cli):
    code, out, _ = run_cli(["rtl", "mitchell", "--width", "4", "-o", paths["existing"], "--force"])
    assert code == 0 and "module" in paths["existing"].read_text()


def test_no_strict_gives_the_hardware_corners(run_cli):
    code, out, err = run_cli(["div", "0", "0", "--format", "fp32", "--no-strict", "--json"])
    assert code == 0 and err == ""
    assert '"approx": NaN' in out and '"exact": NaN' in out
    code, out, _ = run_cli(["div", "3", "0", "--width", "8", "--no-strict"])
    assert code == 0 and "exact     inf" in out


def test_no_warning_or_note_before_an_error(run_cli):
    for argv in (["mul", "70000", "1", "--format", "fp16"], ["mul", "nan", "3.3", "--format", "fp16"]):
        code, _, err = run_cli(argv)
        assert code == 2 and len(err.strip().splitlines()) == 1, err


# ----------------------------------------------------------------------------- the shared argparse types


@pytest.mark.parametrize(
    "parse,text,value",
    [
        (V.positive_int, "12", 12),
        (V.positive_int, "1e6", 1_000_000),
        (V.positive_int, "1_000", 1000),
        (V.non_negative_int, "0", 0),
        (V.seed, "4294967295", 2**32 - 1),
        (V.probability, "1", 1.0),
        (V.fraction, "0", 0.0),
        (V.positive_float, "1e-5", 1e-5),
        (V.shape, "128x768X64", (128, 768, 64)),
        (V.identifier, "taylor_softmax_2", "taylor_softmax_2"),
        (V.csv_list, "a, b,,c", ["a", "b", "c"]),
    ],
)
def test_types_accept(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize(
    "parse,text,phrase",
    [
        (V.positive_int, "0", "must be >= 1, got 0"),
        (V.positive_int, "2.5", "expected an integer"),
        (V.positive_int, "inf", "expected an integer"),
        (V.non_negative_int, "-1", "must be >= 0"),
        (V.seed, "-1", "must be >= 0"),
        (V.seed, "4294967296", "must be <= 4294967295"),
        (V.probability, "0", "must be > 0"),
        (V.probability, "1.5", "must be <= 1"),
        (V.positive_float, "nan", "finite"),
        (V.positive_float, "-inf", "finite"),
        (V.shape, "8x8", "three sizes"),
        (V.shape, "0x8x8", "every size must be >= 1"),
        (V.identifier, "my module", "letters, digits"),
        (V.csv_list, ",", "comma-separated"),
    ],
)
def test_types_refuse(parse, text, phrase):
    with pytest.raises(argparse.ArgumentTypeError, match=phrase):
        parse(text)


def test_output_checks(tmp_path):
    (tmp_path / "f").write_text("x")
    assert V.output_file("-o", tmp_path / "new.v") == tmp_path / "new.v"
    assert V.output_file("-o", tmp_path / "f", force=True) == tmp_path / "f"
    for path, phrase in [(tmp_path / "f", "file exists"), (tmp_path / "f" / "x.v", "is a file"),
                         (tmp_path / "a" / "b.v", "does not exist"), (tmp_path, "is a folder")]:  # fmt: skip
        with pytest.raises(V.UsageError, match=phrase):
            V.output_file("-o", path)
    assert V.output_dir("-o", tmp_path / "new") == tmp_path / "new"
    with pytest.raises(V.UsageError, match="does not exist"):
        V.output_dir("-o", tmp_path / "a" / "b")
    with pytest.raises(V.UsageError, match="is a file"):
        V.output_dir("-o", tmp_path / "f")


def test_memory_estimate(monkeypatch):
    monkeypatch.setattr(V, "available_memory", lambda: 8 * 2**30)
    V.fits_in_memory("--samples 10", 3 * 2**30)
    with pytest.raises(V.UsageError, match=r"--samples 99 needs about 5\.0 GiB of memory; 8\.0 GiB is available"):
        V.fits_in_memory("--samples 99", 5 * 2**30)


def test_long_sweeps_report_progress_off_a_terminal(capsys):
    from kexue_hw.metrics_core import progress_bar

    import time

    bar = progress_bar(100, True, "sweep")  # stderr is captured: not a terminal
    bar.update(bar.task_ids[0], advance=40)
    time.sleep(bar.grace + 0.5)  # no update during the wait: the timer still reports
    bar.update(bar.task_ids[0], advance=60)
    bar.stop()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("sweep:  40.0%") and lines[-1].startswith("sweep: 100.0%")
    assert lines[-1].endswith("done")
