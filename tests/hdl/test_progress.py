"""Progress lines of long RTL runs: quiet for short runs, periodic lines when not on a terminal."""

import io
import time

from kexue_hw.hdl.progress import Progress


def test_short_runs_stay_quiet():
    out = io.StringIO()
    with Progress("quick", stream=out, grace=5.0, tick=0.01):
        time.sleep(0.05)
    assert out.getvalue() == ""


def test_long_runs_report_phases_fraction_and_end_off_terminal():
    out = io.StringIO()  # not a terminal: whole lines
    with Progress("job", total=1000, stream=out, grace=0.0, interval=0.05, tick=0.01) as bar:
        bar.update(phase="build")
        time.sleep(0.08)
        bar.update(done=100, phase="simulate")
        time.sleep(0.08)
        bar.update(done=600)
        time.sleep(0.08)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("job: build") and "%" not in lines[0]
    assert any(line.startswith("job: simulate  60.0%") and "left)" in line for line in lines)
    assert lines[-1].startswith("job: done in ")
    assert "\r" not in out.getvalue()


def test_failures_are_reported():
    out = io.StringIO()
    try:
        with Progress("bad", stream=out, grace=0.0, tick=0.01):
            time.sleep(0.03)
            raise KeyError("x")
    except KeyError:
        pass
    assert out.getvalue().splitlines()[-1].startswith("bad: failed in ")
