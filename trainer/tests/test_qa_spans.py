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
