"""int8 (dynamic quantization) accuracy against fp32, on the ONNX graphs the editor serves (quality, not speed).

Issue 15's inference target: in-editor int8 within 1 point of fp32 (fill-mask and NER). For each task the
same exported model is scored twice on the same examples, once per graph, through
`export.onnx_accuracy` (onnxruntime on CPU with the task's own features, collate and evaluate):

* NER: the shipped MiniLM fine-tuned on CoNLL-2003 through the real worker (bench/bf16_accuracy.py's
  `run_worker`, fp32 training, the worker's default export: ONNX + int8), entity F1 (seqeval) on the
  full validation split.
* Classification (extra): the same on SST-2, accuracy on the full dev set.
* Fill-mask: the default fill-mask model (~/.cache/bert-studio/fill-mask-default, built by
  scripts/make-fill-mask-model.sh), held-out top-1 on the same WikiText-2 test articles and fixed 15%
  masks as its own evaluation (bench/fill_mask_model.py's figures), i.e. the mlm task's eval features.

Graphs: the editor's CPU engine serves model_cpu.onnx / model_quantized_cpu.onnx (the fused graphs;
export.CPU_ACCURACY_GRAPHS), which are the figures judged against the target; model.onnx /
model_quantized.onnx (what export.json scores on its first 500 examples) are recorded next to them.

    nice -n 5 .venv/bin/python bench/int8_accuracy.py --steps 500
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bf16_accuracy  # bench/bf16_accuracy.py: TASKS, DATA, run_worker
import flops  # bench/flops.py

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("BERT_STUDIO_CACHE", Path.home() / ".cache" / "bert-studio"))
TARGET_POINTS = 1.0


def score(onnx_dir: Path, task: Any, examples: list[Any], tokenizer: Any, metric: str) -> dict[str, Any]:
    """fp32 and int8 figures of the served (_cpu) graphs and of the portable ones, on all ``examples``."""
    from bert_studio_trainer.export import (
        ACCURACY_GRAPHS,
        CPU_ACCURACY_GRAPHS,
        onnx_accuracy,
    )

    out: dict[str, Any] = {}
    for label, graphs in (("served", CPU_ACCURACY_GRAPHS), ("portable", ACCURACY_GRAPHS)):
        t0 = time.time()
        res = onnx_accuracy(onnx_dir, task, examples, tokenizer, metric, limit=len(examples), graphs=graphs)
        out[label] = {**res, "graphs": dict(graphs), "seconds": round(time.time() - t0, 1)}
    served = out["served"]
    diff = 100 * (served["int8"] - served["fp32"])
    return {"metric": metric, "examples": served["examples"], "fp32": served["fp32"], "int8": served["int8"],
            "difference_points": round(diff, 2), "target": f"int8 within {TARGET_POINTS:g} point of fp32",
            "met": abs(diff) <= TARGET_POINTS, "graphs_evaluated": out}


def finetuned(name: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Fine-tune and export through the worker, then score its onnx/ on the whole validation split."""
    from bert_studio_trainer.spec import parse_spec
    from bert_studio_trainer.tasks import build_task
    from transformers import AutoTokenizer

    run_dir = root / f"{name}-fp32"
    if args.reuse:  # a run this script trained before: export its model again with today's export.py
        run = reexport(run_dir, bf16_accuracy.TASKS[name]["task"], bf16_accuracy.TASKS[name]["metric"])
    else:
        run = bf16_accuracy.run_worker(name, False, args, root, export_onnx=True)
    spec = parse_spec(json.loads((run_dir / "spec.json").read_text()))
    task = build_task(spec)
    task.fit_labels(task.load_examples(Path(spec.data.train), "train"))
    config = json.loads((run_dir / "onnx" / "config.json").read_text())
    labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    if getattr(task, "labels", labels) != labels:
        raise RuntimeError(f"{name}: the task's labels {task.labels} are not the model's {labels}")
    examples = task.load_examples(Path(spec.data.validation), "validation")
    tokenizer = AutoTokenizer.from_pretrained(str(run_dir / "onnx"))
    export = json.loads((run_dir / "onnx" / "export.json").read_text())
    return {**score(run_dir / "onnx", task, examples, tokenizer, run["metric"]),
            "pytorch_fp32": run["value"], "export_json_accuracy": export.get("accuracy"), "fusion": export.get("fusion"),
            "final_train_loss": run["final_train_loss"], "train_wall_seconds": run["wall_seconds"]}


def reexport(run_dir: Path, task: str, metric: str) -> dict[str, Any]:
    """Export ``run_dir/model`` into a fresh ``run_dir/onnx``; the run's own figures from its events."""
    from bert_studio_trainer.export import export_onnx, write_export_metadata

    shutil.rmtree(run_dir / "onnx", ignore_errors=True)
    t0 = time.time()
    info = export_onnx(run_dir / "model", run_dir / "onnx", task)
    write_export_metadata(run_dir / "onnx", info)
    if not (run_dir / "events.jsonl").is_file():
        return {"metric": metric, "value": None, "final_train_loss": None, "wall_seconds": round(time.time() - t0, 1)}
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    evals = [e for e in events if e["type"] == "eval"]
    steps = [e for e in events if e["type"] == "step"]
    return {"metric": metric, "value": evals[-1]["metrics"][metric] if evals else None,
            "final_train_loss": steps[-1]["loss"] if steps else None, "wall_seconds": round(time.time() - t0, 1)}


