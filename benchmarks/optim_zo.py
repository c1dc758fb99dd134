"""Zeroth-order step: peak memory above the model and time against a forward pass, versus directions.

    python benchmarks/optim_zo.py [--json] [--params-millions 4] [--batch 32] [--directions 1,4,16]

For an MLP of about ``--params-millions`` float32 parameters, measures for one optimizer step, each row
in a fresh process: ``peak_extra_mb``, the peak resident memory during the step minus the resident memory
before it (Linux: VmHWM reset through /proc/self/clear_refs; glibc's mmap threshold is fixed so freed
buffers leave at once), and ``seconds_over_forward``, the time of a later step (the faster of two) as a
multiple of one forward pass timed in the same process.  Rows: ZerothOrderSGD at each direction count
(no .grad buffers), zo_grad_ + torch SGD (one .grad per parameter), and backprop + SGD as the baseline.
The model-size copy of a direction is regenerated, never stored, so ZO's peak should not grow with the
number of directions; backprop's includes the gradients and saved activations.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import torch

from kexue_hw.optim import ZerothOrderSGD, zo_grad_


def _status(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0  # kB -> MB
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _one_row(method: str, directions: int, params_millions: float, batch: int) -> dict:
    """Build the model, warm up a forward, then time one step and read the peak memory it added."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    width = int((params_millions * 1e6 / 2) ** 0.5)
    model = torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.ReLU(), torch.nn.Linear(width, width))
    x, y = torch.randn(batch, width), torch.randn(batch, width)

    def loss():
        return torch.nn.functional.mse_loss(model(x), y)

    with torch.no_grad():
        loss()
        t = time.perf_counter()
        for _ in range(5):
            loss()
        forward = (time.perf_counter() - t) / 5
    if method == "zo_sgd":
        opt = ZerothOrderSGD(model.parameters(), lr=1e-4, eps=1e-3, directions=directions)

        def step():
            opt.step(loss)
    else:
        sgd = torch.optim.SGD(model.parameters(), lr=1e-4)

        def step():
            if method == "zo_grad":
                zo_grad_(model.parameters(), loss, eps=1e-3, directions=directions)
            else:
                loss().backward()
            sgd.step()

    _reset_peak()
    before = _status("VmRSS")
    step()
    peak = _status("VmHWM") - before
    times = []
    for _ in range(2):  # time two more steps and keep the faster (the machine is shared)
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    seconds = min(times)
    n = sum(p.numel() for p in model.parameters())
    return {"method": METHODS[method], "directions": directions if method != "backprop" else None,
            "closure_calls": 2 * directions if method != "backprop" else 1, "parameters": n,
            "peak_extra_mb": peak, "seconds_over_forward": seconds / forward}


METHODS = {"zo_sgd": "ZerothOrderSGD", "zo_grad": "zo_grad_ + SGD", "backprop": "backprop + SGD"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--params-millions", type=float, default=4.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--directions", default="1,4,16")
    ap.add_argument("--row", help=argparse.SUPPRESS)  # internal: METHOD:DIRECTIONS, run in a fresh process
    args = ap.parse_args(argv)
    try:
        dirs = [int(d) for d in args.directions.split(",")]
        if not dirs or min(dirs) < 1:
            raise ValueError
    except ValueError:
        print(f"optim_zo.py: --directions must be positive integers separated by commas, got {args.directions!r}",
              file=sys.stderr)
        return 2
    if not 0.01 <= args.params_millions <= 64:
        print(f"optim_zo.py: --params-millions must be in [0.01, 64], got {args.params_millions}", file=sys.stderr)
        return 2
    if not 1 <= args.batch <= 4096:
        print(f"optim_zo.py: --batch must be in [1, 4096], got {args.batch}", file=sys.stderr)
        return 2
    try:
        _reset_peak()
    except OSError as e:
        print(f"optim_zo.py: needs Linux /proc/self/clear_refs to measure peak memory ({e})", file=sys.stderr)
        return 2
    if args.row:
        method, n = args.row.split(":")
        print(json.dumps(_one_row(method, int(n), args.params_millions, args.batch)))
        return 0

    plan = [("zo_sgd", n) for n in dirs] + [("zo_grad", n) for n in sorted({dirs[0], dirs[-1]})] + [("backprop", 1)]
    # Fixed mmap threshold: large buffers are mapped and unmapped at once, so resident memory tracks live tensors.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_WAIT_POLICY": "PASSIVE"}
    rows = []
    for method, n in plan:  # one fresh process per row: the allocator's cache from earlier rows would hide peaks
        out = subprocess.run([sys.executable, __file__, "--row", f"{method}:{n}", "--params-millions",
                              str(args.params_millions), "--batch", str(args.batch)],
                             capture_output=True, text=True, check=True, env=env)
        rows.append(json.loads(out.stdout))
    n_params = rows[0]["parameters"]
    res = {"parameters": n_params, "parameter_mb": n_params * 4 / 2**20, "batch": args.batch,
           "torch": torch.__version__, "machine": platform.machine(), "rows": rows}
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"MLP {n_params / 1e6:.2f}M float32 parameters ({res['parameter_mb']:.1f} MB), batch {args.batch}, "
              "one step, 1 thread, each row in a fresh process")
        print("| method | directions | closure calls | peak memory above model, MB | time / forward |")
        print("|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['method']} | {r['directions'] or '-'} | {r['closure_calls']} | {r['peak_extra_mb']:.1f} | "
                  f"{r['seconds_over_forward']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
