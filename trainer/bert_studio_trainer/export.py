"""ONNX export of a trained model folder, checked against PyTorch.

Layout written into ``out_dir`` (a run's ``onnx/``), flat so the folder loads on its own::

    model.onnx              logits (start_logits/end_logits for QA), SDPA attention
    model_attentions.onnx   the same outputs plus ``attentions`` [layers, batch, heads, seq, seq] (eager)
    model_quantized.onnx    model.onnx with int8 dynamic quantization
    config.json, tokenizer.json, tokenizer_config.json, vocab.txt, special_tokens_map.json

The extension reads the files with onnxruntime directly; @huggingface/transformers loads the same
folder with ``from_pretrained(folder, { subfolder: '' })`` (``dtype: 'q8'`` picks the quantized file).
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
# Opset 17 has LayerNormalization as one op; onnxruntime-node 1.2x/1.3x runs it everywhere.
OPSET = 17
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "added_tokens.json",
)
# Sentences for the parity check: padding, a sentence pair, accents and an emoji exercise the graph.
PARITY_TEXTS = [
    ("the film is a charming and often affecting journey .", None),
    ("unflinchingly bleak and desperate", None),
    ("Where was the café opened?", "The café 🙂 opened in Zürich in 1999, near the lake."),
    ("it 's a [MASK] movie , funny and moving .", None),
]


@dataclass(frozen=True)
class _TaskSpec:
    auto_class: str  # name in transformers
    outputs: tuple[str, ...]  # ONNX output names, in the order the wrapper returns them
    sources: tuple[str, ...]  # attribute of the Hugging Face output for each
    per_token: tuple[bool, ...]  # whether the output has a sequence axis


_TASKS: dict[str, _TaskSpec] = {
    "sequence_classification": _TaskSpec("AutoModelForSequenceClassification", ("logits",), ("logits",), (False,)),
    "token_classification": _TaskSpec("AutoModelForTokenClassification", ("logits",), ("logits",), (True,)),
    "question_answering": _TaskSpec(
        "AutoModelForQuestionAnswering", ("start_logits", "end_logits"), ("start_logits", "end_logits"), (True, True)
    ),
    "mlm": _TaskSpec("AutoModelForMaskedLM", ("logits",), ("logits",), (True,)),
    "mlm_nsp": _TaskSpec(
        "AutoModelForPreTraining",
        ("logits", "seq_relationship_logits"),
        ("prediction_logits", "seq_relationship_logits"),
        (True, False),
    ),
}
TASKS = tuple(_TASKS)


class _OnnxWrapper(torch.nn.Module):
    """Positional inputs, tuple outputs; builds the additive 4-D mask itself.

    transformers returns an already-4-D mask as is, so the traced graph has no data-dependent
    branch (its mask helpers skip the mask when a traced example has no padding).
    """

    def __init__(self, model: torch.nn.Module, sources: tuple[str, ...], attentions: bool) -> None:
        super().__init__()
        self.model = model
        self.sources = sources
        self.attentions = attentions

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
        mask = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        out = self.model(
            input_ids=input_ids,
            attention_mask=mask,
            token_type_ids=token_type_ids,
            output_attentions=self.attentions,
            return_dict=True,
        )
        results = tuple(getattr(out, s) for s in self.sources)
        if self.attentions:
            results = (*results, torch.stack(out.attentions))
        return results


def _load(spec: _TaskSpec, model_dir: Path, attn: str) -> torch.nn.Module:
    import transformers

    cls = getattr(transformers, spec.auto_class)
    # Our own runs write safetensors; never unpickle here.
    model = cls.from_pretrained(str(model_dir), attn_implementation=attn, use_safetensors=True)
    return model.eval()


def _export(model: torch.nn.Module, spec: _TaskSpec, sample: dict[str, torch.Tensor], path: Path, attentions: bool) -> None:
    names = list(spec.outputs) + (["attentions"] if attentions else [])
    axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: "sequence"} for n in INPUT_NAMES}
    for name, per_token in zip(spec.outputs, spec.per_token, strict=True):
        axes[name] = {0: "batch", 1: "sequence"} if per_token else {0: "batch"}
    if attentions:
        axes["attentions"] = {1: "batch", 3: "sequence", 4: "sequence"}
    wrapper = _OnnxWrapper(model, spec.sources, attentions).eval()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter warns that it is deprecated and about traced Python booleans
        # (none of which decide anything once the mask is 4-D); the new exporter needs onnxscript.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            tuple(sample[n] for n in INPUT_NAMES),
            str(path),
            input_names=INPUT_NAMES,
            output_names=names,
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    model.eval()  # the TorchScript exporter leaves the module in training mode (dropout on)


def _encode(tokenizer: Any, pairs: bool) -> dict[str, torch.Tensor]:
    firsts = [a for a, _ in PARITY_TEXTS]
    seconds = [b or a for a, b in PARITY_TEXTS] if pairs else None
    enc = tokenizer(firsts, seconds, padding=True, truncation=True, max_length=128, return_tensors="pt")
    if "token_type_ids" not in enc:
        enc["token_type_ids"] = torch.zeros_like(enc["input_ids"])
    return {n: enc[n].to(torch.int64) for n in INPUT_NAMES}


def _max_diff(session_path: Path, feed: dict[str, torch.Tensor], expected: list[np.ndarray]) -> list[float]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(session_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {k: v.numpy() for k, v in feed.items()})
    return [float(np.abs(g - e).max()) for g, e in zip(got, expected, strict=True)]


def _copy_support_files(model_dir: Path, out_dir: Path, tokenizer: Any) -> list[Path]:
    written = []
    for name in ("config.json", *TOKENIZER_FILES):
        src = model_dir / name
        if src.is_file():
            shutil.copy2(src, out_dir / name)
            written.append(out_dir / name)
    if not (out_dir / "tokenizer.json").is_file() and getattr(tokenizer, "is_fast", False):
        # A folder with only vocab.txt: JavaScript tokenizers need tokenizer.json.
        tokenizer.backend_tokenizer.save(str(out_dir / "tokenizer.json"))
        written.append(out_dir / "tokenizer.json")
    return written


def export_onnx(model_dir: Path, out_dir: Path, task: str, quantize: bool = True) -> dict[str, Any]:
    """Export model_dir (a Hugging Face folder) for ``task`` into out_dir; see the module docstring.

    Returns {"files": [...], "max_abs_diff", "attention_max_abs_diff", "quantized_max_abs_diff"}
    (the last is None without ``quantize``), each against PyTorch on the same padded batch.
    """
    from transformers import AutoTokenizer

    if task not in _TASKS:
        raise ValueError(f"Unknown task {task!r} for ONNX export; expected one of {', '.join(TASKS)}.")
    spec = _TASKS[task]
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if not (model_dir / "config.json").is_file():
        raise ValueError(f"Not a Hugging Face model folder (no config.json): {model_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    feed = _encode(tokenizer, pairs=task in ("question_answering", "mlm_nsp"))

    fast = _load(spec, model_dir, "sdpa")
    model_path = out_dir / "model.onnx"
    _export(fast, spec, feed, model_path, attentions=False)
    with torch.no_grad():
        expected = [t.numpy() for t in _OnnxWrapper(fast, spec.sources, False)(**feed)]
    max_abs_diff = max(_max_diff(model_path, feed, expected))
    del fast

    eager = _load(spec, model_dir, "eager")
    attn_path = out_dir / "model_attentions.onnx"
    _export(eager, spec, feed, attn_path, attentions=True)
    with torch.no_grad():
        expected_attn = [t.numpy() for t in _OnnxWrapper(eager, spec.sources, True)(**feed)]
    attn_diffs = _max_diff(attn_path, feed, expected_attn)
    max_abs_diff = max(max_abs_diff, *attn_diffs[:-1])
    del eager

    files = [model_path, attn_path]
    quantized_diff: float | None = None
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quant_path = out_dir / "model_quantized.onnx"
        quantize_dynamic(str(model_path), str(quant_path), weight_type=QuantType.QInt8)
        quantized_diff = max(_max_diff(quant_path, feed, expected))
        files.append(quant_path)
    files += _copy_support_files(model_dir, out_dir, tokenizer)
    return {
        "files": [str(f) for f in files],
        "max_abs_diff": max_abs_diff,
        "attention_max_abs_diff": attn_diffs[-1],
        "quantized_max_abs_diff": quantized_diff,
    }
