"""The committed rtl/ files are exactly what the generator produces now."""

import pathlib

from kexue_hw import Mitchell
from kexue_hw.hdl.cli import committed_rtl
from kexue_hw.hdl.export import unit_verilog
from kexue_hw.hdl.standard import STANDARD_RTL, stale_files

RTL = pathlib.Path(__file__).resolve().parents[2] / "rtl"


def test_committed_rtl_is_fresh():
    targets = committed_rtl()
    stale = stale_files(RTL, targets)
    assert not stale, f"stale RTL (run `kexue-hw rtl --standard`): {stale}"
    committed = {p.name for p in RTL.glob("*.v")}
    assert committed == {t.filename for t in targets}, "rtl/ holds files outside the committed set (or misses some)"


def test_standard_set_covers_the_issue():
    names = {t.filename for t in STANDARD_RTL}
    for w in (8, 16, 32):
        for s in ("u", "s"):
            assert f"mitchell_{s}{w}_mul.v" in names and f"mitchell_{s}{w}_mul_p2.v" in names
    assert any(n.startswith("mitchell_u16_div") for n in names) and any(n.startswith("mitchell_u32_div") for n in names)
    assert "mbm_u16_mul.v" in names


def test_export_is_reproducible_and_location_free():
    text = unit_verilog(Mitchell(8, signed=True), "div", 2)
    assert text == unit_verilog(Mitchell(8, signed=True), "div", 2)
    assert "src =" not in text and ".py:" not in text and ".cc:" not in text
    assert '"width": 8' in text and "generator: kexue-hw" in text
