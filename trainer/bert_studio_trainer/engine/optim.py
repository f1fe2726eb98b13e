"""Optimizer and schedule: AdamW (fused) with linear warmup then linear decay; layer-wise learning-rate
decay as named parameter groups (engine/freezing.py cuts the model into blocks)."""

from __future__ import annotations

import math

import torch
from transformers import get_linear_schedule_with_warmup


def build_optimizer(model: torch.nn.Module, lr: float, weight_decay: float, device: torch.device,
                    blocks: list[tuple[str, float, list[torch.nn.Parameter]]] | None = None,
                    params: list[torch.nn.Parameter] | None = None) -> torch.optim.AdamW:
    """AdamW over `params` (default: the parameters that require grad) in two groups, or, with
    layer-wise decay, two groups per block of `blocks` [(name, lr scale, parameters)], head first,
    each named in its group's "name" ("head", "layer.5/no_decay"...) at `lr` times its scale. A frozen
    parameter in a group (gradual unfreezing) has no gradient, so AdamW leaves it and its state alone."""
    def split(ps: list[torch.nn.Parameter]) -> tuple[list[torch.nn.Parameter], list[torch.nn.Parameter]]:
        # No weight decay on biases and LayerNorm weights (every 1-D parameter), as in BERT.
        return [p for p in ps if p.ndim >= 2], [p for p in ps if p.ndim < 2]

    if blocks is None:
        decay, no_decay = split(params if params is not None else [p for p in model.parameters() if p.requires_grad])
        groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    else:
        groups = []
        for name, scale, ps in blocks:
            decay, no_decay = split(ps)
            groups += [{"params": g, "weight_decay": wd, "lr": lr * scale, "name": n} for g, wd, n in
                       ((decay, weight_decay, name), (no_decay, 0.0, f"{name}/no_decay")) if g]
    # Fused kernels on CUDA and on CPU: on CPU the fused step is 4-5x faster than foreach for
    # MiniLM's 22M parameters (measured, 1 thread), and the optimizer dominates small-batch steps.
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8, fused=True)


def group_learning_rates(optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler) -> dict[str, float] | None:
    """{block: learning rate} of the next step for named groups (layer-wise decay), else None."""
    return {g["name"].removesuffix("/no_decay"): lr for g, lr in zip(optimizer.param_groups, scheduler.get_last_lr(), strict=True)
            if "name" in g} or None


def build_scheduler(optimizer: torch.optim.Optimizer, warmup_ratio: float, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    return get_linear_schedule_with_warmup(optimizer, math.ceil(warmup_ratio * total_steps), total_steps)
