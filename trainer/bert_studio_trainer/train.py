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

# Nothing here imports torch: __main__ installs the stop handling before anything heavy loads.
from .engine.checkpoint import latest_complete_step
from .engine.control import StopControl, StopRequested
from .engine.events import EventLog
from .spec import Spec, SpecError, load_spec

EXIT_OK, EXIT_FAILED, EXIT_BAD_SPEC = 0, 1, 2
WORKER_LOG = "worker.log"  # the host sends the worker's stdout and stderr here (src/core/runs/worker.ts)


def setup_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # progress bars are noise in the host's output channel


def log_traceback(run_dir: Path) -> None:
    """The current exception's traceback, into the run's worker.log only: never onto the user's
    terminal (when the host started the worker, its stderr is that same file)."""
    try:
        with (run_dir / WORKER_LOG).open("a", encoding="utf-8") as f:
            f.write(traceback.format_exc())
    except OSError:
        pass


def train(run_dir: Path | str, resume: bool = False, stop_after_steps: int | None = None,
          control: StopControl | None = None, on_eval: Any = None) -> int:
    """`on_eval(step, metrics)`: called after each evaluation (a study's pruner, sweep.py); a reason it
    returns ends training there, as early stopping does."""
    run_dir = Path(run_dir).resolve()
    setup_logging()
    control = control or StopControl(run_dir, stop_after_steps)
    control.stop_after_steps = stop_after_steps
    control.install()  # usually done already by __main__, before this module was imported
    is_main = int(os.environ.get("RANK", "0")) == 0
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        events = EventLog(run_dir, enabled=is_main)
    except OSError as e:
        control.uninstall()
        logging.getLogger("bert_studio_trainer").error(
            "Cannot write to the run folder %s (%s); check that it exists and is writable.", run_dir, e.strerror)
        return EXIT_FAILED
    events.state("starting", "resuming" if resume else "")
    runtime = None
    try:
        control.arm()  # a stop from here until the first step ends the run at once, as `stopped`
        spec = load_spec(run_dir / "spec.json")
        control.check_starting()
        from .engine.runtime import setup_runtime, shutdown  # imports torch

        _quiet_transformers()
        if is_main:
            from .engine.reporting import open_sinks, report_to_list

            for sink in open_sinks(report_to_list(spec.t("report_to")), run_dir, json.loads((run_dir / "spec.json").read_text())):
                events.add_sink(sink)
        runtime = setup_runtime(spec.device, spec.t("bf16"))
        events.log("info", runtime.threads_note)
        events.log("info", runtime.precision_note)
        control.check_starting()
        from .engine.loop import Trainer  # after validation: imports torch-heavy modules

        trainer = Trainer(spec, run_dir, runtime, events, control, resume=resume)
        trainer.on_eval = on_eval
        trainer.prepare()
        final = trainer.run()
        if final == "completed":
            # Training is done: a stop asked for now (SIGTERM included, still caught here)
            # lets the export finish rather than leave a completed run looking interrupted.
            if is_main and not _export(spec, run_dir, events, trainer):
                events.state("failed", "ONNX export failed its parity check; the trained model is in model/")
                return EXIT_FAILED
            events.state("completed", f"step {trainer.state.step}")
        return EXIT_OK
    except StopRequested:
        _stopped_while_starting(run_dir, events)
        return EXIT_OK
    except SpecError as e:
        control.disarm()  # reporting the failure is not interrupted by a stop
        events.error(str(e), e.field)
        events.state("failed", str(e))
        return EXIT_BAD_SPEC
    except Exception as e:  # noqa: BLE001 - the worker reports every failure as an event
        control.disarm()
        log_traceback(run_dir)
        events.error(f"{type(e).__name__}: {e} (the traceback is in {WORKER_LOG})")
        events.state("failed", str(e))
        return EXIT_FAILED
    finally:
        control.uninstall()
        if runtime is not None:
            shutdown(runtime)
        events.close()


def _stopped_while_starting(run_dir: Path, events: EventLog) -> None:
    """A stop before the first step: nothing new to save; status.json keeps pointing at the newest
    checkpoint (a resumed run), so the run shows where a later --resume continues from."""
    saved = latest_complete_step(run_dir)
    if saved is not None:
        step, rel, best = saved
        events.set_status(step=step, last_checkpoint=rel, best_metric=best)
        events.state("stopped", f"stopped while starting; resume continues from {rel}")
    else:
        events.state("stopped", "stopped while starting, before the first step; nothing was trained yet")


def main(spec: dict[str, Any] | Spec, run_dir: Path | str, resume: bool = False) -> int:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    spec_file = run_dir / "spec.json"
    if not spec_file.exists():
        raw = spec.raw if isinstance(spec, Spec) else spec
        spec_file.write_text(json.dumps(raw, indent=2))
    return train(run_dir, resume=resume)


def _export(spec: Spec, run_dir: Path, events: EventLog, trainer: Any = None) -> bool:
    """ONNX export of model/ with its parity check and fp32/int8 accuracy (onnx/export.json and the
    export event). False when the parity check failed (an error event says why; model/ stays)."""
    if not spec.export_onnx:
        return True
    try:
        from .export import ExportParityError, export_onnx, onnx_accuracy, write_export_metadata
    except ImportError as e:
        events.log("warning", f"ONNX export skipped: bert_studio_trainer.export is not available ({e})")
        return True
    try:
        result = export_onnx(run_dir / "model", run_dir / "onnx", spec.task, quantize=spec.export_quantize)
    except ExportParityError as e:
        events.error(str(e), "export")
        return False
    except Exception as e:  # noqa: BLE001 - the trained model in model/ stays usable
        log_traceback(run_dir)
        events.log("error", f"ONNX export failed: {type(e).__name__}: {e} (the traceback is in {WORKER_LOG})")
        return True
    if trainer is not None and getattr(trainer, "eval_examples", None):
        try:
            result["accuracy"] = onnx_accuracy(run_dir / "onnx", trainer.task, trainer.eval_examples, trainer.tokenizer,
                                               trainer.metric)
        except Exception as e:  # noqa: BLE001 - the export itself is fine
            log_traceback(run_dir)
            events.log("warning", f"Could not measure the exported model's accuracy: {type(e).__name__}: {e} "
                       f"(the traceback is in {WORKER_LOG})")
    write_export_metadata(run_dir / "onnx", result)
    events.emit("export", path="onnx/model.onnx", **result)
    return True
