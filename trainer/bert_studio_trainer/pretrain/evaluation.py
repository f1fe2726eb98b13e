"""Held-out masked-LM evaluation outside a run: a model folder (or module) on a text corpus, with
fixed masks. Used to record the fill-mask model's figures and by tests; the same figures as a
run's eval events (masked-token accuracy, perplexity = exp(mean cross-entropy of masked tokens))."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.collate import pad_batch
from .corpus import read_corpus
from .features import add_static_masks, build_sequences, tokenize_documents
from .masking import IGNORE, MaskingConfig


def heldout_features(corpus: Path, tokenizer: Any, max_seq_length: int = 128, seed: int = 1234,
                     max_sequences: int | None = None) -> list[dict[str, Any]]:
    """Packed [CLS] block [SEP] sequences of the corpus with fixed 15% masks."""
    docs = read_corpus(corpus)
    feats = build_sequences(tokenize_documents(docs, tokenizer), tokenizer, False, max_seq_length, 0.0, seed)
    feats = feats[:max_sequences] if max_sequences else feats
    add_static_masks(feats, MaskingConfig.from_tokenizer(tokenizer), seed)
    return feats


@torch.inference_mode()
def evaluate_mlm(model: torch.nn.Module, features: Sequence[dict[str, Any]], pad_id: int = 0,
                 batch_size: int = 32) -> dict[str, float]:
    """Masked-token accuracy and perplexity of any HF masked LM (logits at every position)."""
    was_training = model.training
    model.eval()
    correct = count = 0
    loss_sum = 0.0
    for s in range(0, len(features), batch_size):
        batch = pad_batch(features[s:s + batch_size], {"input_ids": pad_id, "labels": IGNORE})
        labels = batch.pop("labels")
        logits = model(**batch).logits if not hasattr(model, "cls") else _masked_logits(model, batch, labels)
        gold = labels[labels != IGNORE]
        if logits.shape[0] != gold.shape[0]:
            logits = logits[labels != IGNORE]
        logits = logits.float()
        correct += int((logits.argmax(-1) == gold).sum())
        count += int(gold.numel())
        loss_sum += float(torch.nn.functional.cross_entropy(logits, gold, reduction="sum"))
    model.train(was_training)
    mean = loss_sum / max(count, 1)
    return {"mlm_accuracy": correct / max(count, 1), "perplexity": math.exp(min(mean, 700.0)), "mlm_loss": mean,
            "masked_tokens": float(count)}


def _masked_logits(model: torch.nn.Module, batch: dict[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
    # A BERT with an MLM head: project only the masked positions (the same numbers, less work).
    hidden = model.bert(**batch).last_hidden_state  # type: ignore[operator]
    return model.cls.predictions(hidden[labels != IGNORE])  # type: ignore[union-attr]


def unigram_baseline(train_features: Sequence[dict[str, Any]], eval_features: Sequence[dict[str, Any]],
                     special_ids: set[int] | frozenset[int]) -> tuple[int, float]:
    """(most frequent training token, accuracy of always predicting it at the eval masks)."""
    counts: Counter[int] = Counter(t for f in train_features for t in f["input_ids"] if t not in special_ids)
    top = counts.most_common(1)[0][0]
    gold = np.array([t for f in eval_features for t in f["labels"] if t != IGNORE])
    return top, float((gold == top).mean())
