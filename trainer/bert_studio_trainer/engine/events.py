"""events.jsonl (append-only, flushed per line), status.json (atomic replace) and stderr logs.

The run folder's contract with the host, typed here once per event kind and for status.json.
TypeScript mirror: src/core/runs/protocol.ts (the host checks every record against it on receipt
and drops what does not match). Change both together; test/unit/runs/contract.test.ts makes this
writer emit every kind and checks the host accepts them, and trainer/tests/test_events_contract.py
checks the writer's side.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired from evaluated annotations.
import json
import logging
import math
import os
import time
import typing
from pathlib import Path
from typing import Any, Literal, overload

from typing_extensions import NotRequired, TypedDict, Unpack

log = logging.getLogger("bert_studio_trainer")

RunState = Literal["starting", "running", "stopping", "stopped", "completed", "failed"]
LogLevel = Literal["debug", "info", "warning", "error"]
RUN_STATES: tuple[str, ...] = typing.get_args(RunState)
LOG_LEVELS: tuple[str, ...] = typing.get_args(LogLevel)


# ---- event kinds: every line is {"type": kind, "ts": unix seconds, **fields} ----------------------
class StatusFields(TypedDict):
    state: RunState
    message: NotRequired[str]


class StepFields(TypedDict):
    step: int
    loss: float
    max_steps: NotRequired[int]
    epoch: NotRequired[float]
    mlm_loss: NotRequired[float | None]
    nsp_loss: NotRequired[float | None]
    learning_rate: NotRequired[float | None]
    grad_norm: NotRequired[float | None]
    samples_per_second: NotRequired[float | None]
    tokens_per_second: NotRequired[float | None]
    memory_mb: NotRequired[float | None]
    # With layer-wise learning-rate decay: the rate of each block at this step ({"head": ..,
    # "layer.5": .., ..., "embeddings": ..}, top to bottom); `learning_rate` is the head's.
    group_learning_rates: NotRequired[dict[str, float]]


class ParamGroup(TypedDict):
    name: str  # "head", "layer.N" (N from 0 at the bottom), "embeddings"
    params: int  # parameters in the block
    trainable: bool
    lr_scale: float  # its share of the base learning rate (layerwise_lr_decay ** depth from the top)


class ParamsFields(TypedDict):
    """Trainable parameters: at the start (and on resume), and whenever gradual unfreezing opens a block."""
    step: int
    trainable: int
    total: int
    groups: NotRequired[list[ParamGroup]]  # top to bottom; absent for a model without found layers
    unfrozen_layers: NotRequired[int]  # with unfreeze_schedule: encoder layers open from the top


class ClassReport(TypedDict):
    precision: float
    recall: float
    f1: float
    support: int


class SourceRef(TypedDict):
    file: str
    line: int


class Misclassified(TypedDict):
    text: str
    gold: str
    pred: str
    source: NotRequired[SourceRef | None]
    # NER: the sentence's entity errors as [gold type, predicted type] ("O": missed or spurious).
    errors: NotRequired[list[list[str]]]


class ConfusionMatrix(TypedDict):
    labels: list[str]
    matrix: list[list[int]]


class EvalFields(TypedDict):
    step: int
    metrics: dict[str, float | None]
    per_class: NotRequired[dict[str, ClassReport]]
    per_entity: NotRequired[dict[str, ClassReport]]
    confusion_matrix: NotRequired[ConfusionMatrix]
    misclassified: NotRequired[list[Misclassified]]
    # `python -m bert_studio_trainer evaluate` on another file or split: its split and name (absent: validation).
    split: NotRequired[str]
    name: NotRequired[str]


class CheckpointFields(TypedDict):
    step: int
    path: str  # relative to the run folder


class ExportFields(TypedDict):
    path: NotRequired[str]
    files: NotRequired[list[str]]
    max_abs_diff: NotRequired[float | None]
    attention_max_abs_diff: NotRequired[float | None]
    quantized_max_abs_diff: NotRequired[float | None]
    cpu_max_abs_diff: NotRequired[float | None]
    tied_weights: NotRequired[Any]
    tolerance: NotRequired[float]  # the parity tolerance the fp32 graphs passed
    # {"metric", "examples", "fp32", "int8"}: the task's metric of model.onnx / model_quantized.onnx
    # on the first validation examples (export.onnx_accuracy)
    accuracy: NotRequired[dict[str, Any]]


class LogFields(TypedDict):
    level: LogLevel
    message: str


class ErrorFields(TypedDict):
    message: str
    field: NotRequired[str]


EventType = Literal["status", "step", "eval", "checkpoint", "export", "log", "error", "params"]
EVENT_FIELDS: dict[str, type] = {
    "status": StatusFields, "step": StepFields, "eval": EvalFields, "checkpoint": CheckpointFields,
    "export": ExportFields, "log": LogFields, "error": ErrorFields, "params": ParamsFields,
}
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_FIELDS)


class RunStatus(TypedDict):
    """status.json. `pid_start` (field 22 of /proc/self/stat: start time in clock ticks since boot)
    with `pid` names this process, so the host never takes a recycled pid for the worker."""
    state: RunState
    pid: int
    pid_start: int | None
    step: int
    max_steps: int | None
    best_metric: dict[str, Any] | None  # {name, value, step}
    last_checkpoint: str | None
    started: float
    updated: float


def process_start_time(pid: int | str = "self") -> int | None:
    """Field 22 of /proc/<pid>/stat (the process's start time, clock ticks since boot); None without /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: count from after it.
    fields = text[text.rindex(")") + 2:].split()
    try:
        return int(fields[22 - 3])
    except (IndexError, ValueError):
        return None


def _clean(value: Any) -> Any:
    """JSON has no NaN/Infinity: write them as null so every line parses in JavaScript."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # e.g. a full disk: leave no stray temporary file
        raise


def check_fields(type_: str, fields: dict[str, Any]) -> None:
    """A programming error, caught where it is made: an unknown kind or a missing required field."""
    spec = EVENT_FIELDS.get(type_)
    if spec is None:
        raise ValueError(f"unknown event type {type_!r}; add it to EVENT_FIELDS here and to src/core/runs/protocol.ts")
    missing = [k for k in spec.__required_keys__ if k not in fields]  # type: ignore[attr-defined]
    if missing:
        raise ValueError(f"{type_} event without {', '.join(sorted(missing))}")
    # The values the host accepts from a closed set (it drops the event otherwise).
    for key, allowed in (("state", RUN_STATES), ("level", LOG_LEVELS)):
        if key in fields and type_ in ("status", "log") and fields[key] not in allowed:
            raise ValueError(f"{type_} event with {key}={fields[key]!r}; use one of {', '.join(allowed)}")


class EventLog:
    """Writes the run folder's events and status. A disabled log (DDP ranks > 0) writes nothing."""

    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.run_dir = run_dir
        self.enabled = enabled
        now = time.time()
        self.status: RunStatus = {
            "state": "starting", "pid": os.getpid(), "pid_start": process_start_time(), "step": 0,
            "max_steps": None, "best_metric": None, "last_checkpoint": None, "started": now, "updated": now,
        }
        self._file = (run_dir / "events.jsonl").open("a", encoding="utf-8") if enabled else None
        self._sinks: list[Any] = []  # training.report_to integrations (engine/reporting.py)

    def add_sink(self, sink: Any) -> None:
        """Mirrors every event written from now on to `sink.on_event(type, fields)`."""
        self._sinks.append(sink)

    @overload
    def emit(self, type_: Literal["status"], **fields: Unpack[StatusFields]) -> None: ...
    @overload
    def emit(self, type_: Literal["step"], **fields: Unpack[StepFields]) -> None: ...
    @overload
    def emit(self, type_: Literal["eval"], **fields: Unpack[EvalFields]) -> None: ...
    @overload
    def emit(self, type_: Literal["checkpoint"], **fields: Unpack[CheckpointFields]) -> None: ...
    @overload
    def emit(self, type_: Literal["export"], **fields: Unpack[ExportFields]) -> None: ...
    @overload
    def emit(self, type_: Literal["log"], **fields: Unpack[LogFields]) -> None: ...
    @overload
    def emit(self, type_: Literal["params"], **fields: Unpack[ParamsFields]) -> None: ...
    @overload
    def emit(self, type_: Literal["error"], **fields: Unpack[ErrorFields]) -> None: ...

    def emit(self, type_: str, **fields: Any) -> None:
        check_fields(type_, fields)
        if self._file is None:
            return
        event = _clean({"type": type_, "ts": time.time(), **fields})
        self._file.write(json.dumps(event, ensure_ascii=False) + "\n")
        self._file.flush()
        for sink in list(self._sinks):
            try:
                sink.on_event(type_, event)
            except Exception as e:  # noqa: BLE001 - a tracking integration never stops training
                self._sinks.remove(sink)
                log.warning("report_to: %s stopped mirroring events (%s: %s); events.jsonl keeps them",
                            type(sink).__name__, type(e).__name__, e)

    def set_status(self, **fields: Any) -> None:
        unknown = set(fields) - set(RunStatus.__annotations__)
        if unknown:
            raise ValueError(f"status.json has no field {', '.join(sorted(unknown))}")
        self.status.update(fields)  # type: ignore[typeddict-item]
        self.status["updated"] = time.time()
        if self.enabled:
            atomic_write_text(self.run_dir / "status.json", json.dumps(_clean(self.status)))

    def state(self, state: RunState, message: str = "") -> None:
        self.emit("status", state=state, message=message)
        self.set_status(state=state)
        log.info("%s%s", state, f": {message}" if message else "")

    def log(self, level: LogLevel, message: str) -> None:
        self.emit("log", level=level, message=message)
        getattr(log, level)(message)

    def error(self, message: str, field: str | None = None) -> None:
        if field:
            self.emit("error", message=message, field=field)
        else:
            self.emit("error", message=message)
        log.error("%s%s", f"[{field}] " if field else "", message)

    def close(self) -> None:
        for sink in self._sinks:
            try:
                sink.close()
            except Exception:  # noqa: BLE001
                log.warning("report_to: %s did not close cleanly", type(sink).__name__)
        self._sinks = []
        if self._file is not None:
            self._file.close()
            self._file = None
