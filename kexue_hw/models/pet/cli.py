"""``kexue-hw pet``: pretrain the character BERT, train PET, evaluate on the units, classify a text.

Subcommands: ``pretrain``, ``train``, ``eval``, ``classify``. Heavy imports (torch, transformers)
happen inside the handlers, so ``kexue-hw --help`` stays fast. Handlers return the exit code;
``ValueError``/``SpecError`` become a one-line error with exit status 2 (see :mod:`kexue_hw.cli`).
"""

from __future__ import annotations

import argparse
import os
import sys

SCORERS = ("mlm", "clm")
CALIBRATIONS = ("none", "median", "contextual")
STANDARD_UNITS = ["mitchell_s8", "mbm_s8", "ilm_s8_c1", "exact_s8", "float_mitchell_bf16"]


def _positive_int(name):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {value}")
        return value

    return parse


def _positive_float(name):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{name} must be positive, got {value}")
        return value

    return parse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "pet",
        help="PET few-shot classification (masked LM and causal LM) on the emulated units",
        description="Pattern-Exploiting Training: sentiment classification as a cloze question answered by a "
        "language model; pretrain the character BERT, train, evaluate natively and on units, classify.",
    )
    verbs = p.add_subparsers(dest="pet_command", required=True, metavar="VERB")

    pre = verbs.add_parser("pretrain", help="pretrain the small Chinese character BERT (masked LM)")
    pre.add_argument("--out", default="pet-char-bert", help="model folder to write (default: ./pet-char-bert)")
    pre.add_argument("--work", default=None, help="checkpoint folder (default: OUT.work)")
    pre.add_argument("--minutes", type=_positive_float("--minutes"), default=None, help="wall-clock budget")
    pre.add_argument("--resume", action="store_true", help="continue from the checkpoint in --work")
    pre.add_argument("--steps", type=_positive_int("--steps"), default=None)
    pre.add_argument("--layers", type=_positive_int("--layers"), default=None)
    pre.add_argument("--hidden", type=_positive_int("--hidden"), default=None)
    pre.add_argument("--heads", type=_positive_int("--heads"), default=None)
    pre.add_argument("--intermediate", type=_positive_int("--intermediate"), default=None)
    pre.add_argument("--seq-len", type=_positive_int("--seq-len"), default=None)
    pre.add_argument("--batch", type=_positive_int("--batch"), default=None)
    pre.add_argument("--lr", type=_positive_float("--lr"), default=None)
    pre.add_argument("--seed", type=int, default=None)
    pre.add_argument("--threads", type=_positive_int("--threads"), default=2)
    pre.set_defaults(func=_pretrain)

    tr = verbs.add_parser("train", help="few-shot / semi-supervised PET training (or the causal-LM head)")
    tr.add_argument("--scorer", choices=SCORERS, default="mlm")
    tr.add_argument("--model", default=None, help="language model folder (default: the shipped one)")
    tr.add_argument("--data", default=None, help="labelled train file (default: the sentiment train split)")
    tr.add_argument("--shots", type=_positive_int("--shots"), default=None, help="labelled examples (default: 1 %%)")
    tr.add_argument("--semi", action="store_true", help="add the MLM loss on the unlabelled rest and distil")
    tr.add_argument("--zero-shot", action="store_true", help="clm: fit only the zero-shot median calibration")
    tr.add_argument("--out", required=True, help="checkpoint folder to write")
    tr.add_argument("--eval-data", default=None, help="labelled file to report accuracy on (default: valid split)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--minutes", type=_positive_float("--minutes"), default=None, help="wall-clock budget")
    tr.add_argument("--threads", type=_positive_int("--threads"), default=2)
    tr.set_defaults(func=_train)

    ev = verbs.add_parser("eval", help="accuracy natively and on each unit (agreement, McNemar p)")
    _scoring_args(ev)
    ev.add_argument("--data", default=None, help="text<TAB>label file (default: the sentiment valid split)")
    ev.add_argument("--limit", type=_positive_int("--limit"), default=None, help="first N examples only")
    ev.add_argument("--unit", nargs="+", default=[], metavar="NAME", help=f"units, e.g. {' '.join(STANDARD_UNITS)}")
    ev.add_argument("--no-probe", action="store_true", help="skip the track() coverage probe per unit")
    ev.add_argument("--json", action="store_true", help="print n, accuracy, units as JSON")
    ev.set_defaults(func=_eval)

    cl = verbs.add_parser("classify", help="label one text and print both class probabilities")
    _scoring_args(cl)
    cl.add_argument("text", nargs="+", help="the text(s) to classify")
    cl.add_argument("--json", action="store_true")
    cl.set_defaults(func=_classify)


def _scoring_args(p) -> None:
    p.add_argument("--scorer", choices=SCORERS, default="mlm")
    p.add_argument("--checkpoint", default=None, help="PET checkpoint folder (default: the shipped one)")
    p.add_argument("--model", default=None, help="use this language model folder zero-shot instead of a checkpoint")
    p.add_argument("--calibration", choices=CALIBRATIONS, default=None, help="override the checkpoint's")
    p.add_argument("--threads", type=_positive_int("--threads"), default=2)


def _env() -> None:
    if "torch" not in sys.modules and "numba" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see benchmarks/emulate.md


def _pretrain(args) -> int:
    _env()
    from dataclasses import asdict

    from .pretrain import PretrainSettings, pretrain

    settings = PretrainSettings()
    for name in ("steps", "layers", "hidden", "heads", "intermediate", "seq_len", "batch", "lr", "seed"):
        value = getattr(args, name)
        if value is not None:
            setattr(settings, name, value)
    settings.validate()
    manifest = pretrain(settings, args.out, work=args.work, minutes=args.minutes, resume=args.resume,
                        threads=args.threads)
    fig = manifest["figures"]
    held = ", ".join(f"{k} {v['masked_accuracy']:.3f}" for k, v in fig["heldout"].items())
    state = "complete" if fig["complete"] else "stopped by --minutes (run again with --resume)"
    print(f"{args.out}: {state}; {fig['steps']}/{asdict(settings)['steps']} steps, {fig['tokens']:,} tokens, "
          f"{fig['tokens_per_second']:.0f} tokens/s; held-out masked-token accuracy: {held}")
    return 0


def _train(args) -> int:
    _env()
    from .train import train_command

    return train_command(args)


def _eval(args) -> int:
    _env()
    from .task import eval_command

    return eval_command(args)


def _classify(args) -> int:
    _env()
    from .task import classify_command

    return classify_command(args)


def main(argv=None) -> int:
    """Run ``pet`` on its own (``python -m kexue_hw.models.pet.cli VERB ...``), with the CLI's error handling."""
    from ...spec import SpecError

    parser = argparse.ArgumentParser(prog="kexue-hw")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["pet", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except (SpecError, ValueError) as e:
        print(f"kexue-hw pet: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
