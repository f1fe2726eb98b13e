"""Documents -> token-id documents -> training sequences (NSP pairs or packed MLM blocks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .corpus import Document
from .masking import MaskingConfig, mask_sequence
from .nsp import build_pairs, encode_pair, pack_blocks
from .segment import tokenize_marking_words

Feature = dict[str, Any]


def tokenize_documents(docs: Sequence[Document], tokenizer: Any, words: bool = False) -> list[list[list[int]]]:
    """Every sentence to word-piece ids (no special tokens), in one batched call: fast tokenizers
    parallelize over a batch, and one call per sentence would dominate small runs. words=True (whole-word
    masking) also marks the tokens of CJK words, once, with the tokenized corpus (segment.py)."""
    flat = [s for d in docs for s in d.sentences]
    if words:
        ids = tokenize_marking_words(flat, tokenizer)
    else:
        ids = tokenizer(flat, add_special_tokens=False, return_attention_mask=False,
                        return_token_type_ids=False, verbose=False)["input_ids"] if flat else []
    out, pos = [], 0
    for d in docs:
        out.append(ids[pos:pos + len(d.sentences)])
        pos += len(d.sentences)
    return out


def build_sequences(token_docs: Sequence[Sequence[Sequence[int]]], tokenizer: Any, nsp: bool, max_seq_length: int,
                    short_seq_prob: float, seed: int) -> list[Feature]:
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    if nsp:
        feats = []
        for p in build_pairs(token_docs, max_seq_length, short_seq_prob, seed):
            ids, types = encode_pair(p, cls_id, sep_id)
            feats.append({"input_ids": ids, "token_type_ids": types, "next_sentence_label": int(p.is_random_next),
                          "doc": p.doc})
        return feats
    return [{"input_ids": ids, "doc": d} for ids, d in pack_blocks(token_docs, max_seq_length, short_seq_prob, seed,
                                                                   cls_id, sep_id)]


def add_static_masks(features: list[Feature], cfg: MaskingConfig, seed: int) -> None:
    """Fixed masks for evaluation, so every evaluation of a run scores the same positions."""
    rng = np.random.default_rng(seed)
    for f in features:
        ids, labels, _ = mask_sequence(f["input_ids"], cfg, rng)
        f["input_ids"], f["labels"] = ids.tolist(), labels.tolist()
