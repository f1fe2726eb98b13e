"""Label sets: fixed by spec.data.labels or collected from the training data, in a stable order."""

from __future__ import annotations

from collections.abc import Iterable

from ..spec import SpecError


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
            raise SpecError(f"Labels in the data but not in data.labels: {', '.join(unknown[:10])}", "data.labels")
        return list(spec_labels)
    labels = sorted(found, key=_key)
    if outside_first in labels:
        labels.remove(outside_first)
        labels.insert(0, outside_first)
    return labels


def check_known(labels: list[str], seen: Iterable[str], where: str) -> None:
    unknown = sorted(set(seen) - set(labels))
    if unknown:
        raise SpecError(f"Labels in {where} never seen in training: {', '.join(unknown[:10])}", where)
