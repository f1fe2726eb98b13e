"""Freezing and learning-rate structure: which parameters train, and at what share of the rate.

A model is cut into blocks, bottom to top: ``embeddings`` (every base-model parameter registered
before the first encoder layer: word, position and type embeddings, their LayerNorm, ELECTRA's
``embeddings_project``), ``layer.0`` … ``layer.{L-1}`` (the encoder layers; base-model parameters
registered after the last layer, such as BERT's pooler, ModernBERT's ``final_norm`` and DeBERTa's
relative embeddings, belong to the top layer), and ``head`` (every parameter outside the base
model). The encoder layers are found generically, as the base model's one ``ModuleList`` holding
``num_hidden_layers`` modules (``encoder.layer``, DistilBERT's ``transformer.layer``, ModernBERT's
``layers``); a model without one is refused with the field that needs it.

Spec fields (``training``, Trainer-style names): ``freeze_embeddings``, ``freeze_layers`` (the first
N layers), ``freeze_base_model`` (a linear probe: only the head trains), ``unfreeze_schedule``
({"every": N, "unit": "epoch"|"step"}: the head trains from the start and each period unfreezes one
more block from the top: the top layer after the first period, ..., the embeddings last; blocks the
freeze_* fields hold stay frozen) and ``layerwise_lr_decay`` (d in (0, 1]: the head at the base
rate, block k from the top at d**k: the top layer d, the one below d**2, ..., the embeddings
d**(L+1)). The state is a function of the step and epoch alone, so a resumed run recomputes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..spec import SpecError, freeze_layers_error

# The fields of this module, for messages and for the tasks/refusals that list them.
FIELDS = ("freeze_embeddings", "freeze_layers", "freeze_base_model", "unfreeze_schedule", "layerwise_lr_decay")


@dataclass
class Block:
    name: str
    params: list[torch.nn.Parameter] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(p.numel() for p in self.params)


def _needs_structure(spec_training: dict[str, Any]) -> str | None:
    """The first set field that needs the encoder layers, or None."""
    t = spec_training
    if t.get("freeze_layers"):
        return "freeze_layers"
    if t.get("unfreeze_schedule") is not None:
        return "unfreeze_schedule"
    if t.get("layerwise_lr_decay", 1.0) != 1.0:
        return "layerwise_lr_decay"
    return None


def encoder_layers(model: torch.nn.Module) -> tuple[str, torch.nn.ModuleList] | None:
    """(qualified name, ModuleList) of the base model's encoder layers, or None when not found."""
    base = getattr(model, "base_model", model)
    config = getattr(model, "config", None)
    count = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layers", None)
    lists = [(n, m) for n, m in base.named_modules() if isinstance(m, torch.nn.ModuleList) and len(m) > 0]
    if count:
        lists = [(n, m) for n, m in lists if len(m) == count]
    if len(lists) > 1:  # prefer the conventional names
        named = [(n, m) for n, m in lists if n in ("encoder.layer", "transformer.layer", "layers", "encoder.layers")]
        lists = named or lists[:1]
    return lists[0] if lists else None


def model_blocks(model: torch.nn.Module, need: str | None = None) -> list[Block] | None:
    """Blocks bottom to top (embeddings, layer.0.., head). None when no encoder layers are found and
    nothing needs them; a SpecError naming `need` when the field needs them."""
    found = encoder_layers(model)
    base = getattr(model, "base_model", model)
    if found is None or base is model:
        if need is None:
            return None
        kind = type(model).__name__
        raise SpecError(f"training.{need} needs the model's encoder layers, and this {kind} has none that BERT Studio "
                        "can find (a ModuleList of num_hidden_layers layers in its base model); remove "
                        f"training.{need} or choose a BERT-style model.", f"training.{need}")
    list_name, layers = found
    layer_of = {id(p): i for i, layer in enumerate(layers) for p in layer.parameters()}
    blocks = [Block("embeddings")] + [Block(f"layer.{i}") for i in range(len(layers))] + [Block("head")]
    base_ids = set()
    seen_layer = False
    for _, p in base.named_parameters():
        base_ids.add(id(p))
        i = layer_of.get(id(p))
        if i is not None:
            seen_layer = True
            blocks[1 + i].params.append(p)
        else:  # before the first layer: embeddings; after the layers: the top layer's extras
            blocks[len(layers) if seen_layer else 0].params.append(p)
    blocks[-1].params.extend(p for _, p in model.named_parameters() if id(p) not in base_ids)
    return blocks


def layer_count(model: torch.nn.Module) -> int | None:
    found = encoder_layers(model)
    return len(found[1]) if found else None


