"""Checkpoints and control: exact resume, stop file, SIGTERM, SIGKILL + resume, DDP on CPU (gloo)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import assert_same_weights, make_spec, read_events, read_status, write_run

from bert_studio_trainer.engine.checkpoint import complete_checkpoints
from bert_studio_trainer.train import train


def tiny_spec(data: Path, **training: object) -> dict:
    """A few steps of SST-2 at 32 tokens: seconds per run, dropout on."""
    base = dict(max_steps=8, per_device_train_batch_size=8, max_seq_length=32, logging_steps=1, save_steps=100,
                eval_steps=100, learning_rate=1e-4, warmup_ratio=0.25)
    spec = make_spec("sequence_classification", data / "sst2" / "train.tsv", **{**base, **training})
    spec["data"]["max_train_samples"] = 48  # 6 batches per epoch: 8 steps cross an epoch boundary
    return spec


def env() -> dict[str, str]:
    return {**os.environ, "BERT_STUDIO_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def start_worker(run_dir: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bert_studio_trainer", "train", "--run-dir", str(run_dir), *extra],
                            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(pred, timeout: float = 240.0) -> None:  # type: ignore[no-untyped-def]
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def losses(run_dir: Path) -> dict[int, float]:
    return {e["step"]: e["loss"] for e in read_events(run_dir, "step")}


@pytest.mark.slow
def test_resume_is_exact(tmp_path: Path, data: Path) -> None:
    spec = tiny_spec(data, gradient_accumulation_steps=2, per_device_train_batch_size=4)
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train(write_run(straight, spec)) == 0
    assert train(write_run(split, spec), stop_after_steps=4) == 0
    assert read_status(split)["state"] == "stopped"
    assert [c.name for c in complete_checkpoints(split)] == ["step-4"]
    assert train(split, resume=True) == 0
    assert read_status(split)["state"] == "completed"
    a, b = losses(straight), losses(split)
    assert sorted(a) == sorted(b) == list(range(1, 9))
    torch.testing.assert_close(torch.tensor([b[k] for k in sorted(b)]), torch.tensor([a[k] for k in sorted(a)]))
    assert_same_weights(straight, split)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["stop_file", "sigterm"])
def test_graceful_stop(tmp_path: Path, data: Path, how: str) -> None:
    run = write_run(tmp_path, tiny_spec(data, max_steps=10_000))
    proc = start_worker(run)
    wait_for(lambda: any(e["step"] >= 2 for e in read_events(run, "step")))
    if how == "stop_file":
        (run / "stop").write_text("")
    else:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err.decode()[-2000:]
    status = read_status(run)
    assert status["state"] == "stopped"
    ckpt = complete_checkpoints(run)
    assert ckpt and status["last_checkpoint"] == f"checkpoints/{ckpt[-1].name}"
    assert read_events(run, "checkpoint")[-1]["step"] == status["step"]


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path: Path, data: Path) -> None:
    run = write_run(tmp_path, tiny_spec(data, max_steps=12, save_steps=3))
    proc = start_worker(run)
    wait_for(lambda: bool(read_events(run, "checkpoint")))
    proc.kill()
    proc.wait(timeout=60)
    saved = complete_checkpoints(run)[-1]
    saved_step = int(saved.name.split("-")[1])
    assert read_status(run)["state"] == "running"  # nobody wrote a final state
    n_before = len(read_events(run, "step"))
    proc = start_worker(run, "--resume")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    after = read_events(run, "step")[n_before:]
    assert after[0]["step"] == saved_step + 1 and after[-1]["step"] == 12
    assert read_status(run)["state"] == "completed"
    assert len(complete_checkpoints(run)) <= 2  # save_total_limit


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path: Path, data: Path) -> None:
    run = write_run(tmp_path, tiny_spec(data, max_steps=4, save_steps=2, per_device_train_batch_size=4))
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
         "-m", "bert_studio_trainer", "train", "--run-dir", str(run)],
        env=env(), capture_output=True, text=True, timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    steps = read_events(run, "step")
    assert [s["step"] for s in steps] == [1, 2, 3, 4]  # only rank 0 writes events
    assert len(read_events(run, "status")) == 3  # starting, running, completed: once each
    assert [c.name for c in complete_checkpoints(run)] == ["step-2", "step-4"]
    assert {p.name for p in (run / "checkpoints" / "step-4").glob("rng-rank*.pt")} == {"rng-rank0.pt", "rng-rank1.pt"}
    assert (run / "model" / "model.safetensors").is_file()
