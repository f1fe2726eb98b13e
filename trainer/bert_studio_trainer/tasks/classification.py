"""sequence_classification: single texts or pairs ([CLS] A [SEP] B [SEP], token_type_ids), one label
per example (softmax, cross-entropy) or, with data.multi_label, a set of labels per example
(problem_type "multi_label_classification": one sigmoid per label, binary cross-entropy, a label is
predicted when its probability reaches training.threshold)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.collate import pad_batch
from ..data.readers import OPTIONAL_TEXT, TEXT, check_fields, read_glue_tsv, read_jsonl, record_where
from ..spec import ModelRef, Spec, SpecError
from .base import Batch, EvalResult, Feature, RunBatches, Task
from .classification_metrics import classification_report, multilabel_report
from .labels import build_labelled_model, check_known, label_list

MAX_MISCLASSIFIED = 50  # enough to browse in the dashboard, small enough for one event line
MULTI_LABEL = "multi_label_classification"  # transformers' problem_type: BCEWithLogitsLoss on float targets
THRESHOLD_KEY = "multi_label_threshold"  # config.json attribute the host's predict path reads
PAIR_KEY = "bert_studio_text_pair"  # config.json: trained on sentence pairs, so the editor sends two segments


class ClassificationTask(Task):
    name = "sequence_classification"
    metric_names = ("accuracy", "macro_f1", "f1", "loss")
    default_metric = "accuracy"

    labels: list[str]

    def __init__(self, spec: Spec) -> None:
        super().__init__(spec)
        self.multi_label = spec.data.multi_label
        if self.multi_label:
            # accuracy is the subset accuracy, under both names (sklearn's accuracy_score on label sets).
            self.metric_names = ("micro_f1", "macro_f1", "subset_accuracy", "accuracy", "loss")
            self.default_metric = "micro_f1"

    def load_examples(self, path: Path, split: str) -> list[dict[str, Any]]:
        if path.suffix == ".jsonl":
            records = read_jsonl(path)
        else:
            records = read_glue_tsv(path, self.spec.data.columns)
        check_fields(records, ("text", "label"), path, {"text": TEXT, "text_pair": OPTIONAL_TEXT})
        for r in records:
            r["label"] = self._label_set(r, path) if self.multi_label else self._single_label(r, path)
        if split != "train" and getattr(self, "labels", None):
            check_known(self.labels, (lab for r in records for lab in _as_list(r["label"])), "data.validation")
        return records

    def _single_label(self, rec: dict[str, Any], path: Path) -> str:
        if isinstance(rec["label"], list):
            raise SpecError(f"{record_where(rec, path)}: the label is a list; set data.multi_label to true to train a "
                            "multi-label classifier.", "data.multi_label")
        return str(rec["label"])

    def _label_set(self, rec: dict[str, Any], path: Path) -> list[str]:
        value, delim = rec["label"], self.spec.data.label_delimiter
        if isinstance(value, list):
            items = [str(v) for v in value]
        elif isinstance(value, str):
            items = value.split(delim) if delim else [value]
        elif value is None:
            raise SpecError(f"{record_where(rec, path)}: the label is null; use [] for an example with no labels.", "data.label")
        else:
            items = [str(value)]
        # Blank entries ("PER||LOC", "") are no label; a label listed twice counts once.
        return list(dict.fromkeys(s.strip() for s in items if s.strip()))

    def fit_labels(self, train_examples: Sequence[dict[str, Any]]) -> None:
        self.labels = label_list(self.spec.data.labels, (lab for r in train_examples for lab in _as_list(r["label"])))
        self.pairs = any(r.get("text_pair") is not None for r in train_examples)

    def build_model(self, model_ref: ModelRef) -> torch.nn.Module:
        extra: dict[str, Any] = {"problem_type": MULTI_LABEL, THRESHOLD_KEY: self.spec.t("threshold")} if self.multi_label else {}
        if getattr(self, "pairs", False):
            extra[PAIR_KEY] = True
        return build_labelled_model("AutoModelForSequenceClassification", model_ref, self.labels, **extra)

    def build_train_features(self, examples: Sequence[dict[str, Any]], tokenizer: Any) -> list[Feature]:
        self.pad_id = tokenizer.pad_token_id or 0
        texts = [r["text"] for r in examples]
        pairs = [r.get("text_pair") for r in examples]
        has_pairs = any(p is not None for p in pairs)
        enc = tokenizer(
            texts, [p or "" for p in pairs] if has_pairs else None, truncation=True,
            max_length=self.spec.t("max_seq_length"), return_attention_mask=False,
        )
        alone = [i for i, p in enumerate(pairs) if p is None] if has_pairs else []
        if alone:  # a file mixing pairs and single texts: a single text is read alone, as the editor reads it
            single = tokenizer([texts[i] for i in alone], truncation=True, max_length=self.spec.t("max_seq_length"),
                               return_attention_mask=False)
            for k, i in enumerate(alone):
                for key in ("input_ids", "token_type_ids"):
                    if key in enc:
                        enc[key][i] = single[key][k]
        index = {label: i for i, label in enumerate(self.labels)}
        feats = []
        for i, r in enumerate(examples):
            f: Feature = {"input_ids": enc["input_ids"][i], "labels": self._target(r["label"], index), "example": i}
            if "token_type_ids" in enc:
                f["token_type_ids"] = enc["token_type_ids"][i]
            feats.append(f)
        return feats

    def _target(self, label: str | list[str], index: dict[str, int]) -> int | list[float]:
        if not self.multi_label:
            return index[label]  # type: ignore[index]
        hot = [0.0] * len(self.labels)
        for lab in label:
            hot[index[lab]] = 1.0
        return hot

    def collate(self, features: Sequence[Feature], pad_to_multiple_of: int = 8) -> Batch:
        if not self.multi_label:
            return pad_batch(features, {"input_ids": self.pad_id, "token_type_ids": 0, "labels": 0}, pad_to_multiple_of)
        # Multi-hot targets have one entry per label, not per token: not padded with the sequence.
        batch = pad_batch(features, {"input_ids": self.pad_id, "token_type_ids": 0}, pad_to_multiple_of)
        batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.float32)
        return batch

    def evaluate(self, model: torch.nn.Module, examples: Sequence[dict[str, Any]], features: Sequence[Feature],
                 run_batches: RunBatches) -> EvalResult:
        if self.multi_label:
            return self._evaluate_multi_label(examples, features, run_batches)
        n = len(features)
        pred = np.zeros(n, dtype=np.int64)
        gold = np.array([f["labels"] for f in features], dtype=np.int64)
        loss_sum = 0.0
        for idx, _batch, out in run_batches(features):
            pred[idx] = out["logits"].argmax(-1).numpy()
            loss_sum += float(out["loss"]) * len(idx)
        metrics, tables = classification_report(gold, pred, self.labels)
        metrics["loss"] = loss_sum / max(n, 1)
        wrong = np.nonzero(pred != gold)[0][:MAX_MISCLASSIFIED]
        tables["misclassified"] = [_example_row(examples[features[i]["example"]], self.labels[gold[i]], self.labels[pred[i]]) for i in wrong]
        counts = np.array(tables["confusion_matrix"]["matrix"])
        return EvalResult(metrics, tables, pred_counts=dict(zip(self.labels, counts.sum(axis=0).tolist(), strict=True)),
                          gold_counts=dict(zip(self.labels, counts.sum(axis=1).tolist(), strict=True)))

    def _evaluate_multi_label(self, examples: Sequence[dict[str, Any]], features: Sequence[Feature],
                              run_batches: RunBatches) -> EvalResult:
        n = len(features)
        gold = np.array([f["labels"] for f in features], dtype=bool).reshape(n, len(self.labels))
        pred = np.zeros_like(gold)
        loss_sum = 0.0
        for idx, _batch, out in run_batches(features):
            pred[idx] = (torch.sigmoid(out["logits"]) >= self.spec.t("threshold")).numpy()
            loss_sum += float(out["loss"]) * len(idx)
        metrics, tables = multilabel_report(gold, pred, self.labels)
        metrics["loss"] = loss_sum / max(n, 1)
        wrong = np.nonzero((gold != pred).any(axis=1))[0][:MAX_MISCLASSIFIED]
        tables["misclassified"] = [
            _example_row(examples[features[i]["example"]], self._names(gold[i]), self._names(pred[i])) for i in wrong
        ]
        return EvalResult(metrics, tables)

    def _names(self, row: np.ndarray) -> str:
        """A label set as one string for the dashboard's gold/pred columns."""
        return ", ".join(self.labels[j] for j in np.nonzero(row)[0]) or "(none)"


def _as_list(label: str | list[str]) -> list[str]:
    return label if isinstance(label, list) else [label]


def _example_row(rec: dict[str, Any], gold: str, pred: str) -> dict[str, Any]:
    row = {"text": rec["text"], "gold": gold, "pred": pred, "source": rec.get("source")}
    if rec.get("text_pair") is not None:
        row["text_pair"] = rec["text_pair"]
    return row
