"""Command line: `python -m bert_studio_trainer train --run-dir DIR [--resume]` and `default-model`."""

from __future__ import annotations

import argparse
import sys

from .pretrain import cli as pretrain_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bert_studio_trainer", description="BERT Studio training worker")
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train the run described by RUN_DIR/spec.json")
    p_train.add_argument("--run-dir", required=True, help="the run folder (spec.json in, events and models out)")
    p_train.add_argument("--resume", action="store_true", help="continue from the newest complete checkpoint")
    sub.add_parser("default-model", help="print the folder of the default pretrained model")
    pretrain_cli.add_commands(sub)  # inspect-masking, build-vocab
    args = parser.parse_args(argv)
    if args.command in pretrain_cli.COMMANDS:
        return pretrain_cli.run_command(args)
    if args.command == "default-model":
        from .models import default_model_path

        print(default_model_path())
        return 0
    from .train import train

    return train(args.run_dir, resume=args.resume)


if __name__ == "__main__":
    sys.exit(main())
