"""bf16 autocast on CPU: dev accuracy / F1 against fp32, same steps and seed (quality, not speed).

Trains the shipped MiniLM through the real worker (`python -m bert_studio_trainer train`) on SST-2
(sequence classification, dev accuracy) and CoNLL-2003 (token classification, dev entity F1), once
with `training.bf16: false` (fp32) and once with `training.bf16: true` (bf16 autocast; weights and
optimizer state stay fp32), everything else equal: data order, seed, steps, batch, learning rate.
The target (issue 15): bf16 within 0.5 points of fp32 on both. Timings are recorded but mean
nothing when the machine is shared (the runs use 1 thread by default); this is a quality check.

Writes bench/results/bf16-accuracy.json with the settings, the CPU model, its bf16 flags and what
`bf16: "auto"` picks on it.

    .venv/bin/python bench/bf16_accuracy.py --steps 250
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import flops  # bench/flops.py

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("BERT_STUDIO_DATA", REPO.parent / "shared" / "data"))
TIMING_NOTE = ("wall_seconds is each run's whole wall time (tokenization and evaluation included) on whatever "
               "load the machine had: not a speed measurement; bench/finetune.py --bf16 true/false is")
TASKS = {
    "sst2": {"task": "sequence_classification", "train": "sst2/train.tsv", "validation": "sst2/dev.tsv",
             "metric": "accuracy"},
    "conll2003": {"task": "token_classification", "train": "conll2003/train.txt",
                  "validation": "conll2003/valid.txt", "metric": "f1"},
}


def run_worker(name: str, bf16: bool, args: argparse.Namespace, root: Path,
               export_onnx: bool = False) -> dict[str, Any]:
    t = TASKS[name]
    run_dir = root / f"{name}-{'bf16' if bf16 else 'fp32'}"
    run_dir.mkdir(parents=True)
    spec = {
        "version": 1, "task": t["task"], "model": {"name_or_path": "default"},
        "data": {"train": str(DATA / t["train"]), "validation": str(DATA / t["validation"])},
        "training": {"max_steps": args.steps, "per_device_train_batch_size": args.batch_size,
                     "per_device_eval_batch_size": 64, "max_seq_length": args.max_seq_length,
                     "learning_rate": args.lr, "seed": args.seed, "logging_steps": 50, "eval_steps": args.steps,
                     "save_steps": 10**9, "save_total_limit": 1, "bf16": bf16},
        "device": "cpu", "export": {"onnx": export_onnx},
    }
    (run_dir / "spec.json").write_text(json.dumps(spec))
    env = {**os.environ, "BERT_STUDIO_NUM_THREADS": str(args.threads), "PYTHONUNBUFFERED": "1"}
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "bert_studio_trainer", "train", "--run-dir", str(run_dir)],
                          env=env, capture_output=True, text=True, check=False)
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    if proc.returncode != 0:
        raise RuntimeError(f"{run_dir.name} failed ({proc.returncode}): {[e for e in events if e['type'] == 'error']}"
                           f"\n{(run_dir / 'worker.log').read_text()[-3000:] if (run_dir / 'worker.log').is_file() else ''}")
    metrics = [e for e in events if e["type"] == "eval"][-1]["metrics"]
    steps = [e for e in events if e["type"] == "step"]
    notes = [e["message"] for e in events if e["type"] == "log" and ("fp32" in e["message"] or "bf16" in e["message"])]
    return {"metric": t["metric"], "value": metrics[t["metric"]], "eval_metrics": metrics,
            "final_train_loss": steps[-1]["loss"], "train_losses": [s["loss"] for s in steps],
            "precision_log": notes, "wall_seconds": round(time.time() - t0, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "bf16-accuracy.json")
    args = p.parse_args()

    import torch

    sys.path.insert(0, str(REPO / "trainer"))
    from bert_studio_trainer.engine.runtime import (
        CPU_BF16_FLAGS,
        cpu_bf16_capability,
        resolve_precision,
    )

    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(next((ln.split(":", 1)[1].split() for ln in f if ln.startswith("flags")), []))
    except OSError:
        pass
    result: dict[str, Any] = {
        "benchmark": "bf16-accuracy",
        "purpose": "quality of bf16 autocast on CPU against fp32, same steps and seed; target within 0.5 points",
        "timing_note": TIMING_NOTE,
        "machine": {"cpu": flops.cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
                    "python": platform.python_version(), "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
                    "bf16_flags": sorted(f for f in flags if f in CPU_BF16_FLAGS or f.startswith("amx")),
                    "bf16_capability": cpu_bf16_capability(),
                    "bf16_auto_picks": resolve_precision("auto", torch.device("cpu"))[1]},
        "settings": {"model": "default (MiniLM-L6-H384-uncased)", "steps": args.steps, "batch_size": args.batch_size,
                     "max_seq_length": args.max_seq_length, "learning_rate": args.lr, "seed": args.seed,
                     "threads": args.threads, "warmup_ratio": 0.06, "weight_decay": 0.01, "group_by_length": True,
                     "evaluation": "full dev set once, at the last step, in the run's own precision",
                     "data": {k: {"train": v["train"], "validation": v["validation"]} for k, v in TASKS.items()}},
        "tasks": {},
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    root = Path(tempfile.mkdtemp(prefix="bench-bf16-"))
    for name in args.tasks:
        runs = {}
        for bf16 in (False, True):
            res = run_worker(name, bf16, args, root)
            runs["bf16" if bf16 else "fp32"] = res
            print(f"{name} {'bf16' if bf16 else 'fp32'}: {res['metric']} {res['value']:.4f} "
                  f"({res['wall_seconds']:.0f}s)", file=sys.stderr)
        diff = 100 * (runs["bf16"]["value"] - runs["fp32"]["value"])
        result["tasks"][name] = {**runs, "difference_points": round(diff, 2), "within_0_5_points": abs(diff) <= 0.5}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")  # after each task: a partial result survives
    print(json.dumps({k: {"fp32": v["fp32"]["value"], "bf16": v["bf16"]["value"], "points": v["difference_points"]}
                      for k, v in result["tasks"].items()}, indent=2))


if __name__ == "__main__":
    main()
