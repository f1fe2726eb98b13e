"""The worker's pretraining subcommands: `inspect-masking` and `build-vocab` (registered by
__main__.py; heavy imports wait until a command runs)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

COMMANDS = ("inspect-masking", "build-vocab")


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("inspect-masking", help="show, as JSON, how pretraining would mask a text and pair its sentences")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the text (blank lines separate documents)")
    src.add_argument("--file", help="read the text from this file")
    p.add_argument("--tokenizer", default="default", help='a tokenizer or model folder ("default": the default model)')
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--task", choices=("mlm_nsp", "mlm"), default="mlm_nsp")
    p.add_argument("--mlm-probability", type=float, default=0.15)
    p.add_argument("--whole-word-masking", action="store_true")
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--instance", type=int, default=0, help="which of the built sequences to show")
    v = sub.add_parser("build-vocab", help="train a WordPiece vocabulary on a corpus and save it as a tokenizer")
    v.add_argument("--corpus", required=True, help="a .txt/.jsonl corpus file or a folder of them")
    v.add_argument("--vocab-size", type=int, default=30522)
    v.add_argument("--out", required=True, help="folder to write the tokenizer to")


def run_command(args: argparse.Namespace) -> int:
    try:
        if args.command == "inspect-masking":
            return _inspect(args)
        return _build_vocab(args)
    except (ValueError, OSError) as e:
        print(json.dumps({"error": str(e)}), file=sys.stdout)
        return 2


def _inspect(args: argparse.Namespace) -> int:
    from transformers import AutoTokenizer

    from ..models import default_model_path
    from .inspector import inspect_masking

    text = args.text if args.text is not None else Path(args.file).read_text(encoding="utf-8")
    path = default_model_path() if args.tokenizer == "default" else Path(args.tokenizer)
    tokenizer = AutoTokenizer.from_pretrained(str(path), use_fast=True)
    result = inspect_masking(text, tokenizer, args.seed, args.task, args.mlm_probability, args.whole_word_masking,
                             args.max_seq_length, args.instance)
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _build_vocab(args: argparse.Namespace) -> int:
    from .vocab import build_vocab

    tok = build_vocab(Path(args.corpus), args.vocab_size, Path(args.out))
    print(json.dumps({"out": str(Path(args.out).resolve()), "vocab_size": len(tok)}))
    return 0
