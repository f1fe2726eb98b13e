"""Chinese from scratch: a Chinese vocabulary, MLM pretraining with whole-word vs character masking on
the same budget, and fine-tuning on ChnSentiCorp, MSRA NER and CMRC 2018, each against baselines.

    .venv/bin/python bench/chinese.py                                  # small budget, one process
    for m in whole_word character; do                                  # the same, both maskings side by side
        BERT_STUDIO_NUM_THREADS=1 .venv/bin/python bench/chinese.py --workdir W --masking $m --out W/$m.json & done; wait
    .venv/bin/python bench/chinese.py --workdir W                      # reuses both runs, writes the comparison
    .venv/bin/python bench/chinese.py --preset chinese-small --pretrain-steps 20000 --finetune-steps 2000 \\
        --device cuda --out bench/results/chinese-long.json            # a longer run

Splits (seed --seed, stated in the results): ChnSentiCorp (the empty review dropped) and MSRA are
shuffled and cut 80/10/10 into train/dev/test; CMRC 2018 trains on trial and is evaluated on dev.
The pretraining corpus is built from the train splits only (ChnSentiCorp train reviews, MSRA train
sentences, CMRC trial contexts) and no text equal to an evaluation text (ChnSentiCorp dev/test
reviews, MSRA dev/test sentences, CMRC dev contexts) is let in, even when the same text also sits in
a train split. 2% of the corpus documents are held out for the MLM evaluation.

Both pretraining runs go through the real worker (task `mlm`, `model.from_scratch`) with the same
vocabulary, steps, batch, learning rate and seed; they differ only in `whole_word_masking`. The
held-out MLM accuracy is computed here per whole word: the same held-out blocks, masked once with a
fixed seed (all chosen tokens [MASK]), a word counting as correct only when every one of its masked
tokens is predicted. It is reported under whole-word masks (the words rjieba finds, mapped onto
tokens, masking.word_units) and under character masks (a word then counts when all its masked
characters are right). Fine-tuning runs through the worker too, with the same settings for both
pretrained models, evaluated once at the last step (no model selection on the evaluation split).

Baselines: the majority class; a character unigram+bigram logistic regression (hashed features,
torch); for NER the most frequent tag of each character in train (O for unseen ones); for CMRC the
context clause (cut at ，。！？；) that shares the most character bigrams with the question.
Writes bench/results/chinese.json (or --out).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import dataclasses
import hashlib
import itertools
import json
import os
import platform
import random
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("BERT_STUDIO_DATA", REPO.parent / "shared" / "data"))
SENTI = "chnsenticorp/ChnSentiCorp_htl_all.csv"
MSRA = "msra_ner/dh_msra.txt"
CMRC_TRIAL = "cmrc2018/cmrc2018_trial.json"
CMRC_DEV = "cmrc2018/cmrc2018_dev.json"
ANCHORS = {  # BERT-base Chinese, full pretraining (the SOURCE.md files, Cui et al. 2019/2020)
    "chnsenticorp": {"accuracy": "94-95"},
    "msra_ner": {"f1": 95.0},
    "cmrc2018": {"exact_match": 65.5, "f1": 84.5},
}
MLM_HELD_OUT = 0.02
EVAL_SUBSTRING_CHARS = 20


# ---- data and splits ---------------------------------------------------------------------------
def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def split_three(n: int, seed: int) -> dict[str, list[int]]:
    """Indices 0..n-1 shuffled with `seed` and cut 80/10/10 into train/dev/test."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    a, b = int(n * 0.8), int(n * 0.9)
    return {"train": sorted(order[:a]), "dev": sorted(order[a:b]), "test": sorted(order[b:])}


def read_chnsenticorp(data: Path) -> list[dict[str, Any]]:
    """Reviews with their CSV line; the empty review is dropped (it has no text to classify)."""
    rows = []
    with (data / SENTI).open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for rec in reader:
            if rec and rec[1].strip():
                rows.append({"text": rec[1].strip(), "label": rec[0], "source": {"file": str(data / SENTI), "line": reader.line_num}})
    return rows


