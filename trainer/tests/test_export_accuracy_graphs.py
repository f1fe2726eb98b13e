"""onnx_accuracy scores the graphs it is given: by default the portable model.onnx and
model_quantized.onnx (export.json), with CPU_ACCURACY_GRAPHS the fused _cpu files the extension's
CPU engine serves (bench/int8_accuracy.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_spec
from test_export import tiny_model
from transformers import AutoTokenizer

from bert_studio_trainer.export import CPU_ACCURACY_GRAPHS, export_onnx, onnx_accuracy
from bert_studio_trainer.spec import parse_spec
from bert_studio_trainer.tasks import build_task


def test_onnx_accuracy_scores_the_cpu_graphs_when_asked(tmp_path: Path, data: Path) -> None:
    valid = data / "conll2003" / "valid.txt"
    task = build_task(parse_spec(make_spec("token_classification", valid, valid)))
    examples = task.load_examples(valid, "validation")[:40]
    task.fit_labels(task.load_examples(valid, "train"))
    model_dir = tiny_model(tmp_path / "model", "token_classification", num_labels=len(task.labels))
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    onnx_dir = tmp_path / "onnx"
    export_onnx(model_dir, onnx_dir, "token_classification", quantize=True, cpu_graphs=True)
    portable = onnx_accuracy(onnx_dir, task, examples, tokenizer, "f1")
    cpu = onnx_accuracy(onnx_dir, task, examples, tokenizer, "f1", graphs=CPU_ACCURACY_GRAPHS)
    assert cpu["examples"] == portable["examples"] == 40
    assert cpu["fp32"] is not None and cpu["int8"] is not None
    # The fused fp32 graph equals model.onnx within the parity tolerance: one example's worth at most apart.
    assert cpu["fp32"] == pytest.approx(portable["fp32"], abs=1 / 40)
    # Without the portable files the default scores nothing and the CPU graphs still give their figures.
    (onnx_dir / "model.onnx").unlink()
    (onnx_dir / "model_quantized.onnx").unlink()
    assert onnx_accuracy(onnx_dir, task, examples, tokenizer, "f1")["fp32"] is None
    assert onnx_accuracy(onnx_dir, task, examples, tokenizer, "f1", graphs=CPU_ACCURACY_GRAPHS) == cpu
