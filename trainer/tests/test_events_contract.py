"""The worker's side of the run-folder contract (engine/events.py; TS mirror src/core/runs/protocol.ts).

test/unit/runs/contract.test.ts checks the host's side on what this writer produces.
"""

from __future__ import annotations

import ast
import json
import os
import typing
from pathlib import Path

import pytest

from bert_studio_trainer.engine import events as ev
from bert_studio_trainer.engine.events import EVENT_TYPES, EventLog, RunStatus, process_start_time

PACKAGE = Path(ev.__file__).resolve().parents[1]


def test_status_names_this_process_by_pid_and_start_time(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.state("running", "go")
    log.close()
    status = json.loads((tmp_path / "status.json").read_text())
    assert set(status) == set(RunStatus.__annotations__)
    assert status["pid"] == os.getpid()
    if Path("/proc/self/stat").exists():
        fields = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
        assert status["pid_start"] == int(fields[19]) > 0  # field 22 of /proc/<pid>/stat
    else:
        assert status["pid_start"] is None


def test_start_time_of_a_missing_process_is_none() -> None:
    assert process_start_time(2**22 + 12345) is None  # above pid_max's default


def test_every_kind_and_its_required_fields_are_enforced(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    with pytest.raises(ValueError, match="unknown event type 'progress'"):
        log.emit("progress", step=1)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="step event without loss"):
        log.emit("step", step=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="log event with level='warn'; use one of debug, info, warning, error"):
        log.log("warn", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status event with state='paused'"):
        log.state("paused")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status.json has no field bogus"):
        log.set_status(bogus=1)
    log.emit("checkpoint", step=3, path="checkpoints/step-3")
    log.close()
    lines = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [x["type"] for x in lines] == ["checkpoint"], "refused events write nothing"


def test_the_typed_kinds_are_the_literal_type() -> None:
    assert set(typing.get_args(ev.EventType)) == set(EVENT_TYPES)


def _emitted_kinds() -> set[tuple[str, str, int]]:
    """Every literal event kind the trainer passes to emit(), state passed to state(), level passed to log()."""
    found: set[tuple[str, str, int]] = set()
    for file in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                first = node.args[0]
                if node.func.attr in ("emit", "state", "log") and isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add((node.func.attr, first.value, node.lineno))
    return found


def test_the_trainer_writes_only_typed_kinds_and_states() -> None:
    calls = _emitted_kinds()
    assert {k for f, k, _ in calls if f == "emit"} <= set(EVENT_TYPES)
    assert {k for f, k, _ in calls if f == "state"} <= set(typing.get_args(ev.RunState))
    assert {k for f, k, _ in calls if f == "log"} <= set(typing.get_args(ev.LogLevel))
    assert any(f == "emit" and k == "step" for f, k, _ in calls), "the scan finds the trainer's step events"
