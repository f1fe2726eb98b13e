"""question_answering: the official SQuAD v1.1 metric and an end-to-end run on dev split by article."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_spec, read_events, write_run

from bert_studio_trainer.tasks.qa import best_span
from bert_studio_trainer.tasks.squad_metrics import normalize_answer, squad_evaluate
from bert_studio_trainer.train import train


def test_official_normalization_and_scores() -> None:
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a pear") == "apple pear"
    scores = squad_evaluate({"q1": "Denver Broncos", "q2": "the cat sat", "q3": "x"},
                            {"q1": ["Denver Broncos", "Broncos"], "q2": ["cat sat on"], "q3": ["y"], "q4": ["z"]})
    # q1 exact; q2 F1 = 2*(2/2*2/3)/(1+2/3) = 0.8; q3 and q4 (no prediction) score 0.
    assert scores["exact_match"] == pytest.approx(25.0)
    assert scores["f1"] == pytest.approx(100 * (1 + 0.8) / 4)


def test_best_span_respects_max_length_and_context() -> None:
    context = "abc def ghi"
    offsets = [None, (0, 3), (4, 7), (8, 11), None]
    start = np.array([9.0, 1.0, 5.0, 0.0, 9.0])
    end = np.array([9.0, 0.0, 0.5, 6.0, 9.0])
    assert best_span(start, end, offsets, context, 20, 30)[1] == "def ghi"
    assert best_span(start, end, offsets, context, 20, 1)[1] == "ghi"  # "def ghi" is two tokens


def split_squad_by_article(src: Path, out: Path, n_train: int, n_eval: int) -> tuple[Path, Path]:
    """The first n_train articles train, the next n_eval evaluate: no paragraph is in both."""
    data = json.loads(src.read_text())["data"]
    train_file, eval_file = out / "squad-train.json", out / "squad-eval.json"
    train_file.write_text(json.dumps({"data": data[:n_train], "version": "1.1"}))
    eval_file.write_text(json.dumps({"data": data[n_train:n_train + n_eval], "version": "1.1"}))
    return train_file, eval_file


@pytest.mark.slow
def test_squad_beats_empty_answer(tmp_path: Path, data: Path) -> None:
    train_file, eval_file = split_squad_by_article(data / "squad_v1.1" / "dev-v1.1.json", tmp_path, 4, 1)
    spec = make_spec("question_answering", train_file, eval_file, max_steps=50, per_device_train_batch_size=16,
                     max_seq_length=128, doc_stride=48, learning_rate=3e-4, warmup_ratio=0.1, eval_steps=50,
                     save_steps=50, logging_steps=10, max_answer_length=30, n_best_size=10)
    spec["data"].update(max_train_samples=600, max_eval_samples=100)
    run = tmp_path / "run"
    assert train(write_run(run, spec)) == 0
    metrics = read_events(run, "eval")[-1]["metrics"]
    questions = json.loads(eval_file.read_text())["data"][0]["paragraphs"]
    gold = {q["id"]: [a["text"] for a in q["answers"]] for p in questions for q in p["qas"]}
    gold = dict(list(gold.items())[:100])
    empty = squad_evaluate({k: "" for k in gold}, gold)
    # 50 steps on 4 articles (F1 about 14 here) is far from a trained reader, but far from the empty
    # answer's 0 too: the margin checks that windows, labels and n-best decoding line up.
    assert metrics["f1"] >= empty["f1"] + 8, metrics
    assert metrics["exact_match"] >= empty["exact_match"] + 3, metrics
