"""token_classification end to end on CoNLL-2003 subsets, and the label alignment rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_spec, read_events, read_status, subset_spec, write_run
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


def to_iob1(tags: list[str]) -> list[str]:
    """IOB2 -> IOB1: B- only where an entity directly follows another of the same type."""
    out = []
    for i, t in enumerate(tags):
        if t.startswith("B-") and not (i > 0 and tags[i - 1] != "O" and tags[i - 1][2:] == t[2:]):
            t = "I-" + t[2:]
        out.append(t)
    return out


@pytest.mark.parametrize("scheme", ["iob2", "iob1"])
def test_entity_scores_read_iob1_and_iob2(data: Path, scheme: str) -> None:
    """Word-level predictions decoded from first sub-tokens score 1.0 when they are the gold tags,
    and seqeval counts the same entities per type in both schemes."""
    import torch

    rows = read_conll(data / "conll2003" / "valid.txt", {})[:60]
    if scheme == "iob1":
        rows = [{**r, "tags": to_iob1(r["tags"])} for r in rows]
        assert any(t.startswith("I-") and (i == 0 or r["tags"][i - 1] == "O") for r in rows for i, t in enumerate(r["tags"]))
    spec = parse_spec(make_spec("token_classification", data / "conll2003" / "valid.txt", max_seq_length=128))
    task = TokenClassificationTask(spec)
    task.fit_labels(rows)
    feats = task.build_train_features(rows, AutoTokenizer.from_pretrained(default_model_path()))

    def gold_logits(features):  # type: ignore[no-untyped-def]
        idx = list(range(len(features)))
        batch = task.collate(features)
        logits = torch.nn.functional.one_hot(batch["labels"].clamp(min=0), len(task.labels)).float()
        yield idx, batch, {"logits": logits, "loss": torch.tensor(0.0)}

    result = task.evaluate(None, rows, feats, gold_logits)  # type: ignore[arg-type]
    assert result.metrics["f1"] == 1.0 and result.metrics["accuracy"] == 1.0
    iob2 = [r["tags"] for r in read_conll(data / "conll2003" / "valid.txt", {})[:60]]
    expected = {t: sum(tag == f"B-{t}" for tags in iob2 for tag in tags) for t in ("PER", "ORG", "LOC", "MISC")}
    assert {k: v["support"] for k, v in result.tables["per_entity"].items()} == {k: v for k, v in expected.items() if v}


def test_conll_reader(data: Path) -> None:
    rows = read_conll(data / "conll2003" / "valid.txt", {})
    assert len(rows) == 3250
    assert rows[0]["source"]["line"] == 3 and rows[0]["tokens"][0] == "CRICKET"


@pytest.mark.slow
def test_conll_beats_all_outside(tmp_path: Path, data: Path) -> None:
    spec = subset_spec("token_classification", data / "conll2003" / "train.txt", data / "conll2003" / "valid.txt",
                       800, 200, max_steps=50, per_device_train_batch_size=16, max_seq_length=64, learning_rate=3e-4,
                       eval_steps=50, save_steps=50, logging_steps=10, warmup_ratio=0.1)
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
    # The entity-level confusion: gold entities (rows, O last) add up to the gold spans, and each
    # misclassified sentence lists its entity errors, which are off-diagonal cells.
    cm = ev["confusion_matrix"]
    assert cm["labels"][-1] == "O" and "PER" in cm["labels"]
    from seqeval.metrics.sequence_labeling import get_entities
    assert sum(sum(row) for row in cm["matrix"][:-1]) == sum(len(get_entities(g)) for g in gold)
    errors = [pair for m in ev["misclassified"] for pair in m["errors"]]
    assert errors and all(a != b and a in cm["labels"] and b in cm["labels"] for a, b in errors)
    assert read_status(tmp_path)["best_metric"]["name"] == "f1"
    # A model that finds entities has not collapsed to `O`: no collapse warning (test_bad_inputs.py has one that does).
    assert not any("collapsed to one class" in e["message"] for e in read_events(tmp_path, "log")), read_events(tmp_path, "log")
