"""Alternated benchmark runs, each in its own process (bench/finetune.py, bench/pretrain.py).

Each side runs as `python SCRIPT --_child WHICH --_cfg JSON` and prints its result as the last line of
stdout; memory is that process's own peak.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def peak_memory_mb(device: str) -> float:
    """The process's peak memory: CUDA's max allocated, else VmHWM, the peak RSS of its own address
    space since exec (ru_maxrss would also count the parent's RSS at the fork)."""
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(script: str, which: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """One side's run in a fresh process: its JSON result plus `wall_seconds`."""
    cmd = [sys.executable, script, "--_child", which, "--_cfg", json.dumps(cfg)]
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{which} failed:\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.time() - t0
    return result


def add_child_arguments(p: argparse.ArgumentParser) -> None:
    """The hidden flags a child run is started with (run_child)."""
    p.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--_cfg", default=None, help=argparse.SUPPRESS)


Side = Callable[[dict[str, Any]], dict[str, Any]]


def serve_child(args: argparse.Namespace, ours: Side, theirs: Side) -> bool:
    """In a child run: sets its threads, runs its side and prints the result; False in the parent."""
    if not args._child:
        return False
    cfg = json.loads(args._cfg)
    if cfg.get("threads"):
        import torch

        torch.set_num_threads(cfg["threads"])
    print(json.dumps(ours(cfg) if args._child == "ours" else theirs(cfg)))
    return True


def train_worker(spec: dict[str, Any], prefix: str) -> tuple[list[dict[str, Any]], float]:
    """Trains `spec` with the worker's own train() in a new run folder: its events, and the seconds
    from its `running` status to its last step event (set-up and the final evaluation left out)."""
    from bert_studio_trainer.train import train

    run_dir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        (run_dir / "spec.json").write_text(json.dumps(spec))
        assert train(run_dir) == 0, (run_dir / "events.jsonl").read_text()[-2000:]
        events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    finally:  # checkpoints and the model (~440 MB a run): the events are all the benchmark needs
        shutil.rmtree(run_dir, ignore_errors=True)
    start = next(e["ts"] for e in events if e["type"] == "status" and e["state"] == "running")
    end = [e for e in events if e["type"] == "step"][-1]["ts"]
    return events, end - start
