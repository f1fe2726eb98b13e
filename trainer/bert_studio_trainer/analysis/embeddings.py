"""Embedding map: a run's examples as points in 2-D, coloured in the editor by gold label, prediction
or error, each point linked to its source line.

`python -m bert_studio_trainer embeddings --model RUN [--split validation|train] [--pooling mean|cls]
[--method pca|umap] [--max-examples N] [--seed N] [--force]`

The run's final model (`model/`, else `best/`) reads the split as the run read it (its spec: columns,
max_seq_length, eval batch size, the max_*_samples caps; the same `Task.load_examples`,
`build_eval_features` and `Task.evaluate`, so gold and predicted labels are `evaluate`'s). A forward
hook on the base model keeps the last hidden states; an example's vector is their mean over its
tokens, special tokens included as in sentence-transformers (`mean`, the default, also the
per-sentence mean for NER), or the first token's (`cls`).
Splits longer than `--max-examples` (default 2,000) are sampled with the seed (the run's by default).
The vectors go to 2-D by PCA (numpy SVD, each axis's sign fixed so that its largest loading is
positive: the same input gives the same picture) or UMAP (`umap-learn`, optional; cosine metric,
`random_state` = the seed, which makes it deterministic).

NER: a point is a sentence; its label is its most frequent entity type ("(none)" without entities),
for the gold tags and for the predicted ones (words past max_seq_length count as O, as in evaluate),
and it is correct when every predicted tag equals the gold one. Multi-label classification: a
point's label is its label set as evaluate names it ("LOC, PER", "(none)"; predicted at
training.threshold), correct when the sets are equal. Either way `labels` lists the labels that
occur, most frequent first, "(none)" last.

Writes RUN/analysis/embeddings-<split>-<method>-<pooling>.json (replaced atomically):
    {version, key, run, model, task, split, data, method, pooling, seed, examples, labels, metrics,
     explained_variance, seconds, created,
     points: [{index, x, y, gold, pred, correct, source {file, line} | null, text}]}
`key` names the settings asked for and what the map was computed from (spec.json, the model's files
and the data file: path, size, mtime): a second call with the same key returns the file as it is
(`cached: true`), without loading torch or the spec's model facts. Progress goes to stderr
("embedding 64/500 examples"); the last stdout line is the summary. Exit 0 done, 2 bad input (one
line naming the option and the fix), 1 other failure (traceback in RUN/analysis/embeddings.log).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..spec import SpecError, load_spec
from . import EXIT_BAD_INPUT, EXIT_OK, report_failure

ANALYSIS_DIR = "analysis"
FORMAT_VERSION = 1
SPLITS = ("validation", "train")
METHODS = ("pca", "umap")
POOLINGS = ("mean", "cls")
TASKS = ("sequence_classification", "token_classification")
DEFAULT_MAX_EXAMPLES = 2000
MAX_EXAMPLES_LIMIT = 100_000
SNIPPET = 200  # characters of an example's text kept per point
NO_ENTITY = "(none)"
UMAP_PIN = "umap-learn==0.5.12"  # as in trainer/requirements.txt


def cache_file(run: Path, split: str, method: str, pooling: str) -> Path:
    return run / ANALYSIS_DIR / f"embeddings-{split}-{method}-{pooling}.json"


# ---- projections ---------------------------------------------------------------------------------
def pca_2d(x: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """([n, 2] coordinates, the share of variance each axis explains). Deterministic: each axis's
    sign makes its largest loading positive (SVD alone may flip it between machines)."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    out = np.zeros((len(x), 2))
    if len(x) < 2:
        return out, [0.0, 0.0]
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    k = min(2, len(s))
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    out[:, :k] = x @ comps.T
    var = s**2
    total = float(var.sum())
    ratio = [float(v / total) if total > 0 else 0.0 for v in var[:k]] + [0.0] * (2 - k)
    return out, ratio


def umap_2d(x: np.ndarray, seed: int) -> np.ndarray:
    """[n, 2] by UMAP (cosine metric, 15 neighbours, min_dist 0.1), deterministic for a seed."""
    try:
        import umap  # noqa: F401 - optional dependency
    except ImportError as e:
        raise SpecError(f"--method umap needs the umap-learn package, which this Python ({sys.executable}) does not have; "
                        f"install it with `{sys.executable} -m pip install {UMAP_PIN}`, or use --method pca.", "method") from e
    n = len(x)
    if n < 4:
        raise SpecError(f"--method umap needs at least 4 examples and the split has {n}; use --method pca.", "method")
    import umap

    with warnings.catch_warnings():
        # random_state turns off UMAP's parallelism (it warns about that) and makes the layout reproducible.
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), min_dist=0.1, metric="cosine",
                            random_state=seed, init="spectral" if n > 16 else "random")
        return np.asarray(reducer.fit_transform(np.asarray(x, dtype=np.float32)), dtype=np.float64)


