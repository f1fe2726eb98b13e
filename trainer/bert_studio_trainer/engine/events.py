"""events.jsonl (append-only, flushed per line), status.json (atomic replace) and stderr logs."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("bert_studio_trainer")


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


class EventLog:
    """Writes the run folder's events and status. A disabled log (DDP ranks > 0) writes nothing."""

    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.run_dir = run_dir
        self.enabled = enabled
        self.status: dict[str, Any] = {
            "state": "starting", "pid": os.getpid(), "step": 0, "max_steps": None, "best_metric": None,
            "last_checkpoint": None, "started": time.time(), "updated": time.time(),
        }
        self._file = (run_dir / "events.jsonl").open("a", encoding="utf-8") if enabled else None

    def emit(self, type_: str, **fields: Any) -> None:
        if self._file is None:
            return
        line = json.dumps(_clean({"type": type_, "ts": time.time(), **fields}), ensure_ascii=False)
        self._file.write(line + "\n")
        self._file.flush()

    def set_status(self, **fields: Any) -> None:
        self.status.update(fields)
        self.status["updated"] = time.time()
        if self.enabled:
            atomic_write_text(self.run_dir / "status.json", json.dumps(_clean(self.status)))

    def state(self, state: str, message: str = "") -> None:
        self.emit("status", state=state, message=message)
        self.set_status(state=state)
        log.info("%s%s", state, f": {message}" if message else "")

    def log(self, level: str, message: str) -> None:
        self.emit("log", level=level, message=message)
        getattr(log, level if level in ("debug", "info", "warning", "error") else "info")(message)

    def error(self, message: str, field: str | None = None) -> None:
        self.emit("error", message=message, **({"field": field} if field else {}))
        log.error("%s%s", f"[{field}] " if field else "", message)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
