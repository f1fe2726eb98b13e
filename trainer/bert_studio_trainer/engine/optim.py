"""Optimizer and schedule: AdamW (fused on CUDA) with linear warmup then linear decay."""

from __future__ import annotations

import math

import torch
from transformers import get_linear_schedule_with_warmup


def build_optimizer(model: torch.nn.Module, lr: float, weight_decay: float, device: torch.device) -> torch.optim.AdamW:
    # No weight decay on biases and LayerNorm weights (every 1-D parameter), as in BERT.
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # Fused kernels on CUDA and on CPU: on CPU the fused step is 4-5x faster than foreach for
    # MiniLM's 22M parameters (measured, 1 thread), and the optimizer dominates small-batch steps.
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8, fused=True)


def build_scheduler(optimizer: torch.optim.Optimizer, warmup_ratio: float, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    return get_linear_schedule_with_warmup(optimizer, math.ceil(warmup_ratio * total_steps), total_steps)
