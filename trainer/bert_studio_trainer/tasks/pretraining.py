"""mlm and mlm_nsp: BERT pretraining through the common engine (issue #4).

Training sequences are built once (NSP pairs or packed blocks, seeded by training.seed); masks are
drawn afresh in every batch (dynamic masking, RoBERTa's finding, instead of BERT's 10 static
copies) from a seed taken from torch's global generator, which the engine checkpoints: a resumed
run draws the same masks as an uninterrupted one. Evaluation masks are fixed per run, and drawn at
BERT's 15% whatever training.mlm_probability is, so held-out accuracy and perplexity compare across
runs (a higher training rate, Wettig et al. 2023, gives more supervised positions per step).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.collate import pad_batch
from ..families import has_nsp, nsp_refusal
from ..models import from_pretrained_kwargs
from ..pretrain.corpus import Document, read_corpus
from ..pretrain.features import add_static_masks, build_sequences, tokenize_documents
from ..pretrain.masking import IGNORE, MaskingConfig, mask_batch
from ..pretrain.model import check_tied, model_class, scratch_positions
from ..pretrain.presets import PRESETS, preset_config
from ..pretrain.vocab_cache import cached_wordpiece
from ..spec import ModelRef, Spec, SpecError
from .base import Batch, EvalResult, Feature, RunBatches, Task

EVAL_MLM_PROBABILITY = 0.15  # held-out masks: BERT's rate, whatever the training rate

EVAL_MASK_SEED_OFFSET = 1  # eval pairs and masks use seed + 1: never the training draws


class _PretrainingTask(Task):
    nsp = True
    lower_is_better = frozenset({"loss", "perplexity", "mlm_loss", "nsp_loss"})
    default_metric = "perplexity"

    def validate_spec(self, spec: Spec) -> None:
        p = spec.t("mlm_probability")
        if not 0 < p < 1:
            raise SpecError(f"training.mlm_probability must be between 0 and 1, not {p}.", "training.mlm_probability")
        if spec.t("short_seq_prob") > 1:
            raise SpecError("training.short_seq_prob must be at most 1.", "training.short_seq_prob")
        if spec.t("max_seq_length") < 8:
            raise SpecError("training.max_seq_length must be at least 8 for pretraining.", "training.max_seq_length")
        scratch = spec.model.from_scratch
        if scratch and scratch["preset"] not in PRESETS:
            raise SpecError(f"Unknown preset {scratch['preset']!r}; use one of {', '.join(PRESETS)}.",
                            "model.from_scratch.preset")

    @property
    def uses_nsp(self) -> bool:
        return self.nsp and bool(self.spec.training.get("nsp", True))

    # ---- data ------------------------------------------------------------------------------
    def load_examples(self, path: Path, split: str) -> list[Document]:
        where = "data.train" if split == "train" else "data.validation"
        try:
            docs = read_corpus(path)
        except (ValueError, UnicodeDecodeError) as e:
            raise SpecError(str(e), where) from e
        if self.uses_nsp and len(docs) < 2:
            raise SpecError(f"{path}: next-sentence prediction needs at least two documents (found {len(docs)}); "
                            "separate documents with blank lines or use the mlm task.", where)
        if split == "train":
            self.train_docs = docs  # a vocabulary trained from scratch learns from these
        return docs

    def build_tokenizer(self, model_ref: ModelRef) -> Any:
        scratch = model_ref.from_scratch
        if scratch and scratch.get("vocab_size"):
            sentences = [s for d in self.train_docs for s in d.sentences]
            return cached_wordpiece(sentences, int(scratch["vocab_size"]))
        return super().build_tokenizer(model_ref)

    def build_model(self, model_ref: ModelRef) -> torch.nn.Module:
        from transformers import AutoConfig

        config = None if model_ref.from_scratch else AutoConfig.from_pretrained(model_ref.path)
        if config is not None and self.uses_nsp and not has_nsp(config):  # a hub id: the spec check could not see it
            raise SpecError(f"The model {model_ref.name_or_path!r} cannot run task mlm_nsp: "
                            f"{nsp_refusal(config.model_type)}", "task")
        cls = model_class(self.uses_nsp, config)
        max_len = self.spec.t("max_seq_length")
        if model_ref.from_scratch:
            tok = self._tokenizer_for_config(model_ref)
            config = preset_config(model_ref.from_scratch["preset"], len(tok), tok.pad_token_id or 0,
                                   scratch_positions(max_len))
            config.bert_studio_from_scratch = True  # its positions past max_seq_length are never trained
            model = cls(config)
        else:
            model = cls.from_pretrained(model_ref.path, **from_pretrained_kwargs(model_ref.trust_pickle))
            if max_len > model.config.max_position_embeddings:
                raise SpecError(f"training.max_seq_length {max_len} exceeds the model's "
                                f"{model.config.max_position_embeddings} positions.", "training.max_seq_length")
        check_tied(model)
        return model

    def _tokenizer_for_config(self, model_ref: ModelRef) -> Any:
        # The engine builds the tokenizer before the model; rebuilding is cheap (the vocab is cached).
        return self.build_tokenizer(model_ref)

    def _masking(self, tokenizer: Any, rate: float | None = None) -> MaskingConfig:
        return MaskingConfig.from_tokenizer(tokenizer, rate or self.spec.t("mlm_probability"),
                                            self.spec.t("whole_word_masking"))

    def build_train_features(self, examples: Sequence[Document], tokenizer: Any) -> list[Feature]:
        self.pad_id = tokenizer.pad_token_id or 0
        self.masking = self._masking(tokenizer)
        try:
            return build_sequences(tokenize_documents(examples, tokenizer, self.spec.t("whole_word_masking")),
                                   tokenizer, self.uses_nsp,
                                   self.spec.t("max_seq_length"), self.spec.t("short_seq_prob"), self.spec.t("seed"))
        except ValueError as e:  # e.g. data.max_train_samples left one document
            raise SpecError(f"data.train: {e}", "data.train") from e

    def build_eval_features(self, examples: Sequence[Document], tokenizer: Any) -> list[Feature]:
        seed = self.spec.t("seed") + EVAL_MASK_SEED_OFFSET
        try:
            feats = build_sequences(tokenize_documents(examples, tokenizer, self.spec.t("whole_word_masking")),
                                    tokenizer, self.uses_nsp,
                                    self.spec.t("max_seq_length"), 0.0, seed)
        except ValueError as e:  # e.g. data.max_eval_samples left one document: no NotNext partner
            raise SpecError(f"data.validation: {e}", "data.validation") from e
        add_static_masks(feats, self._masking(tokenizer, EVAL_MLM_PROBABILITY), seed)
        return feats

    # ---- batches -----------------------------------------------------------------------------
    def collate(self, features: Sequence[Feature], pad_to_multiple_of: int = 8) -> Batch:
        if "labels" not in features[0]:
            # One draw from torch's generator seeds this batch's masks (see the module docstring).
            rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
            ids, labels = mask_batch((f["input_ids"] for f in features), self.masking, rng)
            features = [{**f, "input_ids": i, "labels": lab} for f, i, lab in zip(features, ids, labels, strict=True)]
        pads = {"input_ids": self.pad_id, "labels": IGNORE}
        if self.uses_nsp:
            pads.update(token_type_ids=0, next_sentence_label=0)
        return pad_batch(features, pads, pad_to_multiple_of)

    def training_step(self, model: torch.nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        out = model(**batch)
        losses = {"loss": out.loss, "mlm_loss": out.mlm_loss}
        if out.nsp_loss is not None:
            losses["nsp_loss"] = out.nsp_loss
        return losses

    # ---- evaluation --------------------------------------------------------------------------
    def evaluate(self, model: torch.nn.Module, examples: Sequence[Document], features: Sequence[Feature],
                 run_batches: RunBatches) -> EvalResult:
        correct = count = nsp_correct = nsp_count = 0
        token_loss = nsp_loss = 0.0
        for _idx, batch, out in run_batches(features):
            gold = batch["labels"][batch["labels"] != IGNORE]
            correct += int((out["masked_predictions"].long() == gold).sum())
            count += int(gold.numel())
            token_loss += float(out["masked_token_loss"].sum())
            if self.uses_nsp:
                nsl = batch["next_sentence_label"]
                logits = out["seq_relationship_logits"]
                nsp_correct += int((logits.argmax(-1) == nsl).sum())
                nsp_count += int(nsl.numel())
                nsp_loss += float(torch.nn.functional.cross_entropy(logits, nsl, reduction="sum"))
        mlm_loss = token_loss / max(count, 1)
        metrics = {"mlm_accuracy": correct / max(count, 1), "perplexity": math.exp(min(mlm_loss, 700.0)),
                   "mlm_loss": mlm_loss, "loss": mlm_loss, "masked_tokens": float(count)}
        if self.uses_nsp:
            metrics.update(nsp_accuracy=nsp_correct / max(nsp_count, 1), nsp_loss=nsp_loss / max(nsp_count, 1))
            metrics["loss"] = mlm_loss + metrics["nsp_loss"]
        return EvalResult(metrics)


class MlmNspTask(_PretrainingTask):
    name = "mlm_nsp"
    nsp = True
    metric_names = ("perplexity", "mlm_accuracy", "nsp_accuracy", "mlm_loss", "nsp_loss", "loss")


class MlmTask(_PretrainingTask):
    name = "mlm"
    nsp = False
    metric_names = ("perplexity", "mlm_accuracy", "mlm_loss", "loss")
