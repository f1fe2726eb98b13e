"""Accuracy, macro-F1, binary F1, per-class table and confusion matrix from integer predictions."""

from __future__ import annotations

from typing import Any

import numpy as np

# The positive class for binary F1, by common label names (GLUE's MRPC/QQP use "1").
POSITIVE_NAMES = ("1", "true", "yes", "positive", "pos", "entailment", "paraphrase")


def positive_label(labels: list[str]) -> int:
    for name in POSITIVE_NAMES:
        for i, label in enumerate(labels):
            if label.lower() == name:
                return i
    return 1


def classification_report(gold: np.ndarray, pred: np.ndarray, labels: list[str]) -> tuple[dict[str, float], dict[str, Any]]:
    k = len(labels)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (gold, pred), 1)
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0)
    metrics = {
        "accuracy": float(tp.sum() / max(len(gold), 1)),
        # Macro over the labels present in gold or predictions, as sklearn does by default.
        "macro_f1": float(f1[(support + predicted) > 0].mean()) if (support + predicted).any() else 0.0,
    }
    if k == 2:
        metrics["f1"] = float(f1[positive_label(labels)])
    else:
        metrics["f1"] = metrics["macro_f1"]
    per_class = {
        labels[i]: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(support[i])}
        for i in range(k)
    }
    tables = {"per_class": per_class, "confusion_matrix": {"labels": labels, "matrix": cm.tolist()}}
    return metrics, tables