def read_msra(data: Path) -> list[dict[str, Any]]:
    """Sentences of the one-character-per-line file: {"tokens", "tags", "source"}."""
    out: list[dict[str, Any]] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    with (data / MSRA).open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                if tokens:
                    out.append({"tokens": tokens, "tags": tags, "source": {"file": str(data / MSRA), "line": start}})
                tokens, tags = [], []
                continue
            if not tokens:
                start = n
            tokens.append(parts[0])
            tags.append(parts[-1])
    if tokens:
        out.append({"tokens": tokens, "tags": tags, "source": {"file": str(data / MSRA), "line": start}})
    return out


def read_cmrc(path: Path) -> list[dict[str, Any]]:
    """SQuAD-format questions as snapshot records {"id", "context", "question", "answers"}."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [{"id": q["id"], "context": p["context"], "question": q["question"], "answers": q["answers"]}
            for art in doc["data"] for p in art["paragraphs"] for q in p["qas"]]


def usable_answers(rec: dict[str, Any]) -> bool:
    """Whether every answer's answer_start points at its text, as the host's snapshot requires
    (src/core/datasets/qa.ts): a question with a wrong span is left out, never trained on."""
    return bool(rec["answers"]) and all(
        a["text"] and rec["context"].startswith(a["text"], a["answer_start"]) for a in rec["answers"])


def load_splits(data: Path, seed: int) -> dict[str, dict[str, list[dict[str, Any]]]]:
    senti = read_chnsenticorp(data)
    msra = read_msra(data)
    s, m = split_three(len(senti), seed), split_three(len(msra), seed)
    return {
        "chnsenticorp": {k: [senti[i] for i in v] for k, v in s.items()},
        "msra_ner": {k: [msra[i] for i in v] for k, v in m.items()},
        "cmrc2018": {"train": read_cmrc(data / CMRC_TRIAL), "dev": read_cmrc(data / CMRC_DEV)},
    }


def evaluation_texts(splits: dict[str, dict[str, list[dict[str, Any]]]]) -> set[str]:
    """Every text an evaluation split holds: reviews, sentences, CMRC dev contexts and questions."""
    out = {r["text"] for k in ("dev", "test") for r in splits["chnsenticorp"][k]}
    out |= {"".join(r["tokens"]) for k in ("dev", "test") for r in splits["msra_ner"][k]}
    out |= {r["context"] for r in splits["cmrc2018"]["dev"]} | {r["question"] for r in splits["cmrc2018"]["dev"]}
    return out


def build_corpus(splits: dict[str, dict[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Pretraining documents (snapshot records {"sentences", "source"}) from the train splits only;
    a text that is also an evaluation text (a duplicate review, a CMRC context shared by trial and
    dev) is left out, and so is a document that contains one of EVAL_SUBSTRING_CHARS characters or
    more (a train review that quotes a test review whole). MSRA's train sentences form documents of
    up to 8 consecutive sentences."""
    from bert_studio_trainer.pretrain.corpus import split_sentences

    held = evaluation_texts(splits)
    docs: list[dict[str, Any]] = []
    for r in splits["chnsenticorp"]["train"]:
        if r["text"] not in held:
            docs.append({"sentences": split_sentences(r["text"]), "source": r["source"]})
    group: list[dict[str, Any]] = []
    for r in splits["msra_ner"]["train"] + [None]:  # type: ignore[list-item]
        text = "".join(r["tokens"]) if r else None
        if r is None or text in held or len(group) == 8:
            if group:
                docs.append({"sentences": ["".join(g["tokens"]) for g in group], "source": group[0]["source"]})
            group = []
        if r is not None and text not in held:
            group.append(r)
    seen: set[str] = set()
    for r in splits["cmrc2018"]["train"]:
        if r["context"] not in held and r["context"] not in seen:
            seen.add(r["context"])
            docs.append({"sentences": split_sentences(r["context"]), "source": {"file": CMRC_TRIAL, "id": r["id"]}})
    return without_evaluation_text([d for d in docs if d["sentences"]], held)


