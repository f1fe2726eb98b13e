"""Command line: `python -m bert_studio_trainer train --run-dir DIR [--resume]` and `default-model`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import evaluate as evaluate_cli
from . import sweep as sweep_cli
from .analysis import attributions as attributions_cli
from .analysis import embeddings as embeddings_cli
from .analysis import label_errors as label_errors_cli
from .engine.control import StopControl
from .pretrain import cli as pretrain_cli

THREADS_HELP = """environment:
  BERT_STUDIO_NUM_THREADS  CPU threads for torch. By default the worker counts the cores it may use
                           (CPU affinity) less the machine's current load (1-minute load average),
                           at least 1; the choice is logged at the start of each run."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bert_studio_trainer", description="BERT Studio training worker",
                                     epilog=THREADS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train the run described by RUN_DIR/spec.json", epilog=THREADS_HELP,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    p_train.add_argument("--run-dir", required=True, help="the run folder (spec.json in, events and models out)")
    p_train.add_argument("--resume", action="store_true", help="continue from the newest complete checkpoint")
    sub.add_parser("default-model", help="print the folder of the default pretrained model")
    pretrain_cli.add_commands(sub)  # inspect-masking, build-vocab
    evaluate_cli.add_command(sub)  # evaluate --model RUN --data FILE --out DIR
    sweep_cli.add_command(sub)  # sweep --study-dir DIR [--resume]
    label_errors_cli.add_command(sub)  # label-errors --model RUN [--data FILE --folds K]
    attributions_cli.add_command(sub)  # attribute --model RUN --text TEXT | --serve
    embeddings_cli.add_command(sub)  # embeddings --model RUN [--split --method --pooling --max-examples]
    args = parser.parse_args(argv)
    control = None
    if args.command == "train":
        # First, before torch loads: a stop (SIGTERM, SIGINT, the stop file) while the worker starts
        # ends it as `stopped` instead of killing it with nothing written.
        control = StopControl(Path(args.run_dir).resolve())
        control.install()
    if args.command in pretrain_cli.COMMANDS:
        return pretrain_cli.run_command(args)
    if args.command == "evaluate":
        return evaluate_cli.run_command(args)
    if args.command == "sweep":
        return sweep_cli.run_command(args)
    if args.command == "label-errors":
        return label_errors_cli.run_command(args)
    if args.command == "embeddings":
        return embeddings_cli.run_command(args)
    if args.command == "attribute":
        return attributions_cli.run_command(args)
    if args.command == "default-model":
        from .models import default_model_path

        print(default_model_path())
        return 0
    from .train import train

    return train(args.run_dir, resume=args.resume, control=control)


if __name__ == "__main__":
    sys.exit(main())
