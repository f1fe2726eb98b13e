"""training.report_to: TensorBoard event files and an MLflow file store, read back with their own
readers (TensorBoard's EventAccumulator, MLflow's client) and compared with events.jsonl, through a
stop and a resume; unknown and uninstalled integrations refused before training."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from conftest import read_events, read_status, subset_spec, write_run

from bert_studio_trainer.spec import SpecError, parse_spec


def _sst2_spec(data: Path, **training):
    return subset_spec("sequence_classification", data / "sst2" / "train.tsv", data / "sst2" / "dev.tsv", 96, 64,
                       max_steps=8, per_device_train_batch_size=16, logging_steps=1, eval_steps=4, save_steps=4,
                       max_seq_length=32, **training)


def _expected(run_dir: Path) -> tuple[dict[str, list[tuple[int, float]]], int]:
    """Per metric name, the (step, value) pairs events.jsonl holds, in order, and the last step."""
    want: dict[str, list[tuple[int, float]]] = {}
    for e in read_events(run_dir):
        if e["type"] == "step":
            for k in ("loss", "learning_rate"):
                if e.get(k) is not None:
                    want.setdefault(f"train/{k}", []).append((e["step"], float(e[k])))
        elif e["type"] == "eval":
            for k, v in e["metrics"].items():
                if isinstance(v, (int, float)):
                    want.setdefault(f"eval/{k}", []).append((e["step"], float(v)))
    return want, max(s for s, _ in want["train/loss"])


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None or importlib.util.find_spec("mlflow") is None,
                    reason="tensorboard / mlflow-skinny not installed (trainer/requirements-dev.txt)")
def test_tensorboard_and_mlflow_mirror_events_through_a_resume(tmp_path, data, monkeypatch):
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from bert_studio_trainer.train import train

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    runs = tmp_path / ".bert-studio" / "runs"
    run_dir = write_run(runs / "r1", _sst2_spec(data, report_to=["tensorboard", "mlflow"]))
    assert train(run_dir, stop_after_steps=5) == 0
    assert read_status(run_dir)["state"] == "stopped"
    first_id = json.loads((run_dir / "mlflow_run.json").read_text())["run_id"]
    assert train(run_dir, resume=True) == 0
    assert read_status(run_dir)["state"] == "completed"
    want, last = _expected(run_dir)
    assert last == 8 and "eval/accuracy" in want

    # TensorBoard: every scalar of events.jsonl, step by step (a resumed step is written again, as
    # events.jsonl writes it again).
    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    for name, pairs in want.items():
        got = sorted((s.step, s.value) for s in acc.Scalars(name))
        assert [s for s, _ in got] == sorted(s for s, _ in pairs), name
        assert [v for _, v in got] == pytest.approx([v for _, v in sorted(pairs)], rel=1e-6), name

    # MLflow: one run across the resume, in the workspace's file store, with the spec as params.
    state = json.loads((run_dir / "mlflow_run.json").read_text())
    assert state["run_id"] == first_id
    assert state["tracking_uri"] == (tmp_path / ".bert-studio" / "mlruns").resolve().as_uri()
    client = MlflowClient(tracking_uri=state["tracking_uri"])
    run = client.get_run(first_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["training.max_steps"] == "8"
    assert run.data.params["task"] == "sequence_classification"
    for name, pairs in want.items():
        got = sorted((m.step, m.value) for m in client.get_metric_history(first_id, name))
        assert [s for s, _ in got] == sorted(s for s, _ in pairs), name
        assert [v for _, v in got] == pytest.approx([v for _, v in sorted(pairs)], rel=1e-6), name


def test_report_to_values_are_checked(tmp_path, data):
    train_file = data / "sst2" / "dev.tsv"
    base = {"version": 1, "task": "sequence_classification", "model": {"name_or_path": "default"},
            "data": {"train": str(train_file)}, "device": "cpu"}
    for value in ("none", "all", "tensorboard", ["mlflow", "tensorboard"], []):
        if value in ("all", "tensorboard", ["mlflow", "tensorboard"]) and (
                importlib.util.find_spec("tensorboard") is None or importlib.util.find_spec("mlflow") is None):
            continue
        parse_spec({**base, "training": {"report_to": value}})
    with pytest.raises(SpecError) as e:
        parse_spec({**base, "training": {"report_to": "wandb"}})
    assert e.value.field == "training.report_to" and "tensorboard, mlflow" in str(e.value)
    with pytest.raises(SpecError) as e:
        parse_spec({**base, "training": {"report_to": 3}})
    assert e.value.field == "training.report_to"


def test_an_uninstalled_integration_is_refused_with_the_install_command(data, monkeypatch):
    from bert_studio_trainer.engine import reporting

    real = importlib.util.find_spec
    monkeypatch.setattr(reporting.importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(SpecError) as e:
        parse_spec({"version": 1, "task": "sequence_classification", "model": {"name_or_path": "default"},
                    "data": {"train": str(data / "sst2" / "dev.tsv")}, "device": "cpu",
                    "training": {"report_to": ["mlflow"]}})
    assert 'pip install "mlflow-skinny==' in str(e.value) and e.value.field == "training.report_to"
