"""Likely label errors against known answers: seeded label noise in real data, found again.

SST-2: the first N training sentences, with 5% and 10% of the labels flipped (seeded). CoNLL-2003:
the first M training sentences with 5% of the entity mentions given another type (B-/I- kept, the
whole mention changed). Each noisy file is trained once with the shipped MiniLM (training dynamics
on, the default); the dynamics give out-of-sample probabilities in two ways ("mean" over the
epochs, "first" epoch only) and, for SST-2 at 10%, K-fold cross-validation gives a third. cleanlab
ranks every unit (example, or word for NER) by 1 - self-confidence.

Reported per setting: k = the number of flipped units, precision and recall of the top k (equal at
this k), and precision and recall of the set cleanlab's find_label_issues flags (its own size). Also
the recorder's own time against the training time and against one extra inference pass over the
training data (the alternative design), so the choice is measured, not assumed.

Writes bench/results/label-errors.json. Quality, not speed: timings are rough (a shared CPU).

    OMP_NUM_THREADS=1 .venv/bin/python bench/label_errors.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "trainer"))
sys.path.insert(0, str(REPO / "trainer" / "tests"))
os.environ.setdefault("BERT_STUDIO_NUM_THREADS", "1")

import numpy as np
from bert_studio_trainer.analysis.dynamics import load_dynamics
from bert_studio_trainer.analysis.label_errors import (
    cross_val_probs,
    find_label_errors,
    pred_probs_from_dynamics,
    predict_units,
    rank_label_issues,
)
from bert_studio_trainer.spec import load_spec
from bert_studio_trainer.tasks import build_task
from bert_studio_trainer.train import train
from conftest import data_dir, make_spec, write_run

OUT = REPO / "bench" / "results" / "label-errors.json"
SEED = 17
TYPES = ("PER", "LOC", "ORG", "MISC")


def sst2_noisy(src: Path, dst: Path, n: int, rate: float, seed: int) -> set[int]:
    """The first n sentences with round(rate * n) labels flipped; returns the flipped example indices."""
    lines = src.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1: n + 1]
    flips = set(random.Random(seed).sample(range(len(rows)), round(rate * len(rows))))
    out = [header]
    for i, row in enumerate(rows):
        text, label = row.rsplit("\t", 1)
        out.append(f"{text}\t{1 - int(label) if i in flips else label}")
    dst.write_text("\n".join(out) + "\n", encoding="utf-8")
    return flips


def conll_noisy(src: Path, dst: Path, sentences: int, rate: float, seed: int) -> set[tuple[int, int]]:
    """The first `sentences` sentences with round(rate * mentions) entity mentions given another type;
    returns the (sentence, word) units whose tag changed."""
    sents: list[list[list[str]]] = []
    cur: list[list[str]] = []
    for line in src.read_text(encoding="utf-8").splitlines():
        cells = line.split()
        if not cells or cells[0] == "-DOCSTART-":
            if cur:
                sents.append(cur)
                cur = []
                if len(sents) == sentences:
                    break
            continue
        cur.append(cells)
    mentions = []  # (sentence, first word, last word)
    for s, sent in enumerate(sents):
        start = None
        for w, cells in enumerate(sent + [["", "O"]]):
            tag = cells[-1]
            cont = start is not None and tag.startswith("I-") and tag[2:] == sent[start][-1][2:]
            if start is not None and not cont:
                mentions.append((s, start, w - 1))
                start = None
            if start is None and tag != "O" and w < len(sent):
                start = w
    rng = random.Random(seed)
    chosen = rng.sample(mentions, round(rate * len(mentions)))
    changed: set[tuple[int, int]] = set()
    for s, a, b in chosen:
        old = sents[s][a][-1][2:]
        new = rng.choice([t for t in TYPES if t != old])
        for w in range(a, b + 1):
            sents[s][w][-1] = sents[s][w][-1][:2] + new
            changed.add((s, w))
    dst.write_text("\n\n".join("\n".join(" ".join(c) for c in sent) for sent in sents) + "\n", encoding="utf-8")
    return changed


def scores_at_k(scores: np.ndarray, flagged: np.ndarray, noisy: np.ndarray) -> dict[str, Any]:
    k = int(noisy.sum())
    top = np.argsort(-scores, kind="stable")[:k]
    hit = int(noisy[top].sum())
    f_hit = int((flagged & noisy).sum())
    return {"k": k, "precision_at_k": round(hit / max(k, 1), 4), "recall_at_k": round(hit / max(k, 1), 4),
            "flagged": int(flagged.sum()), "flagged_precision": round(f_hit / max(int(flagged.sum()), 1), 4),
            "flagged_recall": round(f_hit / max(k, 1), 4)}


def evaluate_run(run: Path, noisy_units: np.ndarray, sources: tuple[str, ...] = ("mean", "first")) -> dict[str, Any]:
    dyn = load_dynamics(run)
    out = {}
    for source in sources:
        probs = pred_probs_from_dynamics(dyn["probs"], source)
        scores, flagged = rank_label_issues(probs, dyn["gold"])
        out[f"dynamics_{source}"] = scores_at_k(scores, flagged, noisy_units)
    return out


def timing(run: Path, train_seconds: float) -> dict[str, Any]:
    """The recorder's own seconds against training, and one extra inference pass's seconds."""
    spec = load_spec(run / "spec.json")
    task = build_task(spec)
    examples = task.load_examples(spec.data.train, "train")
    dyn = load_dynamics(run)
    t0 = time.perf_counter()
    predict_units(run / "model", spec, examples, [str(x) for x in dyn["labels"]])
    infer = time.perf_counter() - t0
    epochs = int(dyn["probs"].shape[0])
    return {"train_seconds": round(train_seconds, 1), "epochs": epochs,
            "recording_seconds": round(float(dyn["seconds"]), 2),
            "recording_share": round(float(dyn["seconds"]) / train_seconds, 4),
            "inference_pass_seconds": round(infer, 1),
            "extra_pass_share": round(infer * epochs / train_seconds, 4)}


def train_run(run: Path, spec: dict[str, Any]) -> float:
    shutil.rmtree(run, ignore_errors=True)
    t0 = time.perf_counter()
    if train(write_run(run, spec)) != 0:
        raise SystemExit(f"training failed: see {run}/events.jsonl")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    ap.add_argument("--no-folds", action="store_true")
    ap.add_argument("--larger", type=int, metavar="N",
                    help="only SST-2 at 10%% noise with N examples (dynamics), added to the results as sst2_larger")
    args = ap.parse_args()
    data = data_dir()
    work = Path(tempfile.mkdtemp(prefix="bench-label-errors-"))
    n_sst, n_conll, epochs, folds = (200, 100, 2, 2) if args.quick else (1600, 800, 3, 3)
    training = {"num_train_epochs": epochs, "per_device_train_batch_size": 32, "learning_rate": 5e-5,
                "max_seq_length": 64}
    # NER needs more steps than 800 sentences give at batch 32: smaller batches, a higher rate.
    ner_training = {**training, "per_device_train_batch_size": 16, "learning_rate": 1e-4}
    settings = {"model": "default (MiniLM-L6-H384-uncased)", "seed": SEED, "sst2_training": training,
                "conll_training": ner_training,
                "sst2_train_examples": n_sst, "conll_train_sentences": n_conll, "folds": folds,
                "threads": int(os.environ["BERT_STUDIO_NUM_THREADS"]), "ranking": "1 - self-confidence (cleanlab)",
                "flagged": "cleanlab.filter.find_label_issues (prune_by_noise_rate)"}
    results: dict[str, Any] = {"settings": settings, "sst2": [], "conll2003": [], "machine": platform.processor() or
                               platform.machine()}
    t_all = time.perf_counter()

    def save() -> None:
        results["wall_seconds"] = round(time.perf_counter() - t_all, 1)
        if not args.quick:
            OUT.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results, indent=2), flush=True)

    if args.larger:
        results = json.loads(OUT.read_text())
        n_sst, rate = args.larger, 0.10
        path = work / "sst2-larger.tsv"
        flips = sst2_noisy(data / "sst2" / "train.tsv", path, n_sst, rate, SEED)
        run = work / "run-sst2-larger"
        secs = train_run(run, make_spec("sequence_classification", path, save_steps=100000, **training))
        noisy = np.zeros(n_sst, dtype=bool)
        noisy[sorted(flips)] = True
        entry = {"noise_rate": rate, "examples": n_sst, "flipped": len(flips), "training": training,
                 "train_seconds": round(secs, 1), **evaluate_run(run, noisy)}
        results["sst2_larger"] = [e for e in results.get("sst2_larger", []) if e["examples"] != n_sst] + [entry]
        OUT.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(entry, indent=2))
        shutil.rmtree(work, ignore_errors=True)
        return

    for rate in (0.05, 0.10):
        path = work / f"sst2-{int(rate * 100)}.tsv"
        flips = sst2_noisy(data / "sst2" / "train.tsv", path, n_sst, rate, SEED)
        run = work / f"run-sst2-{int(rate * 100)}"
        secs = train_run(run, make_spec("sequence_classification", path, save_steps=100000, **training))
        noisy = np.zeros(n_sst, dtype=bool)
        noisy[sorted(flips)] = True
        entry = {"noise_rate": rate, "examples": n_sst, "flipped": len(flips), **evaluate_run(run, noisy)}
        entry["label_issues_jsonl"] = find_label_errors(run)["flagged"]
        if rate == 0.10:
            entry["timing"] = timing(run, secs)
            if not args.no_folds:
                spec = load_spec(run / "spec.json")
                task = build_task(spec)
                examples = task.load_examples(spec.data.train, "train")
                task.fit_labels(examples)
                t0 = time.perf_counter()
                probs, units = cross_val_probs(run, spec, task, examples, folds)
                scores, flagged = rank_label_issues(probs, units["gold"])
                entry[f"cross_validation_{folds}_fold"] = {**scores_at_k(scores, flagged, noisy),
                                                           "seconds": round(time.perf_counter() - t0, 1)}
        results["sst2"].append(entry)
        save()

    path = work / "conll-5.txt"
    changed = conll_noisy(data / "conll2003" / "train.txt", path, n_conll, 0.05, SEED)
    run = work / "run-conll-5"
    secs = train_run(run, make_spec("token_classification", path, save_steps=100000, **ner_training))
    dyn = load_dynamics(run)
    noisy = np.array([(int(e), int(w)) in changed for e, w in zip(dyn["example"], dyn["word"], strict=True)])
    entry = {"noise_rate": 0.05, "noise": "entity mentions given another type", "sentences": n_conll,
             "changed_tokens": len(changed), "scored_tokens": len(noisy), "changed_scored": int(noisy.sum()),
             **evaluate_run(run, noisy), "label_issues_jsonl": find_label_errors(run)["flagged"],
             "timing": timing(run, secs)}
    results["conll2003"].append(entry)
    save()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
