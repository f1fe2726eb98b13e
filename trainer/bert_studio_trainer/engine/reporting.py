"""Experiment tracking interop, opt in with the Trainer's name: ``training.report_to``.

``events.jsonl`` stays the run's record; each integration mirrors its scalar events as they are
written (``EventLog.add_sink``):

- ``tensorboard``: ``torch.utils.tensorboard`` event files in ``<run>/tensorboard/`` (so
  ``tensorboard --logdir .bert-studio/runs`` shows every run); ``train/<name>`` from step events,
  ``eval/<metric>`` (``<split>/<metric>`` for another split) from eval events.
- ``mlflow``: an MLflow run in the store that ``MLFLOW_TRACKING_URI`` names, else the local file
  store ``.bert-studio/mlruns`` beside the runs folder; experiment ``MLFLOW_EXPERIMENT_NAME`` or
  "BERT Studio"; the spec's fields as parameters, the same metric names as TensorBoard, the final
  state as the run's status. A resumed run continues the same MLflow run (its id is kept in
  ``<run>/mlflow_run.json``).

Neither package is a worker dependency: a spec that asks for one that is not installed is refused
before training with the command that installs it.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any, Protocol

from .. import spec as spec_mod
from .events import atomic_write_text

INTEGRATIONS = ("tensorboard", "mlflow")
# The pinned versions tested with (trainer/requirements-dev.txt).
_PACKAGES = {"tensorboard": ("tensorboard", "tensorboard==2.21.0"), "mlflow": ("mlflow", "mlflow-skinny==3.17.2")}
# Step-event fields mirrored as train/<name>.
_STEP_SCALARS = ("loss", "mlm_loss", "nsp_loss", "learning_rate", "grad_norm", "samples_per_second", "tokens_per_second",
                 "epoch")


def report_to_list(value: Any) -> list[str]:
    """``training.report_to`` as a list: "none" / [] -> [], "all" -> every integration, a name or a list of names."""
    where = "training.report_to"
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise spec_mod.SpecError(f'{where} must be "none", "all", "tensorboard", "mlflow" or a list of them, '
                                 f"not {json.dumps(value)}.", where)
    out: list[str] = []
    for n in names:
        if n == "none":
            continue
        if n == "all":
            out.extend(i for i in INTEGRATIONS if i not in out)
            continue
        if n not in INTEGRATIONS:
            raise spec_mod.SpecError(f'{where} has "{n}"; the integrations are {", ".join(INTEGRATIONS)} '
                                     '(or "none", "all").', where)
        if n not in out:
            out.append(n)
    return out


def check_installed(names: list[str]) -> None:
    """Refuses an integration whose package is not installed, with the command that installs it."""
    for n in names:
        module, requirement = _PACKAGES[n]
        if importlib.util.find_spec(module) is None:
            raise spec_mod.SpecError(f'training.report_to asks for {n}, but the {module} package is not installed in '
                                     f'the trainer environment. Install it (pip install "{requirement}") or remove '
                                     f'"{n}" from report_to.', "training.report_to")


class Sink(Protocol):
    def on_event(self, type_: str, fields: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


def _scalars(type_: str, fields: dict[str, Any]) -> tuple[int, dict[str, float]] | None:
    """The (step, {name: value}) an event contributes, or None."""
    def num(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v

    if type_ == "step":
        out = {f"train/{k}": float(fields[k]) for k in _STEP_SCALARS if num(fields.get(k))}
        for group, lr in (fields.get("group_learning_rates") or {}).items():
            if num(lr):
                out[f"train/learning_rate/{group}"] = float(lr)
        return int(fields["step"]), out
    if type_ == "eval":
        prefix = fields.get("split") or "eval"
        out = {f"{prefix}/{k}": float(v) for k, v in (fields.get("metrics") or {}).items() if num(v)}
        return int(fields["step"]), out
    return None


class TensorBoardSink:
    def __init__(self, run_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def on_event(self, type_: str, fields: dict[str, Any]) -> None:
        got = _scalars(type_, fields)
        if got:
            step, values = got
            for name, v in values.items():
                self.writer.add_scalar(name, v, step)
            if type_ == "eval":
                self.writer.flush()

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


def _flat(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif value is not None:
        out[prefix] = json.dumps(value) if isinstance(value, list) else str(value)


_FINAL = {"completed": "FINISHED", "failed": "FAILED", "stopped": "KILLED"}


class MlflowSink:
    def __init__(self, run_dir: Path, run_spec: dict[str, Any]) -> None:
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        self._metric, self._param = Metric, Param
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            # The local file store, as the Trainer's MLflow callback uses by default. MLflow 3 keeps it
            # in maintenance mode and asks for an opt-in; a database store is one variable away
            # (MLFLOW_TRACKING_URI=sqlite:///mlflow.db, with sqlalchemy installed).
            uri = (run_dir.parent.parent / "mlruns").resolve().as_uri()
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=uri)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or "BERT Studio"
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(name)
        state_file = run_dir / "mlflow_run.json"
        known = json.loads(state_file.read_text()) if state_file.exists() else {}
        if known.get("tracking_uri") == uri and known.get("run_id"):
            self.run_id = known["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
        else:
            run = self.client.create_run(experiment_id, run_name=run_dir.name,
                                         tags={"bert_studio.run_dir": str(run_dir), "bert_studio.task": str(run_spec.get("task"))})
            self.run_id = run.info.run_id
            params: dict[str, str] = {}
            _flat("", {k: run_spec.get(k) for k in ("task", "model", "training", "device")}, params)
            self.client.log_batch(self.run_id, params=[Param(k, v[:6000]) for k, v in sorted(params.items())])
            atomic_write_text(state_file, json.dumps({"tracking_uri": uri, "run_id": self.run_id, "experiment_id": experiment_id}))

    def on_event(self, type_: str, fields: dict[str, Any]) -> None:
        got = _scalars(type_, fields)
        if got:
            step, values = got
            ts = int(float(fields.get("ts", 0)) * 1000)
            self.client.log_batch(self.run_id, metrics=[self._metric(k, v, ts, step) for k, v in values.items()])
        elif type_ == "status" and fields.get("state") in _FINAL:
            self.client.set_terminated(self.run_id, status=_FINAL[fields["state"]])

    def close(self) -> None:
        pass


def open_sinks(names: list[str], run_dir: Path, run_spec: dict[str, Any]) -> list[Sink]:
    sinks: list[Sink] = []
    for n in names:
        sinks.append(TensorBoardSink(run_dir) if n == "tensorboard" else MlflowSink(run_dir, run_spec))
    return sinks
