"""Pretraining through the engine: sparse logits, from-scratch vocab and presets, resume, learning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import (
    assert_same_weights,
    make_spec,
    read_events,
    train_straight_and_resumed,
    write_run,
)

from bert_studio_trainer.pretrain.model import SparseBertForMaskedLM, SparseBertForPreTraining
from bert_studio_trainer.pretrain.presets import preset_config
from bert_studio_trainer.train import train


@pytest.fixture(autouse=True)
def vocab_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERT_STUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def test_masked_position_logits_match_the_stock_model() -> None:
    from transformers import BertForMaskedLM, BertForPreTraining

    torch.manual_seed(0)
    config = preset_config("tiny", 500)
    ours = SparseBertForPreTraining(config).eval()
    stock = BertForPreTraining(config).eval()
    stock.load_state_dict(ours.state_dict())
    ids = torch.randint(5, 500, (3, 24))
    labels = torch.where(torch.rand(3, 24) < 0.2, ids, -100)
    kw = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    nsl = torch.tensor([0, 1, 0])
    a, b = ours(**kw, labels=labels, next_sentence_label=nsl), stock(**kw, labels=labels, next_sentence_label=nsl)
    torch.testing.assert_close(a.loss, b.loss)
    torch.testing.assert_close(a.masked_predictions, b.prediction_logits[labels != -100].argmax(-1))
    mlm = SparseBertForMaskedLM(config).eval()
    ref = BertForMaskedLM(config).eval()
    ref.load_state_dict(mlm.state_dict())
    torch.testing.assert_close(mlm(**kw, labels=labels).loss, ref(**kw, labels=labels).loss)
    torch.testing.assert_close(mlm(**kw).logits, ref(**kw).logits)  # no labels: the stock forward


def test_default_model_gets_fresh_tied_heads(tmp_path: Path) -> None:
    from transformers import AutoModelForMaskedLM

    from bert_studio_trainer.models import default_model_path

    model = SparseBertForPreTraining.from_pretrained(str(default_model_path()))
    assert model.cls.predictions.decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()
    assert model.cls.predictions.decoder.bias.data_ptr() == model.cls.predictions.bias.data_ptr()
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["BertForPreTraining"]
    loaded = AutoModelForMaskedLM.from_pretrained(tmp_path)
    torch.testing.assert_close(loaded.cls.predictions.transform.dense.weight, model.cls.predictions.transform.dense.weight)


def test_build_vocab_command(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from transformers import AutoTokenizer

    from bert_studio_trainer.__main__ import main

    out = tmp_path / "vocab"
    assert main(["build-vocab", "--corpus", str(data / "wikitext-2" / "valid.txt"), "--vocab-size", "1000",
                 "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["vocab_size"] == 1000
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert tok("Lobsters are blue [UNK] .")["input_ids"][0] == tok.cls_token_id
    assert tok.unk_token_id in tok("Lobsters [UNK]")["input_ids"]


def _tiny_spec(data: Path, task: str = "mlm_nsp", **training: object) -> dict:
    spec = make_spec(task, data / "wikitext-2" / "valid.txt", **{
        "max_steps": 6, "per_device_train_batch_size": 8, "max_seq_length": 32, "save_steps": 3,
        "logging_steps": 1, "learning_rate": 1e-3, "warmup_ratio": 0.0, **training})
    spec["model"]["from_scratch"] = {"preset": "tiny", "vocab_size": 1000}
    spec["data"]["max_train_samples"] = 6  # documents
    return spec


def test_resume_is_exact(tmp_path: Path, data: Path) -> None:
    full, split = train_straight_and_resumed(tmp_path, _tiny_spec(data), stop_after=3)
    a = {e["step"]: e for e in read_events(full, "step")}
    b = {e["step"]: e for e in read_events(split, "step")}
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in a:
        for key in ("loss", "mlm_loss", "nsp_loss"):
            torch.testing.assert_close(b[step][key], a[step][key], rtol=0, atol=0)
    assert_same_weights(full, split)
    config = json.loads((full / "model" / "config.json").read_text())
    assert config["architectures"] == ["BertForPreTraining"] and config["num_hidden_layers"] == 2
    assert config["hidden_size"] == 128 and config["vocab_size"] == 1000


def test_spec_errors_name_the_field(tmp_path: Path, data: Path) -> None:
    spec = _tiny_spec(data)
    spec["model"]["from_scratch"]["preset"] = "huge"
    assert train(write_run(tmp_path / "a", spec)) == 2
    assert read_events(tmp_path / "a", "error")[0]["field"] == "model.from_scratch.preset"
    one_doc = tmp_path / "one.txt"
    one_doc.write_text("Only one document here. It has two sentences.\n")
    spec = _tiny_spec(data)
    spec["data"]["train"] = str(one_doc)
    assert train(write_run(tmp_path / "b", spec)) == 2
    assert read_events(tmp_path / "b", "error")[0]["field"] == "data.train"


def test_continued_mlm_lowers_heldout_perplexity(tmp_path: Path, data: Path) -> None:
    from transformers import AutoModelForMaskedLM, AutoTokenizer, set_seed

    from bert_studio_trainer.models import default_model_path
    from bert_studio_trainer.pretrain.evaluation import evaluate_mlm, heldout_features

    tokenizer = AutoTokenizer.from_pretrained(str(default_model_path()))
    feats = heldout_features(data / "wikitext-2" / "test.txt", tokenizer, max_seq_length=64, max_sequences=48)
    set_seed(42)  # the engine seeds the same way before adding the fresh head
    before = evaluate_mlm(SparseBertForMaskedLM.from_pretrained(str(default_model_path())), feats)
    spec = make_spec("mlm", data / "wikitext-2" / "valid.txt", max_steps=10, per_device_train_batch_size=16,
                     max_seq_length=64, learning_rate=3e-4, warmup_ratio=0.1, save_steps=10, logging_steps=5)
    spec["data"]["max_train_samples"] = 4
    assert train(write_run(tmp_path, spec)) == 0
    steps = read_events(tmp_path, "step")
    assert steps[-1]["step"] == 10 and "mlm_loss" in steps[-1] and "nsp_loss" not in steps[-1]
    after = evaluate_mlm(AutoModelForMaskedLM.from_pretrained(tmp_path / "model"), feats)
    assert after["perplexity"] < before["perplexity"] * 0.5, (before, after)
    assert after["mlm_accuracy"] > before["mlm_accuracy"], (before, after)


@pytest.mark.slow
def test_tiny_from_scratch_beats_the_unigram_baseline(tmp_path: Path, data: Path) -> None:
    """A tiny BERT (L2/H128, 1000-piece vocabulary trained on the corpus) learns context within a
    few CPU minutes: its masked-token accuracy on held-out text beats always predicting the most
    frequent training token, the accuracy a model stuck at unigram statistics has."""
    from bert_studio_trainer.pretrain.evaluation import unigram_baseline
    from bert_studio_trainer.spec import parse_spec
    from bert_studio_trainer.tasks.pretraining import MlmTask

    spec = make_spec("mlm", data / "wikitext-2" / "valid.txt", data / "wikitext-2" / "test.txt", max_steps=400,
                     per_device_train_batch_size=32, max_seq_length=32, learning_rate=2e-3, warmup_ratio=0.05,
                     eval_steps=400, save_steps=400, logging_steps=50)
    spec["model"]["from_scratch"] = {"preset": "tiny", "vocab_size": 1000}
    spec["data"]["max_eval_samples"] = 4  # test-set articles: ~1,500 masked tokens
    assert train(write_run(tmp_path, spec)) == 0
    final = read_events(tmp_path, "eval")[-1]["metrics"]
    # The same features the run evaluated on, rebuilt by the task (same seed, same cached vocabulary).
    task = MlmTask(parse_spec(spec))
    train_docs = task.load_examples(Path(spec["data"]["train"]), "train")
    eval_docs = task.load_examples(Path(spec["data"]["validation"]), "validation")[:4]
    tok = task.build_tokenizer(task.spec.model)
    top, baseline = unigram_baseline(task.build_train_features(train_docs, tok), task.build_eval_features(eval_docs, tok),
                                     set(tok.all_special_ids))
    assert final["masked_tokens"] > 1000
    assert final["mlm_accuracy"] > baseline + 0.02, (final, tok.convert_ids_to_tokens(top), baseline)
    assert final["perplexity"] < 1000


def test_heldout_masks_stay_at_15_percent_whatever_the_training_rate(data: Path) -> None:
    """training.mlm_probability sets the training masks only: held-out masks are drawn at BERT's 15%,
    so runs trained at different rates report comparable held-out accuracy and perplexity."""
    from bert_studio_trainer.pretrain.masking import IGNORE
    from bert_studio_trainer.spec import parse_spec
    from bert_studio_trainer.tasks.pretraining import MlmTask

    spec = make_spec("mlm", data / "wikitext-2" / "valid.txt", data / "wikitext-2" / "test.txt", mlm_probability=0.4,
                     max_seq_length=128)
    task = MlmTask(parse_spec(spec))
    tok = task.build_tokenizer(task.spec.model)
    special = set(tok.all_special_ids)

    def masked_share(rows: list[tuple[list[int], list[int]]]) -> float:
        # A candidate is a non-special token before masking: a masked position, or an unmasked one.
        masked = sum(sum(int(lab) != IGNORE for lab in labels) for _, labels in rows)
        candidates = sum(sum(int(lab) != IGNORE or int(i) not in special for i, lab in zip(ids, labels, strict=True))
                         for ids, labels in rows)
        return masked / candidates

    eval_docs = task.load_examples(Path(spec["data"]["validation"]), "validation")[:4]
    held_out = task.build_eval_features(eval_docs, tok)
    train_docs = task.load_examples(Path(spec["data"]["train"]), "train")[:4]
    features = task.build_train_features(train_docs, tok)
    batch = task.collate(features[:64])
    assert abs(masked_share([(f["input_ids"], f["labels"]) for f in held_out]) - 0.15) < 0.01
    assert abs(masked_share(list(zip(batch["input_ids"].tolist(), batch["labels"].tolist(), strict=True))) - 0.4) < 0.02
