"""``kexue-hw study``: models x units x attention kernels, accuracy next to hardware cost."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from ..cli_values import UsageError, csv_list, input_file, output_dir, output_file, positive_int, refuse, seed
from ..spec import SpecError, parse_unit

__all__ = ["register"]


def _units(text: str) -> list[str]:
    """argparse type of ``--units``: a comma list of unit names or ``native`` (every name checked before any work)."""
    names = csv_list(text)
    for name in names:
        if name.strip().lower() != "native":
            try:
                parse_unit(name)
            except SpecError as e:
                raise argparse.ArgumentTypeError(str(e)) from None
    return names


#: exit status when the study ran but some cells failed
EXIT_FAILED_CELLS = 3


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "study",
        help="accuracy impact study: models x units x attention kernels, with hardware cost",
        description="Every cell runs a model with every product on a unit and the attention kernel swapped, "
        "compares it with the native run (paired: delta with 95%% CI, exact McNemar p, agreement) and joins "
        "the unit's multiplier cost (LUTs, Fmax vs the exact multiplier).",
    )
    p.add_argument("--models", type=csv_list, default=["mwp", "pet-mlm"], help="comma list: mwp, pet-mlm, pet-clm, hf:DIR")
    p.add_argument("--units", type=_units, default=["native", "exact_s8", "mitchell_s8", "mbm_s8", "ilm_s8_c1",
                                                  "float_mitchell_bf16"], help="comma list of unit names")  # fmt: skip
    p.add_argument("--softmax", type=csv_list, default=["softmax"], help="comma list: softmax, taylor2, taylor4, performer")
    p.add_argument("--limit", type=positive_int, help="first N examples of each model's data")
    p.add_argument("--targets", type=csv_list, default=["ice40"], help="comma list: ice40, ecp5, xilinx")
    p.add_argument("--data", action="append", default=[], metavar="MODEL=FILE", help="data file for a model")
    p.add_argument("--checkpoint", action="append", default=[], metavar="MODEL=DIR",
                   help="checkpoint folder for a model (default: the shipped one)")  # fmt: skip
    p.add_argument("--text", help="text file (one text per line) for hf: perplexity models")
    p.add_argument("--beam", type=positive_int, default=3, help="MWP beam width")
    p.add_argument("--threads", type=positive_int, default=2, help="torch threads per cell")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--no-cost", action="store_true", help="skip synthesis (no LUT/Fmax columns)")
    p.add_argument("--cache-dir", help="synthesis cost cache (default ~/.cache/kexue-hw/synth)")
    p.add_argument("--json", metavar="OUT", help="result file (one object per cell)")
    p.add_argument("--markdown", metavar="FILE", help="also write the table here")
    p.add_argument("--plots", metavar="DIR", help="write one Pareto plot per model here")
    p.add_argument("--resume", action="store_true", help="skip cells already in --json OUT")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json OUT, --markdown FILE and --plots files")
    p.add_argument("--ray", nargs="?", const="local", default=False, metavar="ADDRESS",
                   help="run cells as Ray tasks: a local instance, or the cluster at ADDRESS")  # fmt: skip
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_run)


def _pairs(option: str, items: list[str], exists, what: str) -> dict:
    out = {}
    for item in items:
        model, sep, path = item.partition("=")
        if not sep or not model or not path:
            raise UsageError(f"{option} {item!r}: expected MODEL=PATH, e.g. mwp=math23k_test.json")
        if not exists(Path(path)):
            raise UsageError(f"{option} {item!r}: no such {what} {path!r}")
        out[model] = path
    return out


def _plot_path(folder: str, model: str) -> Path:
    return Path(folder) / f"pareto_{model.replace(':', '_').replace('/', '_')}.png"


def _check_options(args) -> dict:
    """Every check that needs no model code (files, folders, options that do not apply): before torch loads."""
    paths = {"data": _pairs("--data", args.data, Path.is_file, "file"),
             "checkpoints": _pairs("--checkpoint", args.checkpoint, Path.is_dir, "folder")}  # fmt: skip
    if args.text:
        input_file("--text", args.text)
        if not any(m.startswith("hf:") for m in args.models):
            raise UsageError("--text applies to hf:DIR models (their perplexity texts); --models names none")
    if args.no_cost:
        refuse(args, ["cache_dir"], "applies to the synthesis cost, which --no-cost skips")
    out = Path(args.json) if args.json else None
    if args.resume and out is None:
        raise UsageError("--resume needs --json OUT (the file to continue)")
    if out is not None:
        if out.exists() and not (args.resume or args.force):
            raise UsageError(f"--json {out} exists: pass --resume to continue it or --force to overwrite it")
        output_file("--json", out, force=True)
    if args.markdown:
        output_file("--markdown", args.markdown, force=args.force)
    if args.plots:
        output_dir("--plots", args.plots)
        for model in args.models:
            if _plot_path(args.plots, model).exists() and not args.force:
                raise UsageError(f"--plots {args.plots}: {_plot_path(args.plots, model).name} exists; "
                                 "pass --force to overwrite it")  # fmt: skip
    if args.ray is not False:
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise UsageError("--ray needs the distributed extra: pip install 'kexue-hw[distributed]'") from None
    return paths


def _run(args) -> int:
    paths = _check_options(args)
    from .grid import StudySettings, run_study
    from .results import load_results, markdown_table, pareto_plot, save_results

    settings = StudySettings(models=args.models, units=args.units, kernels=args.softmax, limit=args.limit,
                             targets=args.targets, threads=args.threads, seed=args.seed, beam=args.beam,
                             cost=not args.no_cost, text=args.text, cache_dir=args.cache_dir, **paths)  # fmt: skip
    out = Path(args.json) if args.json else None
    previous = load_results(out) if (args.resume and out is not None) else []
    done: list[dict] = list(previous)

    def on_row(row):
        if out is not None:
            keyed = {(r["model"], r["unit"], r["softmax"]): r for r in done}
            keyed[(row["model"], row["unit"], row["softmax"])] = row
            done[:] = list(keyed.values())
            save_results(out, done, asdict(settings))

    cells = run_study(settings, previous=previous, ray_address=args.ray, on_row=on_row, progress=not args.quiet)
    if out is not None:
        save_results(out, cells, asdict(settings))
    table = markdown_table(cells)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n", "utf-8")
    if args.plots:
        for model in settings.models:
            path = pareto_plot(cells, model, _plot_path(args.plots, model))
            if path and not args.quiet:
                print(f"wrote {path}", file=sys.stderr)
    print(table)
    failed = [c for c in cells if c.get("status") != "ok"]
    if failed:
        print(f"{len(failed)} of {len(cells)} cells failed: " +
              "; ".join(f"{c['model']}/{c['unit']}/{c['softmax']}: {c.get('error')}" for c in failed[:3]),
              file=sys.stderr)  # fmt: skip
        return EXIT_FAILED_CELLS
    return 0
