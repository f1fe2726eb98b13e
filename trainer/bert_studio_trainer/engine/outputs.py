"""The run's model outputs: best/ (the best model so far) and model/ (the final export)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch


def _save_atomically(target: Path, model: torch.nn.Module, tokenizer: Any) -> Path:
    tmp = target.with_name(f".{target.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save_pretrained(tmp, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(tmp)
    old = target.with_name(f".{target.name}.old")
    if target.exists():
        if old.exists():
            shutil.rmtree(old)
        target.rename(old)
    tmp.rename(target)
    if old.exists():
        shutil.rmtree(old)
    return target


def save_best(run_dir: Path, model: torch.nn.Module, tokenizer: Any) -> Path:
    return _save_atomically(run_dir / "best", model, tokenizer)


def write_model_dir(run_dir: Path, model: torch.nn.Module, tokenizer: Any, use_best: bool) -> Path:
    """model/: the best model when a metric was tracked (best/ exists), else the final weights."""
    target = run_dir / "model"
    best = run_dir / "best"
    if use_best and best.is_dir():
        tmp = target.with_name(".model.tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        shutil.copytree(best, tmp)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
        return target
    return _save_atomically(target, model, tokenizer)
