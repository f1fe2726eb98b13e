"""Stop requests: SIGTERM or a `stop` file in the run folder ask for checkpoint-and-exit."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType


class StopControl:
    def __init__(self, run_dir: Path, stop_after_steps: int | None = None) -> None:
        self.stop_file = run_dir / "stop"
        self.stop_after_steps = stop_after_steps  # tests: stop deterministically after this step
        self.signalled = False
        self._previous: object = None

    def install(self) -> None:
        try:
            self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        except ValueError:  # not the main thread (e.g. called from a thread in tests)
            self._previous = None

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)  # type: ignore[arg-type]

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.signalled = True

    def requested(self, step: int) -> bool:
        if self.signalled or self.stop_file.exists():
            return True
        return self.stop_after_steps is not None and step >= self.stop_after_steps
