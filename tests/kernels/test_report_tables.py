"""The kernels' Markdown (report section parts, performer-bench and the normalization table) renders."""

from kexue_hw.kernels import report
from kexue_hw.kernels.taylor_normalization import compare_normalizations, markdown


def test_report_tables_render():
    minima = report._minima_table().splitlines()
    assert minima[0] == "| n | x_n* | f_n(x_n*) |" and len(minima) == 2 + 5
    fixed = report._fixed_table(rows=4).splitlines()
    assert fixed[0].startswith("| multiplier | divider | order |") and len(fixed) == 2 + 9  # 9 valid configs


def test_normalization_markdown_has_two_rows_per_pair():
    res = compare_normalizations(rows=4, length=8)
    lines = markdown(res).splitlines()
    assert lines[2].startswith("| multiplier / divider | mode |")
    assert len(lines) == 4 + 2 * len(res["results"])


def test_performer_bench_renders_a_saved_result():
    from kexue_hw.kernels.performer_eval import render

    acc = {"d": 64, "n": 256, "seeds": 4, "scales": [0.3], "rows": [
        {"scale": 0.3, "m": 32, "orth_mean": 0.2, "iid_mean": 0.25, "orth_median": 0.19, "iid_median": 0.24,
         "orth_gain": 0.2}]}  # fmt: skip
    tim = {"d": 64, "m": 256, "threads": 1, "repeats": 2, "crossover": 512,
           "slopes": {"exact_s": 2.0, "performer_s": 1.0, "performer_causal_s": None},
           "rows": [{"n": 256, "performer_s": 0.01, "performer_causal_s": 0.02, "exact_s": 0.005},
                    {"n": 512, "performer_s": 0.02, "performer_causal_s": 0.03, "exact_s": None}]}  # fmt: skip
    units = {"n": 64, "d": 16, "m": 32, "float_performer_vs_exact": 0.1, "rows": [
        {"unit": "mitchell_s8", "vs_float_performer": 0.1, "causal_vs_float_performer": 0.2,
         "vs_exact_attention": 0.3, "exact_attention_on_unit_vs_exact": 0.4}]}  # fmt: skip
    text = render({"accuracy": acc, "timing": tim, "units": units})
    assert "| 512 | skipped | 0.0200 | 0.0300 | - | 39.06 | - |" in text
    assert "| mitchell_s8 | 0.1000 | 0.2000 | 0.3000 | 0.4000 |" in text
    assert "Performer faster from L = 512" in text
