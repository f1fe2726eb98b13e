"""ONNX export: every task on a tiny seeded model, and the default model with a fresh head."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import transformers
from transformers import AutoTokenizer, BertConfig

from bert_studio_trainer.export import POSITIONS_INPUT, TASKS, export_onnx, full_positions
from bert_studio_trainer.models import default_model_path

_CLASSES = {
    "sequence_classification": "BertForSequenceClassification",
    "token_classification": "BertForTokenClassification",
    "question_answering": "BertForQuestionAnswering",
    "mlm": "BertForMaskedLM",
    "mlm_nsp": "BertForPreTraining",
}


def tiny_model(folder: Path, task: str, num_labels: int = 3) -> Path:
    """A seeded 2-layer BERT with the default model's tokenizer, saved as safetensors."""
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=512,
        num_labels=2 if task == "question_answering" else num_labels,
    )
    model = getattr(transformers, _CLASSES[task])(config)
    model.save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(str(default_model_path())).save_pretrained(folder)
    return folder


def _run(path: Path, ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    if POSITIONS_INPUT in {i.name for i in session.get_inputs()}:  # MLM: logits at every position
        feed[POSITIONS_INPUT] = full_positions(ids)
    return session.run(None, feed)


@pytest.mark.parametrize("task", TASKS)
def test_export_each_task(tmp_path: Path, task: str) -> None:
    model_dir = tiny_model(tmp_path / "model", task)
    out = tmp_path / "onnx"
    result = export_onnx(model_dir, out, task)

    names = {Path(f).name for f in result["files"]}
    assert {"model.onnx", "model_attentions.onnx", "model_quantized.onnx", "config.json", "tokenizer.json"} <= names
    assert result["max_abs_diff"] < 1e-4
    assert result["attention_max_abs_diff"] < 1e-5
    assert result["quantized_max_abs_diff"] is not None and result["quantized_max_abs_diff"] < 0.5
    assert json.loads((out / "config.json").read_text())["vocab_size"] == 30522

    # Dynamic axes: a batch and length the export never saw, one row padded.
    ids = np.random.default_rng(0).integers(1000, 29000, size=(3, 37), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[2, 20:] = 0
    outputs = _run(out / "model_attentions.onnx", ids, mask)
    fast = _run(out / "model.onnx", ids, mask)
    attentions = outputs[-1]
    assert attentions.shape == (2, 3, 4, 37, 37)
    np.testing.assert_allclose(attentions.sum(-1), 1.0, atol=1e-5)
    assert attentions[:, 2, :, :, 20:].max() < 1e-6  # padding gets no attention
    for a, b in zip(fast, outputs[:-1], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    if task == "mlm":
        assert fast[0].shape == (3, 37, 30522)  # full vocabulary at every position

    # The pre-optimised CPU graphs give the same numbers on shapes the export never saw.
    assert result["cpu_max_abs_diff"] < 1e-4
    assert {"model_cpu.onnx", "model_cpu.onnx.data", "model_quantized_cpu.onnx", "model_quantized_cpu.onnx.data"} <= names
    for a, b in zip(_run(out / "model_cpu.onnx", ids, mask), fast, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    for a, b in zip(_run(out / "model_quantized_cpu.onnx", ids, mask), _run(out / "model_quantized.onnx", ids, mask), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    # The MLM decoder shares the word embeddings instead of carrying a transposed copy.
    shapes = [list(i.dims) for i in onnx.load(str(out / "model.onnx")).graph.initializer]
    assert result["tied_weights"] == (1 if task in ("mlm", "mlm_nsp") else 0)
    assert [32, 30522] not in shapes and shapes.count([30522, 32]) == 1
    if task == "question_answering":
        assert [o.name for o in ort.InferenceSession(str(out / "model.onnx")).get_outputs()] == ["start_logits", "end_logits"]


def test_export_without_quantization(tmp_path: Path) -> None:
    result = export_onnx(tiny_model(tmp_path / "m", "token_classification", 5), tmp_path / "o", "token_classification", quantize=False)
    assert result["quantized_max_abs_diff"] is None
    assert not (tmp_path / "o" / "model_quantized.onnx").exists()
    assert (tmp_path / "o" / "model_cpu.onnx").exists() and not (tmp_path / "o" / "model_quantized_cpu.onnx").exists()


def test_reexport_without_cpu_graphs_removes_stale_ones(tmp_path: Path) -> None:
    model_dir = tiny_model(tmp_path / "m", "sequence_classification")
    export_onnx(model_dir, tmp_path / "o", "sequence_classification", quantize=False)
    assert (tmp_path / "o" / "model_cpu.onnx.data").exists()
    result = export_onnx(model_dir, tmp_path / "o", "sequence_classification", quantize=False, cpu_graphs=False)
    assert result["cpu_max_abs_diff"] is None
    assert not (tmp_path / "o" / "model_cpu.onnx").exists() and not (tmp_path / "o" / "model_cpu.onnx.data").exists()


def test_unknown_task_names_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="summarization"):
        export_onnx(tmp_path, tmp_path / "o", "summarization")


def test_default_model_with_fresh_classification_head(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(default_model_path()), num_labels=2)
    model.save_pretrained(tmp_path / "model", safe_serialization=True)
    AutoTokenizer.from_pretrained(str(default_model_path())).save_pretrained(tmp_path / "model")
    result = export_onnx(tmp_path / "model", tmp_path / "onnx", "sequence_classification")
    assert result["max_abs_diff"] < 1e-4
    assert result["attention_max_abs_diff"] < 1e-4
    assert result["quantized_max_abs_diff"] < 0.5
    session = ort.InferenceSession(str(tmp_path / "onnx" / "model_attentions.onnx"))
    assert session.get_outputs()[-1].name == "attentions"
