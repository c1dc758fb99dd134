"""The one table layout: Markdown and plain text, rows as sequences or mappings, bad shapes refused."""

import pytest

from kexue_hw.tables import markdown_table, text_table


def test_markdown_layout_and_alignment():
    text = markdown_table(["unit", "mae"], [["mitchell_u8", "606.4"], {"unit": "mbm_u8", "mae": 1}], "lr")
    assert text.splitlines() == ["| unit | mae |", "|---|---:|", "| mitchell_u8 | 606.4 |", "| mbm_u8 | 1 |"]


def test_text_layout_pads_columns():
    assert text_table(["a", "long"], [{"a": "xyz", "long": 1}]).splitlines() == ["a    long", "xyz  1   "]


@pytest.mark.parametrize("call", [
    lambda: markdown_table(["a", "b"], [[1]]),
    lambda: markdown_table(["a", "b"], [], "lx"),
    lambda: markdown_table(["a", "b"], [], "l"),
])  # fmt: skip
def test_bad_shapes_are_refused(call):
    with pytest.raises(ValueError):
        call()
