"""Where training runs: device, DDP process group (under torchrun), autocast dtype, threads."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    autocast_dtype: torch.dtype | None = None

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def any_true(self, flag: bool) -> bool:
        """True on every rank if it is true on any (stop requests, early stopping)."""
        if not self.distributed:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)


def resolve_device(spec_device: str, local_rank: int = 0) -> torch.device:
    if spec_device == "cpu":
        return torch.device("cpu")
    if spec_device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError("device is cuda but no CUDA GPU is available to PyTorch.")
        return torch.device(spec_device if ":" in spec_device else f"cuda:{local_rank}")
    return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")


def resolve_autocast(bf16: object, device: torch.device) -> torch.dtype | None:
    if bf16 is False:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    # On CPU bf16 autocast is slower than fp32 on most machines: only when asked for explicitly.
    return torch.bfloat16 if bf16 is True else None


def setup_runtime(spec_device: str, bf16: object) -> Runtime:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(spec_device, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 matmuls on Ampere+: same accuracy for fine-tuning
    threads = os.environ.get("BERT_STUDIO_NUM_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    elif world_size > 1 and device.type == "cpu":
        # Several CPU processes share the cores: oversubscription makes every one of them slower.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", world_size))))
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Runtime(device, rank, world_size, local_rank, resolve_autocast(bf16, device))


def shutdown(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
