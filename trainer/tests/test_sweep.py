"""Hyperparameter search (sweep.py): a 6-trial study on an SST-2 subset with the shipped MiniLM that
prunes, is killed (SIGKILL) mid-trial and resumed to completion; and the study's space checks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, make_spec, read_events, read_status

from bert_studio_trainer.spec import SpecError
from bert_studio_trainer.sweep import STATUS_FILE, STORAGE_FILE
from bert_studio_trainer.sweep_space import parse_space

N_TRIALS = 6
# Learning rates from too small to too large: the largest first raise the validation loss (the
# objective: continuous, so no ties at chance accuracy) by ~2e-3, far past the ~1e-5 that separates
# the small ones, and the median pruner cuts them at an evaluation. (With 1e-7..3e-4 the pruner had
# to rank small learning rates by their noise: a change to the dropout stream left none pruned.) The freezing fields are searched too (the trials' runs apply them).
SPACE = {
    "learning_rate": {"low": 1e-6, "high": 1e-3, "log": True},
    "per_device_train_batch_size": {"choices": [16, 32]},
    "warmup_ratio": {"low": 0.0, "high": 0.2},
    "layerwise_lr_decay": {"low": 0.8, "high": 1.0},
    "freeze_layers": {"low": 0, "high": 2},
}


def write_study(workspace: Path, data: Path, study_id: str = "20261130-sst2-sweep", n_trials: int = N_TRIALS,
                space: dict[str, Any] | None = None, pruner: dict[str, Any] | None = None, n_train: int = 128) -> Path:
    spec = make_spec("sequence_classification", data / "sst2" / "train.tsv", data / "sst2" / "dev.tsv",
                     num_train_epochs=1, max_seq_length=48, eval_steps=2, save_steps=2, logging_steps=1,
                     per_device_eval_batch_size=64, metric_for_best_model="loss")
    spec["data"].update(max_train_samples=n_train, max_eval_samples=96)
    study_dir = workspace / ".bert-studio" / "studies" / study_id
    study_dir.mkdir(parents=True)
    study = {"version": 1, "id": study_id, "name": "sst2 sweep", "spec": spec, "space": space or SPACE, "n_trials": n_trials,
             "pruner": pruner or {"type": "median", "n_startup_trials": 2}, "seed": 7}
    (study_dir / "study.json").write_text(json.dumps(study, indent=2))
    return study_dir


def start_driver(study_dir: Path, resume: bool = False) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "trainer"), "BERT_STUDIO_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "bert_studio_trainer", "sweep", "--study-dir", str(study_dir)] + (["--resume"] if resume else [])
    log = (study_dir / "sweep.log").open("ab")
    return subprocess.Popen(args, stdout=log, stderr=log, env=env)


def study_status(study_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((study_dir / STATUS_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def test_sweep_prunes_survives_a_kill_and_resumes(tmp_path: Path, data: Path) -> None:
    import optuna

    study_dir = write_study(tmp_path, data)
    runs = tmp_path / ".bert-studio" / "runs"
    proc = start_driver(study_dir)
    # Kill it (SIGKILL, nothing to clean up) in the middle of a trial from the third on, once that
    # trial's run has a checkpoint to continue from and has stepped past it: a trial the pruner cuts
    # at an evaluation writes its checkpoint there and ends at once, too soon to be killed running.
    victim: dict[str, Any] = {}
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        status = study_status(study_dir)
        running = [t for t in status.get("trials", []) if t["state"] == "running" and t["number"] >= 2 and t["run"]]
        saved = read_events(runs / running[0]["run"], "checkpoint") if running else []
        stepped = read_events(runs / running[0]["run"], "step") if saved else []
        if saved and stepped and stepped[-1]["step"] > saved[0]["step"]:
            victim = running[0]
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.2)
    assert proc.wait(timeout=60) == -signal.SIGKILL, (study_dir / "sweep.log").read_text()[-3000:]
    assert victim, "the study ended before a trial from the third on stepped past a checkpoint"
    killed_run = runs / victim["run"]
    assert read_status(killed_run)["state"] == "running"  # as the kill left it

    # Without --resume a started study is refused (nothing is touched).
    refused = subprocess.run([sys.executable, "-m", "bert_studio_trainer", "sweep", "--study-dir", str(study_dir)],
                             capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "trainer")})
    assert refused.returncode == 2 and "--resume" in refused.stderr and "Traceback" not in refused.stderr

    resumed = start_driver(study_dir, resume=True)
    assert resumed.wait(timeout=900) == 0, (study_dir / "sweep.log").read_text()[-3000:]

    # The SQLite study: six trials that count, at least one pruned, the killed one failed as
    # interrupted and retried with the same parameters into the same run.
    study = optuna.load_study(study_name="20261130-sst2-sweep", storage=f"sqlite:///{study_dir / STORAGE_FILE}")
    trials = study.get_trials()
    states = optuna.trial.TrialState
    counted = [t for t in trials if t.state in (states.COMPLETE, states.PRUNED)]
    assert len(counted) == N_TRIALS
    assert any(t.state == states.PRUNED for t in trials)
    interrupted = [t for t in trials if t.state == states.FAIL]
    assert [t.number for t in interrupted] == [victim["number"]] and interrupted[0].user_attrs["interrupted"]
    retry = next(t for t in trials if t.user_attrs.get("retry_of") == victim["number"])
    assert retry.params == interrupted[0].params and retry.user_attrs["run_id"] == victim["run"]
    assert not [t for t in trials if t.state in (states.RUNNING, states.WAITING)]

    # The runs on disk: one normal run per trial (the retry continued the killed one), each a child of the study.
    run_ids = {t.user_attrs["run_id"] for t in counted}
    assert len(run_ids) == N_TRIALS
    assert {p.name for p in runs.iterdir()} == run_ids
    for t in counted:
        run = runs / t.user_attrs["run_id"]
        spec = json.loads((run / "spec.json").read_text())
        assert spec["study"]["id"] == "20261130-sst2-sweep"
        for name, value in t.params.items():
            assert spec["training"][name] == value
        assert read_status(run)["state"] == "completed"
        assert (run / "model" / "config.json").exists()
        evals = {e["step"]: e["metrics"]["loss"] for e in read_events(run, "eval")}
        # What the study holds for the trial is what the run measured.
        assert {s: pytest.approx(v) for s, v in t.intermediate_values.items()} == evals
        logs = [e["message"] for e in read_events(run, "log")]
        if t.state == states.PRUNED:
            assert any(m.startswith("pruned by study") for m in logs)
            assert t.user_attrs["pruned_at"] == max(evals)  # the run ended at the evaluation that pruned it
        else:
            assert t.value == pytest.approx(read_status(run)["best_metric"]["value"])
    assert any(m.startswith("resumed from checkpoints/step-") for m in
               (e["message"] for e in read_events(killed_run, "log")))

    # The best trial, as the study's status names it for "use best trial".
    status = study_status(study_dir)
    assert status["state"] == "completed" and status["finished"] == N_TRIALS
    assert status["best"]["trial"] == study.best_trial.number
    assert status["best"]["run"] == study.best_trial.user_attrs["run_id"]
    assert status["metric"] == "loss" and status["direction"] == "minimize"
    assert status["best"]["value"] == min(t.value for t in trials if t.state == states.COMPLETE)
    assert {t["state"] for t in status["trials"]} >= {"completed", "pruned", "interrupted"}


@pytest.mark.parametrize(("space", "field", "fix"), [
    ({"lr": {"low": 1e-5, "high": 1e-4}}, "space.lr", "did you mean space.learning_rate"),
    ({"learning_rate": {"low": 0, "high": 1e-4}}, "space.learning_rate.low", "greater than 0"),
    ({"learning_rate": {"low": 1e-4, "high": 1e-5}}, "space.learning_rate", "swap them"),
    ({"learning_rate": {"low": 1e-5}}, "space.learning_rate.high", "add high"),
    ({"per_device_train_batch_size": {"choices": [16, 0]}}, "space.per_device_train_batch_size.choices[1]", "at least 1"),
    ({"per_device_train_batch_size": {"low": 8, "high": 32, "step": 0.5}}, "space.per_device_train_batch_size.step", "whole number"),
    ({"warmup_ratio": {"low": 0, "high": 0.2, "log": True}}, "space.warmup_ratio.low", "log range"),
    ({"group_by_length": {"low": 0, "high": 1}}, "space.group_by_length", "give choices"),
    ({"metric_for_best_model": {"choices": ["accuracy", "f1"]}}, "space.metric_for_best_model", "--metric"),
    ({"doc_stride": {"choices": [64]}}, "space.doc_stride", "question_answering only"),
    ({}, "space", "at least one training field"),
    ({"learning_rate": {"low": 1e-5, "hihg": 1e-4}}, "space.learning_rate.hihg", "did you mean high"),
])
def test_bad_spaces_name_the_field_and_the_fix(space: dict[str, Any], field: str, fix: str) -> None:
    with pytest.raises(SpecError) as e:
        parse_space(space, "sequence_classification")
    assert e.value.field == field
    assert fix in str(e.value)


def test_epochs_in_the_space_with_max_steps_in_the_base() -> None:
    with pytest.raises(SpecError) as e:
        parse_space({"num_train_epochs": {"low": 1, "high": 3}}, "sequence_classification", {"max_steps": 50})
    assert e.value.field == "space.num_train_epochs" and "remove max_steps" in str(e.value)


def test_a_good_space_gives_typed_dimensions() -> None:
    dims = {d.name: d for d in parse_space(SPACE, "sequence_classification")}
    assert dims["freeze_layers"].kind == "int" and dims["learning_rate"].kind == "float" and dims["learning_rate"].log
    assert dims["per_device_train_batch_size"].choices == (16, 32)


def test_a_stopped_study_resumes_its_trial_from_the_checkpoint(tmp_path: Path, data: Path) -> None:
    """Stop Study (the study's stop file, as the host writes it) mid-trial: the trial checkpoints, the study
    ends `stopped`, and --resume continues that trial's run; successive halving is the pruner asked for."""
    import threading

    import optuna

    from bert_studio_trainer.sweep import Driver, run_study
    from bert_studio_trainer.sweep_space import load_study_definition

    study_dir = write_study(tmp_path, data, n_trials=2, space={"learning_rate": {"low": 1e-5, "high": 1e-4, "log": True}},
                            pruner={"type": "successive_halving"}, n_train=256)
    runs = tmp_path / ".bert-studio" / "runs"
    done = threading.Event()

    def stop_once_training() -> None:
        while not done.is_set():
            trained = [r for r in runs.glob("*") if read_events(r, "step")] if runs.exists() else []
            if trained:
                (study_dir / "stop").write_text("stop")
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=stop_once_training, daemon=True)
    watcher.start()
    try:
        assert run_study(study_dir) == 0
    finally:
        done.set()
    status = study_status(study_dir)
    assert status["state"] == "stopped" and "--resume" in status["message"]
    stopped_run = runs / status["trials"][0]["run"]
    assert read_status(stopped_run)["state"] == "stopped" and read_events(stopped_run, "checkpoint")

    assert run_study(study_dir, resume=True) == 0
    status = study_status(study_dir)
    assert status["state"] == "completed"
    # The retry first (it was queued); then a new trial, which successive halving may cut at its first rung.
    assert [t["state"] for t in status["trials"]][:2] == ["interrupted", "completed"]
    assert status["trials"][2]["state"] in ("completed", "pruned")
    assert status["trials"][1]["run"] == stopped_run.name and status["trials"][1]["retry_of"] == 0
    assert any(m.startswith("resumed from checkpoints/step-") for m in (e["message"] for e in read_events(stopped_run, "log")))
    assert read_status(stopped_run)["state"] == "completed"

    driver = Driver(study_dir, load_study_definition(study_dir))
    assert isinstance(driver.study.pruner, optuna.pruners.SuccessiveHalvingPruner)


