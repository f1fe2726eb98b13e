"""BERT's masked-LM corruption: choose 15% of the non-special tokens, then replace 80% of the
chosen with [MASK], 10% with a random token and leave 10% unchanged (Devlin et al. 2019, 3.1).

The number chosen per sequence is `n * p` rounded stochastically (floor, +1 with probability of
the fraction), so the rate is exactly p in expectation at every length; the original rounds,
which biases short sequences. Everything draws from the numpy Generator it is given: the same
seed gives the same masks.

Whole-word masking chooses words, not tokens, until the budget is met: a WordPiece word is a piece
and its `##` pieces; a CJK word is the run of tokens marked by the segmenter (segment.py), so mixed
text gets both. Sequences without CJK marks are grouped, and masked, exactly as before marks existed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .segment import word_continuations

IGNORE = -100  # label of positions that are not predicted (PyTorch's cross-entropy default)
# What happened to each position; the inspector shows these names.
NOT_CHOSEN, MASKED, RANDOM, KEPT = 0, 1, 2, 3
BRANCH_NAMES = {NOT_CHOSEN: None, MASKED: "mask", RANDOM: "random", KEPT: "keep"}


@dataclass(frozen=True)
class MaskingConfig:
    mask_token_id: int
    special_ids: frozenset[int]
    # Ids a "random token" is drawn from: the vocabulary without special tokens, so that a random
    # replacement never plants a [CLS]/[SEP]/[PAD] in the middle of a sentence.
    replacement_ids: np.ndarray
    mlm_probability: float = 0.15
    mask_ratio: float = 0.8
    random_ratio: float = 0.1
    whole_word: bool = False
    # continuation[id] is True for WordPiece "##" pieces (used by whole-word masking).
    continuation: np.ndarray | None = None

    @classmethod
    def from_tokenizer(cls, tokenizer: object, mlm_probability: float = 0.15, whole_word: bool = False) -> MaskingConfig:
        vocab: dict[str, int] = tokenizer.get_vocab()  # type: ignore[attr-defined]
        size = max(vocab.values()) + 1
        special = frozenset(int(i) for i in tokenizer.all_special_ids)  # type: ignore[attr-defined]
        cont = np.zeros(size, dtype=bool)
        for tok, i in vocab.items():
            cont[i] = tok.startswith("##")
        replacement = np.array(sorted(set(vocab.values()) - special), dtype=np.int64)
        return cls(int(tokenizer.mask_token_id), special, replacement, mlm_probability,  # type: ignore[attr-defined]
                   whole_word=whole_word, continuation=cont)


def _units(ids: np.ndarray, candidates: np.ndarray, cfg: MaskingConfig, cjk: np.ndarray) -> list[np.ndarray]:
    """Groups of positions chosen together: whole words (a piece and its ##s; a segmenter's CJK word,
    whose continuing tokens `cjk` marks)."""
    units: list[list[int]] = []
    prev = -2
    pieces = cfg.continuation if cfg.continuation is not None else np.zeros(int(ids.max(initial=0)) + 1, dtype=bool)
    for pos in candidates.tolist():
        if units and pos == prev + 1 and (pieces[ids[pos]] or cjk[pos]):
            units[-1].append(pos)
        else:
            units.append([pos])
        prev = pos
    return [np.array(u) for u in units]


def _candidates(ids: np.ndarray, cfg: MaskingConfig) -> np.ndarray:
    return np.nonzero(~np.isin(ids, np.fromiter(cfg.special_ids, dtype=np.int64)))[0]


def word_units(input_ids: Sequence[int] | np.ndarray, cfg: MaskingConfig) -> list[np.ndarray]:
    """The words whole-word masking chooses from: positions of each word's tokens, in order, every
    non-special position in exactly one. Pass the id list (a numpy array drops the CJK marks)."""
    ids = np.asarray(input_ids, dtype=np.int64)
    return _units(ids, _candidates(ids, cfg), cfg, word_continuations(input_ids))


def mask_sequence(
    input_ids: Sequence[int] | np.ndarray, cfg: MaskingConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Corrupt one sequence. Returns (corrupted ids, labels with IGNORE where not chosen, branch).
    For whole-word masking pass the id list as built (it carries the CJK word marks, segment.py)."""
    ids = np.asarray(input_ids, dtype=np.int64)
    candidates = _candidates(ids, cfg)
    branch = np.zeros(len(ids), dtype=np.int8)
    labels = np.full(len(ids), IGNORE, dtype=np.int64)
    exact = len(candidates) * cfg.mlm_probability
    k = int(exact) + int(rng.random() < exact - int(exact))
    if k == 0:
        return ids.copy(), labels, branch
    if cfg.whole_word:
        units = _units(ids, candidates, cfg, word_continuations(input_ids))
        chosen_list: list[np.ndarray] = []
        count = 0
        for u in rng.permutation(len(units)).tolist():
            # As in BERT's create_pretraining_data: skip a word that would overshoot the budget.
            if count + len(units[u]) > k:
                continue
            chosen_list.append(units[u])
            count += len(units[u])
            if count == k:
                break
        chosen = np.sort(np.concatenate(chosen_list)) if chosen_list else np.zeros(0, dtype=np.int64)
    else:
        chosen = np.sort(rng.choice(candidates, size=k, replace=False))
    out = ids.copy()
    labels[chosen] = ids[chosen]
    r = rng.random(len(chosen))
    to_mask = chosen[r < cfg.mask_ratio]
    to_random = chosen[(r >= cfg.mask_ratio) & (r < cfg.mask_ratio + cfg.random_ratio)]
    branch[chosen] = KEPT
    branch[to_mask] = MASKED
    branch[to_random] = RANDOM
    out[to_mask] = cfg.mask_token_id
    out[to_random] = rng.choice(cfg.replacement_ids, size=len(to_random))
    return out, labels, branch


def mask_batch(
    sequences: Iterable[Sequence[int]], cfg: MaskingConfig, rng: np.random.Generator
) -> tuple[list[list[int]], list[list[int]]]:
    """Corrupt each sequence of a batch (before padding). Returns (input_ids, labels) lists."""
    ids_out, labels_out = [], []
    for seq in sequences:
        ids, labels, _ = mask_sequence(seq, cfg, rng)
        ids_out.append(ids.tolist())
        labels_out.append(labels.tolist())
    return ids_out, labels_out
