"""Every supported architecture x task on tiny random checkpoints (test/fixtures/families/build.py):
train a few steps on shared data, checkpoint, export to ONNX with the parity check, and run the
exported graph with the model's own inputs. Model facts come from the checkpoints themselves."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch
from conftest import (
    REPO,
    assert_same_weights,
    read_events,
    read_status,
    train_straight_and_resumed,
    write_run,
)

from bert_studio_trainer.engine.checkpoint import complete_checkpoints
from bert_studio_trainer.export import PARITY_TOLERANCE, POSITIONS_INPUT, full_positions
from bert_studio_trainer.families import (
    architecture_entry,
    architecture_table,
    architectures,
    load_tokenizer,
    model_facts,
    task_refusal,
)
from bert_studio_trainer.spec import SpecError, parse_spec
from bert_studio_trainer.train import train

BUILD = REPO / "test" / "fixtures" / "families" / "build.py"


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location("families_build", BUILD)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIXTURES = _build_module()
ARCHS = tuple(FIXTURES.ARCHS)


@pytest.fixture(scope="session")
def checkpoints(data: Path) -> Path:
    """The cached tiny checkpoints (built on first use, in seconds)."""
    tokenizers = FIXTURES._tokenizers_module()
    return FIXTURES.ensure(data, tokenizers.cache_root(), runs=False)


def _files(data: Path, case: str) -> tuple[str, dict[str, Any]]:
    """(task, data section) of each case, on small subsets of the shared data."""
    return {
        "single": ("sequence_classification", {"train": str(data / "sst2/train.tsv"), "validation": str(data / "sst2/dev.tsv")}),
        "pair": ("sequence_classification", {"train": str(data / "mrpc/train.tsv"), "validation": str(data / "mrpc/dev.tsv")}),
        "ner": ("token_classification", {"train": str(data / "conll2003/train.txt"), "validation": str(data / "conll2003/valid.txt")}),
        "qa": ("question_answering", {"train": str(data / "squad_v1.1/dev-v1.1.json"),
                                      "validation": str(data / "squad_v1.1/dev-v1.1.json")}),
        "mlm": ("mlm", {"train": str(data / "wikitext-2/valid.txt"), "validation": str(data / "wikitext-2/test.txt")}),
        "mlm_nsp": ("mlm_nsp", {"train": str(data / "wikitext-2/valid.txt"), "validation": str(data / "wikitext-2/test.txt")}),
    }[case]


def family_spec(data: Path, checkpoint: Path, case: str, **training: Any) -> dict[str, Any]:
    task, files = _files(data, case)
    base = dict(max_steps=4, per_device_train_batch_size=8, max_seq_length=64, logging_steps=1, save_steps=2,
                eval_steps=4, learning_rate=1e-3, seed=0)
    if task == "question_answering":
        base["doc_stride"] = 16
    # WikiText documents are whole articles (40-400 sentences): two of them make enough sequences.
    limits = (2, 2) if task.startswith("mlm") else (32, 16)
    return {"version": 1, "task": task, "model": {"name_or_path": str(checkpoint)},
            "data": {**files, "max_train_samples": limits[0], "max_eval_samples": limits[1]},
            "training": {**base, **training}, "device": "cpu", "export": {"onnx": True}}


_AUTO = {"single": "AutoModelForSequenceClassification", "pair": "AutoModelForSequenceClassification",
         "ner": "AutoModelForTokenClassification", "qa": "AutoModelForQuestionAnswering",
         "mlm": "AutoModelForMaskedLM", "mlm_nsp": "AutoModelForPreTraining"}
# Longer than the export's parity batch, padded in a batch of two: the graph's dynamic axes and
# masking (ModernBERT's sliding window spans 16 tokens here) on shapes it was not traced with.
TEXTS = ["Ada Lovelace wrote in London about the Analytical Engine of Charles Babbage , and her notes on it "
         "were published in 1843 in Taylor 's Scientific Memoirs , with a table of Bernoulli numbers .",
         "Who wrote in London ?"]


def _onnx_vs_torch(run: Path, case: str) -> float:
    """Max abs difference between the exported fp32 graph and model/ in PyTorch, on TEXTS."""
    import transformers

    tok = load_tokenizer(run / "onnx")
    second = list(reversed(TEXTS)) if case in ("pair", "qa", "mlm_nsp") else None
    enc = tok(TEXTS, second, padding=True, return_tensors="np")
    session = ort.InferenceSession(str(run / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"])
    feed = {i.name: enc[i.name].astype(np.int64) for i in session.get_inputs() if i.name != POSITIONS_INPUT}
    positions = {POSITIONS_INPUT: full_positions(feed["input_ids"])} if case.startswith("mlm") else {}
    got = session.run(None, {**feed, **positions})
    model = getattr(transformers, _AUTO[case]).from_pretrained(str(run / "model")).eval()
    with torch.no_grad():
        out = model(**{k: torch.from_numpy(v) for k, v in feed.items()})
    expected = [out.logits if case != "qa" else out.start_logits] if case != "mlm_nsp" else [out.prediction_logits]
    return float(np.abs(got[0] - expected[0].numpy()).max())


CASES = [(a, c) for a in ARCHS for c in ("single", "pair", "ner", "qa", "mlm")
         if not (a == "electra" and c == "mlm")] + [("bert-uncased", "mlm_nsp")]


@pytest.mark.parametrize("arch, case", CASES, ids=[f"{a}-{c}" for a, c in CASES])
def test_train_checkpoint_export(tmp_path: Path, data: Path, checkpoints: Path, arch: str, case: str) -> None:
    checkpoint = checkpoints / arch / "checkpoint"
    facts = model_facts(checkpoint)
    run = write_run(tmp_path / "run", family_spec(data, checkpoint, case))
    assert train(run) == 0, read_events(run, "error")
    assert read_status(run)["state"] == "completed"
    steps = read_events(run, "step")
    assert [e["step"] for e in steps] == [1, 2, 3, 4]
    assert all(math.isfinite(e["loss"]) for e in steps)
    assert [c.name for c in complete_checkpoints(run)] == ["step-2", "step-4"]

    export = read_events(run, "export")
    assert len(export) == 1, read_events(run, "error")
    assert export[0]["max_abs_diff"] <= PARITY_TOLERANCE
    session = ort.InferenceSession(str(run / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"])
    # The graph takes exactly the model's inputs: no token_type_ids for a model without token types;
    # MLM graphs also take the positions to predict (the head works per position in every family).
    positions = [POSITIONS_INPUT] if case.startswith("mlm") else []
    assert [i.name for i in session.get_inputs()] == facts.input_names + positions
    assert _onnx_vs_torch(run, case) <= PARITY_TOLERANCE


def test_facts_come_from_the_checkpoints(checkpoints: Path) -> None:
    """Token types, positions, heads, casing and byte-level BPE as each checkpoint defines them."""
    facts = {a: model_facts(checkpoints / a / "checkpoint") for a in ARCHS}
    with_types = {a for a, f in facts.items() if f.token_type_ids}
    assert with_types == {"bert-uncased", "bert-cased", "electra"}
    for a, f in facts.items():
        config = json.loads((checkpoints / a / "checkpoint" / "config.json").read_text())
        # RoBERTa-type position ids start after the padding index: 130 embeddings hold 128 tokens.
        assert f.positions == 128 and f.positions + f.position_offset == config["max_position_embeddings"]
    assert {a for a, f in facts.items() if f.nsp} == {"bert-uncased", "bert-cased"}
    assert {a for a, f in facts.items() if f.byte_level} == {"roberta", "modernbert"}
    assert {a for a, f in facts.items() if f.lowercase} == {"bert-uncased", "distilbert", "electra"}
    assert not facts["electra"].mlm_head and facts["electra"].foreign_head == "discriminator_predictions"
    assert facts["roberta"].mask_token == "<mask>" and facts["deberta-v3"].mask_token == "[MASK]"


@pytest.mark.parametrize("arch", [a for a in ARCHS if not a.startswith("bert")])
def test_nsp_is_refused_up_front_for_non_bert(data: Path, checkpoints: Path, arch: str) -> None:
    with pytest.raises(SpecError, match=r"cannot run task mlm_nsp: .*NSP head.*Use the mlm task") as e:
        parse_spec(family_spec(data, checkpoints / arch / "checkpoint", "mlm_nsp"))
    assert e.value.field == "task"


def test_nsp_is_refused_before_training_when_the_spec_check_cannot_see_the_model(data: Path, checkpoints: Path) -> None:
    """A hub id is not checked by parse_spec; the task refuses it before any training step."""
    from bert_studio_trainer.tasks import build_task

    spec = parse_spec(family_spec(data, checkpoints / "bert-uncased" / "checkpoint", "mlm_nsp"))
    roberta = checkpoints / "roberta" / "checkpoint"
    hub_like = dataclasses.replace(spec, model=dataclasses.replace(spec.model, path=str(roberta), is_local=False))
    with pytest.raises(SpecError, match=r"cannot run task mlm_nsp: .*this roberta model has none. Use the mlm task"):
        build_task(hub_like).build_model(hub_like.model)


def test_mlm_on_an_electra_discriminator_is_refused(data: Path, checkpoints: Path) -> None:
    with pytest.raises(SpecError, match=r"discriminator_predictions\) is not a masked-LM head.*fine-tune") as e:
        parse_spec(family_spec(data, checkpoints / "electra" / "checkpoint", "mlm"))
    assert e.value.field == "task"


def test_max_seq_length_counts_the_position_offset(data: Path, checkpoints: Path) -> None:
    spec = family_spec(data, checkpoints / "roberta" / "checkpoint", "single", max_seq_length=130)
    with pytest.raises(SpecError, match=r"at most 128, .*max_position_embeddings 130 minus 2 for roberta"):
        parse_spec(spec)


@pytest.mark.parametrize("arch", ["roberta", "modernbert"])
def test_ner_with_byte_level_bpe_gets_a_prefix_space(tmp_path: Path, checkpoints: Path, arch: str) -> None:
    """Pre-split words through a byte-level BPE: each word is encoded as after a space, as in running
    text. RoBERTa's tokenizer class honours add_prefix_space; ModernBERT's plain tokenizer.json one
    ignores it (it read "wrote" alone as "w", "rote"), so it is set in the pipeline, and saved there
    for the editor, whose tokenizer follows tokenizer.json."""
    from transformers import AutoTokenizer

    tok = load_tokenizer(checkpoints / arch / "checkpoint", "token_classification")
    words = tok(["Ada", "wrote", "in", "Zürich"], is_split_into_words=True)
    text = tok("Ada wrote in Zürich")
    assert words["input_ids"] == text["input_ids"]
    assert "token_type_ids" not in words
    tok.save_pretrained(str(tmp_path))
    saved = json.loads((tmp_path / "tokenizer.json").read_text())
    assert saved["pre_tokenizer"]["add_prefix_space"] is True
    assert AutoTokenizer.from_pretrained(str(tmp_path))("Ada wrote in Zürich")["input_ids"] == text["input_ids"]
    # Other tasks read running text as the checkpoint does: no prefix space.
    plain = load_tokenizer(checkpoints / arch / "checkpoint", "sequence_classification")
    assert plain("Ada")["input_ids"] != tok("Ada")["input_ids"]


def test_architectures_json_is_what_transformers_says(checkpoints: Path) -> None:
    """The table the host bundles (architectures.json) against this transformers: regenerate it with
    `python -m bert_studio_trainer.families --write` when this fails after an upgrade."""
    import transformers
    from transformers import CONFIG_MAPPING

    table = architectures()
    assert table["transformers"] == transformers.__version__
    for arch in ARCHS:
        model_type = model_facts(checkpoints / arch / "checkpoint").model_type
        assert table["model_types"][model_type] == architecture_entry(CONFIG_MAPPING[model_type]()), model_type
    fresh = architecture_table()
    assert sorted(fresh["model_types"]) == sorted(table["model_types"])
    assert fresh["slow_tokenizers"] == table["slow_tokenizers"] and fresh["heads"] == table["heads"]
    # What the checkpoints' facts say follows from the table, and the other way round.
    for arch in ARCHS:
        facts = model_facts(checkpoints / arch / "checkpoint")
        entry = table["model_types"][facts.model_type]
        assert facts.tasks == entry["tasks"] and facts.nsp == entry["nsp"]
        assert bool(facts.position_offset) == entry["positions_after_padding"]


@pytest.mark.parametrize("task", ["token_classification", "question_answering"])
def test_a_python_only_tokenizer_is_refused_for_offset_tasks(data: Path, checkpoints: Path, task: str) -> None:
    """A RoBERTa whose tokenizer has no fast version (BertweetTokenizer: vocab.txt + bpe.codes) gives no
    character offsets (transformers 5 silently leaves offset_mapping out): NER and QA are refused up
    front, by name, with the fix; tasks without offsets still run."""
    folder = checkpoints / FIXTURES.SLOW / "checkpoint"
    facts = model_facts(folder)
    assert not facts.fast_tokenizer and facts.tokenizer_class == "BertweetTokenizer"
    case = "ner" if task == "token_classification" else "qa"
    with pytest.raises(SpecError, match=r"cannot run task .*needs character offsets.*\(BertweetTokenizer\) has no fast version"
                                        r".*start from a checkpoint with a fast tokenizer") as e:
        parse_spec(family_spec(data, folder, case))
    assert e.value.field == "task"
    assert task_refusal(facts, "sequence_classification") is None
    parse_spec(family_spec(data, folder, "single"))


@pytest.mark.parametrize("arch", ["bert-cased", "modernbert"])
def test_single_texts_in_a_pair_file_are_read_alone(tmp_path: Path, data: Path, checkpoints: Path, arch: str) -> None:
    """A file mixing pairs and single texts: a single text is encoded alone ([CLS] a [SEP]), as the
    editor's classify reads it, not with an empty second segment ([CLS] a [SEP] [SEP])."""
    from bert_studio_trainer.tasks import build_task

    folder = checkpoints / arch / "checkpoint"
    file = tmp_path / "mixed.jsonl"
    rows = [{"text": "A first text.", "text_pair": "Its pair.", "label": "a"}, {"text": "Alone here.", "label": "b"}]
    file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    spec = parse_spec({**family_spec(data, folder, "single"), "data": {"train": str(file)}})
    task = build_task(spec)
    examples = task.load_examples(file, "train")
    task.fit_labels(examples)
    tok = task.build_tokenizer(spec.model)
    feats = task.build_eval_features(examples, tok)
    assert feats[1]["input_ids"] == tok("Alone here.")["input_ids"]
    assert feats[0]["input_ids"] == tok("A first text.", "Its pair.")["input_ids"]
    if "token_type_ids" in feats[0]:
        assert set(feats[0]["token_type_ids"]) == {0, 1} and set(feats[1]["token_type_ids"]) == {0}


