"""The masking inspector: what pretraining would do to a piece of text, as JSON for the extension.

Shows the first (or --instance) training sequence the task builds from the text, which tokens were
chosen for prediction and which branch each took (mask / random / keep), the words that
whole-word masking chooses from (a WordPiece word with its ## pieces, a CJK word found by the
segmenter), and, for mlm_nsp, the sentence pair with its IsNext/NotNext label. Same text, tokenizer
and seed: same answer, and the same code path as training (corpus reader, pair builder, masking).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .corpus import parse_text
from .features import tokenize_documents
from .masking import BRANCH_NAMES, NOT_CHOSEN, MaskingConfig, mask_sequence, word_units
from .nsp import build_pairs, encode_pair, pack_blocks


def inspect_masking(text: str, tokenizer: Any, seed: int = 42, task: str = "mlm_nsp", mlm_probability: float = 0.15,
                    whole_word: bool = False, max_seq_length: int = 128, instance: int = 0) -> dict[str, Any]:
    if task not in ("mlm", "mlm_nsp"):
        raise ValueError(f"Unknown task {task!r}; use mlm or mlm_nsp.")
    docs = parse_text(text)
    if not docs:
        raise ValueError("The text holds no sentences.")
    # Word groups need character offsets (a fast tokenizer) unless whole-word masking asks for them.
    token_docs = tokenize_documents(docs, tokenizer, whole_word or getattr(tokenizer, "is_fast", False))
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    nsp: dict[str, Any] | None = None
    note = None
    if task == "mlm_nsp" and len(docs) >= 2:
        pairs = build_pairs(token_docs, max_seq_length, 0.0, seed)
        pick = pairs[min(instance, len(pairs) - 1)]
        ids, types = encode_pair(pick, cls_id, sep_id)
        nsp = {"label": "NotNext" if pick.is_random_next else "IsNext", "is_next": not pick.is_random_next,
               "a": tokenizer.decode(pick.tokens_a), "b": tokenizer.decode(pick.tokens_b),
               "a_document": pick.doc, "b_document": pick.b_doc, "instances": len(pairs)}
        count = len(pairs)
    else:
        if task == "mlm_nsp":
            note = "NSP pairs need at least two documents (separate them with a blank line); showing MLM only."
        blocks = pack_blocks(token_docs, max_seq_length, 0.0, seed, cls_id, sep_id)
        ids, _doc = blocks[min(instance, len(blocks) - 1)]
        types = [0] * len(ids)
        count = len(blocks)
    cfg = MaskingConfig.from_tokenizer(tokenizer, mlm_probability, whole_word)
    corrupted, labels, branch = mask_sequence(ids, cfg, np.random.default_rng(seed))
    names = tokenizer.convert_ids_to_tokens(ids)
    shown = tokenizer.convert_ids_to_tokens(corrupted.tolist())
    units = word_units(ids, cfg)
    word_of = {int(pos): w for w, unit in enumerate(units) for pos in unit}
    words = [{"index": w, "tokens": unit.tolist(), "text": "".join(_piece(names[p]) for p in unit),
              "chosen": bool((branch[unit] != NOT_CHOSEN).any())} for w, unit in enumerate(units)]
    tokens = []
    for i, (tid, name) in enumerate(zip(ids, names, strict=True)):
        tokens.append({"index": i, "token": name, "id": int(tid), "segment": int(types[i]), "word": word_of.get(i),
                       "special": int(tid) in cfg.special_ids, "chosen": bool(branch[i] != NOT_CHOSEN),
                       "branch": BRANCH_NAMES[int(branch[i])], "input_token": shown[i], "input_id": int(corrupted[i])})
    chosen = [t for t in tokens if t["chosen"]]
    summary = {"tokens": len(tokens), "candidates": sum(not t["special"] for t in tokens), "chosen": len(chosen),
               "words": len(words), "chosen_words": sum(w["chosen"] for w in words),
               **{b: sum(t["branch"] == b for t in chosen) for b in ("mask", "random", "keep")}}
    out: dict[str, Any] = {"task": task, "seed": seed, "mlm_probability": mlm_probability,
                           "whole_word_masking": whole_word, "max_seq_length": max_seq_length,
                           "documents": len(docs), "sequences": count, "instance": min(instance, count - 1),
                           "tokens": tokens, "words": words, "summary": summary, "nsp": nsp}
    if note:
        out["note"] = note
    return out


def _piece(token: str) -> str:
    return token[2:] if token.startswith("##") else token
