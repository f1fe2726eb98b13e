"""Fault tolerance: SIGKILL at random steps, each time resumed, ends with the weights of an uninterrupted
run and loses no event up to the last checkpoint; a disk that fills up during a checkpoint keeps the
previous one and fails with a clear error.

The scenario functions here are plain (no pytest) so that bench/reliability.py repeats them.
A tiny randomly initialised BERT (the default model's tokenizer) keeps each run to seconds on two
shared cores; the default MiniLM takes about a minute for 40 steps there (bench/reliability.py
--model default runs the scenario with it).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import make_spec, read_events, read_status, write_run
from safetensors.torch import load_file

from bert_studio_trainer.engine.checkpoint import COMPLETE, complete_checkpoints
from bert_studio_trainer.train import train

MAX_STEPS, SAVE_STEPS, EVAL_STEPS = 40, 5, 10


# ---- setup -------------------------------------------------------------------------------------
def make_tiny_model(folder: Path) -> Path:
    """A 2-layer, 32-wide BERT with random weights and the default model's WordPiece vocabulary."""
    from transformers import BertConfig, BertModel

    from bert_studio_trainer.models import default_model_path

    if (folder / "model.safetensors").is_file():
        return folder
    src = default_model_path()
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(src / name, folder / name)
    return folder


def write_sst2_subset(data: Path, out: Path, n_train: int = 320, n_eval: int = 32) -> tuple[Path, Path]:
    """Snapshot JSONL (DESIGN.md) of the first SST-2 rows: reading 67k TSV rows per start is slow."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for src, name, n in ((data / "sst2" / "train.tsv", "train.jsonl", n_train),
                         (data / "sst2" / "dev.tsv", "validation.jsonl", n_eval)):
        rows = src.read_text(encoding="utf-8").splitlines()[1:n + 1]
        with (out / name).open("w", encoding="utf-8") as f:
            for i, row in enumerate(rows):
                text, label = row.rsplit("\t", 1)
                f.write(json.dumps({"text": text, "label": label, "source": {"file": src.name, "line": i + 2}}) + "\n")
        paths.append(out / name)
    return paths[0], paths[1]


def run_spec(model: Path | str, train_file: Path, validation: Path | None, **training: Any) -> dict[str, Any]:
    base = dict(max_steps=MAX_STEPS, per_device_train_batch_size=8, max_seq_length=32, logging_steps=1,
                save_steps=SAVE_STEPS, eval_steps=EVAL_STEPS, learning_rate=1e-3, warmup_ratio=0.1)
    spec = make_spec("sequence_classification", train_file, validation, **{**base, **training})
    spec["model"]["name_or_path"] = str(model)
    return spec


def worker_env() -> dict[str, str]:
    return {**os.environ, "BERT_STUDIO_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def start_worker(run_dir: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bert_studio_trainer", "train", "--run-dir", str(run_dir), *extra],
                            env=worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def train_in_process(run_dir: Path, **kwargs: Any) -> int:
    """train() with one thread, as the workers run; the test process's thread count is restored."""
    threads = torch.get_num_threads()
    old = os.environ.get("BERT_STUDIO_NUM_THREADS")
    os.environ["BERT_STUDIO_NUM_THREADS"] = "1"
    try:
        return train(run_dir, **kwargs)
    finally:
        torch.set_num_threads(threads)
        if old is None:
            del os.environ["BERT_STUDIO_NUM_THREADS"]
        else:
            os.environ["BERT_STUDIO_NUM_THREADS"] = old


# ---- checks ------------------------------------------------------------------------------------
def parsed_events(run_dir: Path) -> list[dict[str, Any]]:
    """Every line of events.jsonl must be one whole JSON object, even after a SIGKILL."""
    text = (run_dir / "events.jsonl").read_text(encoding="utf-8")
    assert text.endswith("\n"), "events.jsonl ends with a partial line"
    return [json.loads(line) for line in text.splitlines()]


def lost_events(run_dir: Path, eval_steps: int = EVAL_STEPS) -> list[str]:
    """Step and eval events missing for steps up to the newest complete checkpoint."""
    done = complete_checkpoints(run_dir)
    upto = int(done[-1].name[5:]) if done else 0
    events = parsed_events(run_dir)
    steps = {e["step"] for e in events if e["type"] == "step"}
    evals = {e["step"] for e in events if e["type"] == "eval"}
    lost = [f"step {s}" for s in range(1, upto + 1) if s not in steps]
    return lost + [f"eval {s}" for s in range(eval_steps, upto + 1, eval_steps) if s not in evals]


def check_checkpoints(run_dir: Path) -> None:
    """Every complete checkpoint loads; nothing else looks like one."""
    for ckpt in complete_checkpoints(run_dir):
        assert (ckpt / COMPLETE).read_text() == ckpt.name[5:]
        assert load_file(str(ckpt / "model.safetensors"))
        assert json.loads((ckpt / "trainer_state.json").read_text())["step"] == int(ckpt.name[5:])
        torch.load(ckpt / "optimizer.pt", weights_only=True)


