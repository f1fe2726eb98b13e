"""Where training runs: device, DDP process group (under torchrun), autocast dtype, threads."""

from __future__ import annotations

import contextlib
import math
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
    threads_note: str = ""  # how many CPU threads torch uses and why (logged at the start of a run)
    precision_note: str = ""  # fp32 or bf16 autocast, and what decided it (logged at the start of a run)

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


# CPU flags (Linux /proc/cpuinfo) of native bf16 matrix instructions, best first: AMX tiles
# (Sapphire Rapids and later Xeons), AVX512-BF16 (Cooper Lake, Zen 4 and later EPYC/Ryzen).
# torch.backends.cpu.get_cpu_capability() stops at "AVX512" and so cannot tell these apart.
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_bf16_capability(cpuinfo: str = "/proc/cpuinfo") -> str | None:
    """The first of CPU_BF16_FLAGS this CPU has, else None (also where there is no /proc/cpuinfo)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return None
    return next((flag for flag in CPU_BF16_FLAGS if flag in flags), None)


_DETECT = object()


def resolve_precision(bf16: object, device: torch.device,
                      cpu_bf16: str | None | object = _DETECT) -> tuple[torch.dtype | None, str]:
    """(autocast dtype or None for fp32, why). Autocast only: parameters, gradients and optimizer
    state stay fp32 (master weights). ``cpu_bf16`` is the CPU's bf16 flag (detected when not given)."""
    if bf16 is False:
        return None, "fp32 (training.bf16 is false)"
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16, "bf16 autocast on the GPU; weights and optimizer state stay fp32"
        return None, "fp32: this GPU has no bf16 support"
    if bf16 is True:
        return torch.bfloat16, "bf16 autocast on the CPU (training.bf16 is true); weights and optimizer state stay fp32"
    flag = cpu_bf16_capability() if cpu_bf16 is _DETECT else cpu_bf16
    if flag:
        return torch.bfloat16, (f"bf16 autocast on the CPU: it has {flag} (bf16 matrix instructions); weights and "
                                "optimizer state stay fp32 (set training.bf16 to false for fp32)")
    # Without native bf16 instructions, CPU bf16 autocast is slower than fp32.
    return None, (f"fp32: this CPU has none of {', '.join(CPU_BF16_FLAGS)}, so bf16 autocast would be slower "
                  "(set training.bf16 to true to use it anyway)")


def resolve_autocast(bf16: object, device: torch.device, cpu_bf16: str | None | object = _DETECT) -> torch.dtype | None:
    return resolve_precision(bf16, device, cpu_bf16)[0]


# torch's own choice (physical cores, or OMP_NUM_THREADS), read before anything changes it.
_TORCH_DEFAULT_THREADS = torch.get_num_threads()


def usable_cores() -> int:
    """Cores this process may run on (CPU affinity, e.g. a container's cpuset), else all of them."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _threads(n: int) -> str:
    return f"{n} CPU thread{'' if n == 1 else 's'}"


def choose_threads(processes: int = 1) -> tuple[int, str]:
    """(threads per process, why). BERT_STUDIO_NUM_THREADS decides when set; otherwise the usable
    cores less the current load (1-minute load average), shared by the processes on this machine,
    and never more than torch's own default. Threads waiting for busy cores cost CPU time for
    nothing: on a loaded 2-core machine torch's default made each step ~3x the CPU of 1 thread."""
    raw = os.environ.get("BERT_STUDIO_NUM_THREADS", "").strip()
    ignored = ""
    if raw:
        if raw.isdigit() and int(raw) >= 1:
            return int(raw), f"torch uses {_threads(int(raw))} (BERT_STUDIO_NUM_THREADS={raw})"
        ignored = f"; BERT_STUDIO_NUM_THREADS={raw!r} ignored: it must be a whole number of at least 1"
    cores = usable_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no load average
        load = 0.0
    free = max(1, min(cores, math.ceil(cores - load)))
    threads = max(1, min(free, _TORCH_DEFAULT_THREADS) // max(1, processes))
    shared = f", shared by {processes} processes" if processes > 1 else ""
    return threads, (f"torch uses {_threads(threads)}: {cores} usable cores, load {load:.1f}, {free} free{shared}"
                     f" (set BERT_STUDIO_NUM_THREADS to choose){ignored}")


def setup_runtime(spec_device: str, bf16: object) -> Runtime:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(spec_device, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 matmuls on Ampere+: same accuracy for fine-tuning
    # Several CPU processes share the cores: oversubscription makes every one of them slower.
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world_size)) if device.type == "cpu" else 1
    threads, threads_note = choose_threads(local)
    torch.set_num_threads(threads)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    dtype, precision_note = resolve_precision(bf16, device)
    return Runtime(device, rank, world_size, local_rank, dtype, threads_note, precision_note)


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
