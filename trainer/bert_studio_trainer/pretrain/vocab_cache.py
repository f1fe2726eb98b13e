"""Trained vocabularies, cached by corpus content and size.

`tokenizers`' WordPiece trainer breaks frequency ties in hash-map order, so two trainings on the
same text can differ by a few pieces. A resumed run must see the very vocabulary its embeddings
were trained with, so the first training is kept and reused (and a rerun skips the training).
FIXME: the cache can be deleted between a run and its resume; the durable fix is for the engine
to hand the task the checkpoint's saved tokenizer on --resume (see tasks/pretraining.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .vocab import train_wordpiece


def cache_root() -> Path:
    return Path(os.environ.get("BERT_STUDIO_CACHE", Path.home() / ".cache" / "bert-studio")) / "vocab"


def cached_wordpiece(sentences: Sequence[str], vocab_size: int) -> Any:
    from transformers import AutoTokenizer

    h = hashlib.sha256(f"wordpiece-uncased-v1:{vocab_size}\n".encode())
    for s in sentences:
        h.update(s.encode("utf-8"))
        h.update(b"\n")
    folder = cache_root() / h.hexdigest()[:24]
    if (folder / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(folder)
    tokenizer = train_wordpiece(sentences, vocab_size)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    tokenizer.save_pretrained(tmp)
    try:
        tmp.rename(folder)
    except OSError:  # another process cached it first: use theirs, so both agree
        shutil.rmtree(tmp, ignore_errors=True)
    return AutoTokenizer.from_pretrained(folder)
