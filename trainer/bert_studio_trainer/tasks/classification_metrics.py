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


def multilabel_report(gold: np.ndarray, pred: np.ndarray, labels: list[str]) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics of label sets given as [examples, labels] 0/1 matrices (sklearn's multilabel definitions).

    subset_accuracy (also reported as accuracy, as sklearn's accuracy_score does for label sets):
    the share of examples whose predicted set is exactly the gold set. micro_f1 pools every
    (example, label) decision; macro_f1 averages the per-label F1 over labels present in gold or
    predictions. per_class holds each label's precision, recall, F1 and support (gold count).
    """
    gold, pred = gold.astype(bool), pred.astype(bool)
    tp = (gold & pred).sum(axis=0).astype(float)
    support = gold.sum(axis=0).astype(float)
    predicted = pred.sum(axis=0).astype(float)
    k = len(labels)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0)
    pooled = support.sum() + predicted.sum()
    present = (support + predicted) > 0
    subset = float((gold == pred).all(axis=1).mean()) if len(gold) else 0.0
    metrics = {
        "subset_accuracy": subset,
        "accuracy": subset,
        "micro_f1": float(2 * tp.sum() / pooled) if pooled else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
    }
    per_class = {
        labels[i]: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(support[i])}
        for i in range(k)
    }
    return metrics, {"per_class": per_class}
