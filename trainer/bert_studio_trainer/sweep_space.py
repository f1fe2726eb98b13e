"""A study's definition (study.json) and its search space, checked with the training fields' own rules.

The host writes `<workspace>/.bert-studio/studies/<id>/study.json` (src/core/sweeps/study.ts) and
checks it first; these checks are the worker's, for a hand-edited file. Every problem is a SpecError
naming the field (`space.learning_rate.low`, `n_trials`, `pruner.type`...) and the fix.

    "space": {"learning_rate": {"low": 1e-5, "high": 1e-4, "log": true},
              "per_device_train_batch_size": {"choices": [16, 32]},
              "num_train_epochs": {"low": 1, "high": 3, "step": 1}}

A range over an integer field samples integers; over a number field, numbers (`step` makes a grid);
`choices` works for any field. Each bound and choice must be a valid value of its field.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .spec import (
    _FLOAT_FIELDS,
    _INT_FIELDS,
    Spec,
    SpecError,
    _check_unknown,
    _coerce,
    _shown,
    parse_spec,
    task_defaults,
)

STUDY_FILE = "study.json"
STUDY_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,150}$")  # a folder name; trial run ids add "-tNNN"
PRUNERS = ("median", "successive_halving", "none")
_DIMENSION_KEYS = {"low", "high", "log", "step", "choices"}
_STUDY_KEYS = {"version", "id", "name", "created", "spec", "space", "n_trials", "pruner", "seed"}
_PRUNER_KEYS = {"type", "n_startup_trials", "n_warmup_steps", "min_resource", "reduction_factor"}
# Fields a study may not search: the objective is fixed for the study.
_NOT_SEARCHABLE = {"metric_for_best_model": "the study's objective is its metric_for_best_model, fixed for all trials; "
                   "set it in the base spec (CLI --metric)"}


@dataclass(frozen=True)
class Dimension:
    name: str
    kind: str  # "int", "float" or "categorical"
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """The trial's value (an enqueued retry gets its fixed value back)."""
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)


@dataclass(frozen=True)
class Pruner:
    type: str = "median"
    n_startup_trials: int = 2
    n_warmup_steps: int = 0
    min_resource: int | None = None  # successive halving: steps before the first rung (default: eval_steps)
    reduction_factor: int = 3


@dataclass(frozen=True)
class StudyDefinition:
    id: str
    name: str
    spec: Spec  # the base spec, checked; every trial is this plus its parameters
    space: list[Dimension]
    n_trials: int
    pruner: Pruner
    seed: int
    metric: str
    raw: dict[str, Any] = field(default_factory=dict)


def _problem(where: str, message: str) -> SpecError:
    return SpecError(f"{where}: {message}", where)


