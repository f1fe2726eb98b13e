"""A stop that comes on the last step, and status.json keeping up with checkpoints (issue 6, bugs 2 and 3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import make_spec, read_events, read_status, write_run

from bert_studio_trainer.engine.checkpoint import complete_checkpoints
from bert_studio_trainer.engine.events import EventLog
from bert_studio_trainer.train import train


def small_spec(data: Path, validation: bool = False, **training: object) -> dict[str, Any]:
    base = dict(max_steps=6, per_device_train_batch_size=8, max_seq_length=32, logging_steps=5, save_steps=100,
                eval_steps=100, learning_rate=1e-4)
    spec = make_spec("sequence_classification", data / "sst2" / "train.tsv",
                     data / "sst2" / "dev.tsv" if validation else None, **{**base, **training})
    spec["data"].update(max_train_samples=64, max_eval_samples=32)
    return spec


@pytest.mark.slow
def test_stop_on_the_final_step_completes_with_eval_and_export(tmp_path: Path, data: Path) -> None:
    spec = small_spec(data, validation=True)
    spec["export"] = {"onnx": True, "quantize": False}
    assert train(write_run(tmp_path, spec), stop_after_steps=6) == 0
    status = read_status(tmp_path)
    assert status["state"] == "completed", status
    assert status["step"] == 6
    assert [e["state"] for e in read_events(tmp_path, "status")] == ["starting", "running", "completed"]
    assert [e["step"] for e in read_events(tmp_path, "eval")] == [6], "the final evaluation ran"
    assert (tmp_path / "model" / "config.json").is_file()
    assert [c.name for c in complete_checkpoints(tmp_path)] == ["step-6"]
    try:
        import bert_studio_trainer.export  # noqa: F401
    except ImportError:
        return
    assert [e["path"] for e in read_events(tmp_path, "export")] == ["onnx/model.onnx"]


@pytest.mark.slow
def test_stop_file_before_the_only_step_still_completes(tmp_path: Path, data: Path) -> None:
    run = write_run(tmp_path, small_spec(data, max_steps=1))
    (run / "stop").write_text("")  # the host's stop request, already there when the last step ends
    assert train(run) == 0
    assert read_status(run)["state"] == "completed"
    assert (run / "model" / "config.json").is_file()


@pytest.mark.slow
def test_a_stop_before_the_end_still_stops(tmp_path: Path, data: Path) -> None:
    run = write_run(tmp_path, small_spec(data))
    assert train(run, stop_after_steps=4) == 0
    status = read_status(run)
    assert status["state"] == "stopped" and status["step"] == 4
    assert not (run / "model").exists()


@pytest.mark.slow
def test_status_step_is_never_behind_a_checkpoint(tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # logging every 5 steps, checkpoints every 3: without a status write per checkpoint the status
    # step lags (0 at step-3, 5 at step-6, 5 at the stop's step-7).
    run = write_run(tmp_path, small_spec(data, max_steps=8, save_steps=3))
    seen: list[tuple[int, int, str | None]] = []
    emit = EventLog.emit

    def checking_emit(self: EventLog, type_: str, **fields: Any) -> None:
        if type_ == "checkpoint":
            status = json.loads((run / "status.json").read_text())
            seen.append((fields["step"], status["step"], status["last_checkpoint"]))
        emit(self, type_, **fields)

    monkeypatch.setattr(EventLog, "emit", checking_emit)
    assert train(run, stop_after_steps=7) == 0
    assert [s[0] for s in seen] == [3, 6, 7]
    for ckpt_step, status_step, last in seen:
        assert status_step >= ckpt_step, f"status step {status_step} behind checkpoint step-{ckpt_step}"
        assert last == f"checkpoints/step-{ckpt_step}"
    status = read_status(run)
    assert status["state"] == "stopped"
    assert status["step"] == 7 and status["last_checkpoint"] == "checkpoints/step-7"
