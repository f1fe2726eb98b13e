"""spec.json: parsing and up-front validation. Every problem names its field (DESIGN.md, spec.json)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .models import resolve_model


class SpecError(ValueError):
    """A spec problem found before any work; the worker exits with code 2."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


TASKS = ("sequence_classification", "token_classification", "question_answering", "mlm", "mlm_nsp")
_PRETRAIN = ("mlm", "mlm_nsp")

# Common training fields, Trainer's names and the host's defaults (src/core/runs/spec.ts).
TRAINING_DEFAULTS: dict[str, Any] = {
    "num_train_epochs": 1.0,
    "max_steps": -1,  # > 0 overrides num_train_epochs, as in HF Trainer
    "per_device_train_batch_size": 32,
    "per_device_eval_batch_size": 64,
    "learning_rate": 5e-5,
    "weight_decay": 0.01,
    "warmup_ratio": 0.06,
    "gradient_accumulation_steps": 1,
    "max_grad_norm": 1.0,
    "max_seq_length": 128,
    "eval_steps": 200,
    "save_steps": 200,
    "save_total_limit": 2,  # checkpoints kept; the newest is enough to resume, one more guards a bad disk
    "logging_steps": 10,
    "seed": 42,
    "metric_for_best_model": None,  # None: the task's default metric
    "early_stopping_patience": None,  # evaluations without improvement before stopping; None: never
    "bf16": "auto",
    "torch_compile": False,
    "group_by_length": True,
}

# Task-specific training fields with their defaults.
TASK_TRAINING_DEFAULTS: dict[str, dict[str, Any]] = {
    # Multi-label only (data.multi_label): a label is predicted when its sigmoid reaches this.
    "sequence_classification": {"threshold": 0.5},
    "token_classification": {},
    # SQuAD's usual settings: answers up to 30 tokens, 128-token overlap between windows.
    "question_answering": {"doc_stride": 128, "max_answer_length": 30, "n_best_size": 20},
    # BERT's recipe: 15% of tokens masked, 10% of sequences shorter than the maximum.
    "mlm": {"mlm_probability": 0.15, "short_seq_prob": 0.1, "whole_word_masking": False},
    "mlm_nsp": {"mlm_probability": 0.15, "short_seq_prob": 0.1, "whole_word_masking": False, "nsp": True},
}

_INT_FIELDS = {"max_steps", "per_device_train_batch_size", "per_device_eval_batch_size",
               "gradient_accumulation_steps", "max_seq_length", "eval_steps", "save_steps",
               "save_total_limit", "logging_steps", "seed", "early_stopping_patience", "doc_stride",
               "max_answer_length", "n_best_size"}
_FLOAT_FIELDS = {"num_train_epochs", "learning_rate", "weight_decay", "warmup_ratio", "max_grad_norm",
                 "mlm_probability", "short_seq_prob", "threshold"}
_BOOL_FIELDS = {"torch_compile", "group_by_length", "whole_word_masking", "nsp"}
_POSITIVE = {"per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
             "max_seq_length", "eval_steps", "save_steps", "save_total_limit", "logging_steps",
             "doc_stride", "max_answer_length", "n_best_size", "early_stopping_patience"}

_TOP_FIELDS = {"version", "task", "model", "data", "training", "device", "export", "name", "dataset_id"}
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


def _check_unknown(obj: dict[str, Any], known: set[str], prefix: str) -> None:
    for key in obj:
        if key not in known:
            raise SpecError(f"Unknown field {prefix}{key}.", f"{prefix}{key}")


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, dict):
        raise SpecError(f"{name} must be an object.", name)
    return value


def _coerce(name: str, value: Any) -> Any:
    where = f"training.{name}"
    if value is None:
        if name in ("metric_for_best_model", "early_stopping_patience"):
            return None
        raise SpecError(f"{where} must not be null.", where)
    if name in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise SpecError(f"{where} must be true or false, not {value!r}.", where)
        return value
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise SpecError(f"{where} must be an integer, not {value!r}.", where)
        if name in _POSITIVE and value <= 0:
            raise SpecError(f"{where} must be positive, not {value!r}.", where)
        return int(value)
    if name in _FLOAT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise SpecError(f"{where} must be a non-negative number, not {value!r}.", where)
        return float(value)
    if name == "bf16":
        if value not in ("auto", True, False):
            raise SpecError(f'training.bf16 must be "auto", true or false, not {value!r}.', where)
        return value
    if name == "metric_for_best_model" and not isinstance(value, str):
        raise SpecError(f"{where} must be a metric name.", where)
    return value


