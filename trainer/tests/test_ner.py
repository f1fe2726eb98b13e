"""token_classification end to end on CoNLL-2003 subsets, and the label alignment rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_spec, read_events, read_status, write_run
from seqeval.metrics import f1_score
from transformers import AutoTokenizer

from bert_studio_trainer.data.readers import read_conll
from bert_studio_trainer.models import default_model_path
from bert_studio_trainer.spec import parse_spec
from bert_studio_trainer.tasks.ner import IGNORE, TokenClassificationTask
from bert_studio_trainer.train import train


def test_first_subtoken_carries_the_label(data: Path) -> None:
    spec = parse_spec(make_spec("token_classification", data / "conll2003" / "valid.txt", max_seq_length=32))
    task = TokenClassificationTask(spec)
    examples = [{"tokens": ["Müllerstraße", "in", "Hamburg"], "tags": ["B-LOC", "O", "B-LOC"]}]
    task.fit_labels(examples)
    tok = AutoTokenizer.from_pretrained(default_model_path())
    (feat,) = task.build_train_features(examples, tok)
    labelled = [(w, lab) for w, lab in zip(feat["word_ids"], feat["labels"], strict=True) if lab != IGNORE]
    assert [w for w, _ in labelled] == [0, 1, 2]  # one label per word, on its first sub-token
    assert [task.labels[lab] for _, lab in labelled] == ["B-LOC", "O", "B-LOC"]
    assert len(feat["labels"]) > 5 and feat["labels"][0] == IGNORE and feat["labels"][-1] == IGNORE


def test_conll_reader(data: Path) -> None:
    rows = read_conll(data / "conll2003" / "valid.txt", {})
    assert len(rows) == 3250
    assert rows[0]["source"]["line"] == 3 and rows[0]["tokens"][0] == "CRICKET"


@pytest.mark.slow
def test_conll_beats_all_outside(tmp_path: Path, data: Path) -> None:
    spec = make_spec("token_classification", data / "conll2003" / "train.txt", data / "conll2003" / "valid.txt",
                     max_steps=50, per_device_train_batch_size=16, max_seq_length=64, learning_rate=3e-4,
                     eval_steps=50, save_steps=50, logging_steps=10, warmup_ratio=0.1)
    spec["data"].update(max_train_samples=800, max_eval_samples=200)
    assert train(write_run(tmp_path, spec)) == 0
    ev = read_events(tmp_path, "eval")[-1]
    gold = [r["tags"] for r in read_conll(data / "conll2003" / "valid.txt", {})[:200]]
    all_o = [["O"] * len(g) for g in gold]
    baseline_f1 = f1_score(gold, all_o)
    baseline_acc = sum(t == "O" for g in gold for t in g) / sum(len(g) for g in gold)
    assert ev["metrics"]["f1"] >= baseline_f1 + 0.25, ev["metrics"]
    assert ev["metrics"]["accuracy"] > baseline_acc, (ev["metrics"], baseline_acc)
    assert set(ev["per_entity"]) <= {"PER", "ORG", "LOC", "MISC"} and "PER" in ev["per_entity"]
    assert ev["misclassified"][0]["source"]["file"].endswith("valid.txt")
    assert read_status(tmp_path)["best_metric"]["name"] == "f1"
