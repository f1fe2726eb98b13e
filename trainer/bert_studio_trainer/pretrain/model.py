"""BERT with pretraining heads whose vocabulary logits are computed ONLY at masked positions.

The MLM decoder (hidden -> vocabulary) is the largest matrix product of a small BERT: over every
position of a 128-token MiniLM batch it costs about as much as the six encoder layers. Only ~15% of
positions carry a label, so the hidden states of those positions are gathered first and projected
alone (as in NVIDIA's and MosaicML's BERT, and ModernBERT's "sparse prediction").

The classes keep the parameter names of transformers' BertForPreTraining / BertForMaskedLM and
save under those architecture names, so model/ loads anywhere (AutoModelForMaskedLM, fill-mask
pipelines, the ONNX exporter). Without labels, forward is the stock one: logits everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import BertForMaskedLM, BertForPreTraining
from transformers.utils import ModelOutput

from .masking import IGNORE


@dataclass
class PretrainingOutput(ModelOutput):
    loss: torch.Tensor | None = None
    mlm_loss: torch.Tensor | None = None
    nsp_loss: torch.Tensor | None = None
    # One entry per masked position, row-major over the batch (the order of labels[labels != -100]):
    # its cross-entropy and the top-1 prediction. Small, so evaluation ships these to the CPU rather
    # than (masked positions x vocabulary) logits.
    masked_token_loss: torch.Tensor | None = None
    masked_predictions: torch.Tensor | None = None
    seq_relationship_logits: torch.Tensor | None = None


def masked_lm(head: torch.nn.Module, sequence_output: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean loss, per-token loss, predictions) over the positions whose label is not IGNORE."""
    flat = labels.reshape(-1)
    index = (flat != IGNORE).nonzero().squeeze(1)
    hidden = sequence_output.reshape(-1, sequence_output.shape[-1]).index_select(0, index)
    # Loss in fp32 even under bf16 autocast: log-softmax over 30k logits loses precision in bf16.
    logits = head(hidden).float()
    target = flat.index_select(0, index)
    token_loss = F.cross_entropy(logits, target, reduction="none")
    mean = token_loss.sum() / max(int(index.numel()), 1)
    return mean, token_loss.detach(), logits.detach().argmax(-1)


def _save_as(save_directory: str | Path, architecture: str) -> None:
    """Record the stock transformers class in config.json, not ours (which no one else has)."""
    path = Path(save_directory) / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["architectures"] = [architecture]
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


class SparseBertForPreTraining(BertForPreTraining):
    """MLM + NSP (task mlm_nsp). Loss = MLM loss + NSP loss, as in the paper."""

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                next_sentence_label: torch.Tensor | None = None, **kwargs: Any) -> Any:
        if labels is None:
            return super().forward(input_ids=input_ids, attention_mask=attention_mask,
                                   token_type_ids=token_type_ids, **kwargs)
        out = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, return_dict=True)
        mlm_loss, token_loss, preds = masked_lm(self.cls.predictions, out.last_hidden_state, labels)
        nsp_logits = self.cls.seq_relationship(out.pooler_output).float()
        loss, nsp_loss = mlm_loss, None
        if next_sentence_label is not None:
            nsp_loss = F.cross_entropy(nsp_logits, next_sentence_label.reshape(-1))
            loss = mlm_loss + nsp_loss
        return PretrainingOutput(loss=loss, mlm_loss=mlm_loss.detach(),
                                 nsp_loss=None if nsp_loss is None else nsp_loss.detach(),
                                 masked_token_loss=token_loss, masked_predictions=preds,
                                 seq_relationship_logits=nsp_logits.detach())

    def save_pretrained(self, save_directory: str | Path, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().save_pretrained(save_directory, *args, **kwargs)
        _save_as(save_directory, "BertForPreTraining")


class SparseBertForMaskedLM(BertForMaskedLM):
    """MLM only (task mlm): no pooler, no NSP head."""

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                **kwargs: Any) -> Any:
        if labels is None:
            return super().forward(input_ids=input_ids, attention_mask=attention_mask,
                                   token_type_ids=token_type_ids, **kwargs)
        out = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, return_dict=True)
        mlm_loss, token_loss, preds = masked_lm(self.cls.predictions, out.last_hidden_state, labels)
        return PretrainingOutput(loss=mlm_loss, mlm_loss=mlm_loss.detach(), masked_token_loss=token_loss,
                                 masked_predictions=preds)

    def save_pretrained(self, save_directory: str | Path, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().save_pretrained(save_directory, *args, **kwargs)
        _save_as(save_directory, "BertForMaskedLM")


def scratch_positions(max_seq_length: int) -> int:
    """max_position_embeddings of a model pretrained from scratch at ``max_seq_length``: only the
    positions it trains (rounded up to the multiple of 8 batches are padded to), not BERT's 512 of
    which the rest would stay random. Inference reads config ``bert_studio_trained_max_length`` (set
    for every run) and ``bert_studio_from_scratch`` to go no further than the trained length."""
    return -(-max_seq_length // 8) * 8


def masked_positions_lm(base: type) -> type:
    """``base`` (any transformers *ForMaskedLM class) with the loss and outputs of the sparse BERT
    classes, computed from its full logits: the head of each architecture differs, so only BERT's
    own classes above project the masked positions alone. Saves under ``base``'s name."""

    class MaskedPositionsLM(base):  # type: ignore[misc, valid-type]
        def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                    labels: torch.Tensor | None = None, **kwargs: Any) -> Any:
            if labels is None:
                return super().forward(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
            out = super().forward(input_ids=input_ids, attention_mask=attention_mask, return_dict=True, **kwargs)
            flat = labels.reshape(-1)
            index = (flat != IGNORE).nonzero().squeeze(1)
            logits = out.logits.reshape(-1, out.logits.shape[-1]).index_select(0, index).float()
            token_loss = F.cross_entropy(logits, flat.index_select(0, index), reduction="none")
            mean = token_loss.sum() / max(int(index.numel()), 1)
            return PretrainingOutput(loss=mean, mlm_loss=mean.detach(), masked_token_loss=token_loss.detach(),
                                     masked_predictions=logits.detach().argmax(-1))

        def save_pretrained(self, save_directory: str | Path, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            super().save_pretrained(save_directory, *args, **kwargs)
            _save_as(save_directory, base.__name__)

    MaskedPositionsLM.__name__ = MaskedPositionsLM.__qualname__ = f"MaskedPositions{base.__name__}"
    return MaskedPositionsLM


def model_class(nsp: bool, config: Any = None) -> type:
    """The pretraining class for ``config`` (BERT's sparse classes when None: from-scratch presets)."""
    if config is None or nsp:
        return SparseBertForPreTraining if nsp else SparseBertForMaskedLM
    from transformers import AutoModelForMaskedLM

    base = AutoModelForMaskedLM._model_mapping[type(config)]
    return SparseBertForMaskedLM if base is BertForMaskedLM else masked_positions_lm(base)


def check_tied(model: torch.nn.Module) -> None:
    """The MLM decoder must share the word embeddings when the config ties them (a fresh head relies on it)."""
    decoder = model.get_output_embeddings()  # type: ignore[operator]
    embeddings = model.get_input_embeddings()  # type: ignore[operator]
    tie = getattr(model.config, "tie_word_embeddings", True)
    if tie and decoder is not None and decoder.weight.data_ptr() != embeddings.weight.data_ptr():
        raise RuntimeError("The MLM decoder is not tied to the word embeddings (config.tie_word_embeddings is false?)")
