"""Likely label errors by confident learning (Northcutt et al. 2021, the `cleanlab` package).

`python -m bert_studio_trainer label-errors --model RUN [--data FILE] [--folds K] [--probs mean|first]`

Out-of-sample probabilities come from one of two sources:
  * the run's training dynamics (dynamics.npz, recorded during training at no extra cost): the
    probabilities each example got from the training forward pass, averaged over the epochs
    (`--probs mean`, the default) or from the first epoch only, when the model had not yet trained on
    the example (`--probs first`);
  * K-fold cross-validation (`--folds K`): K trainings with the run's spec, each on K-1 folds, and the
    held-out fold's probabilities from the model at the end; K times the training cost, for any file.
The choice and its measured precision are in bench/label_errors.md.

A unit is an example (sequence classification) or a word (token classification, scored at its first
sub-token: "the model contradicts this tag"). cleanlab's `find_label_issues` (confident joint, pruned by
noise rate) flags units; each unit's score is 1 - its label quality (self-confidence, the probability of
the given label), so higher is more likely wrong. Writes RUN/label_issues.jsonl, flagged units only,
highest score first:
    {rank, example, source {file, line}, given, suggested, score, text, word?, token? (word index)}
`source.line` is the example's line; for a token of a CoNLL-style file it is that token's own line.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..spec import SpecError, load_spec, parse_spec
from . import EXIT_BAD_INPUT, EXIT_OK, report_failure
from .dynamics import DYNAMICS_NPZ, DynamicsRecorder, load_dynamics

LABEL_ISSUES = "label_issues.jsonl"
FOLDS_DIR = "label-errors"  # <run>/label-errors/fold-K/: the cross-validation runs
PROBS_SOURCES = ("mean", "first")
# Files whose examples sit on one line each: a token's line is its example's line.
ONE_LINE_FORMATS = (".jsonl", ".json", ".ndjson")


# ---- the method ---------------------------------------------------------------------------------
def pred_probs_from_dynamics(probs: np.ndarray, source: str = "mean") -> np.ndarray:
    """[units, classes] from dynamics [epochs, units, classes]: the mean over the epochs a unit was seen
    in, or the first epoch. Rows are renormalised (float32 softmax sums drift by ~1e-7)."""
    if probs.shape[0] == 0:
        raise SpecError("the run's dynamics.npz holds no epoch yet; train the run first.", "model")
    if source == "first":
        out = probs[0]
    else:
        seen = ~np.isnan(probs[..., 0])
        out = np.where(seen[..., None], probs, 0.0).sum(axis=0) / np.maximum(seen.sum(axis=0), 1)[:, None]
    unseen = np.isnan(out[:, 0]) | (out.sum(axis=1) == 0)
    out = np.where(unseen[:, None], 1.0 / probs.shape[2], out)  # never trained on: no opinion
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float64)


def rank_label_issues(pred_probs: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(score per unit = 1 - self-confidence, cleanlab's flagged mask)."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    quality = get_label_quality_scores(gold, pred_probs, method="self_confidence")
    n_classes = pred_probs.shape[1]
    present = np.unique(gold)
    if len(present) < 2:
        return 1.0 - quality, np.zeros(len(gold), dtype=bool)
    if len(present) < n_classes:
        # cleanlab needs every class among the given labels: work on the classes present.
        sub = pred_probs[:, present]
        sub = sub / np.maximum(sub.sum(axis=1, keepdims=True), 1e-12)
        remap = {c: i for i, c in enumerate(present)}
        flagged = find_label_issues(np.array([remap[g] for g in gold]), sub)
    else:
        flagged = find_label_issues(gold, pred_probs)
    return 1.0 - quality, np.asarray(flagged, dtype=bool)


# ---- inputs ------------------------------------------------------------------------------------
def _run_dir(model: Path) -> Path:
    run = model.resolve()
    if not (run / "spec.json").is_file():
        raise SpecError(f"--model {model}: not a run folder (no spec.json); give the folder of a training run.", "model")
    return run


def _task_and_examples(run: Path, data: Path | None) -> tuple[Any, Any, list[dict[str, Any]]]:
    spec = load_spec(run / "spec.json")
    if spec.task not in ("sequence_classification", "token_classification") or spec.data.multi_label:
        kind = "multi-label classification" if spec.data.multi_label else spec.task
        raise SpecError(f"--model {run.name}: label errors are found for single-label sequence classification and "
                        f"token classification runs, not {kind}.", "model")
    from ..tasks import build_task

    task = build_task(spec)
    path = data.resolve() if data else spec.data.train
    if data is not None and not path.is_file():
        raise SpecError(f"--data {data}: no such file; give a labelled file of the run's format.", "data")
    try:
        examples = task.load_examples(path, "train")
    except SpecError as e:
        raise SpecError(str(e), "data") from e
    if data is None and spec.data.max_train_samples:
        examples = examples[: spec.data.max_train_samples]
    if not examples:
        raise SpecError(f"{path}: no examples; give a file with labelled examples.", "data")
    task.fit_labels(examples)
    return spec, task, examples


def dynamics_probs(run: Path, task: Any, examples: list[dict[str, Any]], source: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    if not (run / DYNAMICS_NPZ).is_file():
        raise SpecError(f"--model {run.name}: the run has no {DYNAMICS_NPZ} (trained with training.record_dynamics "
                        "false, or before it existed); train it again with record_dynamics true, or pass --folds K "
                        "to cross-validate.", "model")
    dyn = load_dynamics(run)
    labels = [str(x) for x in dyn["labels"]]
    task.labels = labels
    if len(examples) <= int(dyn["example"].max(initial=-1)):
        raise SpecError(f"--model {run.name}: {DYNAMICS_NPZ} covers more examples than {len(examples)} in the "
                        "training data: the file changed since the run; pass --folds K to cross-validate it as it is now.",
                        "data")
    return pred_probs_from_dynamics(dyn["probs"], source), dyn


# ---- cross-validation -----------------------------------------------------------------------------
def cross_val_probs(run: Path, spec: Any, task: Any, examples: list[dict[str, Any]], folds: int,
                    log: Any = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """K trainings with the run's spec on K-1 folds each; every example's probabilities from the model
    that did not train on it. Fold runs live in <run>/label-errors/fold-K (kept: each is a normal run)."""
    from ..train import train

    if folds < 2 or folds > len(examples):
        raise SpecError(f"--folds {folds}: give between 2 and the number of examples ({len(examples)}).", "folds")
    rng = np.random.default_rng(spec.t("seed"))
    fold_of = rng.permutation(len(examples)) % folds
    root = run / FOLDS_DIR
    held: dict[int, np.ndarray] = {}
    for k in range(folds):
        fold_dir = root / f"fold-{k}"
        status = fold_dir / "status.json"
        done = status.is_file() and json.loads(status.read_text(encoding="utf-8")).get("state") == "completed"
        if not done:
            fold_dir.mkdir(parents=True, exist_ok=True)
            train_file = fold_dir / "train.jsonl"
            train_file.write_text("".join(json.dumps(examples[i], ensure_ascii=False) + "\n"
                                          for i in np.nonzero(fold_of != k)[0]), encoding="utf-8")
            raw = json.loads((run / "spec.json").read_text(encoding="utf-8"))
            raw["data"] = {**raw.get("data", {}), "train": str(train_file), "validation": None,
                           "max_train_samples": None, "max_eval_samples": None, "labels": task.labels}
            raw["training"] = {**raw.get("training", {}), "record_dynamics": False, "save_total_limit": 1}
            raw["export"] = {"onnx": False}
            raw.pop("name", None)
            (fold_dir / "spec.json").write_text(json.dumps(raw, indent=2), encoding="utf-8")
            if log:
                log(f"fold {k + 1}/{folds}: training on {int((fold_of != k).sum())} examples")
            if train(fold_dir) != 0:
                raise RuntimeError(f"the cross-validation run {fold_dir} failed; see its events.jsonl")
        held_idx = np.nonzero(fold_of == k)[0]
        probs, units = predict_units(fold_dir / "model", spec, [examples[i] for i in held_idx], task.labels)
        by_example: dict[int, list[np.ndarray]] = {}
        for u in range(len(probs)):
            by_example.setdefault(int(held_idx[units["example"][u]]), []).append(probs[u])
        held.update({i: np.stack(v) for i, v in by_example.items()})
    # Units in data order, in the layout the dynamics use.
    full = _units(spec, task, examples)
    out = np.zeros((len(full.gold), len(task.labels)), dtype=np.float64)
    for i in range(len(examples)):
        lo, hi = np.searchsorted(full.example, i), np.searchsorted(full.example, i, side="right")
        if hi > lo:
            out[lo:hi] = held[i]
    return out, {"gold": full.gold, "example": full.example, "word": full.word}


def _units(spec: Any, task: Any, examples: list[dict[str, Any]]) -> DynamicsRecorder:
    tokenizer = task.build_tokenizer(spec.model)
    features = task.build_train_features(examples, tokenizer)
    return DynamicsRecorder(features, examples, task.labels, task.name == "token_classification")


def predict_units(model_dir: Path, spec: Any, examples: list[dict[str, Any]], labels: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One inference pass of a trained model over `examples`: [units, classes] in the dynamics' layout."""
    import torch

    from ..engine.runtime import eval_mode, setup_runtime, shutdown
    from ..tasks import build_task

    raw = dict(spec.raw)
    raw["model"] = {**raw.get("model", {}), "name_or_path": str(model_dir), "from_scratch": None}
    raw["data"] = {**raw.get("data", {}), "labels": labels}
    pspec = parse_spec(raw, None)
    task = build_task(pspec)
    task.labels = list(labels)
    rt = setup_runtime(pspec.device, pspec.t("bf16"))
    try:
        tokenizer = task.build_tokenizer(pspec.model)
        net = task.build_model(pspec.model).to(rt.device)
        features = task.build_train_features(examples, tokenizer)
        rec = DynamicsRecorder(features, examples, task.labels, task.name == "token_classification")
        rec.attach(net)
        bs = pspec.t("per_device_eval_batch_size")
        order = sorted(range(len(features)), key=lambda i: -len(features[i]["input_ids"]))
        with eval_mode(net), torch.inference_mode():
            for s in range(0, len(order), bs):
                idx = order[s:s + bs]
                batch = task.collate([features[i] for i in idx])
                rec.watch(0, idx, batch)
                with rt.autocast():
                    net(**{k: v.to(rt.device) for k, v in batch.items()})
        probs = rec.probs()[0].astype(np.float64)
    finally:
        shutdown(rt)
    return probs, {"gold": rec.gold, "example": rec.example, "word": rec.word}