@pytest.mark.parametrize("arch", ARCHS)
def test_token_type_ids_only_for_models_with_token_types(checkpoints: Path, arch: str) -> None:
    """DeBERTa-v3's and DistilBERT's tokenizers would return token_type_ids; the models have no token
    types (type_vocab_size 0, no such input), so the tasks' features must not carry them."""
    folder = checkpoints / arch / "checkpoint"
    enc = load_tokenizer(folder, "sequence_classification")("a first text", "a second one")
    assert ("token_type_ids" in enc) == model_facts(folder).token_type_ids
    if "token_type_ids" in enc:
        assert set(enc["token_type_ids"]) == {0, 1}


def test_resume_is_exact_for_roberta(tmp_path: Path, data: Path, checkpoints: Path) -> None:
    spec = family_spec(data, checkpoints / "roberta" / "checkpoint", "ner", max_steps=6, save_steps=3, eval_steps=100)
    spec["export"] = {"onnx": False}
    straight, split = train_straight_and_resumed(tmp_path, spec, stop_after=3)
    a = {e["step"]: e["loss"] for e in read_events(straight, "step")}
    b = {e["step"]: e["loss"] for e in read_events(split, "step")}
    assert sorted(a) == sorted(b) == list(range(1, 7))
    torch.testing.assert_close(torch.tensor([b[k] for k in sorted(b)]), torch.tensor([a[k] for k in sorted(a)]))
    assert_same_weights(straight, split)
