"""Export checks: a graph that disagrees with PyTorch fails the export clearly (the trained model
stays), the fp32 and int8 accuracy is measured on the validation split, and a model pretrained from
scratch has only the positions it trained, with the trained length recorded in its config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from conftest import make_spec, read_events, read_status, subset_spec, write_run
from onnx import numpy_helper
from test_export import tiny_model

from bert_studio_trainer import export as export_module
from bert_studio_trainer.engine.events import EventLog
from bert_studio_trainer.export import PARITY_TOLERANCE, ExportParityError, export_onnx
from bert_studio_trainer.spec import parse_spec
from bert_studio_trainer.train import _export, train


def break_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every exported graph gets its word embeddings skewed (0 to 1 across the hidden size, which
    LayerNorm does not cancel) before the parity check: a real graph with wrong numbers, as a faulty
    exporter or optimiser would write."""
    original = export_module._tie_transposed_weights

    def broken(path: Path) -> int:
        tied = original(path)
        model = onnx.load(str(path))
        for init in model.graph.initializer:
            if init.name.endswith("word_embeddings.weight"):
                weights = numpy_helper.to_array(init)
                skew = np.linspace(0, 1, weights.shape[-1], dtype=np.float32)
                init.CopyFrom(numpy_helper.from_array(weights + skew, init.name))
        onnx.save(model, str(path))
        return tied

    monkeypatch.setattr(export_module, "_tie_transposed_weights", broken)


