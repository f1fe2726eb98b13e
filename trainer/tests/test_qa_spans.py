"""A raw SQuAD-format file whose answer_start misses its answer text is never trained on (CMRC 2018
trial: a few of its offsets are wrong, SOURCE.md)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import make_spec

from bert_studio_trainer.models import default_model_path
from bert_studio_trainer.spec import parse_spec
from bert_studio_trainer.tasks import build_task


def test_questions_with_a_wrong_answer_start_are_left_out_with_a_note(data: Path) -> None:
    from transformers import AutoTokenizer

    trial = data / "cmrc2018" / "cmrc2018_trial.json"
    # Which questions are wrong, straight from the file: the first answer's slice differs from its text.
    wrong = set()
    for article in json.loads(trial.read_text(encoding="utf-8"))["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                a = qa["answers"][0]
                if para["context"][a["answer_start"]:a["answer_start"] + len(a["text"])] != a["text"]:
                    wrong.add(qa["id"])
    assert wrong, "CMRC trial was expected to hold some wrong offsets"
    task = build_task(parse_spec(make_spec("question_answering", trial, max_seq_length=128, doc_stride=32)))
    examples = task.load_examples(trial, "train")
    kept = task._with_true_spans(examples)
    assert {r["id"] for r in kept} == {r["id"] for r in examples} - wrong
    assert len(task.notes) == 1 and task.notes[0].startswith(f"{len(wrong)} training question(s) whose answer_start")
    assert str(trial) in task.notes[0] and "quick fix" in task.notes[0]
    # Every feature built carries a span inside its window's context, or points at [CLS].
    tok = AutoTokenizer.from_pretrained(default_model_path())
    feats = task.build_train_features(examples[:50], tok)
    assert feats and all(0 <= f["start_positions"] <= f["end_positions"] < len(f["input_ids"]) for f in feats)


def test_a_question_longer_than_the_window_allows_is_cut_with_a_note(data: Path) -> None:
    """CMRC's long questions in 64-token windows with a stride of 32: the tokenizer would panic
    (no room left to slide); the question is cut to what fits, and the answer spans stay right."""
    from transformers import AutoTokenizer

    from bert_studio_trainer.spec import SpecError

    squad = data / "squad_v1.1" / "dev-v1.1.json"
    task = build_task(parse_spec(make_spec("question_answering", squad, max_seq_length=64, doc_stride=32)))
    examples = task.load_examples(squad, "train")[:40]
    long_q = dict(examples[0], question=" ".join(["which of the many players"] * 12) + " " + examples[0]["question"])
    tok = AutoTokenizer.from_pretrained(default_model_path())
    feats = task.build_train_features([long_q, *examples[1:]], tok)
    assert len(task.notes) == 1 and task.notes[0].startswith("1 question(s) longer than 28 tokens were cut")
    assert "training.max_seq_length" in task.notes[0]
    first = [f for f in feats if f["input_ids"][1:29] == tok(long_q["question"], add_special_tokens=False)["input_ids"][:28]]
    assert first and all(len(f["input_ids"]) <= 64 for f in feats)
    assert all(0 <= f["start_positions"] <= f["end_positions"] < len(f["input_ids"]) for f in feats)
    # A stride that leaves no room even for a one-token question is refused by name.
    tight = build_task(parse_spec(make_spec("question_answering", squad, max_seq_length=64, doc_stride=60)))
    try:
        tight.build_train_features(examples[:2], tok)
    except SpecError as e:
        assert e.field == "training.doc_stride" and "at most 59" in str(e)
    else:
        raise AssertionError("a doc_stride leaving no room for the question was accepted")
