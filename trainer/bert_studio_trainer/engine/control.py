"""Stop requests: SIGTERM, SIGINT or a `stop` file in the run folder ask for checkpoint-and-exit.

The worker installs this first, before importing torch (__main__.py), so a stop is never lost to
Python's default SIGTERM action. While the run starts (imports, reading and tokenizing data,
loading the model) nothing needs saving: a stop then raises StopRequested at once, and the worker
ends as `stopped` without waiting for the first step. Once training begins (`training_started`) a
stop only sets a flag that the loop reads after each step, so it checkpoints first.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import FrameType

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequested(BaseException):
    """A stop asked for while the run was starting. A BaseException, so that no `except Exception`
    in the code it interrupts (a reader, a tokenizer) takes it for a failure."""


class StopControl:
    def __init__(self, run_dir: Path, stop_after_steps: int | None = None) -> None:
        self.stop_file = run_dir / "stop"
        self.stop_after_steps = stop_after_steps  # tests: stop deterministically after this step
        self.signalled = False
        self.starting = True  # a stop raises StopRequested until training_started()
        self.armed = False  # train() is inside the block that turns StopRequested into `stopped`
        self.installed = False
        self._previous: dict[int, object] = {}
        # A stop file already there when the worker starts is left to the loop (it checks every
        # step); during start-up only a new one counts. The host removes old ones before a launch.
        self._stale_stop = self._stop_stamp()
        # Under torchrun every process would see a stop file at a different moment of its start-up;
        # there only signals (sent to all of them) stop the start, the file waits for the loop's
        # synchronized check.
        self._file_stops_start = int(os.environ.get("WORLD_SIZE", "1")) == 1

    def install(self) -> None:
        if self.installed:
            return
        try:
            for sig in _SIGNALS:
                self._previous[sig] = signal.signal(sig, self._on_signal)
        except ValueError:  # not the main thread (e.g. called from a thread in tests)
            self._previous.clear()
        self.installed = True

    def uninstall(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)  # type: ignore[arg-type]
        self._previous.clear()
        self.installed = False

    def arm(self) -> None:
        """From now on a stop during start-up raises StopRequested (a pending one at once)."""
        self.armed = True
        self.check_starting()

    def disarm(self) -> None:
        """A stop no longer raises (the run is already ending, e.g. reporting a failure)."""
        self.armed = False

    def training_started(self) -> None:
        """Stops are flags from now on: the loop checkpoints before it exits."""
        self.starting = False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signalled = True
        if self.starting and self.armed:
            self.starting = False  # raise once: a second signal while winding down only sets the flag
            raise StopRequested(signal.Signals(signum).name)

    def _stop_stamp(self) -> float | None:
        try:
            return self.stop_file.stat().st_mtime
        except OSError:
            return None

    def check_starting(self) -> None:
        """Between start-up phases: raise StopRequested if a signal or a new stop file came."""
        if not self.starting:
            return
        stamp = self._stop_stamp() if self._file_stops_start else None
        if self.signalled or (stamp is not None and stamp != self._stale_stop):
            self.starting = False
            raise StopRequested("stop file" if not self.signalled else "signal")

    def requested(self, step: int) -> bool:
        if self.signalled or self.stop_file.exists():
            return True
        return self.stop_after_steps is not None and step >= self.stop_after_steps