def without_evaluation_text(docs: list[dict[str, Any]], held: Iterable[str]) -> list[dict[str, Any]]:
    """`docs` without those whose text contains an evaluation text of EVAL_SUBSTRING_CHARS or more
    (a shorter one, such as 不错, is a common phrase rather than a leak)."""
    texts = ["".join(d["sentences"]) for d in docs]
    starts = list(itertools.accumulate((len(t) + 1 for t in texts), initial=0))
    joined = "\n".join(texts)
    leaking: set[int] = set()
    for text in held:
        if len(text) < EVAL_SUBSTRING_CHARS:
            continue
        i = joined.find(text)
        while i >= 0:
            leaking.add(bisect.bisect_right(starts, i) - 1)
            i = joined.find(text, i + 1)
    return [d for k, d in enumerate(docs) if k not in leaking]


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """Writes through a temporary file and a rename: a bench process running the other masking in
    the same --workdir may be reading the file (it gets the same content)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


# ---- the worker --------------------------------------------------------------------------------
RESULT_FILE = "bench-result.json"


def run_worker(run_dir: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Runs the worker on `spec` in `run_dir`. A run that finished with the same spec (a rerun with the
    same --workdir) is reused from its RESULT_FILE; an unfinished one is started again."""
    import shutil

    from bert_studio_trainer.train import train

    done = run_dir / RESULT_FILE
    if done.exists() and json.loads((run_dir / "spec.json").read_text()) == spec:
        print(f"{run_dir.name}: reusing the finished run", flush=True)
        return {**json.loads(done.read_text()), "threads": run_threads(run_dir)}
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    (run_dir / "spec.json").write_text(json.dumps(spec))
    t0 = time.time()
    rc = train(run_dir)
    events = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]
    if rc != 0:
        raise SystemExit(f"{run_dir}: worker failed: {[e for e in events if e['type'] == 'error']}")
    if not (run_dir / "model").is_dir():  # stopped (a signal) before its last step: not a finished run
        raise SystemExit(f"{run_dir}: the worker stopped before its last step (no model/); run the bench again to redo it")
    evals = [e for e in events if e["type"] == "eval"]
    losses = [e["loss"] for e in events if e["type"] == "step" and "loss" in e]
    result = {"metrics": evals[-1]["metrics"], "seconds": round(time.time() - t0, 1), "run": str(run_dir),
              "train_loss": {"first_logged": losses[0], "last_logged": losses[-1]} if losses else None}
    if len(evals) > 1:  # pretraining evaluates along the way (--pretrain-evals): when it left the unigram stage
        result["eval_curve"] = [{"step": e["step"], **{k: round(e["metrics"][k], 4) for k in ("mlm_accuracy", "mlm_loss")
                                                      if k in e["metrics"]}} for e in evals]
    done.write_text(json.dumps(result))
    return {**result, "threads": run_threads(run_dir)}


def run_threads(run_dir: Path) -> int | None:
    """The CPU threads the run's torch used, from the worker's log line (runs may be reused from
    processes with other settings than this one)."""
    import re

    for line in (run_dir / "events.jsonl").read_text().splitlines():
        m = re.match(r"torch uses (\d+) CPU thread", json.loads(line).get("message", ""))
        if m:
            return int(m.group(1))
    return None


