"""Pretraining through the engine: sparse logits, from-scratch vocab and presets, resume, learning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import make_spec, read_events, read_status, write_run

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
    full, split = tmp_path / "full", tmp_path / "split"
    assert train(write_run(full, _tiny_spec(data))) == 0
    assert train(write_run(split, _tiny_spec(data)), stop_after_steps=3) == 0
    assert read_status(split)["state"] == "stopped"
    assert train(split, resume=True) == 0
    a = {e["step"]: e for e in read_events(full, "step")}
    b = {e["step"]: e for e in read_events(split, "step")}
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in a:
        for key in ("loss", "mlm_loss", "nsp_loss"):
            torch.testing.assert_close(b[step][key], a[step][key], rtol=0, atol=0)
    from safetensors.torch import load_file

    wa, wb = load_file(full / "model" / "model.safetensors"), load_file(split / "model" / "model.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wb[k], wa[k])
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
