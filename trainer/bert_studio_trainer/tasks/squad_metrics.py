"""SQuAD v1.1 exact match and F1, as the official evaluate-v1.1.py script defines them."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence

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


def average_over_questions(predictions: dict[str, str], gold: dict[str, Sequence[str]],
                           exact_match: Callable[[str, str], bool], f1: Callable[[str, str], float]) -> dict[str, float]:
    """{"exact_match", "f1"} in percent over the questions in `gold` (missing predictions score 0),
    each question scored against its best-matching gold answer, as the official scripts do."""
    em_total = f1_total = 0.0
    for qid, answers in gold.items():
        if qid not in predictions:
            continue
        em_total += metric_max_over_ground_truths(exact_match, predictions[qid], answers)
        f1_total += metric_max_over_ground_truths(f1, predictions[qid], answers)
    n = max(len(gold), 1)
    return {"exact_match": 100.0 * em_total / n, "f1": 100.0 * f1_total / n}


def squad_evaluate(predictions: dict[str, str], gold: dict[str, Sequence[str]]) -> dict[str, float]:
    """SQuAD v1.1's EM/F1 (whitespace tokens after normalisation)."""
    return average_over_questions(predictions, gold, exact_match_score, f1_score)
