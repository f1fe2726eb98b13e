"""SQuAD v1.1 exact match and F1, as the official evaluate-v1.1.py script defines them."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (official order)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1_score(prediction: str, ground_truth: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(ground_truth).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def exact_match_score(prediction: str, ground_truth: str) -> bool:
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def metric_max_over_ground_truths(metric, prediction: str, ground_truths: Sequence[str]) -> float:  # type: ignore[no-untyped-def]
    return max(float(metric(prediction, gt)) for gt in ground_truths)


def squad_evaluate(predictions: dict[str, str], gold: dict[str, Sequence[str]]) -> dict[str, float]:
    """{"exact_match", "f1"} in percent over the questions in `gold` (missing predictions score 0)."""
    em = f1 = 0.0
    for qid, answers in gold.items():
        if qid not in predictions:
            continue
        em += metric_max_over_ground_truths(exact_match_score, predictions[qid], answers)
        f1 += metric_max_over_ground_truths(f1_score, predictions[qid], answers)
    n = max(len(gold), 1)
    return {"exact_match": 100.0 * em / n, "f1": 100.0 * f1 / n}
