"""Performer (FAVOR+) versus exact softmax attention: accuracy against m, time against length.

    python benchmarks/attention.py            # Markdown tables (copied into benchmarks/kernels.md)
    python benchmarks/attention.py --json     # the same measurements as JSON
    python benchmarks/attention.py --quick    # smaller sweep

What is measured and how: see :mod:`kexue_hw.kernels.attention_bench`.
"""

from kexue_hw.kernels.attention_bench import main

if __name__ == "__main__":
    main()