def weights_diff(a: Path, b: Path) -> list[str]:
    """Names of parameters that differ (assert_close) between two safetensors files."""
    wa, wb = load_file(str(a)), load_file(str(b))
    assert wa.keys() == wb.keys()
    bad = []
    for k in wa:
        try:
            torch.testing.assert_close(wb[k], wa[k], msg=k)
        except AssertionError:
            bad.append(k)
    return bad


# ---- scenarios ---------------------------------------------------------------------------------
def _new_events(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Whole lines appended since `offset` (a line being written is left for the next read)."""
    if not path.exists():
        return [], offset
    with path.open("rb") as f:
        f.seek(offset)
        chunk = f.read()
    end = chunk.rfind(b"\n") + 1
    return [json.loads(x) for x in chunk[:end].splitlines()], offset + end


def kill_once(run_dir: Path, target: int, mode: str, resume: bool, timeout: float = 300.0) -> dict[str, Any]:
    """Start a worker and SIGKILL it once it passes step `target`: right after the step event
    (mode "step") or while a checkpoint at or after `target` is being written (mode "checkpoint")."""
    events_file = run_dir / "events.jsonl"
    offset = events_file.stat().st_size if events_file.exists() else 0
    proc = start_worker(run_dir, *(["--resume"] if resume else []))
    last_step, in_checkpoint = 0, False
    end = time.time() + timeout
    try:
        while time.time() < end and proc.poll() is None:
            new, offset = _new_events(events_file, offset)
            last_step = max([last_step] + [e["step"] for e in new if e["type"] == "step"])
            if mode == "checkpoint" and last_step:  # after a step: a resume has cleaned the old temp folders
                tmps = [p for p in (run_dir / "checkpoints").glob(".tmp-step-*") if int(p.name[10:]) >= target]
                if tmps:
                    in_checkpoint = True
                    break
                if last_step >= target + 2 * SAVE_STEPS:  # never caught one in the act: kill anyway
                    break
            elif mode == "step" and last_step >= target:
                break
            time.sleep(0.005 if mode == "checkpoint" else 0.02)
        proc.kill()
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == -9, f"the worker ended on its own (exit {rc}) before the kill at step {target}"
    return {"target": target, "mode": mode, "last_step_seen": last_step, "in_checkpoint": in_checkpoint}


def kill_resume_scenario(run_dir: Path, spec: dict[str, Any], kills: int, seed: int) -> dict[str, Any]:
    """SIGKILL the worker `kills` times at random steps, resuming after each; then run to the end.
    Checks after every kill that no event up to the last checkpoint is lost and checkpoints load."""
    rng = random.Random(seed)
    max_steps = spec["training"]["max_steps"]
    targets = sorted(rng.sample(range(2, max_steps - 2 * SAVE_STEPS), kills))
    write_run(run_dir, spec)
    report: dict[str, Any] = {"kills": [], "lost_after_kill": []}
    for i, target in enumerate(targets):
        mode = rng.choice(["step", "checkpoint"])
        kill = kill_once(run_dir, target, mode, resume=i > 0)
        kill["checkpoint_after"] = [p.name for p in complete_checkpoints(run_dir)][-1:]
        report["kills"].append(kill)
        report["lost_after_kill"] += lost_events(run_dir)
        check_checkpoints(run_dir)
        assert read_status(run_dir)["state"] == "running"  # nobody wrote a final state
    proc = start_worker(run_dir, "--resume")
    report["final_exit"] = proc.wait(timeout=300)
    report["final_state"] = read_status(run_dir)["state"]
    report["lost_at_end"] = lost_events(run_dir)
    report["leftover_tmp"] = [p.name for p in (run_dir / "checkpoints").glob(".tmp-*")]
    return report


def last_losses(run_dir: Path) -> dict[int, float]:
    """Each step's loss as last written (a resumed run rewrites the steps after its checkpoint)."""
    return {e["step"]: e["loss"] for e in read_events(run_dir, "step")}


# ---- tests -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("ft-setup")
    model = make_tiny_model(root / "tiny-bert")
    return (model, *write_sst2_subset(data, root / "data"))


@pytest.mark.slow
def test_sigkill_at_random_steps_resumes_exactly(tmp_path: Path, setup: tuple[Path, Path, Path]) -> None:
    model, train_file, validation = setup
    spec = run_spec(model, train_file, validation)
    straight = write_run(tmp_path / "straight", spec)
    assert train_in_process(straight) == 0

    killed = tmp_path / "killed"
    report = kill_resume_scenario(killed, spec, kills=3, seed=8)
    assert report["final_exit"] == 0 and report["final_state"] == "completed", report
    assert report["lost_after_kill"] == [] and report["lost_at_end"] == [], report
    assert report["leftover_tmp"] == []
    parsed_events(killed)

    final = f"checkpoints/step-{MAX_STEPS}/model.safetensors"
    assert weights_diff(straight / final, killed / final) == []
    assert weights_diff(straight / "model" / "model.safetensors", killed / "model" / "model.safetensors") == []
    a, b = last_losses(straight), last_losses(killed)
    assert sorted(a) == sorted(b) == list(range(1, MAX_STEPS + 1))
    torch.testing.assert_close(torch.tensor([b[k] for k in sorted(b)]), torch.tensor([a[k] for k in sorted(a)]))
    assert read_status(killed)["best_metric"] == read_status(straight)["best_metric"]


# ---- a disk that fills up during a checkpoint --------------------------------------------------
def checkpoint_bytes(model: Path) -> int:
    """About one checkpoint: weights, AdamW's two moments, tokenizer files."""
    weights = (model / "model.safetensors").stat().st_size
    return 3 * weights + sum(p.stat().st_size for p in model.iterdir() if p.name != "model.safetensors")


def mount_tmpfs(folder: Path, size: int) -> str | None:
    """Mount a tmpfs of `size` bytes; returns why not when mounting is not permitted."""
    folder.mkdir(parents=True, exist_ok=True)
    if not shutil.which("mount"):
        return "no mount command"
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    return None if proc.returncode == 0 else f"mount -t tmpfs is not permitted here: {proc.stderr.strip()}"


def unmount(folder: Path) -> None:
    if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def disk_full_scenario(root: Path, model: Path, train_file: Path, where: str) -> dict[str, Any]:
    """The first checkpoint (step 5) fits on a small tmpfs, the second (step 10) does not. `where`:
    "run_dir" (the whole run folder on the tmpfs) or "checkpoints" (checkpoints/ a symlink to it)."""
    disk = root / "disk"
    why = mount_tmpfs(disk, (int(1.6 * checkpoint_bytes(model)) // 4096 + 1) * 4096)
    if why:
        return {"skipped": why}
    try:
        spec = run_spec(model, train_file, None, max_steps=2 * SAVE_STEPS)
        if where == "run_dir":
            run = write_run(disk / "run", spec)
        else:
            run = write_run(root / "run", spec)
            (run / "checkpoints").symlink_to(disk, target_is_directory=True)
        exit_code = train_in_process(run)
        errors = read_events(run, "error")
        status = read_status(run)
        ckpts = sorted(p.name for p in (run / "checkpoints").iterdir())
        check_checkpoints(run)
        kept = complete_checkpoints(run)
        elsewhere = write_run(root / "elsewhere", spec)  # resume from the kept checkpoint on a roomy disk
        if kept:
            shutil.copytree(kept[-1], elsewhere / "checkpoints" / kept[-1].name)
        resume_exit = train_in_process(elsewhere, resume=True)
        resumed_steps = [e["step"] for e in read_events(elsewhere, "step")]
        return {
            "where": where, "exit_code": exit_code, "errors": [e["message"] for e in errors],
            "state": status["state"], "last_checkpoint": status["last_checkpoint"], "checkpoint_entries": ckpts,
            "disk": str(disk.resolve()), "resume_exit": resume_exit, "resume_state": read_status(elsewhere)["state"],
            "resumed_steps": resumed_steps, "stray_files": [p.name for p in run.glob(".*.tmp")],
        }
    finally:
        unmount(disk)


def disk_full_handled(r: dict[str, Any]) -> bool:
    return (r["exit_code"] != 0 and r["state"] == "failed" and len(r["errors"]) == 1
            and "Disk full" in r["errors"][0] and r["disk"] in r["errors"][0]
            and r["checkpoint_entries"] == [f"step-{SAVE_STEPS}"] and r["last_checkpoint"] == f"checkpoints/step-{SAVE_STEPS}"
            and r["resume_exit"] == 0 and r["resume_state"] == "completed"
            and r["resumed_steps"] == list(range(SAVE_STEPS + 1, 2 * SAVE_STEPS + 1)) and not r["stray_files"])


@pytest.mark.slow
@pytest.mark.parametrize("where", ["run_dir", "checkpoints"])
def test_disk_full_during_checkpoint(tmp_path: Path, setup: tuple[Path, Path, Path], where: str) -> None:
    model, train_file, _ = setup
    r = disk_full_scenario(tmp_path, model, train_file, where)
    if "skipped" in r:
        pytest.skip(r["skipped"])
    assert r["exit_code"] == 1 and r["state"] == "failed", r
    assert len(r["errors"]) == 1, r
    message = r["errors"][0]
    assert "Disk full" in message and "no space left" in message and r["disk"] in message, message
    assert f"checkpoints/step-{SAVE_STEPS}" in message, message  # says what is still good
    # The earlier checkpoint is intact and the failed one left nothing that could be taken for good.
    assert r["checkpoint_entries"] == [f"step-{SAVE_STEPS}"], r
    assert r["last_checkpoint"] == f"checkpoints/step-{SAVE_STEPS}"
    assert not r["stray_files"], r
    assert r["resume_exit"] == 0 and r["resume_state"] == "completed", r
    assert r["resumed_steps"] == list(range(SAVE_STEPS + 1, 2 * SAVE_STEPS + 1)), r
    assert disk_full_handled(r)
