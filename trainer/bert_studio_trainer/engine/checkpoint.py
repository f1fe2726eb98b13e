"""Checkpoints: checkpoints/step-N/ with weights (safetensors), optimizer, scheduler, every rank's
RNG state and the data position. Written into a temporary folder, marked COMPLETE, then renamed:
a folder without the marker is never resumed from.

torch is imported where it is used: train.py reads the checkpoint index (latest_complete_step) when a
stop comes during start-up, possibly while torch itself is still being imported."""

from __future__ import annotations

import contextlib
import errno
import json
import random
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

COMPLETE = "COMPLETE"


@dataclass
class TrainState:
    step: int = 0
    epoch: int = 0
    batch_group: int = 0  # optimizer steps already taken in `epoch` (their batches are skipped)
    best: dict[str, Any] | None = None  # {"name", "value", "step"}
    evals_without_improvement: int = 0
    world_size: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def rng_state() -> dict[str, Any]:
    import numpy as np
    import torch

    py = random.getstate()
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python_version": py[0], "python_state": torch.tensor(py[1], dtype=torch.int64), "python_gauss": py[2],
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)), "numpy_pos": int(np_state[2]),
        "numpy_has_gauss": int(np_state[3]), "numpy_gauss": float(np_state[4]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate((state["python_version"], tuple(state["python_state"].tolist()), state["python_gauss"]))
    np.random.set_state(("MT19937", state["numpy_keys"].numpy().astype(np.uint32), state["numpy_pos"],
                         state["numpy_has_gauss"], state["numpy_gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoints_dir(run_dir: Path) -> Path:
    return run_dir / "checkpoints"


def tmp_dir_for(run_dir: Path, step: int) -> Path:
    return checkpoints_dir(run_dir) / f".tmp-step-{step}"


class CheckpointError(RuntimeError):
    """A checkpoint could not be written; its temporary folder is removed, older checkpoints are untouched."""


def _disk_full(error: BaseException, folder: Path) -> bool:
    """ENOSPC anywhere in the chain, or (torch.save and safetensors hide the errno) no space left."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left" in str(seen) or "StorageFull" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


@contextlib.contextmanager
def _discard_on_failure(tmp: Path) -> Iterator[None]:
    """A failed write leaves no half-written folder behind: removing it also frees the space that the
    error event and status.json need when the disk is full."""
    try:
        yield
    except Exception as e:
        root = tmp.parent
        full = _disk_full(e, root)
        shutil.rmtree(tmp, ignore_errors=True)
        if not full:
            raise
        done = complete_checkpoints(root.parent)
        kept = (f"the last complete checkpoint, checkpoints/{done[-1].name}, is intact" if done
                else "there is no earlier checkpoint")
        raise CheckpointError(
            f"Disk full: no space left in {root.resolve()} while writing checkpoint {tmp.name.removeprefix('.tmp-')}; {kept}. "
            "Free some space, then resume with --resume."
        ) from e


def save_rank_rng(tmp: Path, rank: int) -> None:
    import torch

    with _discard_on_failure(tmp):
        torch.save(rng_state(), tmp / f"rng-rank{rank}.pt")


def finish_checkpoint(
    run_dir: Path, tmp: Path, step: int, model: torch.nn.Module, tokenizer: Any,
    optimizer: torch.optim.Optimizer, scheduler: Any, state: TrainState, keep: int,
) -> Path:
    """Rank 0: write everything but the other ranks' RNG, mark COMPLETE, rename, rotate."""
    import torch

    with _discard_on_failure(tmp):
        model.save_pretrained(tmp, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        (tmp / "trainer_state.json").write_text(json.dumps(asdict(state), indent=1))
        (tmp / COMPLETE).write_text(str(step))
    final = checkpoints_dir(run_dir) / f"step-{step}"
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    _rotate(run_dir, keep)
    return final


def _rotate(run_dir: Path, keep: int) -> None:
    done = complete_checkpoints(run_dir)
    for old in done[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)


def complete_checkpoints(run_dir: Path) -> list[Path]:
    root = checkpoints_dir(run_dir)
    if not root.is_dir():
        return []
    found = [p for p in root.glob("step-*") if (p / COMPLETE).is_file() and p.name[5:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[5:]))


def latest_checkpoint(run_dir: Path) -> Path | None:
    done = complete_checkpoints(run_dir)
    return done[-1] if done else None


def latest_complete_step(run_dir: Path) -> tuple[int, str, dict[str, Any] | None] | None:
    """(step, path relative to the run folder, best metric) of the newest complete checkpoint."""
    ckpt = latest_checkpoint(run_dir)
    if ckpt is None:
        return None
    try:
        best = json.loads((ckpt / "trainer_state.json").read_text(encoding="utf-8")).get("best")
    except (OSError, ValueError, AttributeError):
        best = None
    return int(ckpt.name[5:]), str(ckpt.relative_to(run_dir)), best


def clean_partial(run_dir: Path) -> None:
    """Remove temp folders a killed run left behind."""
    root = checkpoints_dir(run_dir)
    if root.is_dir():
        for p in root.glob(".tmp-step-*"):
            shutil.rmtree(p, ignore_errors=True)


def load_checkpoint(
    path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, rank: int
) -> TrainState:
    import torch
    from safetensors.torch import load_file

    weights = load_file(str(path / "model.safetensors"))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected:
        raise RuntimeError(f"Checkpoint {path.name} has weights the model does not: {unexpected[:5]}")
    if missing and hasattr(model, "tie_weights"):
        model.tie_weights()  # save_pretrained leaves out tied copies (e.g. MLM decoder = embeddings)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    state = TrainState(**json.loads((path / "trainer_state.json").read_text()))
    rng_file = path / f"rng-rank{rank}.pt"
    if rng_file.is_file():
        set_rng_state(torch.load(rng_file, weights_only=True))
    return state
