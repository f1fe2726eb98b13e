"""Label sets (fixed by spec.data.labels or collected from the training data, in a stable order) and
the model with a fresh head for them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..models import from_pretrained_kwargs
from ..spec import ModelRef, SpecError

if TYPE_CHECKING:
    import torch


def _key(label: str) -> tuple[int, float | str]:
    try:
        return (0, float(label))  # "0" < "1" < "10", as numbers
    except ValueError:
        return (1, label)


def label_list(spec_labels: list[str] | None, seen: Iterable[str], outside_first: str | None = None) -> list[str]:
    found = set(seen)
    if spec_labels is not None:
        unknown = sorted(found - set(spec_labels))
        if unknown:
            raise SpecError(f"Labels in the data but not in data.labels: {', '.join(unknown[:10])}; add them to "
                            "data.labels, or remove data.labels to take the labels from the data.", "data.labels")
        return list(spec_labels)
    labels = sorted(found, key=_key)
    if outside_first in labels:
        labels.remove(outside_first)
        labels.insert(0, outside_first)
    return labels


def check_known(labels: list[str], seen: Iterable[str], where: str) -> None:
    unknown = sorted(set(seen) - set(labels))
    if unknown:
        raise SpecError(f"Labels in {where} never seen in training: {', '.join(unknown[:10])}; add training examples "
                        "for them or remove them from the validation data.", where)


def build_labelled_model(auto_class: str, model_ref: ModelRef, labels: list[str], **config: Any) -> torch.nn.Module:
    """`transformers.<auto_class>` on the user's model with a fresh head for `labels` (id2label in config.json).

    Extra keyword arguments become config attributes (problem_type, a decision threshold...); they
    are set after loading because from_pretrained hands keys unknown to the config to the model.
    """
    import transformers

    cls = getattr(transformers, auto_class)
    model = cls.from_pretrained(
        model_ref.path, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={v: i for i, v in enumerate(labels)},
        **from_pretrained_kwargs(model_ref.trust_pickle),
    )
    for key, value in config.items():
        setattr(model.config, key, value)
    return model