def test_a_broken_graph_fails_the_export_naming_graph_difference_and_tolerance(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir = tiny_model(tmp_path / "model", "sequence_classification")
    healthy = export_onnx(model_dir, tmp_path / "ok", "sequence_classification", quantize=False, cpu_graphs=False)
    assert healthy["max_abs_diff"] <= PARITY_TOLERANCE and healthy["tolerance"] == PARITY_TOLERANCE
    break_graph(monkeypatch)
    with pytest.raises(ExportParityError) as err:
        export_onnx(model_dir, tmp_path / "onnx", "sequence_classification", quantize=False, cpu_graphs=False)
    e = err.value
    assert e.graph == "onnx/model.onnx" and e.diff > PARITY_TOLERANCE and e.tolerance == PARITY_TOLERANCE
    message = str(e)
    assert "onnx/model.onnx" in message and f"{e.diff:.3g}" in message and f"{PARITY_TOLERANCE:g}" in message
    assert "model/ is saved" in message and "onnx-failed" in message
    assert not (tmp_path / "onnx").exists() and (tmp_path / "onnx-failed" / "model.onnx").is_file()
    assert (model_dir / "model.safetensors").is_file()
    # A tolerance override holds the healthy graph to it, and fails it when it is tighter than its difference.
    with pytest.raises(ExportParityError):
        monkeypatch.undo()
        export_onnx(model_dir, tmp_path / "strict", "sequence_classification", quantize=False, cpu_graphs=False,
                    tolerance=healthy["max_abs_diff"] / 2 if healthy["max_abs_diff"] > 0 else -1.0)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    """A short SST-2 fine-tuning of the default model with the ONNX export on (fp32 and int8)."""
    run = tmp_path_factory.mktemp("export-run")
    spec = subset_spec("sequence_classification", data / "sst2" / "train.tsv", data / "sst2" / "dev.tsv", 64, 120,
                       max_steps=4, per_device_train_batch_size=16, max_seq_length=64, eval_steps=2, save_steps=4,
                       logging_steps=2, learning_rate=5e-5)
    spec["export"] = {"onnx": True, "quantize": True}
    assert train(write_run(run, spec)) == 0
    return run


def test_export_measures_fp32_and_int8_accuracy_on_validation(trained_run: Path) -> None:
    [event] = read_events(trained_run, "export")
    acc = event["accuracy"]
    assert acc["metric"] == "accuracy" and acc["examples"] == 120
    assert 0.0 <= acc["fp32"] <= 1.0 and 0.0 <= acc["int8"] <= 1.0
    # model/ is the best checkpoint: onnxruntime's fp32 accuracy is the run's best eval accuracy
    # (one borderline example at most may flip between PyTorch and onnxruntime).
    best = read_status(trained_run)["best_metric"]
    assert abs(acc["fp32"] - best["value"]) <= 1 / 120 + 1e-9, (acc, best)
    meta = json.loads((trained_run / "onnx" / "export.json").read_text())
    assert meta["accuracy"] == acc and meta["max_abs_diff"] == event["max_abs_diff"] and "files" not in meta
    config = json.loads((trained_run / "model" / "config.json").read_text())
    assert config["bert_studio_trained_max_length"] == 64
    assert json.loads((trained_run / "onnx" / "config.json").read_text())["bert_studio_trained_max_length"] == 64


def test_parity_failure_in_a_run_is_an_error_event_and_model_stays(trained_run: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    spec = parse_spec(json.loads((trained_run / "spec.json").read_text()))
    run = tmp_path / "run"
    run.mkdir()
    (run / "model").symlink_to(trained_run / "model")
    events = EventLog(run)
    break_graph(monkeypatch)
    assert _export(spec, run, events) is False
    events.close()
    [error] = read_events(run, "error")
    assert error["field"] == "export"
    assert "ONNX export failed its parity check: onnx/model.onnx differs from PyTorch by" in error["message"]
    assert f"tolerance {PARITY_TOLERANCE:g}" in error["message"] and "model/ is saved" in error["message"]
    assert read_events(run, "export") == [] and not (run / "onnx").exists()
    assert (trained_run / "model" / "model.safetensors").is_file()


def test_from_scratch_model_has_only_its_trained_positions(tmp_path: Path, data: Path) -> None:
    spec: dict[str, Any] = make_spec("mlm", data / "wikitext-2" / "valid.txt", data / "wikitext-2" / "test.txt",
                                     max_steps=2, per_device_train_batch_size=8, max_seq_length=36, save_steps=2,
                                     eval_steps=2, logging_steps=1, learning_rate=1e-3, warmup_ratio=0.0)
    spec["model"]["from_scratch"] = {"preset": "tiny", "vocab_size": 1000}
    spec["data"].update(max_train_samples=6, max_eval_samples=2)
    spec["export"] = {"onnx": True, "quantize": True}
    assert train(write_run(tmp_path, spec)) == 0
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    # 36 rounded up to the multiple of 8 batches are padded to; not BERT's 512.
    assert config["max_position_embeddings"] == 40
    assert config["bert_studio_trained_max_length"] == 36 and config["bert_studio_from_scratch"] is True
    [event] = read_events(tmp_path, "export")
    assert event["max_abs_diff"] <= PARITY_TOLERANCE
    assert event["accuracy"]["metric"] == "perplexity" and event["accuracy"]["fp32"] > 1
    final = read_events(tmp_path, "eval")[-1]["metrics"]["perplexity"]
    assert event["accuracy"]["fp32"] == pytest.approx(final, rel=1e-3)


def _torch_batches(model: Any, task: Any) -> Any:
    """The engine's eval forward (PyTorch, CPU) as a RunBatches for task.evaluate."""
    import torch

    def run(features: Any) -> Any:
        with torch.inference_mode():
            for s in range(0, len(features), 16):
                idx = list(range(s, min(s + 16, len(features))))
                batch = task.collate([features[i] for i in idx])
                out = model(**batch)
                yield idx, batch, {k: v.float() for k, v in out.items() if isinstance(v, torch.Tensor)}
    return run


@pytest.mark.parametrize(("task_name", "train_file", "metric"), [
    ("token_classification", "conll2003/valid.txt", "f1"),
    ("question_answering", "squad_v1.1/dev-v1.1.json", "f1"),
])
def test_onnx_accuracy_is_the_metric_pytorch_gives(tmp_path: Path, data: Path, task_name: str, train_file: str,
                                                   metric: str) -> None:
    """onnx_accuracy on real NER and QA data scores model.onnx as the task's own evaluate scores the
    PyTorch model (one example's worth at most apart), and the int8 graph gets a figure too."""
    import transformers
    from transformers import AutoTokenizer

    from bert_studio_trainer.export import onnx_accuracy
    from bert_studio_trainer.tasks import build_task

    spec = parse_spec(make_spec(task_name, data / train_file, data / train_file, max_seq_length=128, doc_stride=64)
                      if task_name == "question_answering" else make_spec(task_name, data / train_file, data / train_file))
    task = build_task(spec)
    examples = task.load_examples(data / train_file, "validation")[:40]
    task.fit_labels(task.load_examples(data / train_file, "train"))
    model_dir = tiny_model(tmp_path / "model", task_name, num_labels=len(getattr(task, "labels", [0, 1])))
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    export_onnx(model_dir, tmp_path / "onnx", task_name, quantize=True, cpu_graphs=False)
    measured = onnx_accuracy(tmp_path / "onnx", task, examples, tokenizer, metric)
    assert measured["metric"] == metric and measured["examples"] == 40 and measured["int8"] is not None
    cls = transformers.AutoModelForTokenClassification if task_name == "token_classification" else \
        transformers.AutoModelForQuestionAnswering
    model = cls.from_pretrained(str(model_dir)).eval()
    features = task.build_eval_features(examples, tokenizer)
    expected = task.evaluate(model, examples, features, _torch_batches(model, task)).metrics[metric]
    assert expected > 0, "a figure of 0 would compare nothing"
    scale = 100.0 if task_name == "question_answering" else 1.0
    assert abs(measured["fp32"] - expected) <= scale / 40 + 1e-9, (measured, expected)
