"""Run one training job in a run folder: the worker's importable API.

    train(run_dir, resume=False) -> exit code     # reads run_dir/spec.json
    main(spec, run_dir, resume=False) -> exit code  # writes spec.json first if it is not there

Exit codes (DESIGN.md): 0 completed or stopped, 2 bad spec, 1 any other failure.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from .engine.control import StopControl
from .engine.events import EventLog
from .engine.runtime import setup_runtime, shutdown
from .spec import Spec, SpecError, load_spec

EXIT_OK, EXIT_FAILED, EXIT_BAD_SPEC = 0, 1, 2


def setup_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # progress bars are noise in the host's output channel


def train(run_dir: Path | str, resume: bool = False, stop_after_steps: int | None = None) -> int:
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    setup_logging()
    is_main = int(os.environ.get("RANK", "0")) == 0
    events = EventLog(run_dir, enabled=is_main)
    events.state("starting", "resuming" if resume else "")
    runtime = None
    try:
        spec = load_spec(run_dir / "spec.json")
        runtime = setup_runtime(spec.device, spec.t("bf16"))
        from .engine.loop import Trainer  # after validation: imports torch-heavy modules

        control = StopControl(run_dir, stop_after_steps)
        trainer = Trainer(spec, run_dir, runtime, events, control, resume=resume)
        control.install()  # before loading: a SIGTERM while tokenizing still stops at the first step
        try:
            trainer.prepare()
            final = trainer.run()
            if final == "completed":
                # Training is done: a stop asked for now (SIGTERM included, still caught here)
                # lets the export finish rather than leave a completed run looking interrupted.
                if is_main:
                    _export(spec, run_dir, events)
                events.state("completed", f"step {trainer.state.step}")
        finally:
            control.uninstall()
        return EXIT_OK
    except SpecError as e:
        events.error(str(e), e.field)
        events.state("failed", str(e))
        return EXIT_BAD_SPEC
    except Exception as e:  # noqa: BLE001 - the worker reports every failure as an event
        traceback.print_exc(file=sys.stderr)
        events.error(f"{type(e).__name__}: {e}")
        events.state("failed", str(e))
        return EXIT_FAILED
    finally:
        if runtime is not None:
            shutdown(runtime)
        events.close()


def main(spec: dict[str, Any] | Spec, run_dir: Path | str, resume: bool = False) -> int:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    spec_file = run_dir / "spec.json"
    if not spec_file.exists():
        raw = spec.raw if isinstance(spec, Spec) else spec
        spec_file.write_text(json.dumps(raw, indent=2))
    return train(run_dir, resume=resume)


def _export(spec: Spec, run_dir: Path, events: EventLog) -> None:
    if not spec.export_onnx:
        return
    try:
        from .export import export_onnx
    except ImportError as e:
        events.log("warning", f"ONNX export skipped: bert_studio_trainer.export is not available ({e})")
        return
    try:
        result = export_onnx(run_dir / "model", run_dir / "onnx", spec.task, quantize=spec.export_quantize)
    except Exception as e:  # noqa: BLE001 - the trained model in model/ stays usable
        traceback.print_exc(file=sys.stderr)
        events.log("error", f"ONNX export failed: {type(e).__name__}: {e}")
        return
    events.emit("export", path="onnx/model.onnx", **result)