def _data_path(value: Any, where: str, base: Path | None) -> Path:
    if not isinstance(value, str) or not value:
        raise SpecError(f"{where} must be a path.", where)
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.exists():
        raise SpecError(f"{where}: no such file or folder: {value}", where)
    return path


def _parse_model(m: dict[str, Any], task: str) -> ModelRef:
    _check_unknown(m, _MODEL_FIELDS, "model.")
    scratch = m.get("from_scratch")
    if scratch is not None:
        if task not in _PRETRAIN:
            raise SpecError("model.from_scratch is only for the mlm and mlm_nsp tasks.", "model.from_scratch")
        if not isinstance(scratch, dict):
            raise SpecError('model.from_scratch must be {"preset": name, "vocab_size": int}.', "model.from_scratch")
        _check_unknown(scratch, {"preset", "vocab_size"}, "model.from_scratch.")
        if not isinstance(scratch.get("preset"), str):
            raise SpecError("model.from_scratch.preset must be a preset name.", "model.from_scratch.preset")
        vs = scratch.get("vocab_size")
        if vs is not None and (isinstance(vs, bool) or not isinstance(vs, int) or vs <= 0):
            raise SpecError("model.from_scratch.vocab_size must be a positive integer.", "model.from_scratch.vocab_size")
    trust = m.get("trust_pickle", False)
    if not isinstance(trust, bool):
        raise SpecError("model.trust_pickle must be true or false.", "model.trust_pickle")
    name = m.get("name_or_path")
    if not isinstance(name, str) or not name:
        raise SpecError("model.name_or_path is required.", "model.name_or_path")
    try:
        path, is_local = resolve_model(name, trust_pickle=trust, need_weights=scratch is None)
    except ValueError as e:
        raise SpecError(str(e), "model.name_or_path") from e
    return ModelRef(name, path, is_local, trust, scratch)


def _parse_data(d: dict[str, Any], base: Path | None) -> DataSpec:
    _check_unknown(d, _DATA_FIELDS, "data.")
    train = _data_path(d.get("train"), "data.train", base)
    val = _data_path(d["validation"], "data.validation", base) if d.get("validation") else None
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
        raise SpecError("data.columns must map roles to column names.", "data.columns")
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
        raise SpecError("The spec must be a JSON object.")
    _check_unknown(raw, _TOP_FIELDS, "")
    if raw.get("version", 1) != 1:
        raise SpecError(f"Unsupported spec version {raw.get('version')!r}; this worker reads version 1.", "version")
    task = raw.get("task")
    if task not in TASKS:
        raise SpecError(f"Unknown task {task!r}; use one of {', '.join(TASKS)}.", "task")
    model = _parse_model(_section(raw, "model"), task)
    data = _parse_data(_section(raw, "data"), base_dir)
    if data.multi_label and task != "sequence_classification":
        raise SpecError("data.multi_label is only for the sequence_classification task.", "data.multi_label")
    tr = _section(raw, "training")
    allowed = {**TRAINING_DEFAULTS, **TASK_TRAINING_DEFAULTS[task]}
    _check_unknown(tr, set(allowed), "training.")
    training = {k: _coerce(k, tr.get(k, v)) for k, v in allowed.items()}
    device = raw.get("device", "auto")
    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise SpecError(f"Unknown device {device!r}; use auto, cpu or cuda.", "device")
    ex = _section(raw, "export")
    _check_unknown(ex, _EXPORT_FIELDS, "export.")
    for k in _EXPORT_FIELDS:
        if not isinstance(ex.get(k, True), bool):
            raise SpecError(f"export.{k} must be true or false.", f"export.{k}")
    return Spec(task, model, data, training, device, ex.get("onnx", True), ex.get("quantize", True), raw)


def load_spec(path: Path) -> Spec:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise SpecError(f"No spec.json in {path.parent}.", None) from e
    except json.JSONDecodeError as e:
        raise SpecError(f"spec.json is not valid JSON: {e}", None) from e
    return parse_spec(raw, path.parent)
