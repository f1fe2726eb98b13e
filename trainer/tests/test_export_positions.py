"""The MLM graphs take the positions to predict (``mask_positions``): their logits equal the
full-logits graph's (model_attentions.onnx, and PyTorch) at those positions, on a batch and length
the export never saw; a model whose head does not work per position keeps the full graph, and so do
the metrics of onnx_accuracy on both kinds of graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
import transformers
from test_export import tiny_model

from bert_studio_trainer import export
from bert_studio_trainer.export import POSITIONS_INPUT, export_onnx, full_positions

IDS = np.random.default_rng(1).integers(1000, 29000, size=(3, 37), dtype=np.int64)
MASK = np.ones_like(IDS)
MASK[2, 20:] = 0
# Ragged choices per row, repeats and the last (padding) position included.
POSITIONS = np.array([[1, 5, 36], [0, 2, 2], [19, 4, 36]], dtype=np.int64)


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _feed(session: ort.InferenceSession, positions: np.ndarray | None) -> dict[str, np.ndarray]:
    feed = {"input_ids": IDS, "attention_mask": MASK, "token_type_ids": np.zeros_like(IDS)}
    names = {i.name for i in session.get_inputs()}
    if positions is not None:
        feed[POSITIONS_INPUT] = positions
    return {k: v for k, v in feed.items() if k in names}


def _gather(full: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return np.take_along_axis(full, positions[:, :, None], axis=1)


@pytest.mark.parametrize(("task", "auto"), [("mlm", "AutoModelForMaskedLM"), ("mlm_nsp", "AutoModelForPreTraining")])
def test_logits_at_positions_equal_the_full_graph(tmp_path: Path, task: str, auto: str) -> None:
    model_dir = tiny_model(tmp_path / "model", task)
    out = tmp_path / "onnx"
    result = export_onnx(model_dir, out, task)
    assert result["mask_positions"] is True and result["max_abs_diff"] < 1e-4

    main = _session(out / "model.onnx")
    assert [i.name for i in main.get_inputs()][-1] == POSITIONS_INPUT
    full = _session(out / "model_attentions.onnx")  # the full-logits graph (the attentions come last)
    assert POSITIONS_INPUT not in {i.name for i in full.get_inputs()}
    everything = full.run(None, _feed(full, None))
    at = main.run(None, _feed(main, POSITIONS))
    assert at[0].shape == (3, 3, 30522)  # the vocabulary only at the 3 positions asked for
    np.testing.assert_allclose(at[0], _gather(everything[0], POSITIONS), atol=1e-4)
    with torch.no_grad():
        model = getattr(transformers, auto).from_pretrained(str(model_dir)).eval()
        torch_out = model(**{k: torch.from_numpy(v) for k, v in _feed(full, None).items()})
    logits = (torch_out.prediction_logits if task == "mlm_nsp" else torch_out.logits).numpy()
    np.testing.assert_allclose(at[0], _gather(logits, POSITIONS), atol=1e-4)
    if task == "mlm_nsp":  # the NSP head reads the pooled [CLS], untouched by the positions
        np.testing.assert_allclose(at[1], everything[1], atol=1e-5)

    # Every position gives the full logits; the pre-optimised and int8 graphs take the input too.
    np.testing.assert_allclose(main.run(None, _feed(main, full_positions(IDS)))[0], everything[0], atol=1e-4)
    cpu = _session(out / "model_cpu.onnx")
    np.testing.assert_allclose(cpu.run(None, _feed(cpu, POSITIONS))[0], at[0], atol=1e-4)
    # int8: dynamic quantization scales activations per tensor, so the decoder's int8 input depends
    # on which rows are in it; the logits stay near fp32 (test_export's bound for the int8 graphs).
    q, q_cpu = _session(out / "model_quantized.onnx"), _session(out / "model_quantized_cpu.onnx")
    q_at = q.run(None, _feed(q, POSITIONS))[0]
    assert q_at.shape == at[0].shape and np.abs(q_at - at[0]).max() < 0.5
    np.testing.assert_allclose(q_cpu.run(None, _feed(q_cpu, POSITIONS))[0], q_at, atol=1e-4)


def test_a_head_that_does_not_work_per_position_keeps_the_full_graph(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """When the gathered logits differ from the full ones, the export writes the graph without the
    input, as older exports are (and as the host still reads them)."""
    model_dir = tiny_model(tmp_path / "model", "mlm")
    calls = []
    real = export._gathers_positions

    def differs(*args: object) -> bool:
        calls.append(real(*args))  # the real check passes on BERT...
        return False  # ...this head is taken not to

    monkeypatch.setattr(export, "_gathers_positions", differs)
    result = export_onnx(model_dir, tmp_path / "onnx", "mlm", quantize=False, cpu_graphs=False)
    assert calls == [True] and result["mask_positions"] is False
    main = _session(tmp_path / "onnx" / "model.onnx")
    assert POSITIONS_INPUT not in {i.name for i in main.get_inputs()}
    assert main.run(None, _feed(main, None))[0].shape == (3, 37, 30522)


def test_a_head_that_mixes_positions_is_detected(tmp_path: Path) -> None:
    """_gathers_positions compares against the full logits: a head that reads its neighbours (here
    a running sum over the sequence added to the hidden states) gives other logits, and is refused."""
    model_dir = tiny_model(tmp_path / "model", "mlm")
    model = transformers.AutoModelForMaskedLM.from_pretrained(str(model_dir)).eval()
    spec = export._TASKS["mlm"]
    feed = {"input_ids": torch.from_numpy(IDS), "attention_mask": torch.from_numpy(MASK),
            "token_type_ids": torch.zeros(3, 37, dtype=torch.int64), POSITIONS_INPUT: torch.from_numpy(POSITIONS)}
    assert export._gathers_positions(model, spec, feed, True)
    transform = model.cls.predictions.transform
    transform.register_forward_hook(lambda _m, _i, out: out + out.cumsum(1))
    assert not export._gathers_positions(model, spec, feed, True)


def test_onnx_accuracy_reads_both_kinds_of_graph(tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The MLM metrics at export are the same from a positions graph as from a full-logits one."""
    from conftest import make_spec

    from bert_studio_trainer.spec import parse_spec
    from bert_studio_trainer.tasks import build_task

    model_dir = tiny_model(tmp_path / "model", "mlm")
    spec = make_spec("mlm", data / "wikitext-2" / "valid.txt", data / "wikitext-2" / "test.txt", max_seq_length=32)
    spec["model"]["name_or_path"] = str(model_dir)
    task = build_task(parse_spec(spec))
    tokenizer = task.build_tokenizer(task.spec.model)
    examples = task.load_examples(data / "wikitext-2" / "test.txt", "validation")[:16]
    task.build_train_features(examples, tokenizer)  # as the run does before its export
    new = export_onnx(model_dir, tmp_path / "new", "mlm", cpu_graphs=False)
    monkeypatch.setattr(export, "_gathers_positions", lambda *a: False)
    old = export_onnx(model_dir, tmp_path / "old", "mlm", cpu_graphs=False)
    assert new["mask_positions"] and not old["mask_positions"]
    metric = task.default_metric
    a = export.onnx_accuracy(tmp_path / "new", task, examples, tokenizer, metric, limit=16)
    b = export.onnx_accuracy(tmp_path / "old", task, examples, tokenizer, metric, limit=16)
    assert a["fp32"] is not None and a["int8"] is not None
    assert a["fp32"] == pytest.approx(b["fp32"], rel=1e-5) and a["int8"] == pytest.approx(b["int8"], rel=1e-5)
