"""Dropout masks on a CPU from 32 random bits per element, drawn 64 bits at a time.

Every dropout on a CPU (``nn.Dropout``, the attention-probability dropout inside SDPA's math kernel,
``F.dropout``) makes its mask with ``bernoulli_(1 - p)`` on a fresh tensor. ATen hands that to MKL's
vectorized generator only on Intel CPUs; on every other CPU (AMD, ARM) and in builds without MKL it
runs a serial loop that draws one double per element: 8.7% of a MiniLM fine-tuning step on a 2-core
AMD EPYC (20 masks a step), about 5.8 ns an element.

``fast_dropout_masks()`` replaces that kernel (``aten::bernoulli_.float`` on the CPU dispatch key,
so every caller gets it, for as long as the context is open) with one that fills ``random_`` 64-bit
words from the same generator, reads them as two 32-bit integers each and compares: element = 1
exactly when its integer is below ``round(p * 2**32) - 2**31``. Each element is still an independent
Bernoulli draw, with probability p to 2**-32 (PyTorch's own float path is exact to 2**-24), from the
seeded default generator, so runs stay reproducible and a resumed run continues the same stream
(checkpoints save that generator's state). About 3x faster on that CPU. Only the order of the random
numbers differs from PyTorch's kernel, as it already does between CPU vendors.

It is used where ATen's kernel is the serial one (``serial_bernoulli()``): on Intel CPUs with MKL
PyTorch's own kernel stays. CUDA has its own fused dropout and is never touched.
"""

from __future__ import annotations

import contextlib
import platform
import warnings
from collections.abc import Iterator

import torch

_OFFSET = 2**31
_SCALE = 2**32


def _bernoulli_(self: torch.Tensor, p: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """``self.bernoulli_(p)``: ones with probability p (to 2**-32), from ``generator`` or the default one."""
    if not 0 <= p <= 1:
        raise ValueError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    if p == 1:  # the threshold would be 2**31, past int32
        return self.fill_(1)
    n = self.numel()
    words = torch.empty((n + 1) // 2, dtype=torch.int64)
    words.random_(-(2**63), None, generator=generator)  # the full 64-bit range: two 32-bit draws each
    draws = words.view(torch.int32)[:n].view(self.shape)
    threshold = round(p * _SCALE) - _OFFSET  # P(draw < threshold) = p: draws are uniform on [-2**31, 2**31)
    if self.dtype == torch.bool or not self.is_contiguous():
        self.copy_(draws < threshold)
    else:
        torch.lt(draws, threshold, out=self)
    return self


def serial_bernoulli(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether ATen's CPU ``bernoulli_(p)`` is its serial loop here: everywhere but an Intel CPU with MKL."""
    if not torch.backends.mkl.is_available():
        return True
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return "GenuineIntel" not in line
    except OSError:
        pass
    return "intel" not in platform.processor().lower()


@contextlib.contextmanager
def fast_dropout_masks() -> Iterator[None]:
    """While open, CPU dropout masks come from ``_bernoulli_`` (this module's docstring)."""
    lib = torch.library.Library("aten", "IMPL")
    with warnings.catch_warnings():  # "Overriding a previously registered kernel": that is the point
        warnings.simplefilter("ignore", UserWarning)
        lib.impl("bernoulli_.float", _bernoulli_, "CPU")
    try:
        yield
    finally:
        lib._destroy()  # ATen's own kernel again
