"""Task registry: task name -> "module:Class", imported on first use so a task's dependencies
load only when it runs (and pretraining lives in its own module, owned by its own engineer)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..spec import Spec
    from .base import Task

TASK_REGISTRY: dict[str, str] = {
    "sequence_classification": "bert_studio_trainer.tasks.classification:ClassificationTask",
    "token_classification": "bert_studio_trainer.tasks.ner:TokenClassificationTask",
    "question_answering": "bert_studio_trainer.tasks.qa:QuestionAnsweringTask",
    # Implemented in tasks/pretraining.py, which exposes MlmTask and MlmNspTask.
    "mlm": "bert_studio_trainer.tasks.pretraining:MlmTask",
    "mlm_nsp": "bert_studio_trainer.tasks.pretraining:MlmNspTask",
}


def task_class(name: str) -> type[Task]:
    if name not in TASK_REGISTRY:
        raise ValueError(f"Unknown task {name!r}; known tasks: {', '.join(TASK_REGISTRY)}")
    module_name, cls_name = TASK_REGISTRY[name].split(":")
    module = importlib.import_module(module_name)
    return getattr(module, cls_name)


def build_task(spec: Spec) -> Task:
    return task_class(spec.task)(spec)
