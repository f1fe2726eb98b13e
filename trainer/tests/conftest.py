"""Shared helpers for the trainer tests: data location, run folders, events."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import torch

# One thread per process: the test machine's 2 cores are shared, and OpenMP threads that wait for
# each other on a busy machine make a training step 10-20x slower than a single thread.
os.environ.setdefault("BERT_STUDIO_NUM_THREADS", "1")
torch.set_num_threads(int(os.environ["BERT_STUDIO_NUM_THREADS"]))

REPO = Path(__file__).resolve().parents[2]


def setup_required() -> bool:
    """Under CI (CI=true, or BERT_STUDIO_REQUIRE_SETUP=1) a missing set-up fails instead of skipping."""
    flags = (os.environ.get("BERT_STUDIO_REQUIRE_SETUP"), os.environ.get("CI"))
    return any(v and v != "0" and v.lower() != "false" for v in flags)


def need_setup(ok: object, what: str) -> None:
    """Skips the test unless `ok` (fails under CI); mirrors test/unit/needSetup.ts."""
    if ok:
        return
    if setup_required():
        pytest.fail(f"Set-up missing under CI: {what}")
    pytest.skip(f"set-up missing: {what}")


def data_dir() -> Path:
    return Path(os.environ.get("BERT_STUDIO_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data() -> Path:
    d = data_dir()
    need_setup(d.is_dir(), f"shared data at {d} (set BERT_STUDIO_DATA)")
    return d


def make_spec(task: str, train: Path | str, validation: Path | str | None = None, **training: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "version": 1, "task": task, "model": {"name_or_path": "default"},
        "data": {"train": str(train)}, "training": training, "device": "cpu", "export": {"onnx": False},
    }
    if validation is not None:
        spec["data"]["validation"] = str(validation)
    return spec


def subset_spec(task: str, train: Path | str, validation: Path | str, n_train: int, n_eval: int,
                **training: Any) -> dict[str, Any]:
    """make_spec on the first n_train training and n_eval validation examples."""
    spec = make_spec(task, train, validation, **training)
    spec["data"].update(max_train_samples=n_train, max_eval_samples=n_eval)
    return spec


def write_run(run_dir: Path, spec: dict[str, Any]) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "spec.json").write_text(json.dumps(spec))
    return run_dir


def read_events(run_dir: Path, type_: str | None = None) -> list[dict[str, Any]]:
    path = run_dir / "events.jsonl"
    if not path.exists():
        return []
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [e for e in events if type_ is None or e["type"] == type_]


def read_status(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "status.json").read_text())


def train_straight_and_resumed(tmp_path: Path, spec: dict[str, Any], stop_after: int) -> tuple[Path, Path]:
    """The same spec trained straight through, and stopped after `stop_after` steps then resumed: the
    two run folders, for resume-exactness checks."""
    from bert_studio_trainer.train import train

    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train(write_run(straight, spec)) == 0
    assert train(write_run(split, spec), stop_after_steps=stop_after) == 0
    assert read_status(split)["state"] == "stopped"
    assert train(split, resume=True) == 0
    return straight, split


def assert_same_weights(a: Path, b: Path) -> None:
    """The final models of two runs hold the same tensors, exactly."""
    from safetensors.torch import load_file

    wa, wb = load_file(a / "model" / "model.safetensors"), load_file(b / "model" / "model.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wb[k], wa[k], msg=k)
