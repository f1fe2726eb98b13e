"""Integrated Gradients on a real SST-2 classifier (a short worker run): the completeness axiom at the
default steps, agreement with captum's IntegratedGradients on the same path, offsets on the text, the
serve loop and the refusals."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest
from conftest import subset_spec, write_run

from bert_studio_trainer.analysis.attributions import DEFAULT_STEPS, Explainer, serve
from bert_studio_trainer.spec import SpecError


@pytest.fixture(scope="module")
def sst2_run(tmp_path_factory, data) -> Path:
    from bert_studio_trainer.train import train

    run = tmp_path_factory.mktemp("ig") / "run"
    spec = subset_spec("sequence_classification", data / "sst2" / "train.tsv", data / "sst2" / "dev.tsv", 480, 32,
                       max_steps=30, per_device_train_batch_size=16, max_seq_length=48, learning_rate=1e-4,
                       eval_steps=30, save_steps=30, logging_steps=10)
    assert train(write_run(run, spec)) == 0
    return run


@pytest.fixture(scope="module")
def explainer(sst2_run) -> Explainer:
    return Explainer(sst2_run)


def dev_sentences(data: Path, n: int) -> list[str]:
    lines = (data / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0].strip() for line in lines[:n]]


def test_attributions_satisfy_completeness_on_real_sentences(explainer, data):
    errors = []
    for text in dev_sentences(data, 12):
        r = explainer.explain(text)
        assert r["steps"] == DEFAULT_STEPS
        assert r["sum"] == pytest.approx(sum(t["attribution"] for t in r["tokens"]), abs=1e-5)
        assert r["delta"] == pytest.approx(r["probability"] - r["baseline_probability"], abs=1e-6)
        errors.append(r["completeness_error"])
    # The axiom holds up to the integral's discretisation: within 5% at the default 50 steps.
    assert max(errors) < 0.05, errors


def test_offsets_point_at_each_token_in_the_text(explainer):
    text = "An unflinchingly bleak and Desperate film, with 2 stars."
    r = explainer.explain(text)
    for t in r["tokens"]:
        piece = text[t["start"]:t["end"]]
        assert piece.lower() == t["token"].removeprefix("##"), t
    pair = explainer.explain("A man is playing a guitar.", pair="Someone plays music.")
    assert {t["segment"] for t in pair["tokens"]} == {0, 1}


@pytest.mark.skipif(importlib.util.find_spec("captum") is None, reason="captum not installed (trainer/requirements-dev.txt)")
def test_agrees_with_captum_integrated_gradients(explainer, data):
    import torch
    from captum.attr import IntegratedGradients

    model, tok = explainer.model, explainer.tokenizer
    for text in dev_sentences(data, 3):
        ours = explainer.explain(text, steps=40)
        enc = tok(text, return_tensors="pt", truncation=True, max_length=512, return_special_tokens_mask=True)
        special = enc.pop("special_tokens_mask")[0].bool()
        embed = model.get_input_embeddings()
        x = embed(enc["input_ids"]).detach()
        x0 = embed(torch.where(special, enc["input_ids"], torch.full_like(enc["input_ids"], tok.pad_token_id))).detach()
        target = explainer.labels.index(ours["label"])

        def forward(e, enc=enc):
            n = e.shape[0]
            return model(inputs_embeds=e, attention_mask=enc["attention_mask"].expand(n, -1),
                         token_type_ids=enc["token_type_ids"].expand(n, -1)).logits.softmax(-1)

        ref = IntegratedGradients(forward).attribute(x, baselines=x0, target=target, n_steps=41,
                                                     method="riemann_trapezoid", internal_batch_size=16)
        # captum's trapezoid weighs its n points 1/n each (halved at the ends), so its weights sum to
        # (n-1)/n; the trapezoidal rule over n-1 intervals weighs them 1/(n-1): the same up to n/(n-1).
        ref_tokens = (ref[0].sum(-1)[~special] * 41 / 40).tolist()
        assert [t["attribution"] for t in ours["tokens"]] == pytest.approx(ref_tokens, rel=1e-3, abs=1e-5)


def test_serve_answers_each_request_and_survives_bad_ones(explainer):
    requests = [json.dumps({"id": 1, "text": "a gorgeous, witty film"}), json.dumps({"id": 2, "text": "   "}),
                "{not json", json.dumps({"id": 3, "text": "dull", "target": "no-such-label"}),
                json.dumps({"id": 4, "text": "dull and slow", "steps": 10})]
    out = io.StringIO()
    serve(explainer, requests, out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {"ready": True, "labels": explainer.labels, "task": "sequence_classification"}
    answers = lines[1:]
    assert [a.get("id") for a in answers] == [1, 2, None, 3, 4]
    assert "tokens" in answers[0] and answers[0]["label"] in explainer.labels
    assert answers[1]["field"] == "text" and "empty" in answers[1]["error"]
    assert "error" in answers[2]
    assert answers[3]["field"] == "target" and "no-such-label" in answers[3]["error"]
    assert answers[4]["steps"] == 10


def test_refuses_a_model_that_is_not_a_sequence_classifier(tmp_path):
    from bert_studio_trainer.models import default_model_path

    with pytest.raises(SpecError, match="sequence classifier"):
        Explainer(default_model_path())
