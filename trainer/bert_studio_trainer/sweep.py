"""Hyperparameter search: `python -m bert_studio_trainer sweep --study-dir DIR [--resume]`.

One process drives a study (Optuna, its SQLite storage `optuna.db` in the study folder) and trains
each trial in-process with `train()`, into a normal run folder `<runs>/<study id>-tNNN` whose
spec.json is the study's base spec plus the trial's parameters and `"study": {"id", "trial"}`.
After each evaluation the trial reports the objective to Optuna; a trial the pruner cuts ends there
as early stopping does (its run completes with the best model so far) and is PRUNED in the study.
Trials train with the ONNX export off; when the base spec asks for one, only the best trial's run
is exported, once the study is complete (export_best).

In-process rather than one worker process per trial: the pruner is a direct call in the
evaluation loop (no second process following events.jsonl), torch is imported once per study, and
a killed driver leaves exactly one trial unfinished, never an orphaned worker.

A killed or stopped study resumes with --resume: a trial left RUNNING is marked FAIL with the user
attribute `interrupted`, and a retry is enqueued with the same parameters (`retry_of`, the same
`run_id`): its run continues from its newest checkpoint and its earlier evaluations are reported
again. The sampler is seeded per trial from (seed, trial number), so the parameters do not depend
on where the study was interrupted.

Study folder: study.json (host), optuna.db, status.json (this driver: state, trials, best), .lock.
Exit codes: 0 completed or stopped, 2 bad study definition (or already running), 1 other failure.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .engine.control import StopControl
from .engine.events import atomic_write_text, process_start_time
from .spec import SpecError
from .sweep_space import StudyDefinition, load_study_definition
from .train import EXIT_BAD_SPEC, EXIT_FAILED, EXIT_OK, WORKER_LOG, setup_logging, train

STATUS_FILE = "status.json"
STORAGE_FILE = "optuna.db"
LOG_FILE = "sweep.log"  # the host sends the driver's stdout and stderr here
LOCK_FILE = ".lock"
STOP_FILE = "stop"
log = logging.getLogger("bert_studio_trainer.sweep")


def runs_dir_of(study_dir: Path) -> Path:
    """`<workspace>/.bert-studio/studies/<id>` -> `<workspace>/.bert-studio/runs` (src/core/paths.ts)."""
    return study_dir.parent.parent / "runs"


def trial_run_id(study_id: str, number: int) -> str:
    return f"{study_id}-t{number:03d}"


class _TrialControl(StopControl):
    """A trial's stop: its run's stop file and signals (StopControl), and the study's stop file."""

    def __init__(self, run_dir: Path, study_stop: Path) -> None:
        super().__init__(run_dir)
        self.study_stop = study_stop

    def requested(self, step: int) -> bool:
        return super().requested(step) or self.study_stop.exists()


