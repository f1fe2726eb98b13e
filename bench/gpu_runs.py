"""Real worker runs for bench/gpu.sh: a quality run and the torchrun path, each through
`python -m bert_studio_trainer train` on a spec, as the extension launches it.

    python bench/gpu_runs.py quality  --device cuda --model DIR --epochs 2 --out quality-cuda.json
    python bench/gpu_runs.py torchrun --device cuda --model DIR --out torchrun-cuda.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("BERT_STUDIO_DATA", REPO.parent / "shared" / "data"))


def machine() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__}
    if torch.cuda.is_available():
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def spec(args: argparse.Namespace, training: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"train": str(DATA / "sst2" / "train.tsv"), "validation": str(DATA / "sst2" / "dev.tsv")}
    if args.max_train_samples:
        data["max_train_samples"] = args.max_train_samples
    if args.max_eval_samples:
        data["max_eval_samples"] = args.max_eval_samples
    return {"version": 1, "task": "sequence_classification", "model": {"name_or_path": args.model}, "data": data,
            "training": {"per_device_train_batch_size": 32, "learning_rate": 5e-5, "bf16": "auto",
                         "save_steps": 10**6, "logging_steps": 50, **training},
            "device": args.device, "export": {"onnx": False, "quantize": False}}


def run_worker(run_dir: Path, launcher: list[str]) -> dict[str, Any]:
    t0 = time.time()
    proc = subprocess.run([*launcher, "-m", "bert_studio_trainer", "train", "--run-dir", str(run_dir)],
                          capture_output=True, text=True, check=False)
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]
    steps = [e for e in events if e["type"] == "step"]
    evals = [e for e in events if e["type"] == "eval"]
    running = next((e["ts"] for e in events if e["type"] == "status" and e.get("state") == "running"), t0)
    return {"exit_code": proc.returncode, "steps": steps[-1]["step"] if steps else 0,
            "train_seconds": (steps[-1]["ts"] - running) if steps else None, "wall_seconds": time.time() - t0,
            "final_eval": evals[-1]["metrics"] if evals else None,
            "samples_per_second": steps[-1].get("samples_per_second") if steps else None,
            "stderr_tail": proc.stderr[-2000:] if proc.returncode else ""}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["quality", "torchrun"])
    p.add_argument("--device", default="cuda")
    p.add_argument("--model", required=True)
    p.add_argument("--epochs", type=float, default=2)
    p.add_argument("--max-steps", type=int, default=30, help="torchrun: optimizer steps")
    p.add_argument("--max-train-samples", type=int, default=None)
    p.add_argument("--max-eval-samples", type=int, default=None)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix=f"gpu-{args.what}-"))
    if args.what == "quality":
        training = {"num_train_epochs": args.epochs, "eval_steps": 10**6}
        launcher = [sys.executable]
        world = 1
    else:
        import torch

        world = max(1, torch.cuda.device_count()) if args.device == "cuda" else 1
        training = {"max_steps": args.max_steps, "eval_steps": args.max_steps}
        args.max_train_samples = args.max_train_samples or 4000
        args.max_eval_samples = args.max_eval_samples or 256
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={world}"]
    try:
        (run_dir / "spec.json").write_text(json.dumps(spec(args, training), indent=2))
        result = run_worker(run_dir, launcher)
        run_spec = json.loads((run_dir / "spec.json").read_text())
    finally:  # the run folder holds checkpoints and an export (~440 MB): the JSON keeps what counts
        shutil.rmtree(run_dir, ignore_errors=True)
    out = {"benchmark": f"gpu-{args.what}", "device": args.device, "world_size": world, "model": args.model,
           "spec": run_spec, **result, "machine": machine(),
           "date": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if args.what == "quality":
        out["reference"] = {"accuracy": 0.915, "source": "MiniLM-L6-H384 paper, SST-2 dev at full scale"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: out[k] for k in ("benchmark", "exit_code", "steps", "final_eval")}))
    return 0 if result["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
