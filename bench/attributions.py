"""Token attributions (Integrated Gradients): completeness error and time per selection.

    .venv/bin/python bench/attributions.py [--run RUN_DIR] [--sentences 100] [--steps 20 50 100]

Trains (or takes, with --run) an SST-2 classifier from the shipped MiniLM through the worker, then
explains the first N SST-2 dev sentences with the worker's Explainer (what `attribute --serve`
answers the editor with), warm: the model loaded once, as in the editor. For each step count:
the completeness error (|sum of attributions - (F(x) - F(baseline))| / |F(x) - F(baseline)|, the IG
axiom) and the seconds per selection, median / p95 / max. Writes bench/results/attributions.json
with the run's dev accuracy, the settings and the machine.
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

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("BERT_STUDIO_DATA", REPO.parent / "shared" / "data"))


def train_classifier(steps: int) -> tuple[Path, float]:
    from bert_studio_trainer.train import train

    run = Path(tempfile.mkdtemp(prefix="bench-attr-")) / "run"
    run.mkdir(parents=True)
    spec = {"version": 1, "task": "sequence_classification", "model": {"name_or_path": "default"},
            "data": {"train": str(DATA / "sst2" / "train.tsv"), "validation": str(DATA / "sst2" / "dev.tsv"),
                     "max_train_samples": steps * 32},
            "training": {"max_steps": steps, "per_device_train_batch_size": 32, "max_seq_length": 64,
                         "learning_rate": 1e-4, "eval_steps": steps, "save_steps": steps, "logging_steps": 50},
            "device": "cpu", "export": {"onnx": False}}
    (run / "spec.json").write_text(json.dumps(spec))
    assert train(run) == 0
    return run, accuracy(run)


def accuracy(run: Path) -> float:
    evals = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines() if '"type": "eval"' in line]
    return float(evals[-1]["metrics"]["accuracy"]) if evals else float("nan")


def quantiles(xs: list[float]) -> dict[str, float]:
    s = sorted(xs)
    return {"median": statistics.median(s), "p95": s[min(len(s) - 1, int(0.95 * len(s)))], "max": s[-1]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, default=None, help="an SST-2 classifier run (default: train one)")
    p.add_argument("--train-steps", type=int, default=150)
    p.add_argument("--sentences", type=int, default=100)
    p.add_argument("--steps", type=int, nargs="+", default=[20, 50, 100])
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "attributions.json")
    args = p.parse_args()
    import torch
    from bert_studio_trainer.analysis.attributions import Explainer

    run, acc = (args.run, accuracy(args.run)) if args.run else train_classifier(args.train_steps)
    threads = int(os.environ.get("BERT_STUDIO_NUM_THREADS", "0")) or torch.get_num_threads()
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    explainer = Explainer(run)
    load_seconds = time.perf_counter() - t0
    lines = (DATA / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:1 + args.sentences]
    texts = [line.split("\t")[0].strip() for line in lines]
    explainer.explain(texts[0], steps=args.steps[0])  # warm-up, as the editor's first request pays it
    by_steps = {}
    for steps in args.steps:
        errors, seconds, tokens = [], [], []
        for text in texts:
            t = time.perf_counter()
            r = explainer.explain(text, steps=steps)
            seconds.append(time.perf_counter() - t)
            errors.append(r["completeness_error"])
            tokens.append(len(r["tokens"]))
        by_steps[str(steps)] = {"completeness_error": quantiles(errors), "seconds_per_selection": quantiles(seconds),
                                "within_5_percent": sum(e < 0.05 for e in errors) / len(errors),
                                "tokens_per_selection_mean": statistics.fmean(tokens)}
        print(f"steps {steps}: completeness error median {statistics.median(errors):.4f} max {max(errors):.4f}, "
              f"p50 {statistics.median(seconds) * 1000:.0f} ms", file=sys.stderr)
    result = {
        "benchmark": "attributions", "method": "Integrated Gradients, trapezoidal rule, padding-embedding baseline "
        "(special tokens kept), F = softmax probability of the predicted label (trainer/bert_studio_trainer/analysis/attributions.py)",
        "model": {"run": str(run), "base": "default MiniLM-L6-H384", "task": "SST-2", "dev_accuracy": acc},
        "sentences": len(texts), "source": "SST-2 dev, first N", "by_steps": by_steps,
        "model_load_seconds": load_seconds, "default_steps": 50,
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "torch_threads": threads,
                    "torch": torch.__version__, "load_average": os.getloadavg(),
                    "note": "shared machine: seconds are an upper bound when the load average exceeds the cores"},
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: {"completeness_median": v["completeness_error"]["median"], "ms_p50": v["seconds_per_selection"]["median"] * 1000}
                      for k, v in by_steps.items()}))

if __name__ == "__main__":
    main()
