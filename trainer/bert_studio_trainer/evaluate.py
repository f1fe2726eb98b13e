"""Evaluate a trained model on any labelled file: `python -m bert_studio_trainer evaluate --model RUN_OR_DIR
--data FILE --out DIR [--name NAME] [--split SPLIT]`.

The run's own spec gives the task, max_seq_length, eval batch size and data columns, so the file is
read, tokenized and scored exactly as the run's validation data was (the same `Task.load_examples`,
`build_eval_features` and `evaluate`). Writes into DIR:
    metrics.json      {name, split, data, model, run, task, step, examples, seconds, metrics, per_class?,
                      confusion_matrix?, misclassified?, predictions, event}
    predictions.jsonl one line per example (sequence classification): {index, text, text_pair?, gold,
                      pred, score, probabilities {label: p}, correct, source {file, line}}; per sentence
                      (token classification): {index, text (the words joined by spaces), tokens, gold
                      and pred (one tag per word, as seqeval scores them), correct (every tag), source}
and, when the model is a run's, appends an `eval` event with `split` and `name` to its events.jsonl so
the dashboard shows it beside the validation figures. Exit codes: 0 done, 2 bad input (one line that
names the file or field and the fix), 1 any other failure (the traceback in DIR/evaluate.log).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .engine.events import EventLog, _clean, atomic_write_text
from .spec import SpecError, load_spec, parse_spec

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
MODEL_FOLDERS = ("model", "best")  # a run's final model, else its best so far


def resolve_model(model: Path) -> tuple[Path, Path | None]:
    """(model folder, run folder or None) for a run folder or a model folder (model/, best/, a checkpoint)."""
    model = model.resolve()
    if not model.is_dir():
        raise SpecError(f"--model {model}: no such folder; give a run folder or a trained model folder.", "model")
    if (model / "spec.json").is_file():
        for name in MODEL_FOLDERS:
            if (model / name / "config.json").is_file():
                return model / name, model
        raise SpecError(f"--model {model}: the run has no trained model yet (no model/ or best/); finish or resume "
                        "its training first.", "model")
    if not (model / "config.json").is_file():
        raise SpecError(f"--model {model}: no config.json; give a run folder or a model folder with config.json.", "model")
    for up in (model.parent, model.parent.parent):  # <run>/model, <run>/checkpoints/step-N
        if (up / "spec.json").is_file():
            return model, up
    return model, None


def _eval_spec(model_dir: Path, run_dir: Path | None, data: Path, task: str | None) -> Any:
    """The run's spec with the model folder as the model and `data` as the data to read."""
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    id2label = config.get("id2label") or {}
    labels = [id2label[k] for k in sorted(id2label, key=int)] if id2label else None
    if run_dir is not None:
        raw = json.loads((run_dir / "spec.json").read_text(encoding="utf-8"))
        load_spec(run_dir / "spec.json")  # a broken run spec is reported as it is, with its field
    else:
        if not task:
            raise SpecError(f"--model {model_dir} is not in a run folder: pass --task to say what it was trained for.",
                            "task")
        raw = {"task": task, "data": {}, "training": {}}
    if task and raw.get("task") != task:
        raise SpecError(f"--task {task}: the run was trained for {raw.get('task')}; leave --task out.", "task")
    raw = dict(raw)
    raw["model"] = {**(raw.get("model") or {}), "name_or_path": str(model_dir), "from_scratch": None}
    d = dict(raw.get("data") or {})
    d.update({"train": str(data), "validation": None, "max_train_samples": None, "max_eval_samples": None})
    if labels and raw["task"] in ("sequence_classification", "token_classification"):
        d["labels"] = labels
    raw["data"] = d
    return parse_spec(raw, run_dir)


