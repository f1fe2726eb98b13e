"""Fine-tuning recipes compared on quality: full fine-tuning, layer-wise learning-rate decay, frozen
embeddings and lower layers, gradual unfreezing (top-down) and a linear probe, on SST-2 (accuracy)
and CoNLL-2003 (entity F1) with the shipped MiniLM-L6, at one budget (steps, batch, peak learning
rate, warmup) and 3 seeds each. Every run is the real worker (`bert_studio_trainer.train.train`) on a
subset of the shared data; the figure is the metric of the final evaluation on the first 400
validation examples (sentences for CoNLL). Writes bench/results/recipes.json (after every run, so a
bench cut short keeps what it measured) and bench/recipes.md.

    .venv/bin/python bench/recipes.py                       # the recorded configuration
    .venv/bin/python bench/recipes.py --steps 20 --seeds 1 --out /tmp/r.json  # a quick look

The budget is small (a shared 2-core CPU, the whole bench in about 40 minutes): it compares the
recipes at the start of fine-tuning, not at convergence. Timing is recorded per run for reference
only (the machine is shared), never compared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "trainer" / "tests"))
sys.path.insert(0, str(REPO / "trainer"))
os.environ.setdefault("BERT_STUDIO_NUM_THREADS", "1")

from conftest import data_dir, make_spec, read_events, write_run

# task: (kind, train file, validation file, metric, validation examples used: None for all)
TASKS = {
    "sst2": ("sequence_classification", "sst2/train.tsv", "sst2/dev.tsv", "accuracy", 400),
    "conll2003": ("token_classification", "conll2003/train.txt", "conll2003/valid.txt", "f1", 400),
}


def recipes(steps: int, layers: int) -> dict[str, dict[str, Any]]:
    """Recipe name -> its training fields. Gradual unfreezing opens one block every `every` steps so
    that the whole model (layers, then embeddings) trains by about 60% of the budget."""
    every = max(1, int(steps * 0.6) // (layers + 1))
    return {
        "baseline": {},
        "llrd_0.8": {"layerwise_lr_decay": 0.8},
        "freeze_emb_lower3": {"freeze_embeddings": True, "freeze_layers": layers // 2},
        "gradual_unfreezing": {"unfreeze_schedule": {"every": every, "unit": "step"}},
        "linear_probe": {"freeze_base_model": True},
    }


def one_run(root: Path, task: str, recipe: str, fields: dict[str, Any], seed: int, args: argparse.Namespace) -> dict[str, Any]:
    from bert_studio_trainer.train import train

    kind, train_file, dev_file, metric, eval_samples = TASKS[task]
    data = data_dir()
    spec = make_spec(kind, data / train_file, data / dev_file, max_steps=args.steps, per_device_train_batch_size=args.batch_size,
                     learning_rate=args.lr, warmup_ratio=0.1, max_seq_length=args.max_seq_length, seed=seed,
                     logging_steps=10, eval_steps=args.steps, save_steps=args.steps, **fields)
    spec["data"]["max_train_samples"] = args.train_samples
    if eval_samples:
        spec["data"]["max_eval_samples"] = eval_samples
    run = write_run(root / f"{task}-{recipe}-{seed}", spec)
    t0 = time.perf_counter()
    code = train(run)
    wall = time.perf_counter() - t0
    evals = read_events(run, "eval")
    params = read_events(run, "params")
    if code != 0 or not evals:
        raise SystemExit(f"{task} {recipe} seed {seed} failed: {read_events(run, 'error')}")
    return {"task": task, "recipe": recipe, "seed": seed, "metric": metric, "value": evals[-1]["metrics"][metric],
            "loss": evals[-1]["metrics"].get("loss"), "trainable_at_start": params[0]["trainable"],
            "total_params": params[0]["total"], "unfreeze_events": len(params) - 1, "wall_s": round(wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--max-seq-length", type=int, default=64)
    ap.add_argument("--train-samples", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--recipes", default="baseline,llrd_0.8,freeze_emb_lower3,gradual_unfreezing",
                    help="also: linear_probe")
    ap.add_argument("--tasks", default="sst2,conll2003")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "recipes.json"))
    args = ap.parse_args()
    from bert_studio_trainer.models import default_model_path
    from transformers import AutoConfig

    layers = AutoConfig.from_pretrained(default_model_path()).num_hidden_layers
    plan = {k: v for k, v in recipes(args.steps, layers).items() if k in args.recipes.split(",")}
    runs: list[dict[str, Any]] = []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="recipes-") as tmp:
        for seed in range(args.seeds):  # seeds outermost: a bench cut short still covers every task
            for task in args.tasks.split(","):
                for recipe, fields in plan.items():
                    r = one_run(Path(tmp), task, recipe, fields, seed, args)
                    runs.append(r)
                    print(f"{task} {recipe} seed {seed}: {r['metric']} {r['value']:.4f} ({r['wall_s']}s)", flush=True)
                    # Written after every run: a bench cut short keeps what it measured.
                    write_results(runs, plan, args, started, done=len(runs) == len(plan) * args.seeds * len(args.tasks.split(",")))
    print(f"wrote {args.out}")


def write_results(runs: list[dict[str, Any]], plan: dict[str, Any], args: argparse.Namespace, started: float, done: bool) -> None:
    import torch

    summary: dict[str, dict[str, Any]] = {}
    for task in dict.fromkeys(r["task"] for r in runs):
        base = [r["value"] for r in runs if r["task"] == task and r["recipe"] == "baseline"]
        for recipe in plan:
            vals = [r["value"] for r in runs if r["task"] == task and r["recipe"] == recipe]
            if not vals:
                continue
            summary.setdefault(task, {})[recipe] = {
                "metric": TASKS[task][3], "eval_examples": TASKS[task][4] or "all", "seeds": len(vals),
                "mean": statistics.mean(vals), "stdev": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                "values": vals, "minus_baseline_mean": statistics.mean(vals) - statistics.mean(base) if base else None,
                "trainable_at_start": next(r["trainable_at_start"] for r in runs if r["task"] == task and r["recipe"] == recipe),
            }
    result = {
        "benchmark": "recipes",
        "complete": done,
        "model": "default (MiniLM-L6-H384, shipped)",
        "config": {"steps": args.steps, "batch_size": args.batch_size, "learning_rate": args.lr, "warmup_ratio": 0.1,
                   "max_seq_length": args.max_seq_length, "train_samples": args.train_samples,
                   "seeds": args.seeds, "recipes": plan},
        "machine": {"cores": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version(),
                    "threads": os.environ.get("BERT_STUDIO_NUM_THREADS"), "load_average_at_end": os.getloadavg()},
        "wall_minutes": round((time.time() - started) / 60, 1),
        "summary": summary,
        "runs": runs,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, Path(args.out).resolve().parents[1] / "recipes.md")


def write_markdown(result: dict[str, Any], path: Path) -> None:
    c = result["config"]
    lines = ["# Fine-tuning recipes (bench/recipes.py)", "",
             (f"Shipped MiniLM-L6, {c['steps']} steps of batch {c['batch_size']} on the first {c['train_samples']} "
              f"training examples, peak learning rate {c['learning_rate']:g} with {c['warmup_ratio']:.0%} warmup and "
              f"linear decay, max_seq_length {c['max_seq_length']}, {c['seeds']} seeds; the final evaluation on the first "
              f"{TASKS['sst2'][4]} examples of SST-2's dev split and the first {TASKS['conll2003'][4]} sentences of "
              "CoNLL-2003's validation split. Mean ± standard deviation over seeds; the difference to the baseline's "
              "mean."), "",
             "| task | recipe | training fields | trainable at start | metric | mean ± sd | vs baseline |",
             "|---|---|---|---|---|---|---|"]
    for task, rows in result["summary"].items():
        for recipe, s in rows.items():
            fields = json.dumps(c["recipes"][recipe]) if c["recipes"][recipe] else "(defaults)"
            diff = "" if s["minus_baseline_mean"] is None else f"{s['minus_baseline_mean']:+.4f}"
            lines.append(f"| {task} | {recipe} | `{fields}` | {_count(s['trainable_at_start'])} | {s['metric']} | "
                         f"{s['mean']:.4f} ± {s['stdev']:.4f} (n={s['seeds']}) | {diff} |")
    lines += ["", ("How to read it: at this budget (a few hundred examples seen once) the recipes are compared at the "
                   "start of fine-tuning. Layer-wise decay and frozen layers slow the lower layers down by design; they "
                   "pay off, if at all, on longer runs and small data sets that full fine-tuning overfits, which this "
                   "bench does not measure.")]
    if not result["complete"]:
        lines += ["", "**Incomplete**: the bench was cut short; the rows above hold the runs it finished."]
    lines += ["", (f"Wall time {result['wall_minutes']} min on a shared {result['machine']['cores']}-core CPU, one "
                   "thread per run (for reference only; this bench measures quality, not speed).")]
    path.write_text("\n".join(lines) + "\n")


def _count(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n:,}"


if __name__ == "__main__":
    main()
