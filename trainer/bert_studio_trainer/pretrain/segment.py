"""Chinese words for whole-word masking (Cui et al. 2019): a segmenter finds the words of each CJK
run, and the tokens of a word are marked so that masking chooses them together.

BERT's tokenizers split CJK text into single characters, so `##` grouping sees every character as a
word. Here each maximal run of CJK characters (the ranges BERT's tokenizer isolates) is segmented
with rjieba (jieba-rs: the jieba dictionary and algorithm, compiled; bench/results/chinese-segmenter.json
compares it with jieba), and the words are mapped onto tokens through the fast tokenizer's
character offsets: a token continues a word when it starts inside the same word as the token before
it. Latin text keeps `##` grouping (masking.py), so mixed text gets both.

The mark travels on the token id itself: a token that continues a CJK word is a `WordContinuation`,
an int subclass equal to the plain id. Pair building and block packing (nsp.py) slice and join id
lists without knowing, so every training sequence carries its word boundaries, computed once with
the tokenized corpus rather than in every epoch, and code that ignores the mark sees the plain id.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

# The code points BERT's BasicTokenizer._is_chinese_char (and tokenizers' BertPreTokenizer) treat as
# CJK: each becomes its own token.
_CJK = ("\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\U00020000-\U0002a6df\U0002a700-\U0002b73f"
        "\U0002b740-\U0002b81f\U0002b820-\U0002ceaf\U0002f800-\U0002fa1f")
CJK_RUN = re.compile(f"[{_CJK}]+")


class WordContinuation(int):
    """A token id whose token continues the previous token's CJK word; equal to the plain id."""

    __slots__ = ()


def has_cjk(text: str) -> bool:
    return CJK_RUN.search(text) is not None


def cjk_words(text: str) -> np.ndarray:
    """For each character of `text` (and one past the end), the index of the CJK word it belongs
    to, -1 outside CJK runs."""
    import rjieba

    word_of = np.full(len(text) + 1, -1, dtype=np.int64)
    n = 0
    for run in CJK_RUN.finditer(text):
        lengths = [len(w) for w in rjieba.cut(run.group())]
        word_of[run.start():run.end()] = np.repeat(np.arange(n, n + len(lengths)), lengths)
        n += len(lengths)
    return word_of


def mark_words(ids: Sequence[int], offsets: Sequence[tuple[int, int]], text: str) -> list[int]:
    """`ids` with every token that starts inside the same CJK word as the token before it turned into
    a WordContinuation. offsets are the tokens' (start, end) characters in `text`."""
    out = list(ids)
    if len(out) < 2:
        return out
    w = cjk_words(text)[np.fromiter((o[0] for o in offsets), dtype=np.int64, count=len(out))]
    for i in (np.nonzero((w[1:] >= 0) & (w[1:] == w[:-1]))[0] + 1).tolist():
        out[i] = WordContinuation(out[i])
    return out


def tokenize_marking_words(sentences: Sequence[str], tokenizer: Any) -> list[list[int]]:
    """Token ids of each sentence (no special tokens), CJK word continuations marked."""
    if not sentences:
        return []
    cjk = any(has_cjk(s) for s in sentences)
    if cjk and not getattr(tokenizer, "is_fast", False):
        raise ValueError("Whole-word masking of Chinese text needs a fast tokenizer (a tokenizer.json beside the "
                         "vocabulary, for character offsets): save the tokenizer with transformers' "
                         "AutoTokenizer.from_pretrained(folder).save_pretrained(folder), or set whole_word_masking "
                         "to false.")
    enc = tokenizer(list(sentences), add_special_tokens=False, return_attention_mask=False,
                    return_token_type_ids=False, return_offsets_mapping=cjk, verbose=False)
    if not cjk:
        return enc["input_ids"]
    return [mark_words(ids, offsets, s) if has_cjk(s) else ids
            for ids, offsets, s in zip(enc["input_ids"], enc["offset_mapping"], sentences, strict=True)]


def word_continuations(input_ids: Sequence[int] | np.ndarray) -> np.ndarray:
    """True where a token continues the previous token's CJK word (a numpy array carries no marks)."""
    if isinstance(input_ids, np.ndarray):
        return np.zeros(len(input_ids), dtype=bool)
    return np.fromiter((type(t) is WordContinuation for t in input_ids), dtype=bool, count=len(input_ids))
