"""bf16 autocast on CPU: `bf16: "auto"` picks it on CPUs with AMX or AVX512-BF16 (read from
/proc/cpuinfo), the run log says which flag decided it, and master weights, gradients and optimizer
state stay fp32 while the forward runs in bf16. Accuracy against fp32: bench/bf16_accuracy.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import read_events, write_run
from test_fault_tolerance import make_tiny_model, run_spec, train_in_process, write_sst2_subset

from bert_studio_trainer.engine import runtime
from bert_studio_trainer.engine.runtime import cpu_bf16_capability, resolve_precision
from bert_studio_trainer.tasks.base import Task

CPU = torch.device("cpu")


def _cpuinfo(tmp_path: Path, flags: str) -> str:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    return str(path)


def test_bf16_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    assert cpu_bf16_capability(_cpuinfo(tmp_path, "fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile")) == "amx_bf16"
    assert cpu_bf16_capability(_cpuinfo(tmp_path, "fpu avx2 avx512f avx512bw avx512_bf16")) == "avx512_bf16"
    # avx512bw alone (bf16 emulated by oneDNN) and a flag that only contains the name do not count.
    assert cpu_bf16_capability(_cpuinfo(tmp_path, "fpu avx2 avx512f avx512bw xavx512_bf16x")) is None
    assert cpu_bf16_capability(str(tmp_path / "missing")) is None  # macOS, Windows


def test_auto_picks_bf16_only_on_cpus_with_bf16_instructions() -> None:
    dtype, note = resolve_precision("auto", CPU, cpu_bf16="amx_bf16")
    assert dtype is torch.bfloat16 and "amx_bf16" in note and "stay fp32" in note
    dtype, note = resolve_precision("auto", CPU, cpu_bf16="avx512_bf16")
    assert dtype is torch.bfloat16 and "avx512_bf16" in note
    dtype, note = resolve_precision("auto", CPU, cpu_bf16=None)
    assert dtype is None and note.startswith("fp32") and "training.bf16 to true" in note
    assert resolve_precision(True, CPU, cpu_bf16=None)[0] is torch.bfloat16  # asked for: used anyway
    assert resolve_precision(False, CPU, cpu_bf16="amx_bf16") == (None, "fp32 (training.bf16 is false)")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("bf16")
    return make_tiny_model(root / "tiny-bert"), *write_sst2_subset(data, root / "data", n_train=64, n_eval=16)


@pytest.mark.parametrize("flag", ["amx_bf16", None])
def test_run_log_and_fp32_master_weights(tmp_path: Path, tiny: tuple[Path, Path, Path], flag: str | None,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A real run with bf16 "auto" on a CPU that has (or lacks) the flag: the forward's dtype, the
    log line, and fp32 weights and optimizer state in the checkpoint."""
    monkeypatch.setattr(runtime, "cpu_bf16_capability", lambda: flag)
    forward_dtypes: set[torch.dtype] = set()
    grad_dtypes: set[torch.dtype] = set()
    hooked: list[bool] = []
    original = Task.training_step

    def spy(self: Task, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not hooked:  # once: the dtype of every gradient accumulated into a parameter
            hooked.append(True)
            for p in model.parameters():
                p.register_post_accumulate_grad_hook(lambda p: grad_dtypes.add(p.grad.dtype))
        hook = model.classifier.register_forward_hook(lambda _m, _i, out: forward_dtypes.add(out.dtype))
        try:
            return original(self, model, batch)
        finally:
            hook.remove()

    monkeypatch.setattr(Task, "training_step", spy)
    spec = run_spec(tiny[0], tiny[1], tiny[2], max_steps=3, save_steps=3, eval_steps=3, bf16="auto")
    run = write_run(tmp_path / "run", spec)
    assert train_in_process(run) == 0, read_events(run, "error")

    logs = [e["message"] for e in read_events(run, "log")]
    if flag:
        assert forward_dtypes == {torch.bfloat16}
        assert any("bf16 autocast on the CPU" in m and "amx_bf16" in m for m in logs), logs
    else:
        assert forward_dtypes == {torch.float32}
        assert any(m.startswith("fp32: this CPU has none of amx_bf16, avx512_bf16") for m in logs), logs
    assert grad_dtypes == {torch.float32}
    from safetensors.torch import load_file

    ckpt = run / "checkpoints" / "step-3"
    weights = load_file(ckpt / "model.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.float32}
    state = torch.load(ckpt / "optimizer.pt", weights_only=True)["state"]
    moments = {k: v.dtype for s in state.values() for k, v in s.items() if k in ("exp_avg", "exp_avg_sq")}
    assert state and set(moments.values()) == {torch.float32}
