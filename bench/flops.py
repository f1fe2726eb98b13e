"""Model FLOP utilisation (MFU) for the training benchmarks: achieved model FLOPs/s over the peak.

Model FLOPs per real (non-padding) token of a training step, following Kaplan et al. 2020 and the
PaLM paper's MFU: 6 x N (N = the encoder's non-embedding parameters: every weight except the token,
position and segment embedding tables, which are lookups) plus the attention's 6 x L x S x H (L layers,
S the mean real sequence length, H the hidden size). Padding is never counted, so a side that pads
more gets no credit for it.

The peak: on CPU, measured in the same run by a large matmul (fp32, and bf16 where the CPU runs it);
on CUDA, the device's dense bf16 peak from the table below, cross-checked by a measured matmul.
"""

from __future__ import annotations

import time
from typing import Any

# Dense bf16 tensor-core peaks (FLOP/s) from the vendors' data sheets (SXM parts; no sparsity).
GPU_BF16_PEAK = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what platform knows."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def train_flops_per_token(model: Any, mean_seq_len: float) -> float:
    config = model.config
    embedding = sum(p.numel() for name, p in model.named_parameters() if "embeddings." in name)
    total = sum(p.numel() for p in model.parameters())
    return 6.0 * (total - embedding) + 6.0 * config.num_hidden_layers * mean_seq_len * config.hidden_size


def measured_matmul_peak(device: str, dtype_name: str, n: int = 2048, seconds: float = 2.0) -> float | None:
    """FLOP/s of repeated n x n matmuls; None when the device cannot run that dtype."""
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    try:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        a @ b  # warm-up (and the dtype check)
        if device == "cuda":
            torch.cuda.synchronize()
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            a @ b
            reps += 1
            if device == "cuda" and reps % 20 == 0:
                torch.cuda.synchronize()
        if device == "cuda":
            torch.cuda.synchronize()
        return 2.0 * n**3 * reps / (time.perf_counter() - t0)
    except (RuntimeError, TypeError):
        return None


def peak(device: str) -> dict[str, Any]:
    """The peaks MFU is computed against, with where each came from."""
    out: dict[str, Any] = {"fp32_measured": measured_matmul_peak(device, "fp32"),
                           "bf16_measured": measured_matmul_peak(device, "bf16")}
    if device == "cuda":
        import torch

        name = torch.cuda.get_device_name(0)
        table = next((v for k, v in GPU_BF16_PEAK.items() if k in name), None)
        out |= {"gpu": name, "bf16_table": table}
    return out


def mfu(tokens_per_second: float, flops_per_token: float, peak_flops: float | None) -> float | None:
    return tokens_per_second * flops_per_token / peak_flops if peak_flops else None


def reference_peak(peaks: dict[str, Any], bf16: bool) -> float | None:
    """The peak a run is held to: the table's bf16 peak on a known GPU, else the measured one."""
    if bf16:
        return peaks.get("bf16_table") or peaks.get("bf16_measured")
    return peaks.get("fp32_measured")
