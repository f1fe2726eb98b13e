"""token_classification: word-level IOB1/IOB2 tags on WordPiece (first sub-token carries the label)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

from ..data.collate import pad_batch
from ..data.readers import TEXT_LIST, check_fields, read_conll, read_jsonl, record_where
from ..spec import ModelRef, SpecError
from .base import Batch, EvalResult, Feature, RunBatches, Task
from .labels import build_labelled_model, check_known, label_list

IGNORE = -100  # label of sub-tokens after the first, special tokens and padding: no loss
MAX_MISCLASSIFIED = 50


class TokenClassificationTask(Task):
    name = "token_classification"
    metric_names = ("f1", "precision", "recall", "accuracy", "loss")
    default_metric = "f1"

    labels: list[str]

    def load_examples(self, path: Path, split: str) -> list[dict[str, Any]]:
        records = read_jsonl(path) if path.suffix == ".jsonl" else read_conll(path, self.spec.data.columns)
        check_fields(records, ("tokens", "tags"), path, {"tokens": TEXT_LIST, "tags": TEXT_LIST})
        for r in records:
            if len(r["tokens"]) != len(r["tags"]):
                raise SpecError(f"{record_where(r, path)}: {len(r['tokens'])} tokens but {len(r['tags'])} tags; give "
                                "one tag per token.", "data.tags")
        if split != "train" and getattr(self, "labels", None):
            check_known(self.labels, (t for r in records for t in r["tags"]), "data.validation")
        return records

    def fit_labels(self, train_examples: Sequence[dict[str, Any]]) -> None:
        self.labels = label_list(self.spec.data.labels, (t for r in train_examples for t in r["tags"]), outside_first="O")

    def build_model(self, model_ref: ModelRef) -> torch.nn.Module:
        return build_labelled_model("AutoModelForTokenClassification", model_ref, self.labels)

    def build_train_features(self, examples: Sequence[dict[str, Any]], tokenizer: Any) -> list[Feature]:
        self.pad_id = tokenizer.pad_token_id or 0
        enc = tokenizer([r["tokens"] for r in examples], is_split_into_words=True, truncation=True,
                        max_length=self.spec.t("max_seq_length"), return_attention_mask=False)
        index = {label: i for i, label in enumerate(self.labels)}
        feats = []
        for i, r in enumerate(examples):
            word_ids = enc.word_ids(i)
            labels, prev = [], None
            for w in word_ids:
                labels.append(index[r["tags"][w]] if w is not None and w != prev else IGNORE)
                prev = w
            f: Feature = {"input_ids": enc["input_ids"][i], "labels": labels, "word_ids": word_ids, "example": i}
            if "token_type_ids" in enc:
                f["token_type_ids"] = enc["token_type_ids"][i]
            feats.append(f)
        return feats

    def collate(self, features: Sequence[Feature], pad_to_multiple_of: int = 8) -> Batch:
        return pad_batch(features, {"input_ids": self.pad_id, "token_type_ids": 0, "labels": IGNORE}, pad_to_multiple_of)

    def word_tags(self, feature: Feature, ids: Sequence[int], words: int) -> list[str]:
        """A sentence's predicted tag per word (as seqeval scores them) from the label ids at each of the
        feature's positions: each word's first sub-token; words cut by truncation count as O."""
        tags = ["O"] * words
        prev = None
        for pos, w in enumerate(feature["word_ids"]):
            if w is not None and w != prev:
                tags[w] = self.labels[ids[pos]]
            prev = w
        return tags

    def evaluate(self, model: torch.nn.Module, examples: Sequence[dict[str, Any]], features: Sequence[Feature],
                 run_batches: RunBatches) -> EvalResult:
        gold: list[list[str]] = [list(examples[f["example"]]["tags"]) for f in features]
        pred: list[list[str]] = [["O"] * len(g) for g in gold]
        loss_sum = 0.0
        for idx, _batch, out in run_batches(features):
            ids = out["logits"].argmax(-1).numpy()
            loss_sum += float(out["loss"]) * len(idx)
            for row, i in enumerate(idx):
                pred[i] = self.word_tags(features[i], ids[row], len(gold[i]))
        words = sum(len(g) for g in gold)
        correct = sum(a == b for g, p in zip(gold, pred, strict=True) for a, b in zip(g, p, strict=True))
        metrics = {
            "f1": float(f1_score(gold, pred)), "precision": float(precision_score(gold, pred)),
            "recall": float(recall_score(gold, pred)), "accuracy": correct / max(words, 1),
            "loss": loss_sum / max(len(features), 1),
        }
        report = classification_report(gold, pred, output_dict=True, zero_division=0)
        per_entity = {
            k: {"precision": float(v["precision"]), "recall": float(v["recall"]), "f1": float(v["f1-score"]),
                "support": int(v["support"])}
            for k, v in report.items() if not k.endswith(" avg")
        }
        labels, matrix, errors = entity_confusion(gold, pred)
        wrong = [i for i in range(len(gold)) if gold[i] != pred[i]][:MAX_MISCLASSIFIED]
        misclassified = [
            {"text": " ".join(examples[features[i]["example"]]["tokens"]), "gold": " ".join(gold[i]),
             "pred": " ".join(pred[i]), "source": examples[features[i]["example"]].get("source"), "errors": errors[i]}
            for i in wrong
        ]
        return EvalResult(metrics, {"per_entity": per_entity, "misclassified": misclassified,
                                    "confusion_matrix": {"labels": labels, "matrix": matrix}},
                          pred_counts=Counter(t for p in pred for t in p), gold_counts=Counter(t for g in gold for t in g))


def entity_confusion(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> tuple[list[str], list[list[int]], list[list[list[str]]]]:
    """Entity-level confusion (seqeval's strict spans): rows gold, columns predicted, over the entity
    types plus "O" last. A predicted span equal to a gold span counts at (gold type, predicted type);
    a gold span with no predicted span of the same extent is missed (gold type, O); a predicted span
    with no gold span of its extent is spurious (O, predicted type). Also, per sentence, its errors
    as [gold, predicted] pairs."""
    per_sentence: list[list[tuple[str, str]]] = []
    types: set[str] = set()
    for g, p in zip(gold, pred, strict=True):
        gs = {(s, e): t for t, s, e in get_entities(list(g))}
        ps = {(s, e): t for t, s, e in get_entities(list(p))}
        pairs = [(t, ps.get(span, "O")) for span, t in gs.items()] + [("O", t) for span, t in ps.items() if span not in gs]
        types.update(gs.values(), ps.values())
        per_sentence.append(pairs)
    labels = [*sorted(types), "O"]
    index = {t: i for i, t in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for pairs in per_sentence:
        for a, b in pairs:
            matrix[index[a]][index[b]] += 1
    errors = [[[a, b] for a, b in pairs if a != b] for pairs in per_sentence]
    return labels, matrix, errors