def evaluate(model: Path, data: Path, out: Path, name: str | None = None, split: str | None = None,
             task: str | None = None, device: str | None = None) -> dict[str, Any]:
    """Score `data` with the model; writes metrics.json and predictions.jsonl into `out` and returns the metrics file."""
    data = data.resolve()
    model_dir, run_dir = resolve_model(model)
    spec = _eval_spec(model_dir, run_dir, data, task)
    from .tasks import build_task

    task_obj = build_task(spec)
    try:
        examples = task_obj.load_examples(data, "train")
    except SpecError as e:
        raise SpecError(str(e).replace("data.train", f"--data {data.name}"), "data") from e
    if not examples:
        raise SpecError(f"--data {data}: no examples in the file; give a file with labelled examples.", "data")
    try:
        task_obj.fit_labels(examples)
    except SpecError as e:
        if e.field != "data.labels":
            raise
        found = str(e).split(":", 1)[1].split(";", 1)[0].strip()
        raise SpecError(f"--data {data.name}: labels the model was never trained on: {found}. The model knows "
                        f"{', '.join(spec.data.labels or [])}; fix the labels or evaluate a model trained on them.",
                        "data") from e

    from .engine.runtime import setup_runtime, shutdown
    from .train import _quiet_transformers

    _quiet_transformers()
    rt = setup_runtime(device or spec.device, spec.t("bf16"))
    try:
        tokenizer = task_obj.build_tokenizer(spec.model)
        net = task_obj.build_model(spec.model).to(rt.device)
        features = task_obj.build_eval_features(examples, tokenizer)
        logits: dict[int, Any] = {}

        def keep_logits(idx: list[int], _batch: Any, cpu: dict[str, Any], _done: int, _total: int) -> None:
            if "logits" in cpu:
                for j, i in enumerate(idx):
                    logits[i] = cpu["logits"][j]

        run_batches = batch_runner(task_obj, net, rt, spec.t("per_device_eval_batch_size"), keep_logits)
        t0 = time.perf_counter()
        result = task_obj.evaluate(net, examples, features, run_batches)
        seconds = time.perf_counter() - t0
    finally:
        shutdown(rt)
    out.mkdir(parents=True, exist_ok=True)
    n_pred = 0
    if spec.task == "sequence_classification":
        n_pred = _write_predictions(out / "predictions.jsonl", task_obj, examples, features, logits)
    elif spec.task == "token_classification":
        n_pred = _write_ner_predictions(out / "predictions.jsonl", task_obj, examples, features, logits)
    step = _run_step(run_dir)
    report = {
        "name": name or data.stem, "split": split or "test", "data": str(data), "model": str(model_dir),
        "run": str(run_dir) if run_dir else None, "task": spec.task, "step": step, "examples": len(examples),
        "seconds": round(seconds, 3), "metrics": result.metrics, **result.tables,
        "predictions": "predictions.jsonl" if n_pred else None,
        # Whether the result went into the run's events.jsonl: not while the run's worker is writing
        # its own events (its lines and ours could interleave); metrics.json has it either way.
        "event": run_dir is not None and not _training_now(run_dir),
    }
    atomic_write_text(out / "metrics.json", json.dumps(_clean(report), indent=2, ensure_ascii=False))
    if run_dir is not None and report["event"]:
        events = EventLog(run_dir)
        try:
            events.emit("eval", step=step, metrics=result.metrics, split=report["split"], name=report["name"],
                        **result.tables)
        finally:
            events.close()
    return report


BatchHook = Callable[[list[int], Any, dict[str, Any], int, int], None]


def batch_runner(task: Any, net: Any, rt: Any, batch_size: int, on_batch: BatchHook | None = None
                 ) -> Callable[[Sequence[dict[str, Any]]], Iterator[tuple[list[int], Any, dict[str, Any]]]]:
    """The `run_batches` a task's `evaluate` takes, outside the training engine: as
    engine/loop.Trainer.run_batches, longest features first, inference mode and the runtime's autocast,
    outputs moved to the CPU as float. `on_batch(idx, batch, cpu, done, total)` sees each batch before
    it is yielded (predictions kept per example, embeddings, progress)."""
    import torch

    from .engine.runtime import eval_mode

    def run_batches(feats: Sequence[dict[str, Any]]) -> Iterator[tuple[list[int], Any, dict[str, Any]]]:
        order = sorted(range(len(feats)), key=lambda i: -len(feats[i]["input_ids"]))
        with eval_mode(net), torch.inference_mode():
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                batch = task.collate([feats[i] for i in idx])
                with rt.autocast():
                    res = net(**{k: v.to(rt.device) for k, v in batch.items()})
                cpu = {k: v.detach().float().cpu() for k, v in res.items() if isinstance(v, torch.Tensor)}
                if on_batch is not None:
                    on_batch(idx, batch, cpu, min(s + batch_size, len(order)), len(order))
                yield idx, batch, cpu

    return run_batches


