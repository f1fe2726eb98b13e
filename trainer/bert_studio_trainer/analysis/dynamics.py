"""Training dynamics per example (dataset cartography, Swayamdipta et al. 2020).

During a sequence- or token-classification run the engine records, for every training unit, the
model's class probabilities at the moment the unit is trained on, once per epoch: taken from the
forward pass the training step already does (a forward hook on the model: no extra pass, measured
cheaper than one extra inference pass per epoch, see bench/label_errors.md). A unit is an example
(sequence classification) or a word, at its first sub-token (token classification).

Files (run folder; also `dynamics.npz` in each checkpoint, so a resumed run continues exactly):
    dynamics.npz    seconds (spent recording), probs [epochs, units, classes] float32 (NaN where a unit was not trained on in that
                    epoch, e.g. the last, partial epoch under max_steps), gold [units], example [units]
                    (index in the training data), word [units] (-1 for sequence classification), labels
    dynamics.jsonl  one line per training example: {example, source, gold, epochs, gold_prob [per epoch],
                    confidence, variability, correctness}; for token classification the three figures
                    are means over the example's words and `gold` is left out.
confidence = mean over epochs of the gold label's probability, variability = its standard
deviation, correctness = the share of epochs in which the gold label was the most probable.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DYNAMICS_NPZ = "dynamics.npz"
DYNAMICS_JSONL = "dynamics.jsonl"
IGNORE = -100  # token classification: positions without a label (later sub-tokens, specials, padding)


class DynamicsRecorder:
    """Collects the training pass's probabilities per unit and epoch. Single process only."""

    def __init__(self, features: Sequence[dict[str, Any]], examples: Sequence[dict[str, Any]], labels: list[str],
                 token_level: bool) -> None:
        self.labels, self.token_level = list(labels), token_level
        self.sources = [e.get("source") for e in examples]
        counts = [sum(1 for lab in f["labels"] if lab != IGNORE) if token_level else 1 for f in features]
        self.offset = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        ex, word, gold = [], [], []
        for f, n in zip(features, counts, strict=True):
            ex.extend([f["example"]] * n)
            if token_level:
                word_ids = f["word_ids"]
                kept = [p for p, lab in enumerate(f["labels"]) if lab != IGNORE]
                word.extend(word_ids[p] for p in kept)
                gold.extend(f["labels"][p] for p in kept)
            else:
                word.append(-1)
                gold.append(f["labels"])
        self.example = np.asarray(ex, dtype=np.int64)
        self.word = np.asarray(word, dtype=np.int64)
        self.gold = np.asarray(gold, dtype=np.int64)
        self.epochs: list[np.ndarray] = []
        self.pending: list[tuple[int, list[int], Any, Any]] = []
        self._current: tuple[int, list[int], Any] | None = None
        self.seconds = 0.0  # time spent recording (hook and flush), saved with the dynamics

    # ---- recording ---------------------------------------------------------------------------
    def attach(self, model: Any) -> Any:
        """Registers the forward hook once; it records only inside `watching` (not in eval passes)."""
        return model.register_forward_hook(self._hook)

    def watch(self, epoch: int, idx: list[int], batch: dict[str, Any]) -> None:
        self._current = (epoch, idx, batch)

    def unwatch(self) -> None:
        self._current = None

    def _hook(self, _module: Any, _inputs: Any, output: Any) -> None:
        if self._current is None:
            return
        t0 = time.perf_counter()
        epoch, idx, batch = self._current
        self._current = None  # one forward per micro-batch
        import torch

        logits = output["logits"] if isinstance(output, dict) else output.logits
        probs = torch.softmax(logits.detach().float(), dim=-1)
        mask = (batch["labels"] != IGNORE) if self.token_level else None
        # Kept on the device until the next flush: no host sync per step.
        self.pending.append((epoch, idx, probs, mask))
        self.seconds += time.perf_counter() - t0
        if len(self.pending) >= 256:
            self.flush()

    def flush(self) -> None:
        t0 = time.perf_counter()
        for epoch, idx, probs, mask in self.pending:
            arr = self._epoch(epoch)
            p = probs.cpu().numpy()
            if not self.token_level:
                arr[self.offset[idx]] = p
                continue
            m = mask.cpu().numpy()
            for row, j in enumerate(idx):
                arr[self.offset[j]:self.offset[j + 1]] = p[row][m[row]]
        self.pending.clear()
        self.seconds += time.perf_counter() - t0

    def _epoch(self, epoch: int) -> np.ndarray:
        while len(self.epochs) <= epoch:
            self.epochs.append(np.full((len(self.gold), len(self.labels)), np.nan, dtype=np.float32))
        return self.epochs[epoch]

    # ---- saving and resuming -----------------------------------------------------------------
    def probs(self) -> np.ndarray:
        self.flush()
        if not self.epochs:
            return np.zeros((0, len(self.gold), len(self.labels)), dtype=np.float32)
        return np.stack(self.epochs)

    def save(self, path: Path) -> None:
        """Writes the npz atomically (a temporary file renamed)."""
        buf = io.BytesIO()
        np.savez(buf, probs=self.probs(), gold=self.gold, example=self.example, word=self.word,
                 labels=np.asarray(self.labels, dtype=str), seconds=np.float64(self.seconds))
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, path)

    def load(self, path: Path) -> bool:
        """Restores the epochs saved with a checkpoint; False when the file is missing or does not match."""
        if not path.is_file():
            return False
        with np.load(path) as z:
            if z["gold"].shape != self.gold.shape or not np.array_equal(z["gold"], self.gold):
                return False
            self.epochs = [np.array(a) for a in z["probs"]]
            self.seconds = float(z["seconds"]) if "seconds" in z.files else 0.0
        return True

    def write_run_files(self, run_dir: Path) -> None:
        self.save(run_dir / DYNAMICS_NPZ)
        rows = summarize(self.probs(), self.gold, self.example, self.labels, self.sources, self.token_level)
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        tmp = run_dir / f".{DYNAMICS_JSONL}.{os.getpid()}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, run_dir / DYNAMICS_JSONL)


