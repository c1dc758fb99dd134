"""Policy gradient and zeroth-order optimisation are one estimator (issue 11): cosines and variances.

    python examples/optim_zo_pg.py            # markdown tables (about a minute on one core)
    python examples/optim_zo_pg.py --json     # the same figures as JSON
    python examples/optim_zo_pg.py --quick    # smaller data set, two temperatures (seconds)

The math is in the docstring of kexue_hw/optim/equivalence.py.
"""

import json
import sys

import torch

from kexue_hw.optim.equivalence import markdown, run

if __name__ == "__main__":
    unknown = [a for a in sys.argv[1:] if a not in ("--json", "--quick")]
    if unknown:
        print(f"optim_zo_pg.py: unknown option {unknown[0]!r} (use --json, --quick)", file=sys.stderr)
        sys.exit(2)
    torch.set_num_threads(1)
    res = run(quick="--quick" in sys.argv)
    print(json.dumps(res, indent=2) if "--json" in sys.argv else markdown(res))
