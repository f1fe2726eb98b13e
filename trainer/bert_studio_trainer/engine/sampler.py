"""Deterministic batch order: a pure function of (seed, epoch), so a resumed run sees exactly the
batches the uninterrupted run would have, and skips the ones it already consumed."""

from __future__ import annotations

from collections.abc import Sequence

import torch

# Sort windows of this many batches by length: padding waste falls to a few percent while the
# order across windows stays random (the same factor as HF's LengthGroupedSampler).
MEGABATCH_MULTIPLIER = 50


def epoch_batches(
    lengths: Sequence[int],
    batch_size: int,
    seed: int,
    epoch: int,
    group_by_length: bool = True,
    world_size: int = 1,
    rank: int = 0,
) -> list[list[int]]:
    """The micro-batches (lists of feature indices) this rank trains on in this epoch."""
    g = torch.Generator()
    g.manual_seed(seed * 1_000_003 + epoch)
    perm = torch.randperm(len(lengths), generator=g).tolist()
    global_batch = batch_size * world_size
    if group_by_length:
        window = global_batch * MEGABATCH_MULTIPLIER
        batches: list[list[int]] = []
        for start in range(0, len(perm), window):
            chunk = sorted(perm[start:start + window], key=lambda i: -lengths[i])
            batches.extend(chunk[j:j + global_batch] for j in range(0, len(chunk), global_batch))
        order = torch.randperm(len(batches), generator=g).tolist()
        batches = [batches[i] for i in order]
    else:
        batches = [perm[j:j + global_batch] for j in range(0, len(perm), global_batch)]
    if world_size > 1:
        # Every rank must run the same number of steps: drop global batches too small to share.
        batches = [b for b in batches if len(b) >= world_size]
        return [b[rank::world_size] for b in batches]
    return batches



def num_batches(n_features: int, batch_size: int, world_size: int = 1) -> int:
    """Micro-batches per epoch on each rank; equals len(epoch_batches(...))."""
    full, rest = divmod(n_features, batch_size * world_size)
    return full + (1 if rest >= world_size else 0)