class Freezing:
    """The static freezing, the gradual unfreezing schedule and the learning-rate scale of each block."""

    def __init__(self, model: torch.nn.Module, training: dict[str, Any]) -> None:
        self.model = model
        self.t = training
        need = _needs_structure(training) or ("freeze_embeddings" if training.get("freeze_embeddings") else None)
        self.blocks = model_blocks(model, need)
        self.schedule: dict[str, Any] | None = training.get("unfreeze_schedule")
        self.decay = float(training.get("layerwise_lr_decay", 1.0))
        n_layers = len(self.blocks) - 2 if self.blocks else 0
        want = int(training.get("freeze_layers", 0) or 0)
        if want > n_layers:
            raise freeze_layers_error(want, n_layers, f"({type(model).__name__})")
        self.n_layers = n_layers
        # Blocks that never train (by index in self.blocks); with no block structure, only the
        # linear probe is possible: everything but the head.
        self.fixed: set[int] = set()
        if self.blocks:
            if training.get("freeze_embeddings"):
                self.fixed.add(0)
            self.fixed.update(range(1, 1 + want))
            if training.get("freeze_base_model"):
                self.fixed.update(range(0, len(self.blocks) - 1))
        self._probe_ids = self._base_ids() if training.get("freeze_base_model") and not self.blocks else set()
        self.current: int | None = None  # blocks open from the top under the schedule
        self._flags: tuple[bool, ...] | None = None  # per block: trains now

    def _base_ids(self) -> set[int]:
        base = getattr(self.model, "base_model", self.model)
        if base is self.model:
            raise SpecError(f"training.freeze_base_model needs a model with a separate head; this "
                            f"{type(self.model).__name__} has none; remove training.freeze_base_model.",
                            "training.freeze_base_model")
        return {id(p) for p in base.parameters()}

    @property
    def active(self) -> bool:
        """Whether any field of this module changes the default (everything trains at one rate)."""
        return bool(self.fixed or self._probe_ids or self.schedule or self.decay != 1.0)

    def lr_scales(self) -> list[tuple[str, float, list[torch.nn.Parameter]]] | None:
        """(block, learning-rate scale, parameters that may ever train), head first, for the optimizer;
        None when layer-wise decay is off (one rate for all)."""
        if self.decay == 1.0 or not self.blocks:
            return None
        top = len(self.blocks) - 1
        out = []
        for i in range(top, -1, -1):
            if i in self.fixed:
                continue
            out.append((self.blocks[i].name, self.decay ** (top - i), self.blocks[i].params))
        return out

    def opened(self, step: int, epoch: int) -> int:
        """Blocks open from the top under the schedule at this point: 1 (the head) + periods done."""
        assert self.schedule is not None
        done = (step if self.schedule["unit"] == "step" else epoch) // self.schedule["every"]
        return min(len(self.blocks or []), 1 + done)

    def apply(self, step: int = 0, epoch: int = 0) -> bool:
        """Sets requires_grad for this point of training. Returns whether the trainable set changed
        (always on the first call; never when the schedule only reaches a block held frozen)."""
        opened = self.opened(step, epoch) if self.schedule is not None and self.blocks else None
        self.current = opened
        if not self.blocks:
            if self._flags is None and self._probe_ids:
                for p in self.model.parameters():
                    p.requires_grad_(id(p) not in self._probe_ids)
            changed, self._flags = self._flags is None, ()
            return changed
        top = len(self.blocks) - 1
        flags = tuple(i not in self.fixed and (opened is None or i > top - opened) for i in range(len(self.blocks)))
        if flags == self._flags:
            return False
        for train, block in zip(flags, self.blocks, strict=True):
            for p in block.params:
                p.requires_grad_(train)
        self._flags = flags
        return True

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        """Parameters that may train at some point (the optimizer's): all but the fixed blocks."""
        if self.blocks:
            return [p for i, b in enumerate(self.blocks) if i not in self.fixed for p in b.params]
        return [p for p in self.model.parameters() if id(p) not in self._probe_ids]

    def summary(self, step: int) -> dict[str, Any]:
        """The `params` event's fields: counts, and per block its size, trainable share and rate scale."""
        params = list(self.model.parameters())
        total = sum(p.numel() for p in params)
        trainable = sum(p.numel() for p in params if p.requires_grad)
        fields: dict[str, Any] = {"step": step, "trainable": trainable, "total": total}
        if self.blocks:
            top = len(self.blocks) - 1
            fields["groups"] = [
                {"name": b.name, "params": b.size, "trainable": all(p.requires_grad for p in b.params),
                 "lr_scale": self.decay ** (top - i)}
                for i, b in reversed(list(enumerate(self.blocks)))]
        if self.schedule is not None and self.blocks:
            fields["unfrozen_layers"] = max(0, min(self.current or 0, self.n_layers + 1) - 1)
        return fields

    def describe(self, fields: dict[str, Any]) -> str:
        """One log line: trainable share and the frozen blocks."""
        share = fields["trainable"] / max(fields["total"], 1)
        frozen = [g["name"] for g in fields.get("groups", []) if not g["trainable"]]
        text = f"trainable parameters: {_human(fields['trainable'])} of {_human(fields['total'])} ({share:.1%})"
        if frozen:
            text += "; frozen: " + ", ".join(_ranges(frozen))
        elif self._probe_ids:
            text += "; frozen: the base model (linear probe)"
        if self.decay != 1.0 and self.blocks:
            text += (f"; layer-wise learning-rate decay {self.decay:g}: head x1, top layer x{self.decay:g}, "
                     f"embeddings x{self.decay ** (len(self.blocks) - 1):.3g}")
        return text


def _human(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n:,}"


def _ranges(names: list[str]) -> list[str]:
    """["embeddings", "layer.0", "layer.1", "layer.2"] -> ["embeddings", "layers 0-2"]."""
    layers = sorted(int(n.split(".")[1]) for n in names if n.startswith("layer."))
    out = [n for n in names if not n.startswith("layer.")]
    if len(layers) == 1:
        out.append(f"layer {layers[0]}")
    elif layers:
        contiguous = layers == list(range(layers[0], layers[-1] + 1))
        out.append(f"layers {layers[0]}-{layers[-1]}" if contiguous else "layers " + ", ".join(map(str, layers)))
    return out
