"""The task interface: what the engine asks of every task (fine-tuning and pretraining alike).

The engine (engine/loop.py) owns the optimizer, schedule, batching, checkpoints and events; a task
owns everything that depends on what is learnt: reading examples, turning them into features, the
model head, the collate function and the metrics. Tasks register in `tasks/__init__.py`.

Lifecycle, as the engine drives it:
    task = build_task(spec)                          # tasks.__init__.build_task
    task.validate_spec(spec)                         # extra, task-specific checks -> SpecError
    tokenizer = task.build_tokenizer(model_ref)
    train = task.load_examples(spec.data.train, "train")
    task.fit_labels(train)                           # label set from data / spec.data.labels
    model = task.build_model(model_ref)
    feats = task.build_train_features(train, tokenizer)
    for batch in batches: out = task.training_step(model, task.collate(feats[i:j]))
    result = task.evaluate(model, eval_examples, eval_feats, run_batches)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..spec import ModelRef, Spec

# One tokenized feature: input_ids plus whatever the task's collate needs (lists of ints, ids).
# `input_ids` is required: its length drives length grouping and dynamic padding.
Feature = dict[str, Any]
Batch = dict[str, torch.Tensor]
# Runs the model over features in eval mode (on the right device, under autocast) and yields,
# per batch, (the feature indices of the batch, the batch as collated, the model's output as
# CPU tensors). Given to `Task.evaluate` by the engine.
RunBatches = Callable[[Sequence[Feature]], Iterable[tuple[list[int], Batch, dict[str, torch.Tensor]]]]


@dataclass
class EvalResult:
    """Metrics (name -> number) and the optional tables of an `eval` event (see DESIGN.md)."""

    metrics: dict[str, float]
    # Extra fields of the eval event: per_class, per_entity, confusion_matrix, misclassified.
    tables: dict[str, Any] = field(default_factory=dict)
    # How often each class was predicted and is gold (words for token classification), for tasks
    # with one class per prediction; the engine warns when predictions collapse to one class.
    pred_counts: dict[str, int] = field(default_factory=dict)
    gold_counts: dict[str, int] = field(default_factory=dict)


# A collapse: at least this share of predictions in one class...
COLLAPSE_PRED_SHARE = 0.99
# ...that is at most this share of the gold labels (the model ignores >= 10% of the data's classes).
COLLAPSE_GOLD_SHARE = 0.9


def collapsed_class(pred_counts: dict[str, int], gold_counts: dict[str, int]) -> tuple[str, float, float] | None:
    """(class, its share of predictions, its share of gold) when predictions collapsed to one class.

    A model that predicts the majority class (everything `O` in NER) for nearly every input, while
    the validation data has a real share of other classes, has learnt nothing yet: usually a
    learning rate too low, too few steps, or labels that do not match the inputs.
    """
    total_pred, total_gold = sum(pred_counts.values()), sum(gold_counts.values())
    if not total_pred or not total_gold:
        return None
    label, count = max(pred_counts.items(), key=lambda kv: kv[1])
    pred_share, gold_share = count / total_pred, gold_counts.get(label, 0) / total_gold
    if pred_share >= COLLAPSE_PRED_SHARE and gold_share <= COLLAPSE_GOLD_SHARE:
        return label, pred_share, gold_share
    return None


class Task(ABC):
    """One training task. Subclasses set the class attributes and implement the abstract methods."""

    name: str = ""
    # Metric names `evaluate` returns; spec.training.metric_for_best_model must be one of them.
    metric_names: tuple[str, ...] = ()
    default_metric: str = "loss"
    # Metrics where lower is better; every other metric is maximized.
    lower_is_better: frozenset[str] = frozenset({"loss", "perplexity"})
    # Task-specific spec.training fields this task accepts, with their defaults.
    training_fields: dict[str, Any] = {}

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        # Warnings about the data found while building features; the loop logs them as events.
        self.notes: list[str] = []

    # ---- spec and data -------------------------------------------------------------------
    def validate_spec(self, spec: Spec) -> None:  # noqa: B027 - optional hook
        """Raise spec.SpecError(message, field) for problems only this task can see."""

    def build_tokenizer(self, model_ref: ModelRef) -> Any:
        from transformers import AutoTokenizer

        if model_ref.is_local:
            from ..families import load_tokenizer

            return load_tokenizer(model_ref.path, self.name)  # no token types where the model has none
        return AutoTokenizer.from_pretrained(model_ref.path, use_fast=True)

    @abstractmethod
    def load_examples(self, path: Path, split: str) -> list[Any]:
        """Read a snapshot JSONL or a raw file of this task's format."""

    def fit_labels(self, train_examples: Sequence[Any]) -> None:  # noqa: B027 - optional hook
        """Fix the label set (from spec.data.labels or the training data) before build_model."""

    @abstractmethod
    def build_model(self, model_ref: ModelRef) -> torch.nn.Module:
        """A transformers model with this task's head; its forward returns `.loss` given labels."""

    @abstractmethod
    def build_train_features(self, examples: Sequence[Any], tokenizer: Any) -> list[Feature]:
        ...

    def build_eval_features(self, examples: Sequence[Any], tokenizer: Any) -> list[Feature]:
        return self.build_train_features(examples, tokenizer)

    # ---- batches ---------------------------------------------------------------------------
    @abstractmethod
    def collate(self, features: Sequence[Feature], pad_to_multiple_of: int = 8) -> Batch:
        """Pad a list of features into tensors (dynamic padding to a multiple of 8)."""

    def training_step(self, model: torch.nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        """Forward one micro-batch; return {"loss": scalar tensor, ...extra scalar losses}.

        Extra keys (e.g. mlm_loss, nsp_loss) are averaged and reported in step events.
        """
        out = model(**batch)
        return {"loss": out.loss}

    # ---- evaluation ------------------------------------------------------------------------
    @abstractmethod
    def evaluate(
        self, model: torch.nn.Module, examples: Sequence[Any], features: Sequence[Feature], run_batches: RunBatches
    ) -> EvalResult:
        ...

    def is_better(self, metric: str, value: float, best: float | None) -> bool:
        if best is None:
            return True
        return value < best if metric in self.lower_is_better else value > best

    # ---- export ----------------------------------------------------------------------------
    def save_extras(self, model_dir: Path) -> None:  # noqa: B027 - optional hook
        """Write anything besides weights, config and tokenizer that model/ needs."""
