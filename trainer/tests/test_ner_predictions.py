"""`evaluate` on a token-classification run writes predictions.jsonl: per sentence its words, gold and
predicted tag per word and its source line, from which seqeval gives back the reported figures (the
dashboard's NER slices are computed from this file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_spec, read_events, write_run
from seqeval.metrics import f1_score, precision_score, recall_score

from bert_studio_trainer.evaluate import evaluate
from bert_studio_trainer.train import train

TRAIN_LINES, DEV_LINES = 1200, 1000


def _head(src: Path, dst: Path, lines: int) -> Path:
    """The first `lines` lines of a CoNLL file, ending at a sentence boundary."""
    text = src.read_text(encoding="utf-8").splitlines()[:lines]
    while text and text[-1].strip():
        text.pop()
    dst.write_text("\n".join(text) + "\n", encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[Path, Path]:
    """A tiny CoNLL-2003 run (a few dozen steps, short sequences so that long sentences are cut) and its
    validation file, the head of CoNLL-2003 valid."""
    tmp = tmp_path_factory.mktemp("ner-pred")
    train_file = _head(data / "conll2003" / "train.txt", tmp / "train-head.txt", TRAIN_LINES)
    dev = _head(data / "conll2003" / "valid.txt", tmp / "valid-head.txt", DEV_LINES)
    spec = make_spec("token_classification", train_file, dev, max_steps=40, per_device_train_batch_size=16,
                     max_seq_length=32, learning_rate=3e-4, eval_steps=1000, save_steps=1000, warmup_ratio=0.1)
    run = write_run(tmp / "run", spec)
    assert train(run) == 0
    return run, dev


def test_predictions_give_back_the_reported_entity_figures(ner_run: tuple[Path, Path], tmp_path: Path) -> None:
    run, dev = ner_run
    out = tmp_path / "eval"
    report = evaluate(run, dev, out, name="valid-head", split="validation", device="cpu")
    assert report["task"] == "token_classification" and report["predictions"] == "predictions.jsonl"
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == report["examples"] and [r["index"] for r in rows] == list(range(len(rows)))
    gold, pred = [r["gold"] for r in rows], [r["pred"] for r in rows]
    m = report["metrics"]
    # Not a model that predicts only O: then every figure is 0 and the check below proves nothing.
    assert m["f1"] > 0, m
    assert any(t != "O" for p in pred for t in p)
    assert f1_score(gold, pred) == m["f1"]
    assert precision_score(gold, pred) == m["precision"] and recall_score(gold, pred) == m["recall"]
    words = sum(len(g) for g in gold)
    assert sum(a == b for g, p in zip(gold, pred, strict=True) for a, b in zip(g, p, strict=True)) / words == m["accuracy"]
    # The same file as the run's validation: the same figures as its own eval.
    assert m["f1"] == read_events(run, "eval")[-1]["metrics"]["f1"]
    lines = dev.read_text(encoding="utf-8").splitlines()
    for r in rows:
        assert len(r["tokens"]) == len(r["gold"]) == len(r["pred"]) and r["text"] == " ".join(r["tokens"])
        assert r["correct"] == (r["gold"] == r["pred"])
        # CoNLL: one word per line from the sentence's source line, its tag in the last column.
        assert r["source"]["file"] == str(dev)
        cells = [lines[r["source"]["line"] - 1 + k].split() for k in range(len(r["tokens"]))]
        assert [c[0] for c in cells] == r["tokens"] and [c[-1] for c in cells] == r["gold"]
    # Sentences longer than 32 word pieces are cut: their last words count as O, here as in the figures.
    assert any(len(r["tokens"]) > 31 and set(r["pred"][31:]) == {"O"} for r in rows)
