"""training.prune_last_layer: the last encoder layer runs only at the positions the head reads.

A sequence classifier's head reads the last hidden state at one position per example, token 0
([CLS] / <s>: the BERT pooler's and the RoBERTa, XLM-R, ELECTRA and DistilBERT heads' ``[:, 0]``).
In the last layer every token's keys and values are still needed, but the queries, the attention
output projection, the feed-forward block and both LayerNorms only at those positions. While
``HeadPositions.pruning`` is active the last layer runs so, and returns [examples, 1, hidden]: the
head's ``[:, 0]`` reads the same vectors as before, so the loss and every gradient are the full
model's (up to float rounding) for about 10/12 fewer FLOPs of that layer, forward and backward.
Dropout keeps its semantics at the positions computed (the order of random draws differs).

Supported: BERT's layer (attention.self.query/key/value, attention.output, intermediate, output),
which RoBERTa, XLM-R, ELECTRA and CamemBERT share, and DistilBERT's TransformerBlock (q_lin...,
sa_layer_norm, ffn, output_layer_norm). Whether a model's head really reads token 0 is not assumed:
as packing is, it is checked on a few training features (the full and the pruned model's logits,
fp32, eval mode). Anything else (DeBERTa's disentangled attention, ModernBERT, a head that pools
every token) trains the full model, with the reason logged.

With packing (data/collate.py), a head position is each example's first token in its packed row
(``index[:, 0]`` of ``Packer.pack``): the last layer's queries attend to that row's keys under that
row's mask, and its output comes out in the unpacked example order, so the packer's unpacking hook
is not used. Only the training step prunes: evaluation, exports, attention maps and everything that
reads other positions run the full model.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from ..data.collate import PACKING_TOLERANCE, Packer, _encoder_of, check_sample

PRUNING_TASKS = ("sequence_classification",)
PRUNING_TOLERANCE = PACKING_TOLERANCE  # max |pruned - full| of the check's fp32 logits (healthy: ~1e-7)

# Runs a supported last layer at the head positions: (layer, flat positions or None for token 0 of
# every row, the layer's own forward arguments) -> [examples, 1, hidden].
LayerRun = Callable[..., torch.Tensor]


class HeadPositions:
    """The last encoder layer of ``model``, run at the head positions inside ``pruning()``."""

    def __init__(self, model: torch.nn.Module) -> None:
        layers = getattr(_encoder_of(model), "layer", None)
        if not isinstance(layers, torch.nn.ModuleList) or not len(layers):
            raise ValueError("its encoder has no list of layers")
        self.layer = layers[-1]
        run = _runner(self.layer)
        if run is None:
            raise ValueError(f"its last layer ({type(self.layer).__name__}) is not BERT's or DistilBERT's")
        self._run = run
        self._positions: torch.Tensor | None = None
        # One bound method for every step: under torch.compile the layer's forward stays the same object.
        self._forward = self._pruned_forward

    def _pruned_forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self._run(self.layer, self._positions, *args, **kwargs)

    @contextlib.contextmanager
    def pruning(self, positions: torch.Tensor | None = None) -> Iterator[None]:
        """While active, the last layer computes only ``positions`` (flat indices into its input's
        [rows * length] tokens, one per example, in example order), or token 0 of every row (None)."""
        self._positions = positions
        self.layer.forward = self._forward  # an instance attribute: the class's forward is untouched
        try:
            yield
        finally:
            del self.layer.forward
            self._positions = None

    def difference(self, model: torch.nn.Module, batch: dict[str, torch.Tensor], packer: Packer | None = None) -> float:
        """Max |pruned - full| of the model's fp32 logits on ``batch`` (and on it packed, with a
        packer), in eval mode (no dropout)."""
        device = next(model.parameters()).device
        plain = {k: v.to(device) for k, v in batch.items() if k != "labels"}
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                want = model(**plain).logits.float()
                with self.pruning():
                    got = [model(**plain).logits.float()]
                if packer is not None:
                    packed, index = packer.pack(batch)
                    packed = {k: v.to(device) for k, v in packed.items() if k != "labels"}
                    with self.pruning(index[:, 0].to(device)):
                        got.append(model(**packed).logits.float())
        finally:
            model.train(was_training)
        if any(g.shape != want.shape for g in got):
            return float("inf")
        return max(float((g - want).abs().max()) for g in got)


def head_positions_for(model: torch.nn.Module, features: Sequence[dict[str, Any]],
                       collate: Callable[[Sequence[dict[str, Any]]], dict[str, torch.Tensor]],
                       packer: Packer | None) -> tuple[HeadPositions | None, str]:
    """(a HeadPositions, the log line) when this model's pruned last layer gives its full logits on
    the training features of data/collate.check_sample (packed too, with a packer); else (None, why)."""
    name = type(model).__name__
    full = "the last layer runs at every position"
    try:
        heads = HeadPositions(model)
        diff = heads.difference(model, collate(check_sample(features)), packer)
    except (TypeError, ValueError, RuntimeError, IndexError, AttributeError) as e:
        return None, f"training.prune_last_layer is off for {name}: {str(e)[:200]}; {full}"
    if not diff <= PRUNING_TOLERANCE:
        return None, (f"training.prune_last_layer is off for {name}: its head reads more than token 0 (pruned "
                      f"logits differ by {diff:.2g}, over {PRUNING_TOLERANCE:g}); {full}")
    return heads, (f"training.prune_last_layer: the last layer's queries, feed-forward and LayerNorms run only at "
                   f"token 0, which the head reads{' (each packed example)' if packer else ''}; pruned and full "
                   f"logits of {name} agree within {diff:.1g}")


# ---- the supported layers --------------------------------------------------------------------
def _has(module: Any, *names: str) -> bool:
    return module is not None and all(hasattr(module, n) for n in names)


def _runner(layer: torch.nn.Module) -> LayerRun | None:
    attention = getattr(layer, "attention", None)
    sa = getattr(attention, "self", None)
    if (_has(sa, "query", "key", "value", "attention_head_size", "scaling", "dropout", "config")
            and _has(getattr(attention, "output", None), "dense", "LayerNorm", "dropout")
            and _has(layer, "intermediate", "output", "feed_forward_chunk", "chunk_size_feed_forward", "seq_len_dim")
            and not getattr(layer, "is_decoder", False) and not getattr(layer, "add_cross_attention", False)):
        return _bert_layer
    if (_has(attention, "q_lin", "k_lin", "v_lin", "out_lin", "attention_head_size", "scaling", "dropout", "config")
            and _has(layer, "sa_layer_norm", "ffn", "output_layer_norm")):
        return _distilbert_block
    return None


def _bert_layer(layer: Any, positions: torch.Tensor | None, hidden_states: torch.Tensor,
                attention_mask: torch.Tensor | None = None, encoder_hidden_states: torch.Tensor | None = None,
                encoder_attention_mask: torch.Tensor | None = None, past_key_values: Any = None,
                **kwargs: Any) -> torch.Tensor:
    """BertLayer.forward (an encoder's: no cross-attention, no cache) at the head positions."""
    from transformers.pytorch_utils import apply_chunking_to_forward

    if encoder_hidden_states is not None or past_key_values is not None:
        raise ValueError("a decoder's layer (cross-attention or a cache) is not pruned")
    sa = layer.attention.self
    context, residual = _attend(sa, sa.query, sa.key, sa.value, hidden_states, attention_mask, positions, kwargs)
    attention_output = layer.attention.output(context, residual)
    return apply_chunking_to_forward(layer.feed_forward_chunk, layer.chunk_size_feed_forward, layer.seq_len_dim,
                                     attention_output)


def _distilbert_block(block: Any, positions: torch.Tensor | None, hidden_states: torch.Tensor,
                      attention_mask: torch.Tensor | None = None, **kwargs: Any) -> torch.Tensor:
    """DistilBERT's TransformerBlock.forward at the head positions."""
    sa = block.attention
    context, residual = _attend(sa, sa.q_lin, sa.k_lin, sa.v_lin, hidden_states, attention_mask, positions, kwargs)
    attention_output = block.sa_layer_norm(sa.out_lin(context) + residual)
    return block.output_layer_norm(block.ffn(attention_output) + attention_output)


def _attend(attn: Any, q_lin: torch.nn.Module, k_lin: torch.nn.Module, v_lin: torch.nn.Module,
            hidden: torch.Tensor, mask: Any, positions: torch.Tensor | None,
            kwargs: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """(the attention context at the head positions [examples, 1, hidden], before the output
    projection; the layer's input there, the residual), through the model's own attention function."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    rows, length, width = hidden.shape
    head = attn.attention_head_size
    if positions is None:  # token 0 of every row: the rows' own keys, values and mask
        residual, kv_rows, at = hidden[:, :1], None, None
    else:
        residual = hidden.reshape(-1, width)[positions].unsqueeze(1)
        kv_rows, at = torch.div(positions, length, rounding_mode="floor"), positions % length
    n = residual.shape[0]
    query = q_lin(residual).view(n, 1, -1, head).transpose(1, 2)
    key = k_lin(hidden).view(rows, length, -1, head).transpose(1, 2)
    value = v_lin(hidden).view(rows, length, -1, head).transpose(1, 2)
    if kv_rows is not None:
        key, value = key[kv_rows], value[kv_rows]
    eager = sys.modules[type(attn).__module__].eager_attention_forward  # the one the model's own forward falls back to
    interface = ALL_ATTENTION_FUNCTIONS.get_interface(attn.config._attn_implementation, eager)
    context, _ = interface(attn, query, key, value, _mask_rows(mask, kv_rows, at),
                           dropout=0.0 if not attn.training else attn.dropout.p, scaling=attn.scaling, **kwargs)
    return context.reshape(n, 1, -1), residual


def _mask_rows(mask: Any, rows: torch.Tensor | None, at: torch.Tensor | None) -> torch.Tensor | None:
    """The 4-D mask's rows for the head positions' queries: [examples, heads or 1, 1, keys]."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor) or mask.dim() != 4:
        raise ValueError(f"its attention mask is a {type(mask).__name__} of shape {getattr(mask, 'shape', '?')}, "
                         "not a 4-D tensor")
    if rows is None or at is None:
        return mask[:, :, :1]
    batch = rows if mask.shape[0] > 1 else torch.zeros_like(rows)
    query = at if mask.shape[2] > 1 else torch.zeros_like(at)
    return mask[batch, :, query].unsqueeze(2)
