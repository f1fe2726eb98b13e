"""Dynamic padding: each batch is padded to its own longest feature, rounded up to a multiple of 8
(tensor cores and vectorized CPU kernels like aligned shapes; fewer distinct shapes for compile)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def padded_length(lengths: Sequence[int], multiple: int) -> int:
    longest = max(lengths) if lengths else 0
    return -(-longest // multiple) * multiple if multiple > 1 else longest


def pad_batch(
    features: Sequence[dict[str, Any]], pad_values: dict[str, int], pad_to_multiple_of: int = 8
) -> dict[str, torch.Tensor]:
    """Pad the list-valued keys named in pad_values; scalar keys become 1-D tensors.

    pad_values maps key -> fill value (0 for masks, pad_token_id for input_ids, -100 for labels).
    Keys absent from pad_values are left out (ids, offsets: kept by the task). attention_mask is
    built from the lengths of input_ids.
    """
    length = padded_length([len(f["input_ids"]) for f in features], pad_to_multiple_of)
    batch: dict[str, torch.Tensor] = {}
    keys = features[0].keys()
    for key in keys:
        first = features[0][key]
        if key in pad_values and isinstance(first, list):
            fill = pad_values[key]
            rows = [f[key] + [fill] * (length - len(f[key])) for f in features]
            batch[key] = torch.tensor(rows, dtype=torch.long)
        elif key in pad_values and isinstance(first, int):
            batch[key] = torch.tensor([f[key] for f in features], dtype=torch.long)
    lengths = torch.tensor([len(f["input_ids"]) for f in features])
    batch["attention_mask"] = (torch.arange(length)[None, :] < lengths[:, None]).long()
    return batch