class Driver:
    def __init__(self, study_dir: Path, definition: StudyDefinition) -> None:
        import optuna

        self.optuna = optuna
        self.dir, self.d = study_dir, definition
        self.runs_dir = runs_dir_of(study_dir)
        from .tasks import build_task

        self.direction = "minimize" if definition.metric in build_task(definition.spec).lower_is_better else "maximize"
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.storage = optuna.storages.RDBStorage(f"sqlite:///{study_dir / STORAGE_FILE}")
        self.study = optuna.create_study(storage=self.storage, study_name=definition.id, direction=self.direction,
                                         pruner=self._pruner(), load_if_exists=True)
        self.started = time.time()
        self.state, self.message = "running", ""
        self.signalled = False

    def _pruner(self) -> Any:
        p, pruners = self.d.pruner, self.optuna.pruners
        if p.type == "median":
            return pruners.MedianPruner(n_startup_trials=p.n_startup_trials, n_warmup_steps=p.n_warmup_steps)
        if p.type == "successive_halving":
            return pruners.SuccessiveHalvingPruner(min_resource=p.min_resource or self.d.spec.t("eval_steps"),
                                                   reduction_factor=p.reduction_factor)
        return pruners.NopPruner()

    # ---- the study's state --------------------------------------------------------------------
    def trials(self) -> list[Any]:
        return self.study.get_trials(deepcopy=False)

    def finished(self) -> int:
        """Trials that count towards n_trials: completed, pruned, or failed on their own (not interrupted)."""
        states = self.optuna.trial.TrialState
        return sum(1 for t in self.trials() if t.state in (states.COMPLETE, states.PRUNED)
                   or (t.state == states.FAIL and not t.user_attrs.get("interrupted")))

    def best(self) -> dict[str, Any] | None:
        try:
            b = self.study.best_trial
        except ValueError:  # no completed trial yet
            return None
        return {"trial": b.number, "run": b.user_attrs.get("run_id"), "value": b.value, "params": b.params}

    def write_status(self) -> None:
        states = self.optuna.trial.TrialState
        names = {states.COMPLETE: "completed", states.PRUNED: "pruned", states.FAIL: "failed",
                 states.RUNNING: "running", states.WAITING: "waiting"}
        trials = []
        for t in self.trials():
            state = "interrupted" if t.state == states.FAIL and t.user_attrs.get("interrupted") else names[t.state]
            trials.append({
                "number": t.number, "state": state, "params": t.params, "value": t.value, "run": t.user_attrs.get("run_id"),
                "intermediate": [[s, v] for s, v in sorted(t.intermediate_values.items())],
                **({"retry_of": t.user_attrs["retry_of"]} if "retry_of" in t.user_attrs else {}),
                **({"error": t.user_attrs["error"]} if "error" in t.user_attrs else {}),
                **({"pruned_at": t.user_attrs["pruned_at"]} if "pruned_at" in t.user_attrs else {}),
            })
        status = {
            "version": 1, "id": self.d.id, "state": self.state, "message": self.message, "pid": os.getpid(),
            "pid_start": process_start_time(), "started": self.started, "updated": time.time(),
            "metric": self.d.metric, "direction": self.direction, "n_trials": self.d.n_trials,
            "finished": self.finished(), "trials": trials, "best": self.best(),
        }
        atomic_write_text(self.dir / STATUS_FILE, json.dumps(status, allow_nan=False, default=_finite))

    # ---- resume ---------------------------------------------------------------------------------
    def requeue_interrupted(self) -> None:
        """Trials a killed or stopped driver left RUNNING: FAIL (interrupted) and a retry with the same parameters."""
        states = self.optuna.trial.TrialState
        for t in self.trials():
            if t.state != states.RUNNING:
                continue
            self.storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            self.study.tell(t.number, state=states.FAIL, skip_if_finished=True)
            attrs: dict[str, Any] = {"retry_of": t.user_attrs.get("retry_of", t.number)}
            if t.user_attrs.get("run_id"):
                attrs["run_id"] = t.user_attrs["run_id"]
            self.study.enqueue_trial(t.params, user_attrs=attrs)
            log.info("trial %d was interrupted: retrying it with the same parameters%s", t.number,
                     f", continuing run {attrs['run_id']}" if "run_id" in attrs else "")

    # ---- the loop -----------------------------------------------------------------------------
    def stop_asked(self) -> bool:
        return self.signalled or (self.dir / STOP_FILE).exists()

    def run(self) -> int:
        while self.finished() < self.d.n_trials:
            if self.stop_asked():
                return self.end("stopped", f"stopped after {self.finished()} of {self.d.n_trials} trials; resume with --resume")
            next_number = len(self.trials())
            # Seeded per trial: the same parameters whether or not the study was interrupted before.
            self.study.sampler = self.optuna.samplers.TPESampler(seed=(self.d.seed * 1_000_003 + next_number) % 2**32)
            trial = self.study.ask()
            outcome = self.run_trial(trial)
            if outcome == "stopped":
                return self.end("stopped", f"stopped during trial {trial.number}; resume with --resume")
        if self.best() is None:
            return self.end("failed", f"none of the {self.d.n_trials} trials completed; see their runs' errors", EXIT_FAILED)
        best = self.best() or {}
        self.export_best(best.get("run"))
        return self.end("completed", f"best trial {best.get('trial')}: {self.d.metric} {best.get('value'):.4f} "
                        f"(run {best.get('run')})")

    def end(self, state: str, message: str, code: int = EXIT_OK) -> int:
        self.state, self.message = state, message
        self.write_status()
        log.info("study %s %s: %s", self.d.id, state, message)
        return code

    def export_best(self, run_id: str | None) -> None:
        """The ONNX export the base spec asks for, of the best trial's run only (trials train with export
        off: most are not kept). Skipped when that run has one already (a resumed, finished study)."""
        if not run_id or not self.d.spec.export_onnx or (self.runs_dir / run_id / "onnx" / "model.onnx").exists():
            return
        import dataclasses

        from .engine.events import EventLog
        from .spec import load_spec
        from .train import _export

        run_dir = self.runs_dir / run_id
        self.state, self.message = "running", f"exporting the best trial's run {run_id} to ONNX"
        self.write_status()
        spec = dataclasses.replace(load_spec(run_dir / "spec.json"), export_onnx=True,
                                   export_quantize=self.d.spec.export_quantize)
        events = EventLog(run_dir)
        try:
            if not _export(spec, run_dir, events):
                log.warning("the best trial's run %s failed its ONNX parity check; its model/ stays usable", run_id)
        finally:
            events.close()

    def trial_spec(self, number: int, params: dict[str, Any]) -> dict[str, Any]:
        spec = json.loads(json.dumps({k: v for k, v in self.d.spec.raw.items() if k != "study"}))
        spec.setdefault("training", {}).update(params)
        # Only the best trial is exported, at the end of the study (export_best).
        spec["export"] = {**(spec.get("export") or {}), "onnx": False, "quantize": False}
        spec["name"] = f"{self.d.name} trial {number}"
        spec["study"] = {"id": self.d.id, "trial": number}
        return spec

    def new_run(self, number: int, spec: dict[str, Any]) -> Path:
        """The trial's run folder with spec.json (temp file, then renamed), as RunStore.create makes one."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        base = trial_run_id(self.d.id, number)
        for i in range(1, 100):
            run_dir = self.runs_dir / (base if i == 1 else f"{base}-{i}")
            try:
                run_dir.mkdir()
            except FileExistsError:
                continue
            tmp = run_dir / ".spec.json.tmp"
            tmp.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
            tmp.replace(run_dir / "spec.json")
            return run_dir
        raise OSError(f"no free run folder name for {base} in {self.runs_dir}")

    def run_trial(self, trial: Any) -> str:
        states = self.optuna.trial.TrialState
        params = {dim.name: dim.suggest(trial) for dim in self.d.space}
        run_id = trial.user_attrs.get("run_id")
        run_dir = self.runs_dir / run_id if run_id else None
        resume = bool(run_dir and (run_dir / "spec.json").exists())
        if not resume:
            origin = trial.user_attrs.get("retry_of", trial.number)
            run_dir = self.new_run(origin, self.trial_spec(origin, params))
            trial.set_user_attr("run_id", run_dir.name)
        assert run_dir is not None
        (run_dir / STOP_FILE).unlink(missing_ok=True)
        if resume:
            self.replay_evaluations(trial, run_dir)
        shown = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
        log.info("trial %d%s: %s -> run %s", trial.number, " (resumed)" if resume else "", shown, run_dir.name)
        self.write_status()
        pruned: list[int] = []

        def on_eval(step: int, metrics: dict[str, float]) -> str | None:
            value = metrics.get(self.d.metric)
            if value is None or not math.isfinite(value):
                return None
            trial.report(value, step)
            self.write_status()
            if not trial.should_prune():
                return None
            pruned.append(step)
            return (f"pruned by study {self.d.id} at step {step}: {self.d.metric} {value:.4f} is worse than the "
                    f"{self.d.pruner.type.replace('_', ' ')} pruner's bar for this step")

        code = self._train(run_dir, resume, on_eval)
        status = _read_json(run_dir / "status.json") or {}
        state = status.get("state")
        if state == "stopped":
            log.info("trial %d stopped: the study stops; resume it with --resume", trial.number)
            return "stopped"
        if code != EXIT_OK or state != "completed":
            error = _last_error(run_dir) or f"the run ended {state or 'without a status'} (exit code {code})"
            trial.set_user_attr("error", error)
            self.study.tell(trial, state=states.FAIL)
            log.warning("trial %d failed: %s", trial.number, error)
            self.write_status()
            return "failed"
        if pruned:
            trial.set_user_attr("pruned_at", pruned[0])
            self.study.tell(trial, state=states.PRUNED)
            log.info("trial %d pruned at step %d", trial.number, pruned[0])
            self.write_status()
            return "pruned"
        best = status.get("best_metric") or {}
        if best.get("name") != self.d.metric or not isinstance(best.get("value"), (int, float)):
            trial.set_user_attr("error", f"the run reported no {self.d.metric} (no evaluation)")
            self.study.tell(trial, state=states.FAIL)
            self.write_status()
            return "failed"
        self.study.tell(trial, float(best["value"]))
        log.info("trial %d completed: %s %.4f", trial.number, self.d.metric, best["value"])
        self.write_status()
        return "completed"

    def replay_evaluations(self, trial: Any, run_dir: Path) -> None:
        """A resumed trial's earlier evaluations, reported again (the last event per step, as readers keep)."""
        values: dict[int, float] = {}
        for line in _lines(run_dir / "events.jsonl"):
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line of a killed worker
            if isinstance(ev, dict) and ev.get("type") == "eval" and isinstance(ev.get("step"), int):
                value = (ev.get("metrics") or {}).get(self.d.metric)
                if isinstance(value, (int, float)) and math.isfinite(value):
                    values[ev["step"]] = float(value)
        for step in sorted(values):
            trial.report(values[step], step)

    def _train(self, run_dir: Path, resume: bool, on_eval: Any) -> int:
        """train() in this process, its log lines also in the run's worker.log (as a launched worker's are)."""
        handler = logging.FileHandler(run_dir / WORKER_LOG, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logging.getLogger().addHandler(handler)
        try:
            return train(run_dir, resume=resume, control=_TrialControl(run_dir, self.dir / STOP_FILE), on_eval=on_eval)
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()


def _finite(value: Any) -> Any:
    raise TypeError(f"not JSON: {value!r}")


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _last_error(run_dir: Path) -> str | None:
    for line in reversed(_lines(run_dir / "events.jsonl")):
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(ev, dict) and ev.get("type") == "error":
            return f"{ev['field']}: {ev.get('message')}" if ev.get("field") else str(ev.get("message"))
    return None


def _failed_status(study_dir: Path, message: str, field: str | None = None) -> None:
    """A study that cannot start: status.json says why (the host shows it), with the field when known."""
    status = {"version": 1, "id": study_dir.name, "state": "failed", "message": message, "pid": os.getpid(),
              "pid_start": process_start_time(), "started": time.time(), "updated": time.time(),
              **({"field": field} if field else {}), "trials": [], "best": None}
    try:
        atomic_write_text(study_dir / STATUS_FILE, json.dumps(status))
    except OSError:
        pass


def run_study(study_dir: Path | str, resume: bool = False) -> int:
    study_dir = Path(study_dir).resolve()
    setup_logging()
    try:
        definition = load_study_definition(study_dir)
    except SpecError as e:
        print(f"error: {f'{e.field}: ' if e.field and not str(e).startswith(e.field) else ''}{e}", file=sys.stderr)
        _failed_status(study_dir, str(e), e.field)
        return EXIT_BAD_SPEC
    try:
        lock = (study_dir / LOCK_FILE).open("a")
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        running = _read_json(study_dir / STATUS_FILE) or {}
        print(f"error: the study {definition.id} is already running (pid {running.get('pid', '?')}); stop it "
              "first, or wait for it to end.", file=sys.stderr)
        return EXIT_BAD_SPEC
    if (study_dir / STORAGE_FILE).exists() and not resume:
        print(f"error: the study {definition.id} has already started ({STORAGE_FILE} exists); continue it with "
              "--resume.", file=sys.stderr)
        return EXIT_BAD_SPEC
    (study_dir / STOP_FILE).unlink(missing_ok=True)  # a stop from before this start is stale
    driver: Driver | None = None
    previous: dict[int, Any] = {}

    def on_signal(signum: int, frame: Any) -> None:  # between trials; a trial's own StopControl handles them inside
        if driver is not None:
            driver.signalled = True

    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)
        driver = Driver(study_dir, definition)
        if resume:
            driver.requeue_interrupted()
        driver.write_status()
        return driver.run()
    except Exception as e:  # noqa: BLE001 - one line for the user, the traceback in sweep.log
        try:
            with (study_dir / LOG_FILE).open("a", encoding="utf-8") as f:
                f.write(traceback.format_exc())
        except OSError:
            pass
        message = f"{type(e).__name__}: {e} (the traceback is in {study_dir / LOG_FILE})"
        print(f"error: {message}", file=sys.stderr)
        if driver is not None:
            return driver.end("failed", message, EXIT_FAILED)
        _failed_status(study_dir, message)
        return EXIT_FAILED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        lock.close()


def add_command(sub: Any) -> None:
    p = sub.add_parser("sweep", help="run the hyperparameter search of STUDY_DIR/study.json (Optuna), each trial a run")
    p.add_argument("--study-dir", required=True, help="the study folder (study.json in; optuna.db, status.json out)")
    p.add_argument("--resume", action="store_true", help="continue a stopped or killed study")


def run_command(args: Any) -> int:
    return run_study(args.study_dir, resume=args.resume)