def fill_mask(model_run: Path) -> dict[str, Any]:
    """The default fill-mask model's held-out top-1 (the eval its figures.json reports) per graph."""
    from bert_studio_trainer.spec import parse_spec
    from bert_studio_trainer.tasks import build_task
    from transformers import AutoTokenizer

    raw = json.loads((model_run / "spec.json").read_text())
    if not Path(raw["data"]["train"]).exists():  # the build's corpus is temporary; only the eval split is read
        raw["data"]["train"] = raw["data"]["validation"]
    spec = parse_spec(raw)
    task = build_task(spec)
    tokenizer = AutoTokenizer.from_pretrained(str(model_run / "onnx"))
    examples = task.load_examples(Path(spec.data.validation), "validation")[: spec.data.max_eval_samples]
    task.build_train_features(examples, tokenizer)  # as the run does before evaluating (padding id, masking)
    masked = sum(sum(1 for lab in f["labels"] if lab != -100) for f in task.build_eval_features(examples, tokenizer))
    figures = json.loads((model_run / "figures.json").read_text())
    return {**score(model_run / "onnx", task, examples, tokenizer, "mlm_accuracy"),
            "examples_unit": f"WikiText-2 test articles (first {spec.data.max_eval_samples}), {masked} masked tokens",
            "masked_tokens": masked, "pytorch_fp32": figures["top1_accuracy"],
            "pytorch_masked_tokens": figures["masked_tokens"], "model": str(model_run)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tasks", nargs="+", default=["conll2003", "sst2", "fill-mask"],
                   choices=[*bf16_accuracy.TASKS, "fill-mask"])
    p.add_argument("--fill-mask-model", type=Path, default=CACHE / "fill-mask-default")
    p.add_argument("--reuse", type=Path, default=None,
                   help="a work folder of an earlier run of this script: re-export its trained models (and the "
                        "fill-mask model, into a copy) with the current export.py instead of training again")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "int8-accuracy.json")
    args = p.parse_args()

    import onnxruntime
    import torch

    sys.path.insert(0, str(REPO / "trainer"))
    torch.set_num_threads(args.threads)  # onnx_accuracy gives onnxruntime torch's thread count
    result: dict[str, Any] = {
        "benchmark": "int8-accuracy",
        "purpose": "int8 (dynamic quantization) ONNX accuracy against fp32 on the graphs the editor serves; "
                   f"target (issue 15): within {TARGET_POINTS:g} point on fill-mask and NER",
        "machine": {"cpu": flops.cpu_model(), "cores": os.cpu_count(), "load_average": list(os.getloadavg()),
                    "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
                    "python": platform.python_version()},
        "settings": {"model": "default (MiniLM-L6-H384-uncased)", "steps": args.steps, "batch_size": args.batch_size,
                     "max_seq_length": args.max_seq_length, "learning_rate": args.lr, "seed": args.seed,
                     "threads": args.threads, "training_precision": "fp32 (training.bf16 false)",
                     "export": "the worker's default: ONNX + int8 dynamic quantization (per-channel weight scales since 2026-11-30 13:30), fused _cpu graphs",
                     "evaluation": "export.onnx_accuracy on the whole validation split, onnxruntime CPU, batch 32",
                     "data": {k: {"train": v["train"], "validation": v["validation"]}
                              for k, v in bf16_accuracy.TASKS.items()},
                     "fill_mask_model": str(args.fill_mask_model)},
        "tasks": {},
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    root = args.reuse or Path(tempfile.mkdtemp(prefix="bench-int8-"))
    result["settings"]["reused_models_from"] = str(args.reuse) if args.reuse else None
    for name in args.tasks:
        if name == "fill-mask":
            if not (args.fill_mask_model / "onnx" / "model_quantized_cpu.onnx").is_file():
                result["tasks"][name] = {"skipped": f"no exported model in {args.fill_mask_model}: "
                                                    "run scripts/make-fill-mask-model.sh first"}
                continue
            if args.reuse:  # today's export of the cached model, in a copy: the cache is left as it is
                copy = root / "fill-mask"
                copy.mkdir(exist_ok=True)
                for f in ("spec.json", "figures.json"):
                    shutil.copy(args.fill_mask_model / f, copy / f)
                shutil.rmtree(copy / "onnx", ignore_errors=True)
                from bert_studio_trainer.export import (
                    export_onnx,
                    write_export_metadata,
                )

                task = json.loads((copy / "spec.json").read_text())["task"]
                write_export_metadata(copy / "onnx", export_onnx(args.fill_mask_model / "model", copy / "onnx", task))
                res = fill_mask(copy)
            else:
                res = fill_mask(args.fill_mask_model)
        else:
            res = finetuned(name, args, root)
        result["tasks"][name] = res
        print(f"{name}: {res['metric']} fp32 {res['fp32']:.4f} int8 {res['int8']:.4f} "
              f"({res['difference_points']:+.2f} points, {res['examples']} examples)", file=sys.stderr)
        result["machine"]["load_average_end"] = list(os.getloadavg())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")  # after each task: a partial result survives
    print(json.dumps({k: {"fp32": v.get("fp32"), "int8": v.get("int8"), "points": v.get("difference_points"),
                          "met": v.get("met")} for k, v in result["tasks"].items()}, indent=2))


if __name__ == "__main__":
    main()