def _training_now(run_dir: Path) -> bool:
    """Whether the run's worker is alive and writing events (status.json says so and its pid exists)."""
    try:
        status = json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
        if status.get("state") not in ("starting", "running", "stopping"):
            return False
        os.kill(int(status["pid"]), 0)
        return True
    except (OSError, ValueError, TypeError, KeyError):
        return False


def _run_step(run_dir: Path | None) -> int:
    if run_dir is None:
        return 0
    try:
        return int(json.loads((run_dir / "status.json").read_text(encoding="utf-8")).get("step") or 0)
    except (OSError, ValueError, TypeError):
        return 0


def _write_predictions(path: Path, task: Any, examples: Sequence[dict[str, Any]], features: Sequence[dict[str, Any]],
                       logits: dict[int, Any]) -> int:
    import torch

    labels: list[str] = task.labels
    threshold = task.spec.t("threshold") if task.multi_label else None
    tmp = path.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for i, feat in enumerate(features):
            rec = examples[feat["example"]]
            row = logits[i]
            if threshold is not None:
                probs = torch.sigmoid(row).tolist()
                pred: Any = [labels[j] for j, p in enumerate(probs) if p >= threshold]
                gold: Any = rec["label"]
                correct = sorted(pred) == sorted(gold)
                score = max(probs) if probs else 0.0
            else:
                probs = torch.softmax(row, -1).tolist()
                best = int(row.argmax())
                pred, gold, score = labels[best], rec["label"], probs[best]
                correct = pred == gold
            line: dict[str, Any] = {"index": feat["example"], "text": rec["text"]}
            if rec.get("text_pair") is not None:
                line["text_pair"] = rec["text_pair"]
            line.update({"gold": gold, "pred": pred, "score": score, "correct": correct,
                         "probabilities": dict(zip(labels, probs, strict=True)), "source": rec.get("source")})
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return len(features)


def _write_ner_predictions(path: Path, task: Any, examples: Sequence[dict[str, Any]],
                           features: Sequence[dict[str, Any]], logits: dict[int, Any]) -> int:
    """One line per sentence: its words, gold and predicted tag per word as the task's evaluate scores
    them (seqeval over these lines gives the reported entity figures)."""
    tmp = path.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for i, feat in enumerate(features):
            rec = examples[feat["example"]]
            gold = list(rec["tags"])
            pred = task.word_tags(feat, logits[i].argmax(-1).tolist(), len(gold))
            line = {"index": feat["example"], "text": " ".join(rec["tokens"]), "tokens": list(rec["tokens"]),
                    "gold": gold, "pred": pred, "correct": pred == gold, "source": rec.get("source")}
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return len(features)


def run_command(args: Any) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(message)s")
    out = Path(args.out)
    try:
        report = evaluate(Path(args.model), Path(args.data), out, args.name, args.split, args.task, args.device)
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as e:  # noqa: BLE001 - one line for the user, the traceback in the log
        try:
            out.mkdir(parents=True, exist_ok=True)
            (out / "evaluate.log").write_text(traceback.format_exc(), encoding="utf-8")
            where = f" (the traceback is in {out / 'evaluate.log'})"
        except OSError:
            where = ""
        print(f"error: {type(e).__name__}: {e}{where}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(_clean(report), ensure_ascii=False))
    return EXIT_OK


def add_command(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="score a trained model on a labelled file (metrics.json, predictions.jsonl)")
    p.add_argument("--model", required=True, help="a run folder, or a trained model folder (model/, best/)")
    p.add_argument("--data", required=True, help="a labelled file: snapshot JSONL or a raw file of the task's format")
    p.add_argument("--out", required=True, help="folder for metrics.json and predictions.jsonl")
    p.add_argument("--name", help="name of this evaluation (default: the data file's name)")
    p.add_argument("--split", help="split name shown beside the validation figures (default: test)")
    p.add_argument("--task", help="the task, for a model folder outside a run")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the run's)")
