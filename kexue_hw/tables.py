"""Tables for reports and the command line: one Markdown writer and one plain-text writer.

Cells are formatted by the caller (``f"{x:.4f}"``); these functions only lay them out.
A row is a sequence of cells, or a mapping read by the header names (missing keys: empty).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

__all__ = ["markdown_table", "text_table"]


def _cells(row, header: Sequence[str]) -> list[str]:
    values = [row.get(c, "") for c in header] if isinstance(row, Mapping) else list(row)
    if len(values) != len(header):
        raise ValueError(f"a table row has {len(values)} cells for {len(header)} columns: {values!r}")
    return [str(v) for v in values]


def markdown_table(header: Sequence[str], rows: Iterable, align: str | None = None) -> str:
    """A Markdown table (no trailing newline); ``align`` has one letter per column: ``l`` or ``r`` (numbers)."""
    header = [str(h) for h in header]
    align = align or "l" * len(header)
    if len(align) != len(header) or set(align) - {"l", "r"}:
        raise ValueError(f"align={align!r} needs one 'l' or 'r' per column ({len(header)})")
    lines = ["| " + " | ".join(header) + " |", "|" + "".join("---:|" if a == "r" else "---|" for a in align)]
    lines += ["| " + " | ".join(_cells(row, header)) + " |" for row in rows]
    return "\n".join(lines)


def text_table(header: Sequence[str], rows: Iterable) -> str:
    """Plain-text columns, left-aligned and two spaces apart (for a terminal)."""
    header = [str(h) for h in header]
    body = [_cells(row, header) for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in [header, *body])
