"""torch.compile through the worker: compile time against the step-time gain, for the "auto" policy.

The same fine-tuning run (MiniLM on SST-2 rows, length-grouped batches, the worker's default
precision) with `training.torch_compile` false and true, alternated, each in its own process. From
the step events (every `--log-every` steps):

- steady step time: the median window over the second half of the run, for each side;
- gain: 1 - compiled / eager steady step time;
- compile seconds: the compiled run's time beyond its steady steps, less the eager run's own (the
  first-step warm-up both pay), so it holds the first compile and every recompile for new shapes;
- break-even: the steps after which the compiled run is ahead.

`engine/compile_policy.EXPECTED` takes the gain and compile seconds of a device from here. Writes
bench/results/compile-<device>.json.

    .venv/bin/python bench/compile.py --device cpu --steps 300 --rounds 2
    .venv/bin/python bench/compile.py --device cuda --model-config bert-base --steps 600 --rounds 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from child_runs import (  # bench/child_runs.py
    add_child_arguments,
    run_child,
    serve_child,
    train_worker,
)
from finetune import DATA, REPO, machine, prepare_model  # bench/finetune.py


def run_side(cfg: dict[str, Any]) -> dict[str, Any]:
    spec = {
        "version": 1, "task": "sequence_classification", "model": {"name_or_path": cfg["model"]},
        "data": {"train": str(DATA / "sst2" / "train.tsv"), "max_train_samples": cfg["train_samples"]},
        "training": {"max_steps": cfg["steps"], "per_device_train_batch_size": cfg["batch_size"],
                     "max_seq_length": cfg["max_seq_length"], "learning_rate": 1e-4, "warmup_ratio": 0.06,
                     "seed": 42, "logging_steps": cfg["log_every"], "save_steps": 10**9, "save_total_limit": 1,
                     "group_by_length": True, "torch_compile": cfg["compile"]},
        "device": cfg["device"], "export": {"onnx": False},
    }
    events, seconds = train_worker(spec, "bench-compile-")
    start = next(e["ts"] for e in events if e["type"] == "status" and e["state"] == "running")
    steps = [(e["step"], e["ts"]) for e in events if e["type"] == "step"]
    return {"train_seconds": seconds, "start": start, "steps": steps}


def analyse(run: dict[str, Any], total_steps: int) -> dict[str, float]:
    """Steady step time (median over the second half's windows) and the fixed time beyond it."""
    points = [(0, run["start"])] + run["steps"]
    windows = [(t1 - t0) / (s1 - s0) for (s0, t0), (s1, t1) in itertools.pairwise(points)
               if s0 >= total_steps // 2]
    steady = statistics.median(windows)
    return {"steady_step_seconds": steady, "fixed_seconds": run["train_seconds"] - steady * total_steps,
            "train_seconds": run["train_seconds"]}


def child(which: str, cfg: dict[str, Any]) -> dict[str, Any]:
    return run_child(__file__, which, cfg)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--model-config", default=None, help='"bert-base" or a config.json: random init of that shape')
    p.add_argument("--tokenizer", default=None)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--train-samples", type=int, default=4000)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--rounds", type=int, default=2, help="pairs of runs, alternated: eager, compiled, ...")
    p.add_argument("--out", type=Path, default=None)
    add_child_arguments(p)
    args = p.parse_args()
    if serve_child(args, lambda cfg: run_side(cfg | {"compile": False}), lambda cfg: run_side(cfg | {"compile": True})):
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench-compile-model-"))
    cfg = {"model": str(prepare_model(args, workdir)), "device": args.device, "steps": args.steps,
           "batch_size": args.batch_size, "max_seq_length": args.max_seq_length,
           "train_samples": args.train_samples, "log_every": args.log_every}
    pairs = []
    for r in range(args.rounds):
        eager = analyse(child("ours", cfg), args.steps)
        compiled = analyse(child("theirs", cfg), args.steps)
        gain = 1 - compiled["steady_step_seconds"] / eager["steady_step_seconds"]
        compile_seconds = compiled["fixed_seconds"] - eager["fixed_seconds"]
        saved_per_step = eager["steady_step_seconds"] - compiled["steady_step_seconds"]
        pair = {"eager": eager, "compiled": compiled, "gain": gain, "compile_seconds": compile_seconds,
                "break_even_steps": compile_seconds / saved_per_step if saved_per_step > 0 else None}
        pairs.append(pair)
        print(f"round {r + 1}: eager {eager['steady_step_seconds'] * 1000:.0f} ms/step, compiled "
              f"{compiled['steady_step_seconds'] * 1000:.0f} ms/step, gain {gain:.1%}, compile {compile_seconds:.0f} s",
              file=sys.stderr)
    result = {
        "benchmark": "torch.compile through the worker (training.torch_compile false vs true)",
        "task": "sequence_classification (SST-2)",
        "config": {k: v for k, v in cfg.items() if k != "model"} | {"model": args.model_config or "default (MiniLM-L6-H384)",
                                                                   "precision": "the worker's default (bf16: auto)",
                                                                   "group_by_length": True},
        "machine": machine(args.device), "pairs": pairs,
        "gain_median": statistics.median(p["gain"] for p in pairs),
        "compile_seconds_median": statistics.median(p["compile_seconds"] for p in pairs),
        "method": "bench/compile.py docstring",
    }
    out = args.out or REPO / "bench" / "results" / f"compile-{args.device}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("gain_median", "compile_seconds_median")}))


if __name__ == "__main__":
    main()
