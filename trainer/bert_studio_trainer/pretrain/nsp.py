"""Training sequences from tokenized documents: BERT's sentence pairs for next-sentence
prediction, and contiguous packed blocks for MLM only.

Pairs follow `create_instances_from_document` in google-research/bert's create_pretraining_data.py:
segments fill max_seq_length - 3 tokens (short_seq_prob of them aim at a random shorter length),
A is the first 1..n-1 sentences of a chunk, B the rest (IsNext) or a run of sentences from a
random place in ANOTHER document (NotNext), and the longer side is truncated first, at the front
or the back at random. Two deliberate differences:
- IsNext/NotNext is drawn first, at exactly 50%. The original forces NotNext whenever a chunk holds
  a single sentence (a long sentence, a document's last), which skews the labels towards NotNext;
  here such a sentence is split at a random token into A and its true continuation B.
- The random document is drawn uniformly from the other documents, never the same one (the
  original retries 10 times and may fall back to the same document).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

TokenDoc = Sequence[Sequence[int]]  # a document: its sentences as token ids (no specials)


@dataclass
class PairInstance:
    tokens_a: list[int]
    tokens_b: list[int]
    is_random_next: bool
    doc: int  # index of A's document
    b_doc: int  # index of B's document (== doc for IsNext)


def truncate_pair(a: list[int], b: list[int], max_tokens: int, rng: random.Random) -> None:
    """Trim the longer of a and b, one token at a time from a random end, to max_tokens total."""
    while len(a) + len(b) > max_tokens:
        longer = a if len(a) > len(b) else b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def _target_length(max_tokens: int, short_seq_prob: float, rng: random.Random) -> int:
    # Short sequences now and then so the model also sees lengths it meets when fine-tuned.
    return rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens


def _random_b(docs: Sequence[TokenDoc], doc_index: int, target: int, rng: random.Random) -> tuple[list[int], int]:
    other = rng.randrange(len(docs) - 1)
    other += other >= doc_index  # uniform over every document but this one
    sentences = docs[other]
    start = rng.randrange(len(sentences))
    b: list[int] = []
    for sent in sentences[start:]:
        b.extend(sent)
        if len(b) >= target:
            break
    return b, other


def pairs_from_document(
    docs: Sequence[TokenDoc], doc_index: int, max_seq_length: int, short_seq_prob: float, rng: random.Random
) -> list[PairInstance]:
    if len(docs) < 2:
        raise ValueError("Next-sentence prediction needs at least two documents (NotNext partners come from another).")
    doc = [s for s in docs[doc_index] if s]
    max_tokens = max_seq_length - 3  # [CLS] A [SEP] B [SEP]
    out: list[PairInstance] = []
    chunk: list[Sequence[int]] = []
    length = 0
    target = _target_length(max_tokens, short_seq_prob, rng)
    i = 0
    while i < len(doc):
        chunk.append(doc[i])
        length += len(doc[i])
        if i == len(doc) - 1 or length >= target:
            is_random = rng.random() < 0.5
            if not is_random and len(chunk) == 1 and len(chunk[0]) < 2:
                is_random = True  # a one-token document tail has no continuation to show
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            a = [t for s in chunk[:a_end] for t in s]
            if is_random:
                b, b_doc = _random_b(docs, doc_index, target - len(a), rng)
                i -= len(chunk) - a_end  # the unused sentences start the next chunk
            elif len(chunk) == 1:
                cut = rng.randint(1, len(a) - 1)
                a, b, b_doc = a[:cut], a[cut:], doc_index
            else:
                b, b_doc = [t for s in chunk[a_end:] for t in s], doc_index
            truncate_pair(a, b, max_tokens, rng)
            if a and b:
                out.append(PairInstance(a, b, is_random, doc_index, b_doc))
            chunk, length = [], 0
            target = _target_length(max_tokens, short_seq_prob, rng)
        i += 1
    return out


def build_pairs(docs: Sequence[TokenDoc], max_seq_length: int, short_seq_prob: float, seed: int) -> list[PairInstance]:
    """All NSP instances of a corpus, documents in order; the same seed gives the same pairs."""
    rng = random.Random(seed)
    return [p for d in range(len(docs)) for p in pairs_from_document(docs, d, max_seq_length, short_seq_prob, rng)]


def encode_pair(p: PairInstance, cls_id: int, sep_id: int) -> tuple[list[int], list[int]]:
    """[CLS] A [SEP] B [SEP] with segment ids 0 for [CLS] A [SEP] and 1 for B [SEP]."""
    ids = [cls_id, *p.tokens_a, sep_id, *p.tokens_b, sep_id]
    types = [0] * (len(p.tokens_a) + 2) + [1] * (len(p.tokens_b) + 1)
    return ids, types


def pack_blocks(
    docs: Sequence[TokenDoc], max_seq_length: int, short_seq_prob: float, seed: int, cls_id: int, sep_id: int
) -> list[tuple[list[int], int]]:
    """MLM only: the corpus as one stream (documents joined by [SEP]) cut into [CLS] block [SEP]
    sequences that fill max_seq_length, short_seq_prob of them shorter. Returns (ids, doc index of
    the block's first token)."""
    rng = random.Random(seed)
    stream: list[int] = []
    owner: list[int] = []
    for d, doc in enumerate(docs):
        tokens = [t for s in doc for t in s]
        if not tokens:
            continue
        if stream:
            stream.append(sep_id)
            owner.append(d)
        stream.extend(tokens)
        owner.extend([d] * len(tokens))
    blocks = []
    max_tokens = max_seq_length - 2
    pos = 0
    while pos < len(stream):
        if stream[pos] == sep_id:  # a block never starts at a document boundary
            pos += 1
            continue
        n = _target_length(max_tokens, short_seq_prob, rng)
        body = stream[pos:pos + n]
        # A block ending on the boundary keeps it ("... [SEP] [SEP]"): the block stays full length.
        blocks.append(([cls_id, *body, sep_id], owner[pos]))
        pos += n
    return blocks