def training(args: argparse.Namespace, steps: int, lr: float, batch_size: int | None = None, evals: int = 1,
             **extra: Any) -> dict[str, Any]:
    return {"max_steps": steps, "per_device_train_batch_size": batch_size or args.batch_size, "per_device_eval_batch_size": 64,
            "learning_rate": lr, "warmup_ratio": 0.06, "weight_decay": 0.01, "max_seq_length": args.seq_len,
            "seed": args.seed, "logging_steps": max(1, steps // 20), "eval_steps": max(1, steps // evals), "save_steps": steps,
            "save_total_limit": 1, **extra}


# ---- per-word MLM accuracy ---------------------------------------------------------------------
def word_mlm_accuracy(model_dir: Path, docs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    import torch
    from bert_studio_trainer.pretrain.corpus import Document
    from bert_studio_trainer.pretrain.features import (
        build_sequences,
        tokenize_documents,
    )
    from bert_studio_trainer.pretrain.masking import (
        IGNORE,
        MaskingConfig,
        mask_sequence,
        word_units,
    )
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForMaskedLM.from_pretrained(model_dir).to(args.device).eval()
    seqs = [f["input_ids"] for f in build_sequences(
        tokenize_documents([Document(d["sentences"]) for d in docs], tok, words=True), tok, False, args.seq_len, 0.0,
        args.seed)]
    out: dict[str, Any] = {"blocks": len(seqs)}
    for name, whole in (("whole_word_masks", True), ("character_masks", False)):
        cfg = dataclasses.replace(MaskingConfig.from_tokenizer(tok, 0.15, whole), mask_ratio=1.0, random_ratio=0.0)
        rng = np.random.default_rng(args.seed + 1)
        words = words_right = tokens = tokens_right = 0
        hits: list[str] = []  # per word, in order: the same words for every model (same blocks, same seed)
        predicted: Counter[int] = Counter()
        for b in range(0, len(seqs), 64):
            batch = seqs[b:b + 64]
            masked = [mask_sequence(s, cfg, rng) for s in batch]
            width = max(len(s) for s in batch)
            ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
            att = torch.zeros_like(ids)
            for i, (m, _, _) in enumerate(masked):
                ids[i, :len(m)] = torch.from_numpy(m)
                att[i, :len(m)] = 1
            with torch.no_grad():
                pred = model(input_ids=ids.to(args.device), attention_mask=att.to(args.device)).logits.argmax(-1).cpu().numpy()
            for i, (s, (_, labels, _)) in enumerate(zip(batch, masked, strict=True)):
                hit = pred[i, :len(s)] == labels
                chosen = labels != IGNORE
                tokens += int(chosen.sum())
                tokens_right += int((hit & chosen).sum())
                predicted.update(pred[i, :len(s)][chosen].tolist())
                for u in word_units(s, cfg):
                    if chosen[u].any():
                        words += 1
                        words_right += int(hit[u][chosen[u]].all())
                        hits.append("1" if hit[u][chosen[u]].all() else "0")
        # A model that has only learnt the unigram distribution predicts one token everywhere.
        top = predicted.most_common(1)[0] if predicted else ("", 0)
        out[name] = {"word_accuracy": words_right / max(words, 1), "words": words,
                     "token_accuracy": tokens_right / max(tokens, 1), "tokens": tokens,
                     "distinct_predictions": len(predicted), "top_prediction": tok.convert_ids_to_tokens(int(top[0])) if predicted else None,
                     "top_prediction_share": top[1] / max(tokens, 1), "hits": "".join(hits)}
    return out


def paired_words(a: str, b: str) -> dict[str, Any]:
    """McNemar's test on two models' per-word hits over the same masked words: the words only `a` gets,
    the words only `b` gets, and the two-sided p-value (exact binomial on the discordant words)."""
    from math import comb

    assert len(a) == len(b), "the two models must be scored on the same masked words"
    only_a = sum(x == "1" and y == "0" for x, y in zip(a, b, strict=True))
    only_b = sum(x == "0" and y == "1" for x, y in zip(a, b, strict=True))
    n, k = only_a + only_b, min(only_a, only_b)
    p = min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n) if n else 1.0
    return {"words": len(a), "only_whole_word_model": only_a, "only_character_model": only_b, "mcnemar_p": p}


# ---- baselines ---------------------------------------------------------------------------------
def char_ngrams(text: str) -> list[str]:
    return list(text) + [text[i:i + 2] for i in range(len(text) - 1)]


def bigram_logistic_regression(train: Sequence[dict[str, Any]], test: Sequence[dict[str, Any]], seed: int) -> float:
    """Accuracy of a logistic regression on hashed character unigrams and bigrams (presence)."""
    import torch

    buckets = 1 << 18
    labels = sorted({r["label"] for r in train})

    def feats(rows: Sequence[dict[str, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
        idx, offs = [], []
        for r in rows:
            offs.append(len(idx))
            idx.extend(sorted({int.from_bytes(hashlib.md5(g.encode()).digest()[:4], "little") % buckets
                               for g in char_ngrams(r["text"])}))
        return torch.tensor(idx), torch.tensor(offs)

    torch.manual_seed(seed)
    xi, xo = feats(train)
    y = torch.tensor([labels.index(r["label"]) for r in train])
    model = torch.nn.EmbeddingBag(buckets, len(labels), mode="sum")
    torch.nn.init.zeros_(model.weight)
    bias = torch.zeros(len(labels), requires_grad=True)
    opt = torch.optim.Adam([*model.parameters(), bias], lr=0.05)
    for _ in range(30):  # full batch
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xi, xo) + bias, y) + 1e-5 * model.weight.pow(2).sum()
        loss.backward()
        opt.step()
    ti, to = feats(test)
    with torch.no_grad():
        pred = (model(ti, to) + bias).argmax(-1)
    gold = torch.tensor([labels.index(r["label"]) for r in test])
    return float((pred == gold).float().mean())


def majority_tag_f1(train: Sequence[dict[str, Any]], test: Sequence[dict[str, Any]]) -> float:
    from seqeval.metrics import f1_score

    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in train:
        for c, t in zip(r["tokens"], r["tags"], strict=True):
            counts[c][t] += 1
    best = {c: n.most_common(1)[0][0] for c, n in counts.items()}
    pred = [[best.get(c, "O") for c in r["tokens"]] for r in test]
    return float(f1_score([r["tags"] for r in test], pred))


def overlap_clause(question: str, context: str) -> str:
    import re

    clauses = [c for c in re.split(r"[，。！？；,;]", context) if c.strip()] or [context]
    q = set(char_ngrams(question)[len(question):])
    return max(clauses, key=lambda c: len(q & set(char_ngrams(c)[len(c):])))


def save(result: dict[str, Any], out: Path, started: float, complete: bool) -> None:
    """Writes the results so far: after every stage, so a run cut short still leaves its figures
    (`complete` false until the last fine-tuning run is in)."""
    result["complete"] = complete
    result["machine"]["load_avg_at_save"] = os.getloadavg()
    result["seconds"] = round(time.time() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


# ---- main --------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny", help="model shape (tiny..large, chinese-small)")
    p.add_argument("--vocab-size", type=int, default=None, help="default: the preset's suggested size")
    p.add_argument("--pretrain-steps", type=int, default=10000)
    p.add_argument("--pretrain-lr", type=float, default=1e-3)
    p.add_argument("--pretrain-warmup", type=float, default=0.1, help="warmup_ratio of the pretraining runs")
    p.add_argument("--mlm-probability", type=float, default=0.4,
                   help="share of the tokens chosen per training sequence (the held-out masks stay at 15%%)")
    p.add_argument("--pretrain-evals", type=int, default=10,
                   help="held-out evaluations along each pretraining run (the worker's own masks), to see when it "
                        "leaves the unigram stage")
    p.add_argument("--pretrain-only", action="store_true",
                   help="stop after pretraining and the per-word evaluation (a probe of the pretraining recipe)")
    p.add_argument("--finetune-steps", type=int, default=300)
    p.add_argument("--finetune-lr", type=float, default=3e-4)
    p.add_argument("--msra-train", type=int, default=None, help="fine-tune NER on the first N MSRA train sentences")
    p.add_argument("--batch-size", type=int, default=16, help="fine-tuning batch")
    p.add_argument("--pretrain-batch-size", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--qa-question-chars", type=int, default=24,
                   help="CMRC questions are cut to this many characters, so that a window of --seq-len tokens "
                        "holds the question and more context than the stride (a quarter of --seq-len)")
    p.add_argument("--ner-steps", type=int, default=1500, help="MSRA fine-tuning steps (it starts from all-O)")
    p.add_argument("--ner-lr", type=float, default=5e-4)
    p.add_argument("--max-cmrc-dev", type=int, default=500, help="evaluate on the first N CMRC dev questions (0: all)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--pretrain-seed", type=int, default=None,
                   help="the pretraining runs' training.seed (model init, masks, order; default --seed): a replicate "
                        "with the same splits, corpus and held-out masks")
    p.add_argument("--masking", choices=("both", "whole_word", "character"), default="both",
                   help="run one masking only: two processes (one thread each) in the same --workdir run both "
                        "side by side, then a run with both reuses their runs and writes the comparison")
    p.add_argument("--device", default="cpu")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--workdir", type=Path, default=None,
                   help="keep the runs here; a rerun with the same workdir reuses every finished run")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "chinese.json")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    import torch
    from bert_studio_trainer.pretrain.presets import suggested_vocab_size

    torch.set_num_threads(int(os.environ.get("BERT_STUDIO_NUM_THREADS", "1")))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-chinese-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("BERT_STUDIO_CACHE", str(work / "cache"))
    started = time.time()
    splits = load_splits(args.data, args.seed)
    corpus = build_corpus(splits)
    order = list(range(len(corpus)))
    random.Random(args.seed).shuffle(order)
    n_held = max(1, int(len(corpus) * MLM_HELD_OUT))
    held_docs = [corpus[i] for i in sorted(order[:n_held])]
    train_docs = [corpus[i] for i in sorted(order[n_held:])]
    corpus_file = write_jsonl(work / "corpus-train.jsonl", train_docs)
    held_file = write_jsonl(work / "corpus-held-out.jsonl", held_docs)
    sentences = [s for d in train_docs for s in d["sentences"]]
    vocab_size = args.vocab_size or suggested_vocab_size(args.preset, 21128)
    print(f"corpus {len(train_docs)} docs, held out {len(held_docs)}", flush=True)

    result: dict[str, Any] = {
        "label": (f"SMALL-SCALE: a {args.preset} model pretrained from scratch on about 2.7 million characters for "
                  f"{args.pretrain_steps} steps of {args.pretrain_batch_size} x {args.seq_len} tokens ({args.mlm_probability:.0%} of them "
                  f"masked) on {args.device}. The anchors "
                  "are BERT-base Chinese after full pretraining on Chinese Wikipedia and are not comparable; they show "
                  "the distance, not a target met."),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "workdir"},
        "machine": {"cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
                    "threads_of_this_process": torch.get_num_threads(), "load_avg": os.getloadavg(),
                    "note": "each run gives its own threads and seconds; runs reused from a --workdir ran in "
                            "the processes that made them (e.g. one per masking, side by side)"},
        "sources": {rel: {"sha256": sha256(args.data / rel), "bytes": (args.data / rel).stat().st_size}
                    for rel in (SENTI, MSRA, CMRC_TRIAL, CMRC_DEV)},
        "splits": {
            "seed": args.seed,
            "rule": "random.Random(seed).shuffle(range(n)); first 80% train, next 10% dev, last 10% test "
                    "(ChnSentiCorp without its empty review; MSRA sentences); CMRC: train on trial, evaluate on dev",
            "counts": {name: {k: len(v) for k, v in s.items()} for name, s in splits.items()},
        },
        "corpus": {
            "built_from": "ChnSentiCorp train reviews, MSRA train sentences (documents of up to 8), CMRC trial contexts",
            "excluded": "ChnSentiCorp dev/test reviews, MSRA dev/test sentences, CMRC dev contexts and questions, "
                        f"and any train document equal to one of them or containing one of {EVAL_SUBSTRING_CHARS} characters or more",
            "documents": len(corpus), "train_documents": len(train_docs), "held_out_documents": len(held_docs),
            "held_out_rule": f"{MLM_HELD_OUT:.0%} of the documents, random.Random(seed).shuffle",
            "sentences": len(sentences), "characters": sum(len(s) for s in sentences),
            "train_sha256": sha256(corpus_file), "held_out_sha256": sha256(held_file),
        },
    }

    # Pretraining: the same everything but the masking.
    pretrained: dict[str, Path] = {}
    hits: dict[str, dict[str, str]] = {}
    result["pretraining"] = {}
    for name, whole in (("whole_word", True), ("character", False)):
        if args.masking not in ("both", name):
            continue
        # The worker trains the vocabulary (pretrain/vocab.py, cached by corpus content): both runs get the same.
        spec = {"version": 1, "task": "mlm", "model": {"name_or_path": "default",
                                                      "from_scratch": {"preset": args.preset, "vocab_size": vocab_size}},
                "data": {"train": str(corpus_file), "validation": str(held_file)},
                "training": training(args, args.pretrain_steps, args.pretrain_lr, args.pretrain_batch_size, args.pretrain_evals,
                                     whole_word_masking=whole, warmup_ratio=args.pretrain_warmup,
                                     mlm_probability=args.mlm_probability,
                                     seed=args.seed if args.pretrain_seed is None else args.pretrain_seed),
                "device": args.device, "export": {"onnx": False}}
        r = run_worker(work / f"pretrain-{name}", spec)
        pretrained[name] = Path(r["run"]) / "model"
        per_word = Path(r["run"]) / "bench-per-word.json"  # reused with the run, as the run itself
        if not per_word.exists() or "hits" not in per_word.read_text():
            per_word.write_text(json.dumps(word_mlm_accuracy(pretrained[name], held_docs, args)))
        r["per_word"] = json.loads(per_word.read_text())
        hits[name] = {kind: r["per_word"][kind].pop("hits") for kind in ("whole_word_masks", "character_masks")}
        result["pretraining"][name] = r
        print(name, json.dumps(r["per_word"]), flush=True)
        save(result, args.out, started, complete=False)

    if len(hits) == 2:  # the same held-out words under both models: paired, not two independent figures
        result["pretraining"]["paired_per_word"] = {kind: paired_words(hits["whole_word"][kind], hits["character"][kind])
                                                    for kind in ("whole_word_masks", "character_masks")}
        save(result, args.out, started, complete=False)
    if args.pretrain_only:
        save(result, args.out, started, complete=True)
        print(f"wrote {args.out} (pretraining only) in {result['seconds']} s", flush=True)
        return
    vocabs = {sha256(p / "tokenizer.json") for p in pretrained.values()}
    assert len(vocabs) == 1, "the two pretraining runs must share one vocabulary"  # checked once both are in
    from transformers import AutoTokenizer

    result["vocabulary"] = {"requested_size": vocab_size, "size": len(AutoTokenizer.from_pretrained(next(iter(pretrained.values())))),
                            "builder": "the worker's model.from_scratch.vocab_size (pretrain/vocab.train_wordpiece, "
                                       "Chinese-BERT pre-tokenization), cached by corpus content so both runs share it",
                            "tokenizer_json_sha256": vocabs.pop()}

    # Fine-tuning: the same settings for both models.
    senti, msra, cmrc = splits["chnsenticorp"], splits["msra_ner"], splits["cmrc2018"]
    msra_train = msra["train"][:args.msra_train] if args.msra_train else msra["train"]
    cut_question = lambda rows: [dict(r, question=r["question"].strip()[:args.qa_question_chars]) for r in rows]
    cmrc_train = cut_question([r for r in cmrc["train"] if usable_answers(r)])
    cmrc_dev = cut_question(cmrc["dev"][:args.max_cmrc_dev] if args.max_cmrc_dev else cmrc["dev"])
    files = {
        "chnsenticorp": ("sequence_classification", write_jsonl(work / "senti-train.jsonl", senti["train"]),
                         write_jsonl(work / "senti-test.jsonl", senti["test"]), {}),
        "msra_ner": ("token_classification", write_jsonl(work / "msra-train.jsonl", msra_train),
                     write_jsonl(work / "msra-test.jsonl", msra["test"]), {}),
        "cmrc2018": ("question_answering", write_jsonl(work / "cmrc-train.jsonl", cmrc_train),
                     write_jsonl(work / "cmrc-dev.jsonl", cmrc_dev), {"doc_stride": args.seq_len // 4}),
    }
    # Baselines first: cheap, and in the results even if a fine-tuning run is cut short.
    majority = Counter(r["label"] for r in senti["train"]).most_common(1)[0][0]
    cut = args.seq_len - 2  # [CLS] and [SEP]; one token per Chinese character
    from bert_studio_trainer.tasks.cmrc_metrics import cmrc_evaluate

    gold = {r["id"]: [a["text"] for a in r["answers"]] for r in cmrc_dev}
    tasks: dict[str, Any] = {
        "chnsenticorp": {
            "evaluated_on": f"test split ({len(senti['test'])} reviews)",
            "baselines": {"majority_class": sum(r["label"] == majority for r in senti["test"]) / len(senti["test"]),
                          "char_bigram_logistic_regression": bigram_logistic_regression(senti["train"], senti["test"],
                                                                                        args.seed),
                          # What the fine-tuned models see: reviews cut at the sequence length.
                          f"char_bigram_logistic_regression_first_{cut}_chars": bigram_logistic_regression(
                              [dict(r, text=r["text"][:cut]) for r in senti["train"]],
                              [dict(r, text=r["text"][:cut]) for r in senti["test"]], args.seed)}},
        "msra_ner": {
            "evaluated_on": f"test split ({len(msra['test'])} sentences), seqeval entity F1",
            "trained_on": f"the first {len(msra_train)} of the {len(msra['train'])} train sentences, "
                          f"{args.ner_steps} steps at {args.ner_lr}; a sentence is cut at --seq-len (its cut words count as O)",
            "baselines": {"majority_class_all_O": 0.0, "per_character_majority_tag": majority_tag_f1(msra_train, msra["test"])}},
        "cmrc2018": {
            "evaluated_on": f"dev ({len(cmrc_dev)} questions), character-level EM/F1 (tasks/cmrc_metrics.py); "
                            f"questions cut to {args.qa_question_chars} characters, train and dev",
            "trained_on": f"trial: {len(cmrc_train)} of {len(cmrc['train'])} questions (those whose answer_start does not "
                          "point at the answer text are left out, as the host's snapshot does)",
            "baselines": {"best_overlap_clause": cmrc_evaluate({r["id"]: overlap_clause(r["question"], r["context"])
                                                                 for r in cmrc_dev}, gold)}},
    }
    result["fine_tuning"] = tasks
    save(result, args.out, started, complete=False)
    for task_name, (task, train_file, eval_file, extra) in files.items():
        tasks[task_name].update(task=task, anchor_bert_base_chinese=ANCHORS[task_name], models={})
        for name, model_dir in pretrained.items():
            spec = {"version": 1, "task": task, "model": {"name_or_path": str(model_dir)},
                    "data": {"train": str(train_file), "validation": str(eval_file)},
                    "training": training(args, args.ner_steps if task_name == "msra_ner" else args.finetune_steps,
                                         args.ner_lr if task_name == "msra_ner" else args.finetune_lr, **extra),
                    "device": args.device, "export": {"onnx": False}}
            r = run_worker(work / f"finetune-{task_name}-{name}", spec)
            tasks[task_name]["models"][name] = r
            print(task_name, name, json.dumps({k: v for k, v in r["metrics"].items() if not isinstance(v, dict)}),
                  flush=True)
            save(result, args.out, started, complete=False)
    save(result, args.out, started, complete=True)
    print(f"wrote {args.out} in {result['seconds']} s", flush=True)


if __name__ == "__main__":
    main()
