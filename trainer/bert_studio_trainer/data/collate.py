"""Dynamic padding: each batch is padded to its own longest feature, rounded up to a multiple of 8
where the caller asks (the training loop does on a GPU, for tensor cores; not on a CPU, where the
rounding only adds tokens)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
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


# ---- packing ----------------------------------------------------------------------------------
# Several short examples share one row of the padded batch's length: position ids restart at each
# example and a block-diagonal attention mask keeps examples apart, so the encoder (embeddings,
# attention, feed-forward: nearly all the FLOPs) runs on fewer rows with padding only at row ends.
# A hook on the encoder's output puts each example's hidden states back in the unpacked layout
# [examples, length, hidden], so the task head, its loss and its labels are exactly the unpacked ones.
# Chosen over varlen SDPA on nested tensors, whose training (backward) path on CPU is incomplete in
# torch 2.x and which the transformers encoders do not accept; a 4-D mask goes through them as is.
# The dense attention still spans the whole row (blocks off the diagonal are masked, not skipped):
# the saving is in the linear layers, in proportion to the padding removed.
PACKING_TASKS = ("sequence_classification", "token_classification")
PACKING_TOLERANCE = 1e-4  # max |packed - unpacked| of the check's fp32 logits (healthy: ~1e-6)


def pack_rows(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Example indices per row, first-fit over the examples longest first; no row over capacity."""
    rows: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        r = next((r for r, free in enumerate(room) if free >= lengths[i]), None)
        if r is None:
            rows.append([])
            room.append(capacity)
            r = len(rows) - 1
        rows[r].append(i)
        room[r] -= lengths[i]
    return rows


class Packer:
    """Packs a padded batch (pad_batch's output) and restores the unpacked layout after the encoder.

    ``pack`` returns the model's inputs (input_ids, token_type_ids, position_ids, a boolean
    [rows, 1, length, length] mask; labels unchanged) and the index that unpacks the encoder output.
    """

    def __init__(self, model: torch.nn.Module, position_offset: int = 0) -> None:
        self.encoder = _encoder_of(model)
        self.position_offset = position_offset

    def pack(self, batch: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        mask = batch["attention_mask"]
        n, length = mask.shape
        lengths = mask.sum(1).tolist()
        rows = pack_rows(lengths, length)
        segment = torch.zeros(len(rows), length, dtype=torch.long)  # 0 = row-end padding
        positions = torch.full((len(rows), length), self.position_offset, dtype=torch.long)
        source = torch.zeros(len(rows), length, dtype=torch.long)  # flat index into the unpacked batch
        index = torch.zeros(n, length, dtype=torch.long)  # flat index into the packed rows, per example token
        for r, members in enumerate(rows):
            start = 0
            for i in members:
                k = lengths[i]
                segment[r, start:start + k] = i + 1
                positions[r, start:start + k] = torch.arange(k) + self.position_offset
                source[r, start:start + k] = torch.arange(k) + i * length
                index[i, :k] = torch.arange(start, start + k) + r * length
                index[i, k:] = r * length + start  # padding: any real row; its outputs are never read
                start += k
        packed: dict[str, torch.Tensor] = {}
        for key, value in batch.items():
            if key in ("input_ids", "token_type_ids"):
                # Row-end padding gets id 0: it is masked off from every example and never read.
                packed[key] = torch.where(segment > 0, value.reshape(-1)[source], 0)
            elif key != "attention_mask":
                packed[key] = value  # labels: the head's loss is computed in the unpacked layout
        packed["position_ids"] = positions
        packed["attention_mask"] = (segment[:, None, :, None] == segment[:, None, None, :])
        return packed, index

    @contextlib.contextmanager
    def unpacking(self, index: torch.Tensor) -> Iterator[None]:
        """While active, the encoder's last hidden state comes out as [examples, length, hidden]."""

        def unpack(_module: torch.nn.Module, _inputs: Any, out: Any) -> Any:
            hidden = out[0]
            flat = hidden.reshape(-1, hidden.shape[-1])[index.reshape(-1)].reshape(*index.shape, hidden.shape[-1])
            if isinstance(out, tuple):
                return (flat, *out[1:])
            out.last_hidden_state = flat
            return out

        handle = self.encoder.register_forward_hook(unpack)
        try:
            yield
        finally:
            handle.remove()

    def difference(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> float:
        """Max |packed - unpacked| of the model's fp32 logits at real tokens, in eval mode (no dropout)."""
        packed, index = self.pack(batch)
        device = next(model.parameters()).device
        plain = {k: v.to(device) for k, v in batch.items() if k != "labels"}
        packed = {k: v.to(device) for k, v in packed.items() if k != "labels"}
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                want = model(**plain).logits.float()
                with self.unpacking(index.to(device)):
                    got = model(**packed).logits.float()
        finally:
            model.train(was_training)
        if got.shape != want.shape:
            return math.inf
        if want.dim() == 3:  # token classification: real tokens only
            real = plain["attention_mask"].bool()
            got, want = got[real], want[real]
        return float((got - want).abs().max())


def _encoder_of(model: torch.nn.Module) -> torch.nn.Module:
    """The module whose output is the last hidden state, before any pooler or head."""
    base = getattr(model, "base_model", model)
    for name in ("encoder", "transformer"):
        module = getattr(base, name, None)
        if isinstance(module, torch.nn.Module):
            return module
    raise ValueError(f"{type(base).__name__} has no encoder module to unpack after")


def check_sample(features: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The features an equivalence check runs on: the longest and the 7 shortest (mixed lengths,
    padding, and rows that packing fills with several)."""
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    return [features[i] for i in dict.fromkeys([order[-1], *order[:7]])]


def packer_for(model: torch.nn.Module, features: Sequence[dict[str, Any]],
               collate: Callable[[Sequence[dict[str, Any]]], dict[str, torch.Tensor]],
               position_offset: int) -> tuple[Packer | None, str]:
    """(a Packer, the log line) when this model gives its unpacked outputs on packed rows, checked on
    the longest training feature and the 7 shortest (so that rows hold several); else (None, why)."""
    name = type(model).__name__
    try:
        packer = Packer(model, position_offset)
        diff = packer.difference(model, collate(check_sample(features)))
    except (TypeError, ValueError, RuntimeError, IndexError) as e:
        return None, (f"training.packing is off for {name}: it cannot run on packed rows ({type(e).__name__}: "
                      f"{str(e)[:200]}); training on padded batches")
    if not diff <= PACKING_TOLERANCE:
        return None, (f"training.packing is off for {name}: packed rows change its outputs by {diff:.2g} (over "
                      f"{PACKING_TOLERANCE:g}); training on padded batches")
    return packer, (f"training.packing: several examples per row (restarting position ids, block-diagonal "
                    f"attention); packed and padded outputs of {name} agree within {diff:.1g}")
