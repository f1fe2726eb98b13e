"""ONNX export of a trained model folder, checked against PyTorch.

Layout written into ``out_dir`` (a run's ``onnx/``), flat so the folder loads on its own::

    model.onnx              logits (start_logits/end_logits for QA), SDPA attention
    model_attentions.onnx   the same outputs plus ``attentions`` [layers, batch, heads, seq, seq] (eager)
    model_quantized.onnx    int8 dynamic quantization of the fused graph (below), else of model.onnx
    model_cpu.onnx (+ .data)            the fused graph (else model.onnx) pre-optimised for onnxruntime's CPU provider
    model_quantized_cpu.onnx (+ .data)  the same for model_quantized.onnx
    config.json, tokenizer.json, tokenizer_config.json, vocab.txt, special_tokens_map.json

An MLM decoder tied to the word embeddings is exported as ``Gemm(x, embeddings, transB=1)`` on the
embedding initializer itself, not on a transposed copy (a third of a MiniLM MLM file). The ``_cpu``
files are what onnxruntime would build at load time anyway (``extended`` fusions), saved with the
weights in a side file so that loading maps them instead of parsing and copying them: the extension
creates its CPU session from them in a fraction of the time (see bench/inference.md). They are not
portable across providers; the extension uses model.onnx for CUDA and when a ``_cpu`` file is
missing, older than its source or fails to load.

Fused graph: the model is also exported with eager attention and the 2-D mask (the pattern
onnxruntime's transformer optimizer recognises) and run through
``onnxruntime.transformers.optimizer.optimize_model`` (model_type ``bert``, heads and hidden size from
the config, Python fusions only): one com.microsoft ``Attention`` per layer (Q, K and V in one
MatMul, the raw 0/1 mask), ``EmbedLayerNormalization``, ``SkipLayerNormalization``, ``BiasGelu``: about
50 nodes for a 6-layer model instead of 300, so fewer kernel launches and thread-pool hand-offs per
request (int8: ``QAttention``, ``QEmbedLayerNormalization``). It is used for ``model_cpu.onnx`` and
``model_quantized.onnx`` only when the optimizer fused attention and its outputs equal PyTorch's
within the tolerance; otherwise (DeBERTa-v3's relative and ModernBERT's rotary attention, which it
does not know; a failure) the unfused graph is used and the reason is logged and returned as
``fusion`` (RoBERTa and XLM-R get fused attention but keep their own embeddings: their position ids
are not BERT's). model.onnx stays the unfused, portable graph (CUDA, other runtimes). On a 2-core
EPYC the fused graph took about the same CPU time per request as the unfused one (fp32 equal, int8
a few % more); what it saves is synchronisation between the intra-op threads (bench/inference.md).

Inputs: ``input_ids``, ``attention_mask`` and, only for a model with token types (families.py:
BERT, ELECTRA; not RoBERTa, XLM-R, DistilBERT, DeBERTa-v3 or ModernBERT), ``token_type_ids``.
The MLM graphs (``mlm``, ``mlm_nsp``) of model.onnx also take ``mask_positions`` [batch, positions]
(int64, token indices per row): ``logits`` is then [batch, positions, vocab], the vocabulary logits
only there (fill-mask needs one position, not all 128 x 30k). Feed ``full_positions(input_ids)`` for
every position. The export keeps the input only where the gathered logits equal the full graph's at
those positions (checked on the parity batch), else it writes the full-logits graph as before.
model_attentions.onnx keeps full logits. Exports older than this input have no ``mask_positions``.
SDPA attention where the architecture has it (DeBERTa-v2/v3: eager). The attention mask goes into
the model as an additive 4-D mask where that gives the model's own outputs, else as the 2-D mask.

Parity: every fp32 graph's outputs must match PyTorch's on the parity batch within
``PARITY_TOLERANCE`` (max abs difference); otherwise ``ExportParityError`` names the graph, the
difference and the tolerance, and the export folder is moved aside to ``<out_dir>-failed`` so that
nothing loads a graph known to be wrong (the trained model folder is untouched). The int8 graph is
not held to it: its accuracy is measured instead (``onnx_accuracy``) and written to ``export.json``.

The extension reads the files with onnxruntime directly; @huggingface/transformers loads the same
folder with ``from_pretrained(folder, { subfolder: '' })`` (``dtype: 'q8'`` picks the quantized file).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import shutil
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .families import model_facts

log = logging.getLogger("bert_studio_trainer.export")
INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
# The MLM graphs' extra input: the token positions whose vocabulary logits to compute.
POSITIONS_INPUT = "mask_positions"
# Largest |ONNX - PyTorch| allowed on any output of an fp32 graph (logits, attention probabilities).
# Healthy exports are at 1e-6..1e-4 (fp32 kernels summing in another order); a broken graph is at
# the scale of the logits.
PARITY_TOLERANCE = 1e-3
# Validation examples the fp32 and int8 graphs are scored on at export (bounds the time it takes).
ACCURACY_EXAMPLES = 500
# The graphs onnx_accuracy scores, as (result key, file): at export the portable ones; the extension's
# CPU engine serves the _cpu files (bench/int8_accuracy.py scores those).
ACCURACY_GRAPHS = (("fp32", "model.onnx"), ("int8", "model_quantized.onnx"))
CPU_ACCURACY_GRAPHS = (("fp32", "model_cpu.onnx"), ("int8", "model_quantized_cpu.onnx"))
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


class ExportParityError(RuntimeError):
    """An exported graph's outputs differ from PyTorch's by more than the tolerance."""

    def __init__(self, graph: str, diff: float, tolerance: float, moved_to: Path | None) -> None:
        where = f" It was moved to {moved_to} so that nothing loads it." if moved_to else ""
        super().__init__(
            f"ONNX export failed its parity check: {graph} differs from PyTorch by {diff:.3g} (max abs difference "
            f"of its outputs on the check batch), over the tolerance {tolerance:g}.{where} The trained model in "
            "model/ is saved and loads in PyTorch/transformers. To get an ONNX export, retry with the pinned "
            "torch/onnxruntime versions (trainer/requirements.txt), or report the model and versions."
        )
        self.graph, self.diff, self.tolerance = graph, diff, tolerance


@dataclass(frozen=True)
class _TaskSpec:
    auto_class: str  # name in transformers
    outputs: tuple[str, ...]  # ONNX output names, in the order the wrapper returns them
    sources: tuple[str, ...]  # attribute of the Hugging Face output for each
    per_token: tuple[bool, ...]  # whether the output has a sequence axis
    positions: bool = False  # the first output is per token and can be computed at POSITIONS_INPUT only


_TASKS: dict[str, _TaskSpec] = {
    "sequence_classification": _TaskSpec("AutoModelForSequenceClassification", ("logits",), ("logits",), (False,)),
    "token_classification": _TaskSpec("AutoModelForTokenClassification", ("logits",), ("logits",), (True,)),
    "question_answering": _TaskSpec(
        "AutoModelForQuestionAnswering", ("start_logits", "end_logits"), ("start_logits", "end_logits"), (True, True)
    ),
    "mlm": _TaskSpec("AutoModelForMaskedLM", ("logits",), ("logits",), (True,), positions=True),
    "mlm_nsp": _TaskSpec(
        "AutoModelForPreTraining",
        ("logits", "seq_relationship_logits"),
        ("prediction_logits", "seq_relationship_logits"),
        (True, False),
        positions=True,
    ),
}
TASKS = tuple(_TASKS)


def full_positions(input_ids: np.ndarray) -> np.ndarray:
    """``mask_positions`` for every token of every row: the MLM graph then gives all logits."""
    batch, seq = input_ids.shape
    return np.broadcast_to(np.arange(seq, dtype=np.int64), (batch, seq)).copy()


class _OnnxWrapper(torch.nn.Module):
    """Positional inputs (``input_names``: the model's own, token_type_ids only where it has token
    types, then ``mask_positions`` where given), tuple outputs; builds the additive 4-D mask itself
    when the model takes one.

    With ``mask_positions``, a hook on the encoder (``model.base_model``) keeps only those rows of
    its ``last_hidden_state`` ([batch, positions, hidden]), so the MLM head that follows computes the
    vocabulary logits there alone; the NSP head reads the pooled output, which is left as it is.

    transformers returns an already-4-D mask as is, so the traced graph has no data-dependent
    branch (its mask helpers skip the mask when a traced example has no padding). Architectures
    that read the mask their own way (DeBERTa's 0/1 mask, ModernBERT's sliding window) get the 2-D
    mask (``mask_4d`` False; the parity batch is padded, so the traced graph keeps the masking).
    """

    def __init__(self, model: torch.nn.Module, sources: tuple[str, ...], attentions: bool,
                 input_names: Sequence[str] = INPUT_NAMES, mask_4d: bool = True) -> None:
        super().__init__()
        self.model = model
        self.sources = sources
        self.attentions = attentions
        self.input_names = list(input_names)
        self.mask_4d = mask_4d

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        kwargs = dict(zip(self.input_names, inputs, strict=True))
        positions = kwargs.pop(POSITIONS_INPUT, None)
        if self.mask_4d:
            mask = kwargs["attention_mask"]
            kwargs["attention_mask"] = (1.0 - mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        hook = None
        if positions is not None:
            def gather(_module: torch.nn.Module, _inputs: Any, out: Any) -> Any:
                hidden = out.last_hidden_state
                out.last_hidden_state = hidden.gather(1, positions[:, :, None].expand(-1, -1, hidden.shape[-1]))
                return out

            hook = self.model.base_model.register_forward_hook(gather)
        try:
            out = self.model(**kwargs, output_attentions=self.attentions, return_dict=True)
        finally:
            if hook is not None:
                hook.remove()
        results = tuple(getattr(out, s) for s in self.sources)
        if self.attentions:
            results = (*results, torch.stack(out.attentions))
        return results


def _takes_4d_mask(model: torch.nn.Module, spec: _TaskSpec, feed: dict[str, torch.Tensor], attentions: bool) -> bool:
    """Whether the model gives the same outputs for the additive 4-D mask as for the 2-D one."""
    names = list(feed)
    args = tuple(feed.values())
    with torch.no_grad():
        plain = _OnnxWrapper(model, spec.sources, attentions, names, mask_4d=False)(*args)
        try:
            built = _OnnxWrapper(model, spec.sources, attentions, names, mask_4d=True)(*args)
        except (RuntimeError, ValueError, TypeError, IndexError):
            return False
    return all(a.shape == b.shape and float((a - b).abs().max()) <= 1e-5 for a, b in zip(plain, built, strict=True))


def _parity_positions(input_ids: torch.Tensor, mask_token_id: int | None) -> torch.Tensor:
    """Two positions per parity row: its mask token (else the first token after [CLS]) and its last
    real token, so the check covers a different place in every row."""
    rows = []
    for row in input_ids.tolist():
        mask_at = row.index(mask_token_id) if mask_token_id is not None and mask_token_id in row else 1
        rows.append([mask_at, len(row) - 1])
    return torch.tensor(rows, dtype=torch.int64)


def _gathers_positions(model: torch.nn.Module, spec: _TaskSpec, feed: dict[str, torch.Tensor], mask_4d: bool) -> bool:
    """Whether the logits computed at ``mask_positions`` only equal the full logits there (the MLM
    head works per position on this architecture)."""
    names, args = list(feed), tuple(feed.values())
    plain = [n for n in names if n != POSITIONS_INPUT]
    positions = feed[POSITIONS_INPUT]
    with torch.no_grad():
        full = _OnnxWrapper(model, spec.sources, False, plain, mask_4d)(*(feed[n] for n in plain))[0]
        try:
            some = _OnnxWrapper(model, spec.sources, False, names, mask_4d)(*args)[0]
        except (RuntimeError, ValueError, TypeError, IndexError, AttributeError):
            return False
    wanted = full.gather(1, positions[:, :, None].expand(-1, -1, full.shape[-1]))
    return some.shape == wanted.shape and float((some - wanted).abs().max()) <= 1e-5


def _load(spec: _TaskSpec, model_dir: Path, attn: str) -> torch.nn.Module:
    import transformers

    cls = getattr(transformers, spec.auto_class)
    # Our own runs write safetensors; never unpickle here. "sdpa" where the architecture has it.
    try:
        model = cls.from_pretrained(str(model_dir), attn_implementation=attn, use_safetensors=True)
    except ValueError:  # this architecture has no SDPA attention (DeBERTa-v2/v3): its default
        model = cls.from_pretrained(str(model_dir), use_safetensors=True)
    return model.eval()


def _export(model: torch.nn.Module, spec: _TaskSpec, sample: dict[str, torch.Tensor], path: Path, attentions: bool,
            mask_4d: bool = True) -> None:
    names = list(spec.outputs) + (["attentions"] if attentions else [])
    inputs = list(sample)
    axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: "sequence"} for n in inputs}
    for name, per_token in zip(spec.outputs, spec.per_token, strict=True):
        axes[name] = {0: "batch", 1: "sequence"} if per_token else {0: "batch"}
    if POSITIONS_INPUT in sample:
        axes[POSITIONS_INPUT] = axes[spec.outputs[0]] = {0: "batch", 1: "positions"}
    if attentions:
        axes["attentions"] = {1: "batch", 3: "sequence", 4: "sequence"}
    wrapper = _OnnxWrapper(model, spec.sources, attentions, inputs, mask_4d).eval()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter warns that it is deprecated and about traced Python booleans
        # (none of which decide anything once the mask is 4-D); the new exporter needs onnxscript.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            tuple(sample.values()),
            str(path),
            input_names=inputs,
            output_names=names,
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    model.eval()  # the TorchScript exporter leaves the module in training mode (dropout on)


def _encode(tokenizer: Any, pairs: bool, max_length: int = 128, input_names: Sequence[str] = INPUT_NAMES) -> dict[str, torch.Tensor]:
    """The parity batch, with exactly ``input_names`` (the model's inputs), in that order."""
    firsts = [a for a, _ in PARITY_TEXTS]
    seconds = [b or a for a, b in PARITY_TEXTS] if pairs else None
    enc = tokenizer(firsts, seconds, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    if "token_type_ids" not in enc:
        enc["token_type_ids"] = torch.zeros_like(enc["input_ids"])
    return {n: enc[n].to(torch.int64) for n in input_names}


def _tie_transposed_weights(path: Path) -> int:
    """Rewrites ``MatMul(x, E^T)``, E^T a constant copy of an embedding ``E`` the graph gathers from,
    as ``Gemm(reshape(x), E, transB=1)`` reshaped back: the same numbers without the copy.

    Returns how many MatMuls were rewritten (the MLM decoder when it is tied: 0 or 1).
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    # The embedding tables the graph reads: Gather's data, or a fused EmbedLayerNormalization's word embedding.
    tables = [n.input[0] for n in graph.node if n.op_type == "Gather"]
    tables += [n.input[2] for n in graph.node if n.op_type == "EmbedLayerNormalization" and len(n.input) > 2]
    gathered = [t for t in tables if t in inits and len(inits[t].dims) == 2]
    arrays: dict[str, np.ndarray] = {}

    def array(name: str) -> np.ndarray:
        if name not in arrays:
            arrays[name] = numpy_helper.to_array(inits[name])
        return arrays[name]

    def tied_to(node: Any) -> str | None:
        if node.op_type != "MatMul" or node.input[1] not in inits or len(inits[node.input[1]].dims) != 2:
            return None
        b = node.input[1]
        for e in gathered:
            if list(inits[e].dims) == list(reversed(inits[b].dims)) and np.array_equal(array(b), array(e).T):
                return e
        return None

    nodes: list[Any] = []
    rewritten = 0
    for node in graph.node:
        emb = tied_to(node)
        if emb is None:
            nodes.append(node)
            continue
        x, y, p = node.input[0], node.output[0], node.name or f"/tied_{rewritten}"
        hidden, vocab = inits[node.input[1]].dims
        flat = helper.make_tensor(f"{p}/flat_shape", onnx.TensorProto.INT64, [2], [-1, hidden])
        width = helper.make_tensor(f"{p}/vocab_size", onnx.TensorProto.INT64, [1], [vocab])
        graph.initializer.extend([flat, width])
        nodes += [
            helper.make_node("Shape", [x], [f"{p}/lead"], name=f"{p}/Shape", start=0, end=-1),
            helper.make_node("Reshape", [x, flat.name], [f"{p}/flat"], name=f"{p}/Flatten"),
            helper.make_node("Gemm", [f"{p}/flat", emb], [f"{p}/gemm"], name=f"{p}/Gemm", transB=1),
            helper.make_node("Concat", [f"{p}/lead", width.name], [f"{p}/out_shape"], name=f"{p}/Concat", axis=0),
            helper.make_node("Reshape", [f"{p}/gemm", f"{p}/out_shape"], [y], name=f"{p}/Unflatten"),
        ]
        graph.initializer.remove(inits[node.input[1]])
        rewritten += 1
    if rewritten:
        del graph.node[:]
        graph.node.extend(nodes)
        onnx.checker.check_model(model)
        onnx.save(model, str(path))
    return rewritten


def _save_cpu_graph(source: Path, target: Path) -> list[Path]:
    """``source`` after onnxruntime's CPU graph optimisations (``extended``: portable across CPUs),
    initializers of 1 KiB and more in ``<target>.data``. Returns the files written."""
    import onnxruntime as ort

    data = target.with_name(target.name + ".data")
    for f in (target, data):
        f.unlink(missing_ok=True)  # onnxruntime appends to an existing data file
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", data.name)
    options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    return [target, data] if data.is_file() else [target]


@contextlib.contextmanager
def _quiet_info() -> Iterator[None]:
    """No INFO records meanwhile: onnxruntime's optimizer and quantizer log a line per fusion or
    tensor on the root logger, which is the run's log."""
    before = logging.root.manager.disable
    logging.disable(max(before, logging.INFO))
    try:
        yield
    finally:
        logging.disable(before)


# Fused ops that make the fused graph worth using: attention is where the node count goes.
_FUSED_ATTENTION = ("Attention", "MultiHeadAttention")


def _fused_graph(model_dir: Path, spec: _TaskSpec, feed: dict[str, torch.Tensor], expected: list[np.ndarray],
                 path: Path, tolerance: float) -> tuple[bool, dict[str, Any]]:
    """Writes the fused graph (module docstring) to ``path``: eager attention and the 2-D mask, then
    onnxruntime's transformer optimizer. Returns (used, facts): used only when attention was fused
    and the graph's outputs on ``feed`` equal ``expected`` within ``tolerance``; facts has ``fused``
    (fused op counts) and ``max_abs_diff``, or ``reason`` (why the unfused graph is used; logged)."""
    from transformers import AutoConfig

    def unfused(reason: str) -> tuple[bool, dict[str, Any]]:
        path.unlink(missing_ok=True)
        log.info("ONNX export of %s: no fused graph, the unfused one is used (%s)", model_dir, reason)
        return False, {"reason": reason}

    try:
        from onnxruntime.transformers.fusion_options import FusionOptions
        from onnxruntime.transformers.optimizer import optimize_model

        config = AutoConfig.from_pretrained(str(model_dir))
        eager = _load(spec, model_dir, "eager")
        _export(eager, spec, feed, path, attentions=False, mask_4d=False)
        del eager
        options = FusionOptions("bert")
        options.use_raw_attention_mask(True)  # the 0/1 mask as given: any padding, not only at the end
        # Python fusions only (opt_level 0): the file stays free of provider-specific rewrites.
        with _quiet_info():
            optimized = optimize_model(str(path), model_type="bert", num_heads=int(config.num_attention_heads),
                                       hidden_size=int(config.hidden_size), opt_level=0, optimization_options=options)
        fused = {k: int(v) for k, v in optimized.get_fused_operator_statistics().items() if v}
        if not any(fused.get(k) for k in _FUSED_ATTENTION):
            return unfused(f"the optimizer fused no attention in this architecture ({config.model_type})")
        optimized.save_model_to_file(str(path))
        diff = max(_max_diff(path, feed, expected))
    except Exception as e:  # noqa: BLE001 - the unfused graph is always there to fall back on
        return unfused(f"fusing failed: {type(e).__name__}: {e}")
    if not diff <= tolerance:
        return unfused(f"the fused graph differs from PyTorch by {diff:.3g}, over the tolerance {tolerance:g}")
    log.info("ONNX export of %s: fused graph (%s), max abs difference from PyTorch %.3g",
             model_dir, ", ".join(f"{k} {v}" for k, v in fused.items()), diff)
    return True, {"fused": fused, "max_abs_diff": diff}


def _session_outputs(session_path: Path, feed: dict[str, torch.Tensor]) -> list[Any]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(session_path), providers=["CPUExecutionProvider"])
    inputs = {i.name for i in session.get_inputs()}
    return list(session.run(None, {k: v.numpy() for k, v in feed.items() if k in inputs}))


def _max_diff(session_path: Path, feed: dict[str, torch.Tensor], expected: list[np.ndarray]) -> list[float]:
    got = _session_outputs(session_path, feed)
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


def _check_parity(graph: Path, diff: float, tolerance: float) -> None:
    if not diff <= tolerance:  # NaN fails too
        out_dir = graph.parent
        failed = out_dir.with_name(out_dir.name + "-failed")
        shutil.rmtree(failed, ignore_errors=True)
        out_dir.rename(failed)
        raise ExportParityError(f"{out_dir.name}/{graph.name}", diff, tolerance, failed)


def export_onnx(model_dir: Path, out_dir: Path, task: str, quantize: bool = True, cpu_graphs: bool = True,
                tolerance: float = PARITY_TOLERANCE, fuse: bool = True) -> dict[str, Any]:
    """Export model_dir (a Hugging Face folder) for ``task`` into out_dir; see the module docstring.
    ``fuse`` False skips the fused graph (the benchmark's comparison).

    Raises ExportParityError (out_dir moved to ``<out_dir>-failed``) when an fp32 graph differs from
    PyTorch by more than ``tolerance``.

    Returns {"files": [...], "max_abs_diff", "attention_max_abs_diff", "quantized_max_abs_diff",
    "cpu_max_abs_diff", "tied_weights"}, each diff against PyTorch on the same padded batch
    (quantized_max_abs_diff is None without ``quantize``, cpu_max_abs_diff None without
    ``cpu_graphs``; it covers model_cpu.onnx, model_quantized_cpu.onnx is checked against the
    quantized graph's own outputs and must match them within 1e-4), and "fusion": {"fused": op
    counts, "max_abs_diff"} when model_cpu/model_quantized come from the fused graph, else {"reason"}.
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
    facts = model_facts(model_dir)
    feed = _encode(tokenizer, pairs=task in ("question_answering", "mlm_nsp"), max_length=min(128, facts.positions),
                   input_names=facts.input_names)
    names = list(feed)

    fast = _load(spec, model_dir, "sdpa")
    mask_4d = _takes_4d_mask(fast, spec, feed, attentions=False)
    main_feed = feed
    if spec.positions:
        with_positions = {**feed, POSITIONS_INPUT: _parity_positions(feed["input_ids"], tokenizer.mask_token_id)}
        if _gathers_positions(fast, spec, with_positions, mask_4d):
            main_feed = with_positions
    main_names = list(main_feed)
    model_path = out_dir / "model.onnx"
    _export(fast, spec, main_feed, model_path, attentions=False, mask_4d=mask_4d)
    with torch.no_grad():
        expected = [t.numpy() for t in _OnnxWrapper(fast, spec.sources, False, main_names, mask_4d)(*main_feed.values())]
    files = [model_path]
    del fast
    # The fused graph (module docstring) is the source of the int8 and CPU graphs where it is sound.
    fused_path = out_dir / ".model_fused.onnx"
    if not fuse or not (quantize or cpu_graphs):
        use_fused, fusion = False, {"reason": "not asked for" if not fuse else "no int8 or CPU graphs asked for"}
    else:
        use_fused, fusion = _fused_graph(model_dir, spec, main_feed, expected, fused_path, tolerance)
    source = fused_path if use_fused else model_path
    quantized_diff: float | None = None
    if quantize:
        # Quantized from the graph before its decoder is tied: quantize_dynamic has no integer Gemm,
        # so the tied decoder below would stay fp32 in the int8 file.
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quant_path = out_dir / "model_quantized.onnx"
        # The fused ops' outputs have no type shape inference can give: they are float. One scale per
        # output channel, not per tensor: on the full CoNLL-2003 validation split per-tensor int8 lost
        # 1.25 entity-F1 points against fp32, per-channel 0.15 (bench/results/int8-accuracy.json).
        with _quiet_info():
            quantize_dynamic(str(source), str(quant_path), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        quantized_diff = max(_max_diff(quant_path, main_feed, expected))
    tied = _tie_transposed_weights(model_path)
    if use_fused:
        _tie_transposed_weights(fused_path)
    max_abs_diff = max(_max_diff(model_path, main_feed, expected))
    _check_parity(model_path, max_abs_diff, tolerance)

    eager = _load(spec, model_dir, "eager")
    mask_4d = _takes_4d_mask(eager, spec, feed, attentions=True)
    attn_path = out_dir / "model_attentions.onnx"
    _export(eager, spec, feed, attn_path, attentions=True, mask_4d=mask_4d)
    with torch.no_grad():
        expected_attn = [t.numpy() for t in _OnnxWrapper(eager, spec.sources, True, names, mask_4d)(*feed.values())]
    _tie_transposed_weights(attn_path)
    attn_diffs = _max_diff(attn_path, feed, expected_attn)
    _check_parity(attn_path, max(attn_diffs), tolerance)
    max_abs_diff = max(max_abs_diff, *attn_diffs[:-1])
    del eager
    files.append(attn_path)
    if quantize:
        files.append(out_dir / "model_quantized.onnx")

    cpu_diff: float | None = None
    for name in ("model_cpu.onnx", "model_cpu.onnx.data", "model_quantized_cpu.onnx", "model_quantized_cpu.onnx.data"):
        (out_dir / name).unlink(missing_ok=True)  # never leave a stale pre-optimised graph beside a new export
    if cpu_graphs:
        files += _save_cpu_graph(source, out_dir / "model_cpu.onnx")
        cpu_diff = max(_max_diff(out_dir / "model_cpu.onnx", main_feed, expected))
        _check_parity(out_dir / "model_cpu.onnx", cpu_diff, tolerance)
        if quantize:
            quant_path = out_dir / "model_quantized.onnx"
            files += _save_cpu_graph(quant_path, out_dir / "model_quantized_cpu.onnx")
            quant_expected = [np.asarray(a) for a in _session_outputs(quant_path, main_feed)]
            quant_cpu_diff = max(_max_diff(out_dir / "model_quantized_cpu.onnx", main_feed, quant_expected))
            if quant_cpu_diff > 1e-4:
                raise RuntimeError(f"model_quantized_cpu.onnx differs from model_quantized.onnx by {quant_cpu_diff:.2e} in {out_dir}.")
    fused_path.unlink(missing_ok=True)
    files += _copy_support_files(model_dir, out_dir, tokenizer)
    return {
        "files": [str(f) for f in files],
        "max_abs_diff": max_abs_diff,
        "attention_max_abs_diff": attn_diffs[-1],
        "quantized_max_abs_diff": quantized_diff,
        "cpu_max_abs_diff": cpu_diff,
        "tied_weights": tied,
        "mask_positions": POSITIONS_INPUT in main_feed,
        "fusion": fusion,
        "tolerance": tolerance,
    }


def _onnx_outputs(task: str, names: list[str], values: list[np.ndarray], batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A graph's outputs as the task's evaluate reads a PyTorch model's: the same names, and the
    losses transformers computes from the labels (cross-entropy; binary for multi-label)."""
    out = {n: torch.from_numpy(np.asarray(v, dtype=np.float32)) for n, v in zip(names, values, strict=True)}
    labels = batch.get("labels")
    if labels is None:
        return out
    logits = out["logits"]
    f = torch.nn.functional
    if task in ("mlm", "mlm_nsp"):
        keep = labels.reshape(-1) != -100
        masked = logits.reshape(-1, logits.shape[-1])[keep]
        out["masked_token_loss"] = f.cross_entropy(masked, labels.reshape(-1)[keep], reduction="none")
        out["masked_predictions"] = masked.argmax(-1)
    elif labels.dtype.is_floating_point:  # multi-label: multi-hot targets
        out["loss"] = f.binary_cross_entropy_with_logits(logits, labels)
    else:
        out["loss"] = f.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
    return out


def onnx_accuracy(onnx_dir: Path, task: Any, examples: Sequence[Any], tokenizer: Any, metric: str,
                  limit: int = ACCURACY_EXAMPLES, batch_size: int = 32,
                  graphs: Sequence[tuple[str, str]] = ACCURACY_GRAPHS) -> dict[str, Any]:
    """The task's ``metric`` for model.onnx (fp32) and model_quantized.onnx (int8, when there is one)
    on the first ``limit`` validation examples, through onnxruntime on CPU and the task's own
    features, collate and evaluate (so the figures are those of the run's eval events).
    ``graphs`` ((key, file) pairs) picks other files, e.g. CPU_ACCURACY_GRAPHS.

    Returns {"metric", "examples", "fp32", "int8"} (a key is None when its file is missing).
    """
    import onnxruntime as ort

    onnx_dir = Path(onnx_dir)
    examples = list(examples[:limit])
    features = task.build_eval_features(examples, tokenizer)
    result: dict[str, Any] = {"metric": metric, "examples": len(examples), **{key: None for key, _ in graphs}}
    for key, name in graphs:
        if not (onnx_dir / name).is_file():
            continue
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(torch.get_num_threads())
        session = ort.InferenceSession(str(onnx_dir / name), options, providers=["CPUExecutionProvider"])
        inputs = {i.name for i in session.get_inputs()}
        names = [o.name for o in session.get_outputs() if o.name != "attentions"]

        def run_batches(feats: Sequence[Any], session: Any = session, inputs: set[str] = inputs,
                        names: list[str] = names) -> Any:
            order = sorted(range(len(feats)), key=lambda i: -len(feats[i]["input_ids"]))
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                batch = task.collate([feats[i] for i in idx])
                if "token_type_ids" not in batch:
                    batch["token_type_ids"] = torch.zeros_like(batch["input_ids"])
                feed = {n: batch[n].to(torch.int64).numpy() for n in INPUT_NAMES if n in inputs}
                if POSITIONS_INPUT in inputs:  # every position: the metrics read all the logits
                    feed[POSITIONS_INPUT] = full_positions(feed["input_ids"])
                yield idx, batch, _onnx_outputs(task.name, names, session.run(names, feed), batch)

        value = task.evaluate(None, examples, features, run_batches).metrics.get(metric)
        result[key] = None if value is None or not math.isfinite(value) else float(value)
    return result


def write_export_metadata(out_dir: Path, info: dict[str, Any]) -> Path:
    """``<out_dir>/export.json``: the export's parity figures and fp32/int8 accuracy (the Models view reads it)."""
    path = Path(out_dir) / "export.json"
    tmp = path.with_name(".export.json.tmp")
    tmp.write_text(json.dumps({k: v for k, v in info.items() if k != "files"}, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
