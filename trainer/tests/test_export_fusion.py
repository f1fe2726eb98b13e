"""The fused graph (export.py: onnxruntime's transformer optimizer) behind model_cpu.onnx and
model_quantized.onnx: for every supported architecture it either fuses attention and gives PyTorch's
outputs on a padded batch the export never saw, or falls back to the unfused graph with the reason
logged; a fused graph that disagrees with PyTorch, or an optimizer that fails, is never used."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import onnxruntime.transformers.optimizer as ort_optimizer
import pytest
import torch
import transformers
from onnx import numpy_helper
from test_export import tiny_model
from test_families import ARCHS, TEXTS, checkpoints  # noqa: F401 - checkpoints is a fixture

from bert_studio_trainer.export import PARITY_TOLERANCE, POSITIONS_INPUT, export_onnx, full_positions
from bert_studio_trainer.families import load_tokenizer

# Architectures whose attention onnxruntime's optimizer fuses (absolute positions, BERT-style
# layers); DeBERTa-v3 (relative attention) and ModernBERT (rotary) keep the unfused graph.
FUSED = {"bert-uncased", "bert-cased", "roberta", "xlm-roberta", "distilbert", "electra"}


def _ops(path: Path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node}


def _run(path: Path, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: feed[i.name] for i in session.get_inputs()})


@pytest.mark.parametrize("arch", ARCHS)
def test_every_family_fuses_or_falls_back_and_matches_pytorch(tmp_path: Path, checkpoints: Path, arch: str,  # noqa: F811
                                                              caplog: pytest.LogCaptureFixture) -> None:
    torch.manual_seed(0)
    model_dir = tmp_path / "model"
    model = transformers.AutoModelForTokenClassification.from_pretrained(str(checkpoints / arch / "checkpoint"), num_labels=5)
    model.save_pretrained(model_dir)
    transformers.AutoTokenizer.from_pretrained(str(checkpoints / arch / "checkpoint")).save_pretrained(model_dir)
    out = tmp_path / "onnx"
    with caplog.at_level(logging.INFO, logger="bert_studio_trainer.export"):
        result = export_onnx(model_dir, out, "token_classification")

    fusion = result["fusion"]
    assert ("fused" in fusion) == (arch in FUSED), fusion
    if arch in FUSED:
        assert fusion["fused"]["Attention"] >= 1 and fusion["max_abs_diff"] <= PARITY_TOLERANCE
        assert "Attention" in _ops(out / "model_cpu.onnx") and "QAttention" in _ops(out / "model_quantized.onnx")
        assert any("fused graph (Attention" in r.getMessage() or "fused graph (EmbedLayerNormalization" in r.getMessage()
                   for r in caplog.records)
    else:
        assert fusion["reason"] and "Attention" not in _ops(out / "model_cpu.onnx")
        assert any(f"no fused graph, the unfused one is used ({fusion['reason']})" in r.getMessage() for r in caplog.records)
    assert not (out / ".model_fused.onnx").exists()
    assert "Attention" not in _ops(out / "model.onnx")  # the portable graph stays unfused

    # A padded batch longer than the export's parity batch.
    enc = load_tokenizer(out)(TEXTS, padding=True, return_tensors="np")
    feed = {k: v.astype(np.int64) for k, v in enc.items()}
    with torch.no_grad():
        expected = model.eval()(**{k: torch.from_numpy(v) for k, v in feed.items()}).logits.numpy()
    [fp32] = _run(out / "model_cpu.onnx", feed)
    assert float(np.abs(fp32 - expected).max()) <= PARITY_TOLERANCE
    [int8] = _run(out / "model_quantized_cpu.onnx", feed)
    [int8_plain] = _run(out / "model_quantized.onnx", feed)
    np.testing.assert_allclose(int8, int8_plain, atol=1e-4)
    real = feed["attention_mask"].astype(bool)
    # int8 stays near fp32 on the real tokens (quantization noise, not a different graph).
    assert float(np.abs(int8 - expected)[real].max()) < 0.1 * max(1.0, float(np.abs(expected).max()))


def test_fused_mlm_graph_keeps_its_positions_and_tied_decoder(tmp_path: Path) -> None:
    model_dir = tiny_model(tmp_path / "model", "mlm")
    out = tmp_path / "onnx"
    result = export_onnx(model_dir, out, "mlm")
    assert "fused" in result["fusion"] and result["mask_positions"] is True and result["tied_weights"] == 1
    cpu = onnx.load(str(out / "model_cpu.onnx"))
    assert "Attention" in {n.op_type for n in cpu.graph.node}
    assert [i.name for i in cpu.graph.input][-1] == POSITIONS_INPUT
    # The decoder reads the word embeddings the fused EmbedLayerNormalization reads: no transposed copy.
    shapes = [tuple(numpy_helper.to_array(i).shape) for i in cpu.graph.initializer]
    assert (32, 30522) not in shapes and (30522, 32) in shapes

    ids = np.random.default_rng(2).integers(1000, 29000, size=(2, 29), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 17:] = 0
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    positions = np.array([[3, 28], [0, 16]], dtype=np.int64)
    [full] = _run(out / "model.onnx", {**feed, POSITIONS_INPUT: full_positions(ids)})
    [at] = _run(out / "model_cpu.onnx", {**feed, POSITIONS_INPUT: positions})
    np.testing.assert_allclose(at, np.take_along_axis(full, positions[:, :, None], axis=1), atol=1e-4)


def _skewed(real: object) -> object:
    """optimize_model whose fused graph has its first Attention's bias skewed (0 to 1 across Q, K and
    V; V's skew reaches the layer's output, which LayerNorm does not cancel): a real graph with wrong
    numbers, as a faulty optimizer would write."""

    def optimize(*args: object, **kwargs: object) -> object:
        optimized = real(*args, **kwargs)  # type: ignore[operator]
        bias = next(n.input[2] for n in optimized.model.graph.node if n.op_type == "Attention")
        init = next(i for i in optimized.model.graph.initializer if i.name == bias)
        array = numpy_helper.to_array(init)
        init.CopyFrom(numpy_helper.from_array(array + np.linspace(0, 1, array.shape[-1], dtype=np.float32), init.name))
        return optimized

    return optimize


def _failing(*_args: object, **_kwargs: object) -> object:
    raise RuntimeError("the optimizer gave up")


@pytest.mark.parametrize("fault", ["differs", "fails", "not asked for"])
def test_a_fused_graph_that_is_wrong_or_fails_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture, fault: str) -> None:
    model_dir = tiny_model(tmp_path / "model", "token_classification")
    if fault != "not asked for":
        monkeypatch.setattr(ort_optimizer, "optimize_model", _skewed(ort_optimizer.optimize_model) if fault == "differs" else _failing)
    out = tmp_path / "onnx"
    with caplog.at_level(logging.INFO, logger="bert_studio_trainer.export"):
        result = export_onnx(model_dir, out, "token_classification", fuse=fault != "not asked for")
    reason = result["fusion"]["reason"]
    if fault == "differs":
        assert reason.startswith("the fused graph differs from PyTorch by") and f"tolerance {PARITY_TOLERANCE:g}" in reason
    elif fault == "fails":
        assert reason == "fusing failed: RuntimeError: the optimizer gave up"
    else:  # fuse=False (the benchmark's unfused export): nothing tried, nothing logged
        assert reason == "not asked for" and not any(r.name == "bert_studio_trainer.export" for r in caplog.records)
    if fault != "not asked for":
        assert any(reason in r.getMessage() for r in caplog.records)
    # The export goes on with the unfused graph, within the tolerance.
    assert "Attention" not in _ops(out / "model_cpu.onnx") and "QAttention" not in _ops(out / "model_quantized.onnx")
    assert result["cpu_max_abs_diff"] <= PARITY_TOLERANCE and not (out / ".model_fused.onnx").exists()