# ---- labels per point ----------------------------------------------------------------------------
def sentence_label(tags: Sequence[str]) -> str:
    """An NER sentence's label for the map: its most frequent entity type (the first to occur on a tie)."""
    from seqeval.metrics.sequence_labeling import get_entities

    types = [t for t, _, _ in get_entities(list(tags))]
    if not types:
        return NO_ENTITY
    counts = Counter(types)
    best = max(counts.values())
    return next(t for t in types if counts[t] == best)


def word_tags(word_ids: Sequence[int | None], ids: Sequence[int], labels: Sequence[str], n_words: int) -> list[str]:
    """Per word, the tag of its first sub-token (words cut by truncation: O), as TokenClassificationTask.evaluate."""
    tags = ["O"] * n_words
    prev = None
    for pos, w in enumerate(word_ids):
        if w is not None and w != prev:
            tags[w] = labels[int(ids[pos])]
        prev = w
    return tags


def snippet(rec: dict[str, Any]) -> str:
    if "tokens" in rec:
        text = " ".join(rec["tokens"])
    else:
        text = rec["text"] if rec.get("text_pair") is None else f"{rec['text']} ||| {rec['text_pair']}"
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


# ---- inputs --------------------------------------------------------------------------------------
def _stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _weights_stamp(model_dir: Path) -> dict[str, int]:
    """Size and newest mtime of the model folder's files: changes when best/ or model/ is rewritten."""
    files = [p for p in model_dir.iterdir() if p.is_file()]
    return {"size": sum(p.stat().st_size for p in files), "mtime_ns": max((p.stat().st_mtime_ns for p in files), default=0)}


def _check_options(split: str, method: str, pooling: str, max_examples: int, seed: int | None) -> None:
    if split not in SPLITS:
        raise SpecError(f"--split {split}: use {' or '.join(SPLITS)}.", "split")
    if method not in METHODS:
        raise SpecError(f"--method {method}: use pca (fast, the default) or umap.", "method")
    if pooling not in POOLINGS:
        raise SpecError(f"--pooling {pooling}: use mean (the tokens' mean, the default) or cls (the first token).", "pooling")
    if not isinstance(max_examples, int) or isinstance(max_examples, bool) or not 1 <= max_examples <= MAX_EXAMPLES_LIMIT:
        raise SpecError(f"--max-examples {max_examples}: give a whole number from 1 to {MAX_EXAMPLES_LIMIT:,}, e.g. 2000.", "max_examples")
    if seed is not None and (not isinstance(seed, int) or seed < 0):
        raise SpecError(f"--seed {seed}: give a whole number of at least 0.", "seed")


def _run_and_model(model: Path) -> tuple[Path, Path]:
    from ..evaluate import resolve_model

    model_dir, run_dir = resolve_model(Path(model))
    if run_dir is None:
        raise SpecError(f"--model {model}: not in a run folder; the map is cached in the run, so give the run's folder.", "model")
    return run_dir, model_dir


def _split_file(spec: Any, split: str, run: Path) -> tuple[Path, int | None]:
    if split == "train":
        return spec.data.train, spec.data.max_train_samples
    if spec.data.validation is None:
        raise SpecError(f"--model {run.name}: the run has no validation data (data.validation is not set); use --split train.", "split")
    return spec.data.validation, spec.data.max_eval_samples


def _load_examples(task: Any, data: Path, cap: int | None) -> list[dict[str, Any]]:
    try:
        examples = task.load_examples(data, "train")
    except SpecError as e:
        raise SpecError(str(e).replace("data.train", str(data)), "data") from e
    if cap:
        examples = examples[:cap]
    if not examples:
        raise SpecError(f"{data}: no examples in the split; give the run data with labelled examples.", "data")
    try:
        task.fit_labels(examples)
    except SpecError as e:
        if e.field != "data.labels":
            raise
        raise SpecError(f"{data}: {e} The model knows {', '.join(task.spec.data.labels or [])}; the file changed "
                        "since the run, fix its labels or train again.", "data") from e
    return examples


