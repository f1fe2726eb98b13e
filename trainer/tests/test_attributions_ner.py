"""Integrated Gradients on a real CoNLL-2003 token classifier (a short worker run): the target is a predicted
entity (the sum of its words' predicted-tag logits), chosen by a span or a cursor; completeness at the
default steps, the target decoded as the NER task scores it, the serve loop, and the refusals."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import subset_spec, write_run

from bert_studio_trainer.analysis.attributions import DEFAULT_STEPS, Explainer, serve
from bert_studio_trainer.data.readers import read_conll
from bert_studio_trainer.spec import SpecError


@pytest.fixture(scope="module")
def conll_run(tmp_path_factory, data) -> Path:
    from bert_studio_trainer.train import train

    run = tmp_path_factory.mktemp("ig-ner") / "run"
    spec = subset_spec("token_classification", data / "conll2003" / "train.txt", data / "conll2003" / "valid.txt", 800, 32,
                       max_steps=50, per_device_train_batch_size=16, max_seq_length=64, learning_rate=3e-4, warmup_ratio=0.1,
                       eval_steps=50, save_steps=50, logging_steps=10)
    assert train(write_run(run, spec)) == 0
    return run


@pytest.fixture(scope="module")
def explainer(conll_run) -> Explainer:
    return Explainer(conll_run)


@pytest.fixture(scope="module")
def sentences(data) -> list[str]:
    """Validation sentences (never trained on) that hold a gold entity, as text."""
    rows = read_conll(data / "conll2003" / "valid.txt", {})
    return [" ".join(r["tokens"]) for r in rows if any(t != "O" for t in r["tags"]) and len(r["tokens"]) >= 6][:12]


def test_entity_attributions_satisfy_completeness(explainer, sentences):
    errors, explained = [], 0
    for text in sentences:
        try:
            r = explainer.explain(text)  # the first predicted entity
        except SpecError as e:
            assert e.field == "span" and "no entity" in str(e)
            continue
        explained += 1
        assert r["task"] == "token_classification" and r["output"] == "logit sum" and r["steps"] == DEFAULT_STEPS
        target = r["target"]
        assert target["entity"] and text[target["start"]:target["end"]] == target["text"]
        assert r["label"] in {"PER", "ORG", "LOC", "MISC"} and all(t.endswith(r["label"]) for t in target["tags"])
        assert r["entities"][0] == {"label": r["label"], "start": target["start"], "end": target["end"], "text": target["text"]}
        assert r["sum"] == pytest.approx(sum(t["attribution"] for t in r["tokens"]), abs=1e-4)
        assert r["delta"] == pytest.approx(r["value"] - r["baseline_value"], abs=1e-5)
        assert 0 < r["probability"] <= 1 and 0 <= r["baseline_probability"] <= 1
        errors.append(r["completeness_error"])
    assert explained >= len(sentences) // 2, f"the model found entities in only {explained} of {len(sentences)} sentences"
    # The axiom holds up to the integral's discretisation: within 5% at the default 50 steps.
    assert max(errors) < 0.05, errors


def test_target_value_is_the_sum_of_the_entity_logits(explainer, sentences):
    import torch

    text = next(t for t in sentences if len(explainer.explain(t, steps=2)["entities"]) >= 1)
    r = explainer.explain(text, steps=4)
    enc = explainer.tokenizer(text, return_tensors="pt", truncation=True, max_length=512)
    with torch.no_grad():
        logits = explainer.model(**enc).logits[0]
    word_ids = enc.word_ids(0)
    firsts = {}
    for i, w in enumerate(word_ids):
        if w is not None and w not in firsts:
            firsts[w] = i
    # The words whose characters lie in the target, each at its first sub-token, with its predicted tag.
    inside = [i for w, i in firsts.items() if r["target"]["start"] <= enc.token_to_chars(0, i).start < r["target"]["end"]]
    tags = [explainer.labels[int(logits[i].argmax())] for i in inside]
    assert tags == r["target"]["tags"]
    assert r["value"] == pytest.approx(float(sum(logits[i].max() for i in inside)), rel=1e-4)


def test_span_and_cursor_choose_the_entity_or_the_word(explainer, sentences):
    text = next(t for t in sentences if len(explainer.explain(t, steps=2)["entities"]) >= 2)
    entities = explainer.explain(text, steps=2)["entities"]
    second = entities[1]
    # A selection inside the second entity, and a cursor in it, both explain that entity.
    inner = explainer.explain(text, span=[second["start"] + 1, second["end"]], steps=2)
    assert (inner["target"]["start"], inner["target"]["end"], inner["label"]) == (second["start"], second["end"], second["label"])
    cursor = explainer.explain(text, span=[second["start"], second["start"]], steps=2)
    assert cursor["target"]["text"] == second["text"]
    # A cursor on a word outside every entity explains that word's own tag ("O").
    spans = [(e["start"], e["end"]) for e in entities]
    word = next(t for t in explainer.explain(text, steps=2)["tokens"] if not any(a <= t["start"] < b for a, b in spans) and t["token"].isalpha())
    plain = explainer.explain(text, span=[word["start"], word["start"]], steps=2)
    assert plain["target"]["entity"] is False and plain["label"] == "O" and plain["target"]["start"] <= word["start"] < plain["target"]["end"]


def test_serve_answers_entity_requests_and_refusals(explainer, sentences):
    text = sentences[0]
    requests = [json.dumps({"id": 1, "text": text, "steps": 5}),
                json.dumps({"id": 2, "text": text, "span": [0, len(text) + 5]}),
                json.dumps({"id": 3, "text": text, "target": "LOC"}),
                json.dumps({"id": 4, "text": text, "pair": "a second text"}),
                json.dumps({"id": 5, "text": "the , of", "steps": 5})]
    out = io.StringIO()
    serve(explainer, requests, out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {"ready": True, "labels": explainer.labels, "task": "token_classification"}
    answers = {a["id"]: a for a in lines[1:]}
    assert answers[1]["steps"] == 5 and "tokens" in answers[1] or answers[1]["field"] == "span"
    assert answers[2]["field"] == "span" and str(len(text)) in answers[2]["error"]
    assert answers[3]["field"] == "target" and "span" in answers[3]["error"]
    assert answers[4]["field"] == "pair"
    assert answers[5]["field"] == "span" and "no entity" in answers[5]["error"] and "cursor" in answers[5]["error"]


def test_question_answering_model_is_refused_naming_its_task(tmp_path):
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from bert_studio_trainer.models import default_model_path

    folder = tmp_path / "qa"
    AutoModelForQuestionAnswering.from_pretrained(default_model_path()).save_pretrained(folder)
    AutoTokenizer.from_pretrained(default_model_path()).save_pretrained(folder)
    with pytest.raises(SpecError, match="question_answering model") as e:
        Explainer(folder)
    assert "sequence_classification or token_classification" in str(e.value)
