"""`python -m bert_studio_trainer evaluate`: a trained run scored on another file, with the same
tokenization and metrics as the run's own validation, per-example predictions with source lines,
and an `eval` event with its split in the run's events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_spec, read_events, write_run

from bert_studio_trainer.train import train

N_DEV = 40


@pytest.fixture(scope="module")
def mrpc_run(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[Path, Path]:
    """A tiny MRPC run (3 steps) whose validation file is the first N_DEV rows of MRPC dev."""
    tmp = tmp_path_factory.mktemp("eval")
    dev = tmp / "dev-head.tsv"
    dev.write_text("".join((data / "mrpc" / "dev.tsv").read_text(encoding="utf-8-sig").splitlines(True)[: N_DEV + 1]),
                   encoding="utf-8")
    spec = make_spec("sequence_classification", data / "mrpc" / "train.tsv", dev, max_steps=3,
                     per_device_train_batch_size=8, max_seq_length=64, eval_steps=1000, save_steps=1000)
    spec["data"]["max_train_samples"] = 48
    run = write_run(tmp / "run", spec)
    assert train(run) == 0
    return run, dev


def _evaluate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bert_studio_trainer", "evaluate", *args],
                          capture_output=True, text=True, timeout=600)


def test_same_metrics_as_validation_and_predictions_with_source(mrpc_run: tuple[Path, Path], tmp_path: Path) -> None:
    run, dev = mrpc_run
    validation = read_events(run, "eval")[-1]
    out = tmp_path / "out"
    r = _evaluate("--model", str(run), "--data", str(dev), "--out", str(out), "--name", "dev-head")
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "metrics.json").read_text())
    assert report["examples"] == N_DEV and report["split"] == "test" and report["name"] == "dev-head"
    # Same examples, same tokenization, same model: the run's own validation figures.
    assert report["metrics"]["accuracy"] == validation["metrics"]["accuracy"]
    assert report["metrics"]["f1"] == validation["metrics"]["f1"]
    assert report["metrics"]["loss"] == pytest.approx(validation["metrics"]["loss"], rel=1e-4)
    assert report["confusion_matrix"] == validation["confusion_matrix"]
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == N_DEV
    assert sum(r["correct"] for r in rows) / N_DEV == report["metrics"]["accuracy"]
    lines = dev.read_text(encoding="utf-8").splitlines()
    for row in rows:
        # The source line is the example's line in the file: its text and label are there.
        cells = lines[row["source"]["line"] - 1].split("\t")
        assert cells[0] == row["gold"] and row["text"] == cells[3] and row["text_pair"] == cells[4]
        assert row["pred"] in ("0", "1") and abs(sum(row["probabilities"].values()) - 1) < 1e-5
        assert row["score"] == max(row["probabilities"].values())
    # The dashboard sees it beside the validation figures.
    tagged = [e for e in read_events(run, "eval") if e.get("split") == "test"]
    assert tagged and tagged[-1]["name"] == "dev-head" and tagged[-1]["metrics"]["accuracy"] == report["metrics"]["accuracy"]


def test_unknown_label_and_missing_model_are_clear(mrpc_run: tuple[Path, Path], tmp_path: Path) -> None:
    run, dev = mrpc_run
    bad = tmp_path / "bad.tsv"
    text = dev.read_text(encoding="utf-8").splitlines(True)
    bad.write_text(text[0] + "maybe" + text[1][1:], encoding="utf-8")
    r = _evaluate("--model", str(run), "--data", str(bad), "--out", str(tmp_path / "o1"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "maybe" in r.stderr and "never trained on" in r.stderr
    empty_run = write_run(tmp_path / "untrained", json.loads((run / "spec.json").read_text()))
    r = _evaluate("--model", str(empty_run), "--data", str(dev), "--out", str(tmp_path / "o2"))
    assert r.returncode == 2 and "no trained model yet" in r.stderr
    r = _evaluate("--model", str(run), "--data", str(tmp_path / "nope.tsv"), "--out", str(tmp_path / "o3"))
    assert r.returncode == 2 and "nope.tsv" in r.stderr and "Traceback" not in r.stderr


def test_no_event_while_the_run_is_training(tmp_path: Path) -> None:
    from bert_studio_trainer.evaluate import _training_now

    status = tmp_path / "status.json"
    status.write_text(json.dumps({"state": "running", "pid": os.getpid()}))
    assert _training_now(tmp_path)
    status.write_text(json.dumps({"state": "completed", "pid": os.getpid()}))
    assert not _training_now(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    status.write_text(json.dumps({"state": "running", "pid": int(dead)}))
    assert not _training_now(tmp_path), "a worker that died while running writes nothing any more"
