"""spec.json: parsing and up-front validation. Every problem names its field (DESIGN.md, spec.json)."""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .families import model_facts, task_refusal
from .models import resolve_model


class SpecError(ValueError):
    """A spec problem found before any work; the worker exits with code 2."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


MIN_SEQ_LENGTH = 8  # [CLS] and [SEP] (twice for pairs) leave room for a few tokens

TASKS = ("sequence_classification", "token_classification", "question_answering", "mlm", "mlm_nsp")
_PRETRAIN = ("mlm", "mlm_nsp")

DEFAULTS_FILE = "defaults.json"


def _load_defaults() -> dict[str, Any]:
    """defaults.json, the one source of training defaults (the host bundles the same file)."""
    text = resources.files(__package__).joinpath(DEFAULTS_FILE).read_text(encoding="utf-8")
    return json.loads(text)


_DEFAULTS = _load_defaults()
# Common training fields, Trainer's names. max_steps > 0 overrides num_train_epochs (as in HF
# Trainer); metric_for_best_model null means the task's default metric; early_stopping_patience
# null means never stop early; save_total_limit: the newest checkpoint resumes, one more guards a
# bad disk.
TRAINING_DEFAULTS: dict[str, Any] = dict(_DEFAULTS["common"])
# Per task: task-only fields (threshold, doc_stride, mlm_probability...) and overrides of common
# ones (QA's 384-token windows, pretraining's learning rate, each task's best-model metric).
TASK_TRAINING_DEFAULTS: dict[str, dict[str, Any]] = {t: dict(_DEFAULTS["tasks"][t]) for t in TASKS}
# A multi-label classifier is chosen by micro-F1 unless the spec says otherwise (as the host's
# buildSpec does, src/core/runs/spec.ts).
MULTI_LABEL_DEFAULTS: dict[str, Any] = {"metric_for_best_model": "micro_f1"}


def task_defaults(task: str, multi_label: bool = False) -> dict[str, Any]:
    """Every training field the task accepts, with its default."""
    return {**TRAINING_DEFAULTS, **TASK_TRAINING_DEFAULTS[task], **(MULTI_LABEL_DEFAULTS if multi_label else {})}


_INT_FIELDS = {"max_steps", "per_device_train_batch_size", "per_device_eval_batch_size",
               "gradient_accumulation_steps", "max_seq_length", "eval_steps", "save_steps",
               "save_total_limit", "logging_steps", "seed", "early_stopping_patience", "doc_stride",
               "max_answer_length", "n_best_size", "freeze_layers"}
_FLOAT_FIELDS = {"num_train_epochs", "learning_rate", "weight_decay", "warmup_ratio", "max_grad_norm",
                 "mlm_probability", "short_seq_prob", "threshold", "layerwise_lr_decay"}
_BOOL_FIELDS = {"group_by_length", "whole_word_masking", "nsp", "freeze_embeddings", "freeze_base_model", "record_dynamics", "packing", "prune_last_layer"}
# The same ranges as the host's pre-launch check: field -> (low, low included, high, high included).
_RANGES: dict[str, tuple[float | None, bool, float | None, bool]] = {
    "num_train_epochs": (0, False, None, False),
    "learning_rate": (0, False, 1, True),  # above 1 every run diverges
    "weight_decay": (0, True, None, False),
    "warmup_ratio": (0, True, 1, True),
    "max_grad_norm": (0, True, None, False),  # 0: no clipping, as in HF Trainer
    "mlm_probability": (0, False, 1, False),
    "short_seq_prob": (0, True, 1, True),
    "threshold": (0, False, 1, False),
    "max_seq_length": (MIN_SEQ_LENGTH, True, None, False),
    "seed": (0, True, 2**32 - 1, True),  # numpy's seed range
    "freeze_layers": (0, True, None, False),
    "layerwise_lr_decay": (0, False, 1, True),  # 1: one rate for every layer
    **{name: (1, True, None, False) for name in (
        "per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
        "eval_steps", "save_steps", "save_total_limit", "logging_steps", "doc_stride",
        "max_answer_length", "n_best_size", "early_stopping_patience")},
}
# Model types whose position ids start after the padding index: two positions fewer are usable.
MAX_SPEC_BYTES = 16 * 1024 * 1024

_TOP_FIELDS = {"version", "task", "model", "data", "training", "device", "export", "name", "dataset_id", "study"}
_MODEL_FIELDS = {"name_or_path", "from_scratch", "trust_pickle"}
_DATA_FIELDS = {"train", "validation", "labels", "max_train_samples", "max_eval_samples", "columns",
                "multi_label", "label_delimiter"}
_EXPORT_FIELDS = {"onnx", "quantize"}
# Column roles a raw table (GLUE TSV, CoNLL) may map: role -> what it holds.
COLUMN_ROLES = {"text", "text_pair", "label", "tokens", "tags"}


@dataclass(frozen=True)
class ModelRef:
    name_or_path: str  # as written in the spec
    path: str  # a local folder or a hub id, "default" resolved
    is_local: bool
    trust_pickle: bool = False
    from_scratch: dict[str, Any] | None = None  # {"preset": name, "vocab_size": int}


@dataclass(frozen=True)
class DataSpec:
    train: Path
    validation: Path | None = None
    labels: list[str] | None = None
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    columns: dict[str, str | int] = field(default_factory=dict)  # role -> header name or 0-based index
    # sequence_classification: each example has a set of labels (a JSON list in JSONL, or a string
    # split on label_delimiter, e.g. "PER|LOC" in a TSV column); empty sets are allowed.
    multi_label: bool = False
    label_delimiter: str | None = None


@dataclass(frozen=True)
class Spec:
    task: str
    model: ModelRef
    data: DataSpec
    training: dict[str, Any]  # common + task fields, defaults filled
    device: str = "auto"
    export_onnx: bool = True
    export_quantize: bool = True
    raw: dict[str, Any] = field(default_factory=dict)

    def t(self, name: str) -> Any:
        return self.training[name]


# Names people type for Trainer's (as src/core/runs/launch.ts ALIASES): a hint, never applied silently.
_ALIASES = {"lr": "learning_rate", "epochs": "num_train_epochs", "num_epochs": "num_train_epochs",
            "batch_size": "per_device_train_batch_size", "train_batch_size": "per_device_train_batch_size",
            "eval_batch_size": "per_device_eval_batch_size", "max_length": "max_seq_length",
            "max_len": "max_seq_length", "warmup": "warmup_ratio", "grad_accum": "gradient_accumulation_steps",
            "patience": "early_stopping_patience", "fp16": "bf16"}


def _task_of_field(name: str) -> list[str]:
    """The tasks whose training fields include `name` (for a field given to the wrong task)."""
    return [t for t in TASKS if name in TASK_TRAINING_DEFAULTS[t] and name not in TRAINING_DEFAULTS]


def _check_unknown(obj: dict[str, Any], known: set[str], prefix: str) -> None:
    for key in obj:
        if key not in known:
            alias = _ALIASES.get(str(key)) if prefix == "training." else None
            close = [alias] if alias in known else difflib.get_close_matches(str(key), sorted(known), n=1)
            owners = _task_of_field(str(key)) if prefix == "training." else []
            if owners:
                fix = f"{key} applies to {', '.join(owners)} only: remove it for this task."
            elif close:
                fix = f"did you mean {prefix}{close[0]}?"
            else:
                fix = f"remove it, or use one of: {', '.join(sorted(known))}."
            raise SpecError(f"Unknown field {prefix}{key}; {fix}", f"{prefix}{key}")


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in raw:
        return {}
    value = raw[name]
    if not isinstance(value, dict):
        shown = "null" if value is None else json.dumps(value)[:40]
        raise SpecError(f"{name} must be an object ({{...}}), not {shown}; write {{}} for the defaults or remove it.", name)
    return value


def _range_text(low: float | None, low_in: bool, high: float | None, high_in: bool) -> str:
    lo, hi = _shown(low), _shown(high)
    if high is None:
        return f"at least {lo}" if low_in else f"greater than {lo}"
    if low_in and high_in:
        return f"between {lo} and {hi}"
    if not low_in and not high_in:
        return f"strictly between {lo} and {hi}"
    return f"greater than {lo} and at most {hi}" if high_in else f"at least {lo} and below {hi}"


def _shown(value: Any) -> str:
    """A value as it is written in spec.json (NaN and Infinity too)."""
    try:
        return json.dumps(value)[:60]
    except (TypeError, ValueError):
        return repr(value)[:60]


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _coerce(name: str, value: Any, default: Any) -> Any:
    """One training field, type and range checked. Errors say the rule and a value that works."""
    where = f"training.{name}"
    fix = f"the default is {_shown(default)}" if default is not None else "remove it (or null) for the default"
    if name == "unfreeze_schedule":
        return _unfreeze_schedule(value)
    if name == "report_to":
        from .engine.reporting import check_installed, report_to_list  # the integrations' home

        check_installed(report_to_list(value))
        return value
    if value is None:
        if name in ("metric_for_best_model", "early_stopping_patience"):
            return None
        raise SpecError(f"{where} must not be null; {fix}.", where)
    if name in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise SpecError(f"{where} must be true or false, not {_shown(value)}.", where)
        return value
    if name in ("bf16", "torch_compile"):
        if value not in ("auto", True, False) or isinstance(value, (int, float)) and not isinstance(value, bool):
            raise SpecError(f'{where} must be "auto", true or false, not {_shown(value)}.', where)
        return value
    if name == "metric_for_best_model":
        if not isinstance(value, str) or not value:
            raise SpecError(f"{where} must be a metric name such as {_shown(default)}, or null for the task's default.", where)
        return value
    if name not in _INT_FIELDS and name not in _FLOAT_FIELDS:
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value):
        kind = "an integer" if name in _INT_FIELDS else "a number"
        if isinstance(value, str) and _is_number(value):
            fix = f"write it without quotes: {value.strip()}"
        raise SpecError(f"{where} must be {kind}, not {_shown(value)}; {fix}.", where)
    if name in _INT_FIELDS and int(value) != value:
        raise SpecError(f"{where} must be a whole number, not {_shown(value)}; {fix}.", where)
    if name == "max_steps":
        if value != -1 and value < 1:
            raise SpecError(f"{where} must be a positive number of steps, or -1 to train for "
                            f"training.num_train_epochs epochs; not {_shown(value)}.", where)
    elif name in _RANGES:
        low, low_in, high, high_in = _RANGES[name]
        ok = (value >= low if low_in else value > low) if low is not None else True
        if high is not None:
            ok = ok and (value <= high if high_in else value < high)
        if not ok:
            raise SpecError(f"{where} must be {_range_text(low, low_in, high, high_in)}, not {_shown(value)}; {fix}.",
                            where)
    return int(value) if name in _INT_FIELDS else float(value)


def freeze_layers_error(value: int, layers: int, model: str) -> SpecError:
    """training.freeze_layers above the model's layer count (checked here from config.json, and by the
    engine on the built model when the spec names a hub id)."""
    return SpecError(f"training.freeze_layers is {value}, but the model {model} has {layers} encoder layers; set it "
                     f"to {layers} or less ({layers} freezes every layer; training.freeze_base_model also freezes the "
                     "embeddings).", "training.freeze_layers")


def _unfreeze_schedule(value: Any) -> dict[str, Any] | None:
    """training.unfreeze_schedule: null, or {"every": N >= 1, "unit": "epoch" | "step"}."""
    where = "training.unfreeze_schedule"
    example = 'e.g. {"every": 1, "unit": "epoch"}, or null for no gradual unfreezing'
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SpecError(f"{where} must be an object, not {_shown(value)}; {example}.", where)
    _check_unknown(value, {"every", "unit"}, f"{where}.")
    every, unit = value.get("every"), value.get("unit", "epoch")
    if isinstance(every, bool) or not isinstance(every, (int, float)) or int(every) != every or every < 1:
        raise SpecError(f"{where}.every must be a whole number of at least 1 (epochs or steps per unfrozen layer), "
                        f"not {_shown(every)}; {example}.", f"{where}.every")
    if unit not in ("epoch", "step"):
        raise SpecError(f'{where}.unit must be "epoch" or "step", not {_shown(unit)}; {example}.', f"{where}.unit")
    return {"every": int(every), "unit": unit}


def _data_path(value: Any, where: str, base: Path | None, folder_ok: bool = False) -> Path:
    if not isinstance(value, str) or not value:
        raise SpecError(f"{where} must be the path of a data file.", where)
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.exists():
        raise SpecError(f"{where}: no such file or folder: {value}; check the path (relative paths are read from "
                        "the run folder).", where)
    if path.is_dir():
        if not folder_ok:
            raise SpecError(f"{where}: {value} is a folder; give the data file inside it (.jsonl, .tsv, .txt...).", where)
    elif not path.is_file():
        raise SpecError(f"{where}: {value} is not a regular file (a device, pipe or socket); give a data file.", where)
    elif not os.access(path, os.R_OK):
        raise SpecError(f"{where}: {value} cannot be read (permission denied); make it readable (chmod u+r).", where)
    return path


def _model_facts(model: ModelRef) -> Any:
    """families.ModelFacts of a local model folder; None when unknown (a hub id, from scratch, or a
    folder whose config transformers cannot read: the run then fails with transformers' own error)."""
    if not model.is_local or model.from_scratch is not None:
        return None
    try:
        return model_facts(model.path)
    except Exception:  # noqa: BLE001 - any unreadable config leaves the checks to the run itself
        return None


def _max_positions(facts: Any) -> tuple[int, str] | None:
    """(usable positions, where that comes from) of a local model folder; None when unknown."""
    if facts is None:
        return None
    total = facts.positions + facts.position_offset
    offset = facts.position_offset
    note = f"max_position_embeddings {total}" + (f" minus {offset} for {facts.model_type}" if offset else "")
    return facts.positions, note


def _parse_model(m: dict[str, Any], task: str) -> ModelRef:
    _check_unknown(m, _MODEL_FIELDS, "model.")
    scratch = m.get("from_scratch")
    if scratch is not None:
        if task not in _PRETRAIN:
            raise SpecError("model.from_scratch is only for the mlm and mlm_nsp tasks; remove it to fine-tune a "
                          "pretrained model.", "model.from_scratch")
        if not isinstance(scratch, dict):
            raise SpecError('model.from_scratch must be {"preset": name, "vocab_size": int}.', "model.from_scratch")
        _check_unknown(scratch, {"preset", "vocab_size"}, "model.from_scratch.")
        if not isinstance(scratch.get("preset"), str):
            raise SpecError('model.from_scratch.preset must be a preset name such as "bert-tiny".',
                          "model.from_scratch.preset")
        vs = scratch.get("vocab_size")
        if vs is not None and (isinstance(vs, bool) or not isinstance(vs, int) or vs <= 0):
            raise SpecError("model.from_scratch.vocab_size must be a positive integer (e.g. 30522), or absent to use "
                          "the default model's vocabulary.", "model.from_scratch.vocab_size")
    trust = m.get("trust_pickle", False)
    if not isinstance(trust, bool):
        raise SpecError("model.trust_pickle must be true or false.", "model.trust_pickle")
    name = m.get("name_or_path")
    if not isinstance(name, str) or not name:
        raise SpecError('model.name_or_path is required: a model folder, a hub id, or "default".', "model.name_or_path")
    try:
        path, is_local = resolve_model(name, trust_pickle=trust, need_weights=scratch is None)
    except ValueError as e:
        raise SpecError(str(e), "model.name_or_path") from e
    return ModelRef(name, path, is_local, trust, scratch)


def _parse_data(d: dict[str, Any], base: Path | None, task: str = "") -> DataSpec:
    _check_unknown(d, _DATA_FIELDS, "data.")
    folder_ok = task in _PRETRAIN  # a pretraining corpus may be a folder of .txt/.jsonl files
    train = _data_path(d.get("train"), "data.train", base, folder_ok)
    val = _data_path(d["validation"], "data.validation", base, folder_ok) if d.get("validation") else None
    labels = d.get("labels")
    if labels is not None and (not isinstance(labels, list) or not all(isinstance(x, str) for x in labels) or not labels):
        raise SpecError("data.labels must be a non-empty list of strings.", "data.labels")
    limits: dict[str, int | None] = {}
    for k in ("max_train_samples", "max_eval_samples"):
        v = d.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
            raise SpecError(f"data.{k} must be a positive integer or null.", f"data.{k}")
        limits[k] = v
    cols = d.get("columns") or {}
    if not isinstance(cols, dict):
        raise SpecError('data.columns must be an object that maps roles to column names or indexes: use for example '
                        '{"text": "sentence", "label": 1}.',
                        "data.columns")
    for role, col in cols.items():
        if role not in COLUMN_ROLES:
            raise SpecError(f"Unknown column role data.columns.{role}; use {sorted(COLUMN_ROLES)}.", f"data.columns.{role}")
        if not isinstance(col, (str, int)) or isinstance(col, bool):
            raise SpecError(f"data.columns.{role} must be a column name or index.", f"data.columns.{role}")
    multi = d.get("multi_label", False)
    if not isinstance(multi, bool):
        raise SpecError("data.multi_label must be true or false.", "data.multi_label")
    delim = d.get("label_delimiter")
    if delim is not None and (not isinstance(delim, str) or not delim):
        raise SpecError('data.label_delimiter must be a non-empty string such as "|" or ",".', "data.label_delimiter")
    if delim is not None and not multi:
        raise SpecError("data.label_delimiter splits multi-label columns: set data.multi_label to true as well.",
                        "data.label_delimiter")
    return DataSpec(train, val, labels, limits["max_train_samples"], limits["max_eval_samples"], dict(cols), multi, delim)


def parse_spec(raw: dict[str, Any], base_dir: Path | None = None) -> Spec:
    """Validate a spec dict and fill defaults. Raises SpecError naming the field."""
    if not isinstance(raw, dict):
        raise SpecError("The spec must be a JSON object ({...}).")
    _check_unknown(raw, _TOP_FIELDS, "")
    version = raw.get("version", 1)
    if version != 1 or isinstance(version, bool):
        raise SpecError(f"Unsupported spec version {_shown(version)}; this worker reads version 1: write \"version\": 1 "
                        "(or remove it), or update BERT Studio if a newer one wrote this spec.", "version")
    task = raw.get("task")
    if task not in TASKS:
        raise SpecError(f"Unknown task {_shown(task)}; use one of {', '.join(TASKS)}.", "task")
    for name in ("name", "dataset_id"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise SpecError(f"{name} must be a string, not {_shown(raw[name])}.", name)
    study = raw.get("study")  # a trial of a hyperparameter search (sweep.py): {"id", "trial"}; host-side only
    if study is not None and not (isinstance(study, dict) and isinstance(study.get("id"), str)
                                  and isinstance(study.get("trial"), int) and not isinstance(study.get("trial"), bool)):
        raise SpecError(f'study must be {{"id": STUDY_ID, "trial": N}} (the sweep writes it), not {_shown(study)}; '
                        "remove it for a run outside a study.", "study")
    for name in ("model", "data"):
        if name not in raw:
            raise SpecError(f"{name} is required: the spec has no {name} object.", name)
    model = _parse_model(_section(raw, "model"), task)
    data = _parse_data(_section(raw, "data"), base_dir, task)
    if data.multi_label and task != "sequence_classification":
        raise SpecError("data.multi_label is only for the sequence_classification task.", "data.multi_label")
    tr = _section(raw, "training")
    allowed = task_defaults(task, data.multi_label)
    _check_unknown(tr, set(allowed), "training.")
    training = {k: _coerce(k, tr.get(k, v), v) for k, v in allowed.items()}
    _check_training(task, model, training)
    device = raw.get("device", "auto")
    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise SpecError(f"Unknown device {_shown(device)}; use auto, cpu, cuda or cuda:N.", "device")
    ex = _section(raw, "export")
    _check_unknown(ex, _EXPORT_FIELDS, "export.")
    for k in _EXPORT_FIELDS:
        if not isinstance(ex.get(k, True), bool):
            raise SpecError(f"export.{k} must be true or false.", f"export.{k}")
    return Spec(task, model, data, training, device, ex.get("onnx", True), ex.get("quantize", True), raw)


def _check_training(task: str, model: ModelRef, training: dict[str, Any]) -> None:
    """Rules between fields, and between the fields and the model."""
    seq = training["max_seq_length"]
    facts = _model_facts(model)
    refusal = task_refusal(facts, task) if facts is not None else None
    if refusal:
        raise SpecError(f"The model {model.name_or_path!r} cannot run task {task}: {refusal}", "task")
    limit = _max_positions(facts)
    if limit is not None and seq > limit[0]:
        raise SpecError(f"training.max_seq_length must be at most {limit[0]}, the positions of the model "
                        f"{model.name_or_path!r} ({limit[1]}), not {seq}; set it to {limit[0]} or less.",
                        "training.max_seq_length")
    layers = facts.layers if facts is not None else None
    if layers is not None and training["freeze_layers"] > layers:
        raise freeze_layers_error(training["freeze_layers"], layers, repr(model.name_or_path))
    if training["freeze_base_model"] and training["unfreeze_schedule"] is not None:
        raise SpecError("training.unfreeze_schedule opens layers that training.freeze_base_model keeps frozen; remove "
                        "one of them (freeze_base_model trains the head alone, a linear probe).",
                        "training.unfreeze_schedule")
    stride = training.get("doc_stride")
    if stride is not None and stride >= seq:
        raise SpecError(f"training.doc_stride {stride} must be smaller than training.max_seq_length {seq} (windows "
                        f"overlap by doc_stride tokens); use about a third of it, e.g. {max(1, seq // 3)}.",
                        "training.doc_stride")


def load_spec(path: Path) -> Spec:
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(f"{path} is over {MAX_SPEC_BYTES >> 20} MiB; a spec.json is a few lines of settings.")
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise SpecError(f"No spec.json in {path.parent}; the host writes it when it creates a run.", None) from e
    except IsADirectoryError as e:
        raise SpecError(f"{path} is a folder; spec.json must be a file.", None) from e
    except UnicodeDecodeError as e:
        raise SpecError(f"{path} is not UTF-8 text (byte {e.start}); save it as UTF-8.", None) from e
    except json.JSONDecodeError as e:
        raise SpecError(f"{path}:{e.lineno}: not valid JSON ({e.msg} at column {e.colno}); fix the JSON.", None) from e
    except OSError as e:
        raise SpecError(f"{path} cannot be read ({e.strerror}); check its permissions.", None) from e
    return parse_spec(raw, path.parent)