def test_a_bad_study_json_fails_with_the_field_and_no_traceback(tmp_path: Path, data: Path) -> None:
    """A hand-edited study.json with a bad space: exit 2 at once, the field and fix in status.json and on
    stderr, no study storage made."""
    study_dir = write_study(tmp_path, data, space={"learning_rate": {"low": 1e-4, "high": 1e-5}})
    env = {**os.environ, "PYTHONPATH": str(REPO / "trainer")}
    r = subprocess.run([sys.executable, "-m", "bert_studio_trainer", "sweep", "--study-dir", str(study_dir)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "space.learning_rate" in r.stderr and "swap them" in r.stderr
    status = study_status(study_dir)
    assert status["state"] == "failed" and status["field"] == "space.learning_rate"
    assert not (study_dir / STORAGE_FILE).exists()


@pytest.mark.parametrize("study", [{"id": 3, "trial": 0}, {"id": "s"}, {"id": "s", "trial": True}, "s"])
def test_a_runs_study_field_is_checked(tmp_path: Path, data: Path, study: Any) -> None:
    from bert_studio_trainer.spec import parse_spec

    spec = make_spec("sequence_classification", data / "sst2" / "train.tsv", data / "sst2" / "dev.tsv")
    parse_spec({**spec, "study": {"id": "20261130-sweep", "trial": 4}})  # a trial's spec is a normal spec
    with pytest.raises(SpecError) as e:
        parse_spec({**spec, "study": study})
    assert e.value.field == "study" and "remove it" in str(e.value)