def _whole(value: Any, where: str, low: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or int(value) != value \
            or value < low:
        raise _problem(where, f"must be a whole number of at least {low}, not {_shown(value)}; {fix}.")
    return int(value)


def _field_value(name: str, value: Any, default: Any, where: str) -> Any:
    """`value` checked as training field `name` would be; the error names the space's field instead."""
    try:
        return _coerce(name, value, default)
    except SpecError as e:
        raise SpecError(str(e).replace(f"training.{name}", where, 1), where) from e


def parse_space(raw: Any, task: str, base: dict[str, Any] | None = None, multi_label: bool = False) -> list[Dimension]:
    """The dimensions of a search space, in name order; SpecError names `space.<field>...` and the fix."""
    if not isinstance(raw, dict):
        raise SpecError(f"space must be an object of training fields to search, e.g. "
                        f'{{"learning_rate": {{"low": 1e-5, "high": 1e-4, "log": true}}}}, not {_shown(raw)}.', "space")
    if not raw:
        raise SpecError('space is empty: give at least one training field to search, e.g. '
                        '{"learning_rate": {"low": 1e-5, "high": 1e-4, "log": true}}.', "space")
    defaults = task_defaults(task, multi_label)
    try:
        _check_unknown(raw, set(defaults), "training.")
    except SpecError as e:
        where = (e.field or "training.").replace("training.", "space.", 1)
        raise SpecError(str(e).replace("training.", "space."), where) from e
    base = base or {}
    dims = []
    for name in sorted(raw):
        where = f"space.{name}"
        if name in _NOT_SEARCHABLE:
            raise _problem(where, f"{name} cannot be searched: {_NOT_SEARCHABLE[name]}.")
        if name == "num_train_epochs" and isinstance(base.get("max_steps"), int) and base["max_steps"] > 0:
            raise _problem(where, f"training.max_steps is {base['max_steps']} in the base spec, so num_train_epochs "
                           "has no effect; remove max_steps (CLI --max-steps) or num_train_epochs from the space.")
        dims.append(_dimension(name, raw[name], defaults[name], where))
    return dims


def _dimension(name: str, d: Any, default: Any, where: str) -> Dimension:
    example = '{"low": 1e-5, "high": 1e-4, "log": true} or {"choices": [16, 32]}'
    if not isinstance(d, dict):
        raise _problem(where, f"must be a range or a list of choices, such as {example}, not {_shown(d)}.")
    for key in d:
        if key not in _DIMENSION_KEYS:
            close = difflib.get_close_matches(str(key), sorted(_DIMENSION_KEYS), n=1)
            raise _problem(f"{where}.{key}", f"unknown key; {f'did you mean {close[0]}?' if close else ''} a dimension "
                           f"has low, high, log and step, or choices.")
    if "choices" in d:
        extra = sorted(set(d) - {"choices"})
        if extra:
            raise _problem(f"{where}.{extra[0]}", "choices are listed values: remove low, high, log and step, or "
                           "remove choices for a range.")
        choices = d["choices"]
        if not isinstance(choices, list) or not choices:
            raise _problem(f"{where}.choices", f"must be a non-empty list of values, not {_shown(choices)}.")
        values = tuple(_field_value(name, v, default, f"{where}.choices[{i}]") for i, v in enumerate(choices))
        if len(set(map(json.dumps, values))) != len(values):
            raise _problem(f"{where}.choices", f"lists a value twice ({_shown(choices)}); list each once.")
        return Dimension(name, "categorical", choices=values)
    if name not in _INT_FIELDS and name not in _FLOAT_FIELDS:
        raise _problem(where, f"{name} is not a number, so it has no range; give choices, e.g. "
                       f'{{"choices": [{_shown(default)}, ...]}}.')
    for key in ("low", "high"):
        if key not in d:
            raise _problem(f"{where}.{key}", f"a range needs low and high (e.g. {example}); add {key}.")
    low = _field_value(name, d["low"], default, f"{where}.low")
    high = _field_value(name, d["high"], default, f"{where}.high")
    if name == "max_steps" and -1 in (low, high):
        raise _problem(where, "a range of max_steps cannot hold -1 (train by epochs); search num_train_epochs instead.")
    if low >= high:
        raise _problem(where, f"low ({_shown(d['low'])}) must be below high ({_shown(d['high'])}); swap them, or "
                       "fix the value in the base spec instead (CLI --set) if it should not vary.")
    log = d.get("log", False)
    if not isinstance(log, bool):
        raise _problem(f"{where}.log", f"must be true or false, not {_shown(log)}.")
    if log and low <= 0:
        raise _problem(f"{where}.low", f"a log range needs low above 0, not {_shown(d['low'])}; raise it or set log "
                       "to false.")
    step = d.get("step")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not math.isfinite(step) or step <= 0:
            raise _problem(f"{where}.step", f"must be a number above 0, not {_shown(step)}.")
        if log:
            raise _problem(f"{where}.step", "a log range has no step; remove step or set log to false.")
        if name in _INT_FIELDS and int(step) != step:
            raise _problem(f"{where}.step", f"{name} is a whole number, so step must be one too, not {_shown(step)}.")
    return Dimension(name, "int" if name in _INT_FIELDS else "float", low, high, log, step)


def parse_pruner(raw: Any) -> Pruner:
    if raw is None:
        return Pruner()
    if not isinstance(raw, dict):
        raise SpecError(f'pruner must be an object such as {{"type": "median"}}, not {_shown(raw)}.', "pruner")
    _check_unknown(raw, _PRUNER_KEYS, "pruner.")
    kind = raw.get("type", "median")
    if kind not in PRUNERS:
        close = difflib.get_close_matches(str(kind), PRUNERS, n=1)
        raise SpecError(f"pruner.type must be one of {', '.join(PRUNERS)}, not {_shown(kind)}"
                        f"{f'; did you mean {close[0]}?' if close else '.'}", "pruner.type")
    min_resource = raw.get("min_resource")
    return Pruner(
        kind,
        _whole(raw.get("n_startup_trials", 2), "pruner.n_startup_trials", 0, "trials that finish before any is pruned"),
        _whole(raw.get("n_warmup_steps", 0), "pruner.n_warmup_steps", 0, "steps before a trial can be pruned"),
        None if min_resource is None else _whole(min_resource, "pruner.min_resource", 1, "steps before the first rung"),
        _whole(raw.get("reduction_factor", 3), "pruner.reduction_factor", 2, "how many trials one rung keeps one of"),
    )


def parse_study(raw: Any, study_dir: Path) -> StudyDefinition:
    """study.json checked: the base spec (as parse_spec does), the space, the trials, the pruner."""
    if not isinstance(raw, dict):
        raise SpecError("study.json must be a JSON object ({...}).")
    _check_unknown(raw, _STUDY_KEYS, "")
    if raw.get("version", 1) != 1:
        raise SpecError(f"Unsupported study version {_shown(raw.get('version'))}; this worker reads version 1.", "version")
    sid = raw.get("id", study_dir.name)
    if not isinstance(sid, str) or not STUDY_ID.match(sid):
        raise SpecError(f"id must be a study folder name (letters, digits, '.', '_', '-'), not {_shown(sid)}.", "id")
    base = raw.get("spec")
    if not isinstance(base, dict):
        raise SpecError("spec must be the base run spec (an object, as in a run's spec.json).", "spec")
    try:
        spec = parse_spec({k: v for k, v in base.items() if k != "study"}, study_dir)
    except SpecError as e:
        raise SpecError(str(e), f"spec.{e.field}" if e.field else "spec") from e
    if spec.data.validation is None:
        raise SpecError("a study needs validation data: each trial's objective is measured on it; give "
                        "data.validation (CLI --validation FILE, or a dataset with a validation split).",
                        "spec.data.validation")
    training = base.get("training") if isinstance(base.get("training"), dict) else {}
    space = parse_space(raw.get("space"), spec.task, training, spec.data.multi_label)
    n_trials = _whole(raw.get("n_trials"), "n_trials", 1, "give how many trials to run (CLI --trials N)")
    seed = raw.get("seed", spec.t("seed"))
    seed = _whole(seed, "seed", 0, "the sampler's seed")
    name = raw.get("name", sid)
    if not isinstance(name, str):
        raise SpecError(f"name must be a string, not {_shown(name)}.", "name")
    from .tasks import build_task

    metric = spec.t("metric_for_best_model") or build_task(spec).default_metric
    return StudyDefinition(sid, name, spec, space, n_trials, parse_pruner(raw.get("pruner")), seed, metric, raw)


def load_study_definition(study_dir: Path) -> StudyDefinition:
    path = study_dir / STUDY_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise SpecError(f"No {STUDY_FILE} in {study_dir}; the host writes it when it creates a study "
                        "(bert-studio sweep).") from e
    except json.JSONDecodeError as e:
        raise SpecError(f"{path}:{e.lineno}: not valid JSON ({e.msg} at column {e.colno}); fix the JSON.") from e
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{path} cannot be read ({e}); check the file.") from e
    return parse_study(raw, study_dir)
