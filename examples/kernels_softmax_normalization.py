"""Divider per element versus one reciprocal + unit products for Taylor-softmax normalization.

    python examples/kernels_softmax_normalization.py [--json]
"""

import json
import sys

from kexue_hw.kernels.taylor_normalization import compare_normalizations, markdown

if __name__ == "__main__":
    res = compare_normalizations()
    print(json.dumps(res, indent=2) if "--json" in sys.argv else markdown(res))