# ---- the report ------------------------------------------------------------------------------------
def token_line(source: dict[str, Any] | None, word: int) -> int | None:
    """A token's line: CoNLL-style files hold one token per line from the sentence's first line."""
    if not source or not isinstance(source.get("line"), int):
        return None
    if word < 0 or str(source.get("file", "")).lower().endswith(ONE_LINE_FORMATS):
        return source["line"]
    return source["line"] + word


def issue_rows(examples: list[dict[str, Any]], labels: list[str], pred_probs: np.ndarray, units: dict[str, np.ndarray],
               scores: np.ndarray, flagged: np.ndarray) -> list[dict[str, Any]]:
    rows = []
    for u in np.nonzero(flagged)[0][np.argsort(-scores[flagged], kind="stable")]:
        i, w = int(units["example"][u]), int(units["word"][u])
        rec = examples[i]
        given, probs = int(units["gold"][u]), pred_probs[u].copy()
        probs[given] = -1.0
        src = rec.get("source") or None
        row: dict[str, Any] = {"rank": len(rows) + 1, "example": i,
                               "source": {**src, "line": token_line(src, w)} if src else None,
                               "given": labels[given], "suggested": labels[int(probs.argmax())],
                               "score": round(float(scores[u]), 6)}
        if w >= 0:
            row.update(word=rec["tokens"][w], token=w, text=" ".join(rec["tokens"]))
        else:
            row["text"] = rec["text"] if rec.get("text_pair") is None else f"{rec['text']} ||| {rec['text_pair']}"
        rows.append(row)
    return rows