# ---- the map -------------------------------------------------------------------------------------
def embedding_map(model: Path, split: str = "validation", method: str = "pca", pooling: str = "mean",
                  max_examples: int = DEFAULT_MAX_EXAMPLES, seed: int | None = None, force: bool = False,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Writes (or finds cached) RUN/analysis/embeddings-<split>-<method>-<pooling>.json; returns the summary."""
    t0 = time.perf_counter()
    _check_options(split, method, pooling, max_examples, seed)
    run, model_dir = _run_and_model(model)
    out = cache_file(run, split, method, pooling)
    # The settings asked for, and what they were computed from: spec.json (never changed after the run
    # is created), the model's files and the data file. A hit is found without reading the spec (its
    # checks load the model's facts through transformers: seconds).
    asked = {"version": FORMAT_VERSION, "spec": _stamp(run / "spec.json"), "model": str(model_dir),
             "weights": _weights_stamp(model_dir), "split": split, "method": method, "pooling": pooling,
             "max_examples": max_examples, "seed": seed}
    cached = _cached(out, asked) if not force else None
    if cached is not None:
        return _summary(run, out, cached, True, time.perf_counter() - t0)
    spec = load_spec(run / "spec.json")
    if spec.task not in TASKS:
        raise SpecError(f"--model {run.name}: the embedding map colours examples by their label, for sequence "
                        f"classification and token classification runs, not {spec.task}.", "model")
    data, cap = _split_file(spec, split, run)
    data = Path(data).resolve()
    if not data.is_file():
        raise SpecError(f"{data}: the run's {split} file is gone; restore it, or use the other split.", "split")
    key = {**asked, "data": str(data), "data_stamp": _stamp(data)}
    seed = spec.t("seed") if seed is None else seed
    report = _compute(run, model_dir, spec, data, cap, split, method, pooling, max_examples, seed, progress)
    report = {"version": FORMAT_VERSION, "key": key, **report, "seconds": round(time.perf_counter() - t0, 3),
              "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    from ..engine.events import atomic_write_text

    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, ensure_ascii=False, separators=(",", ":")))
    return _summary(run, out, report, False, time.perf_counter() - t0)


def _cached(out: Path, asked: dict[str, Any]) -> dict[str, Any] | None:
    """The cached report when its key holds the same settings and stamps, and its data file is unchanged."""
    try:
        cached = json.loads(out.read_text(encoding="utf-8"))
        key = cached["key"]
        data = Path(key["data"])
        same = {k: key.get(k) for k in asked} == asked and key.get("data_stamp") == _stamp(data)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return cached if same else None


def _summary(run: Path, out: Path, report: dict[str, Any], cached: bool, seconds: float) -> dict[str, Any]:
    return {"run": str(run), "file": str(out), "task": report["task"], "split": report["split"],
            "method": report["method"], "pooling": report["pooling"], "points": len(report["points"]),
            "examples": report["examples"], "metrics": report.get("metrics", {}), "cached": cached,
            "seconds": round(seconds, 3)}


def _compute(run: Path, model_dir: Path, spec: Any, data: Path, cap: int | None, split: str, method: str, pooling: str,
             max_examples: int, seed: int, progress: Callable[[str], None] | None) -> dict[str, Any]:

    from ..engine.runtime import setup_runtime, shutdown
    from ..evaluate import _eval_spec, batch_runner
    from ..tasks import build_task
    from ..train import _quiet_transformers

    say = progress or (lambda _m: None)
    _quiet_transformers()
    espec = _eval_spec(model_dir, run, data, None)
    task = build_task(espec)
    examples = _load_examples(task, data, cap)
    total = len(examples)
    chosen = np.arange(total)
    if total > max_examples:
        chosen = np.sort(np.random.default_rng(seed).choice(total, max_examples, replace=False))
    sub = [examples[int(i)] for i in chosen]
    ner = espec.task == "token_classification"
    rt = setup_runtime(espec.device, espec.t("bf16"))
    try:
        tokenizer = task.build_tokenizer(espec.model)
        net = task.build_model(espec.model).to(rt.device)
        features = task.build_eval_features(sub, tokenizer)
        hidden: dict[str, Any] = {}

        def keep(_module: Any, _inputs: Any, output: Any) -> None:
            hidden["last"] = output[0]  # last_hidden_state [batch, length, hidden]

        hook = net.base_model.register_forward_hook(keep)
        vectors: list[np.ndarray | None] = [None] * len(features)
        logits: list[np.ndarray | None] = [None] * len(features)

        def keep_vectors(idx: list[int], batch: Any, cpu: dict[str, Any], done: int, count: int) -> None:
            h = hidden.pop("last").float()
            if pooling == "cls":
                pooled = h[:, 0]
            else:
                mask = batch["attention_mask"].to(h.device, h.dtype).unsqueeze(-1)
                pooled = (h * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            pooled = pooled.cpu().numpy()
            for j, i in enumerate(idx):
                vectors[i] = pooled[j]
                logits[i] = cpu["logits"][j].numpy()
            say(f"embedding {done}/{count} examples")

        run_batches = batch_runner(task, net, rt, espec.t("per_device_eval_batch_size"), keep_vectors)
        try:
            result = task.evaluate(net, sub, features, run_batches)
        finally:
            hook.remove()
    finally:
        shutdown(rt)
    say(f"projecting {len(features)} points with {method.upper()}")
    x = np.stack([v for v in vectors if v is not None])
    if method == "umap":
        xy, ratio = umap_2d(x, seed), None
    else:
        xy, ratio = pca_2d(x)
    labels: list[str] = list(task.labels)
    points = []
    for i, feat in enumerate(features):
        rec = sub[feat["example"]]
        if ner:
            pred_tags = word_tags(feat["word_ids"], logits[i].argmax(-1), labels, len(rec["tags"]))  # type: ignore[union-attr]
            gold, pred = sentence_label(rec["tags"]), sentence_label(pred_tags)
            correct = list(pred_tags) == list(rec["tags"])
        elif task.multi_label:
            # A label set, named as evaluate names it ("LOC, PER", "(none)"); right when the sets are equal.
            gold_row = np.array([lab in rec["label"] for lab in labels])
            pred_row = 1 / (1 + np.exp(-logits[i])) >= espec.t("threshold")  # type: ignore[operator]
            gold, pred = task._names(gold_row), task._names(pred_row)
            correct = bool((gold_row == pred_row).all())
        else:
            gold, pred = rec["label"], labels[int(logits[i].argmax())]  # type: ignore[union-attr]
            correct = gold == pred
        src = rec.get("source")
        points.append({"index": int(chosen[feat["example"]]), "x": round(float(xy[i, 0]), 5), "y": round(float(xy[i, 1]), 5),
                       "gold": gold, "pred": pred, "correct": bool(correct),
                       "source": {"file": str(src["file"]), "line": int(src["line"])} if isinstance(src, dict) and src.get("file") and isinstance(src.get("line"), int) else None,
                       "text": snippet(rec)})
    if ner or getattr(task, "multi_label", False):
        # Sentence labels (NER) or label sets (multi-label): the ones that occur, most frequent first, "(none)" last.
        counts = Counter([p["gold"] for p in points] + [p["pred"] for p in points])
        labels = [*sorted((k for k in counts if k != NO_ENTITY), key=lambda k: (-counts[k], k)), NO_ENTITY]
    return {"run": run.name, "run_dir": str(run), "model": str(model_dir), "task": espec.task, "split": split,
            "data": str(data), "method": method, "pooling": pooling, "seed": seed, "examples": total,
            "labels": labels, "metrics": {k: float(v) for k, v in result.metrics.items() if np.isfinite(v)},
            "explained_variance": ratio, "points": points}


# ---- command -------------------------------------------------------------------------------------
def run_command(args: Any) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        summary = embedding_map(Path(args.model), args.split, args.method, args.pooling, args.max_examples, args.seed,
                                args.force, progress=lambda m: print(m, file=sys.stderr, flush=True))
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as e:  # noqa: BLE001 - one line for the user, the traceback in the log
        return report_failure(e, Path(args.model).resolve() / ANALYSIS_DIR / "embeddings.log")
    print(json.dumps(summary, ensure_ascii=False))
    return EXIT_OK


def add_command(sub: Any) -> None:
    p = sub.add_parser("embeddings", help="2-D map of a split's embeddings (PCA or UMAP), cached in RUN/analysis/")
    p.add_argument("--model", required=True, help="the run folder")
    p.add_argument("--split", default="validation", help="validation (default) or train")
    p.add_argument("--method", default="pca", help="pca (fast, default) or umap (needs umap-learn)")
    p.add_argument("--pooling", default="mean", help="mean of the tokens (default; per sentence for NER) or cls")
    p.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES,
                   help=f"sample this many examples of a longer split (default {DEFAULT_MAX_EXAMPLES})")
    p.add_argument("--seed", type=int, default=None, help="sampling and UMAP seed (default: the run's seed)")
    p.add_argument("--force", action="store_true", help="compute again even when the cached map matches")