def unit_figures(probs: np.ndarray, gold: np.ndarray) -> dict[str, np.ndarray]:
    """Per unit over the epochs it was trained in: gold_prob [epochs, units], confidence, variability,
    correctness, epochs seen."""
    e, u = probs.shape[0], probs.shape[1]
    gold_prob = probs[:, np.arange(u), gold] if e else np.zeros((0, u), dtype=np.float32)
    seen = ~np.isnan(gold_prob)
    n = seen.sum(axis=0)
    safe = np.where(seen, gold_prob, 0.0)
    confidence = np.divide(safe.sum(axis=0), n, out=np.full(u, np.nan), where=n > 0)
    sq = np.where(seen, (gold_prob - confidence[None, :]) ** 2, 0.0)
    variability = np.sqrt(np.divide(sq.sum(axis=0), n, out=np.full(u, np.nan), where=n > 0))
    argmax = np.nanargmax(np.where(np.isnan(probs), -1.0, probs), axis=-1) if e else np.zeros((0, u), dtype=np.int64)
    right = (argmax == gold[None, :]) & seen
    correctness = np.divide(right.sum(axis=0), n, out=np.full(u, np.nan), where=n > 0)
    return {"gold_prob": gold_prob, "confidence": confidence, "variability": variability,
            "correctness": correctness, "seen": n}


def summarize(probs: np.ndarray, gold: np.ndarray, example: np.ndarray, labels: Sequence[str],
              sources: Sequence[Any], token_level: bool) -> list[dict[str, Any]]:
    """The dynamics.jsonl rows: one per training example, in data order."""
    fig = unit_figures(probs, gold)
    rows: list[dict[str, Any]] = []
    order = np.argsort(example, kind="stable")
    bounds = np.searchsorted(example[order], np.arange(len(sources) + 1))
    for i in range(len(sources)):
        units = order[bounds[i]:bounds[i + 1]]
        if len(units) == 0:
            continue  # e.g. a sentence with every word cut by truncation
        row: dict[str, Any] = {"example": i, "source": sources[i]}
        if not token_level:
            row["gold"] = labels[int(gold[units[0]])]
        gp = fig["gold_prob"][:, units]
        row["epochs"] = int(fig["seen"][units].max())
        row["gold_prob"] = [_mean(gp[e]) for e in range(gp.shape[0])]
        for name in ("confidence", "variability", "correctness"):
            row[name] = _mean(fig[name][units])
        if token_level:
            row["words"] = len(units)
        rows.append(row)
    return rows


def _mean(values: np.ndarray) -> float | None:
    """Mean of the non-NaN values, rounded for JSON; None when there are none."""
    vals = values[~np.isnan(values)]
    return round(float(vals.mean()), 6) if len(vals) else None


def recorder_for(spec: Any, task: Any, features: Sequence[dict[str, Any]], examples: Sequence[dict[str, Any]],
                 world_size: int) -> tuple[DynamicsRecorder | None, str | None]:
    """The recorder a run gets (None when off), and a note to log when it is off against the spec's wish."""
    if task.name not in ("sequence_classification", "token_classification") or not spec.t("record_dynamics"):
        return None, None
    if getattr(task, "multi_label", False):
        return None, None  # one gold probability per example is not defined for a set of labels
    if world_size > 1:
        return None, "training dynamics are recorded in single-process runs only; this run has none"
    return DynamicsRecorder(features, examples, task.labels, task.name == "token_classification"), None


def load_dynamics(run_dir: Path) -> dict[str, np.ndarray]:
    with np.load(run_dir / DYNAMICS_NPZ) as z:
        return {k: np.array(z[k]) for k in z.files}