def find_label_errors(model: Path, data: Path | None = None, folds: int | None = None, probs_source: str = "mean",
                      log: Any = None) -> dict[str, Any]:
    """Writes RUN/label_issues.jsonl; returns the summary printed by the command."""
    import time

    t0 = time.perf_counter()
    run = _run_dir(model)
    if probs_source not in PROBS_SOURCES:
        raise SpecError(f"--probs {probs_source}: use one of {', '.join(PROBS_SOURCES)}.", "probs")
    if data is not None and folds is None:
        raise SpecError("--data needs --folds K: the run's training dynamics cover only its own training data; "
                        "another file is cross-validated.", "data")
    spec, task, examples = _task_and_examples(run, data)
    if folds is not None:
        pred_probs, units = cross_val_probs(run, spec, task, examples, folds, log)
        method = f"{folds}-fold cross-validation"
    else:
        pred_probs, units = dynamics_probs(run, task, examples, probs_source)
        method = "training dynamics, mean over the epochs" if probs_source == "mean" else "training dynamics, first epoch"
    scores, flagged = rank_label_issues(pred_probs, units["gold"])
    rows = issue_rows(examples, task.labels, pred_probs, units, scores, flagged)
    tmp = run / f".{LABEL_ISSUES}.{os.getpid()}.tmp"
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    os.replace(tmp, run / LABEL_ISSUES)
    return {"run": str(run), "file": str(run / LABEL_ISSUES), "method": method, "task": spec.task,
            "units": int(len(scores)), "flagged": len(rows), "examples": len(examples),
            "seconds": round(time.perf_counter() - t0, 3)}


def run_command(args: Any) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        summary = find_label_errors(Path(args.model), Path(args.data) if args.data else None, args.folds, args.probs,
                                    log=lambda m: print(m, file=sys.stderr))
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as e:  # noqa: BLE001 - one line for the user, the traceback in the log
        return report_failure(e, Path(args.model).resolve() / "label-errors.log")
    print(json.dumps(summary, ensure_ascii=False))
    return EXIT_OK


def add_command(sub: Any) -> None:
    p = sub.add_parser("label-errors", help="find likely label errors with confident learning (label_issues.jsonl)")
    p.add_argument("--model", required=True, help="the run folder")
    p.add_argument("--data", help="a labelled file to check instead of the run's training data (needs --folds)")
    p.add_argument("--folds", type=int, help="cross-validate with K trainings instead of using the run's dynamics")
    p.add_argument("--probs", default="mean", help="with dynamics: 'mean' over epochs (default) or 'first' epoch")
