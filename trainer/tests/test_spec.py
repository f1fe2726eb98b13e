"""Bad specs fail before any work: exit code 2, an error event naming the field, state failed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_spec, read_events, read_status, write_run

from bert_studio_trainer.models import default_model_path
from bert_studio_trainer.spec import SpecError, parse_spec
from bert_studio_trainer.tasks import build_task, task_class
from bert_studio_trainer.train import train


def _sst2(data: Path) -> dict:
    return make_spec("sequence_classification", data / "sst2" / "train.tsv", data / "sst2" / "dev.tsv")


@pytest.mark.parametrize("mutate, field", [
    (lambda s: s.update(task="summarization"), "task"),
    (lambda s: s["model"].update(name_or_path="/no/such/model"), "model.name_or_path"),
    (lambda s: s["data"].update(train="/no/such/train.tsv"), "data.train"),
    (lambda s: s["training"].update(learning_rte=1e-4), "training.learning_rte"),
    (lambda s: s["training"].update(per_device_train_batch_size=0), "training.per_device_train_batch_size"),
    (lambda s: s["training"].update(metric_for_best_model="exact_match"), "training.metric_for_best_model"),
    (lambda s: s["data"].update(columns={"text": "no_such_column"}), "data.columns.text"),
    (lambda s: s["data"].update(colums={}), "data.colums"),
    (lambda s: s.update(device="tpu"), "device"),
    (lambda s: s["training"].update(doc_stride=64), "training.doc_stride"),  # a QA field on a classifier
    (lambda s: s.update(colour="red"), "colour"),
    (lambda s: s.update(version=2), "version"),
    (lambda s: s["model"].update(revision="main"), "model.revision"),
    (lambda s: s["model"].update(trust_pickle="yes"), "model.trust_pickle"),
    (lambda s: s["data"].update(validation="/no/such/dev.tsv"), "data.validation"),
    (lambda s: s["data"].update(labels=[]), "data.labels"),
    (lambda s: s["data"].update(labels=["0"]), "data.labels"),  # the data also has "1"
    (lambda s: s["data"].update(max_train_samples=-5), "data.max_train_samples"),
    (lambda s: s["data"].update(label_delimiter="|"), "data.label_delimiter"),  # without multi_label
    (lambda s: s["training"].update(learning_rate="fast"), "training.learning_rate"),
    (lambda s: s["training"].update(bf16="fp16"), "training.bf16"),
    (lambda s: s["training"].update(torch_compile="yes"), "training.torch_compile"),
    (lambda s: s["training"].update(threshold=1.5), "training.threshold"),
    (lambda s: s["export"].update(opset=18), "export.opset"),
    (lambda s: s["export"].update(quantize="no"), "export.quantize"),
])
def test_bad_spec_exits_2_naming_the_field(tmp_path: Path, data: Path, mutate, field: str) -> None:
    spec = _sst2(data)
    mutate(spec)
    assert train(write_run(tmp_path, spec)) == 2
    errors = read_events(tmp_path, "error")
    assert len(errors) == 1 and errors[0]["field"] == field, errors
    assert read_status(tmp_path)["state"] == "failed"
    assert not (tmp_path / "checkpoints").exists()


def test_bad_snapshot_record_names_file_line_and_field(tmp_path: Path) -> None:
    train_file = tmp_path / "train.jsonl"
    train_file.write_text('{"text": "fine", "label": "1"}\n{"sentence": "no text field", "label": "0"}\n')
    run = write_run(tmp_path / "run", make_spec("sequence_classification", train_file))
    assert train(run) == 2
    (error,) = read_events(run, "error")
    assert error["field"] == "data.text" and error["message"].startswith(f"{train_file}:2:"), error


def test_hub_ids_are_not_taken_for_missing_folders(tmp_path: Path, data: Path) -> None:
    spec = _sst2(data)
    spec["model"]["name_or_path"] = "google-bert/bert-base-uncased"
    model = parse_spec(spec).model
    assert not model.is_local and model.path == "google-bert/bert-base-uncased"  # from_pretrained resolves it
    for path in ("./bert-base-uncased", str(tmp_path / "missing")):
        spec["model"]["name_or_path"] = path
        with pytest.raises(SpecError, match="Model folder not found"):
            parse_spec(spec)


def test_cli_exit_code_and_default_model(tmp_path: Path, data: Path) -> None:
    spec = _sst2(data)
    spec["task"] = "nope"
    write_run(tmp_path, spec)
    proc = subprocess.run([sys.executable, "-m", "bert_studio_trainer", "train", "--run-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "nope" in proc.stderr
    out = subprocess.run([sys.executable, "-m", "bert_studio_trainer", "default-model"], capture_output=True, text=True,
                         timeout=60)
    assert Path(out.stdout.strip()) == default_model_path()
    assert (default_model_path() / "model.safetensors").is_file()


def test_pickled_weights_are_refused_unless_trusted(tmp_path: Path, data: Path) -> None:
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text((default_model_path() / "config.json").read_text())
    (folder / "pytorch_model.bin").write_bytes(b"not really a pickle")
    spec = _sst2(data)
    spec["model"]["name_or_path"] = str(folder)
    with pytest.raises(SpecError) as e:
        parse_spec(spec)
    assert e.value.field == "model.name_or_path" and "trust_pickle" in str(e.value)
    spec["model"]["trust_pickle"] = True
    assert parse_spec(spec).model.trust_pickle


def test_pretraining_fields_are_accepted_and_dispatched(data: Path) -> None:
    spec = make_spec("mlm_nsp", data / "wikitext-2" / "valid.txt", mlm_probability=0.2, short_seq_prob=0.1,
                     whole_word_masking=True, nsp=True)
    spec["model"]["from_scratch"] = {"preset": "bert-tiny", "vocab_size": 8000}
    parsed = parse_spec(spec)
    assert parsed.t("mlm_probability") == 0.2 and parsed.model.from_scratch == {"preset": "bert-tiny", "vocab_size": 8000}
    with pytest.raises(SpecError) as e:
        parse_spec({**spec, "task": "sequence_classification"})
    assert e.value.field == "model.from_scratch"
    cls = task_class("mlm_nsp")
    assert cls.__module__ == "bert_studio_trainer.tasks.pretraining"


def test_unknown_task_factory_names_it() -> None:
    with pytest.raises(ValueError, match="summarization"):
        task_class("summarization")
    assert callable(build_task)
