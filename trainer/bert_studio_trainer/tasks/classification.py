"""sequence_classification: single texts or pairs ([CLS] A [SEP] B [SEP], token_type_ids)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.collate import pad_batch
from ..data.readers import check_fields, read_glue_tsv, read_jsonl
from ..models import from_pretrained_kwargs
from ..spec import ModelRef
from .base import Batch, EvalResult, Feature, RunBatches, Task
from .classification_metrics import classification_report
from .labels import check_known, label_list

MAX_MISCLASSIFIED = 50  # enough to browse in the dashboard, small enough for one event line


class ClassificationTask(Task):
    name = "sequence_classification"
    metric_names = ("accuracy", "macro_f1", "f1", "loss")
    default_metric = "accuracy"

    labels: list[str]

    def load_examples(self, path: Path, split: str) -> list[dict[str, Any]]:
        if path.suffix == ".jsonl":
            records = read_jsonl(path)
        else:
            records = read_glue_tsv(path, self.spec.data.columns)
        check_fields(records, ("text", "label"), path)
        for r in records:
            r["label"] = str(r["label"])
        if split != "train" and getattr(self, "labels", None):
            check_known(self.labels, (r["label"] for r in records), "data.validation")
        return records

    def fit_labels(self, train_examples: Sequence[dict[str, Any]]) -> None:
        self.labels = label_list(self.spec.data.labels, (r["label"] for r in train_examples))

    def build_model(self, model_ref: ModelRef) -> torch.nn.Module:
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification.from_pretrained(
            model_ref.path, num_labels=len(self.labels),
            id2label=dict(enumerate(self.labels)), label2id={v: i for i, v in enumerate(self.labels)},
            **from_pretrained_kwargs(model_ref.trust_pickle),
        )

    def build_train_features(self, examples: Sequence[dict[str, Any]], tokenizer: Any) -> list[Feature]:
        self.pad_id = tokenizer.pad_token_id or 0
        texts = [r["text"] for r in examples]
        pairs = [r.get("text_pair") for r in examples]
        has_pairs = any(p is not None for p in pairs)
        enc = tokenizer(
            texts, [p or "" for p in pairs] if has_pairs else None, truncation=True,
            max_length=self.spec.t("max_seq_length"), return_attention_mask=False,
        )
        index = {label: i for i, label in enumerate(self.labels)}
        feats = []
        for i, r in enumerate(examples):
            f: Feature = {"input_ids": enc["input_ids"][i], "labels": index[r["label"]], "example": i}
            if "token_type_ids" in enc:
                f["token_type_ids"] = enc["token_type_ids"][i]
            feats.append(f)
        return feats

    def collate(self, features: Sequence[Feature], pad_to_multiple_of: int = 8) -> Batch:
        return pad_batch(features, {"input_ids": self.pad_id, "token_type_ids": 0, "labels": 0}, pad_to_multiple_of)

    def evaluate(self, model: torch.nn.Module, examples: Sequence[dict[str, Any]], features: Sequence[Feature],
                 run_batches: RunBatches) -> EvalResult:
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
        return EvalResult(metrics, tables)


def _example_row(rec: dict[str, Any], gold: str, pred: str) -> dict[str, Any]:
    row = {"text": rec["text"], "gold": gold, "pred": pred, "source": rec.get("source")}
    if rec.get("text_pair") is not None:
        row["text_pair"] = rec["text_pair"]
    return row
