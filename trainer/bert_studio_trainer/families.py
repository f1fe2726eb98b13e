"""What a checkpoint is and can do, read from its own config, weights and tokenizer (never from a
list of model names): the one source of model facts for spec checks, tasks and the ONNX export.

``model_facts(folder)`` answers:
  * token types: the base model's forward takes ``token_type_ids`` and the config has at least two
    types (``type_vocab_size``); RoBERTa (1), DeBERTa-v3 (0), DistilBERT and ModernBERT (no such
    input) have none, and nothing may send them one;
  * usable positions: ``max_position_embeddings`` less the positions an absolute position embedding
    reserves before its first real one (RoBERTa and XLM-R number positions from padding_idx + 1, so
    514 embeddings give 512 positions), found on the model built on the meta device (no weights);
  * heads: whether the architecture has an MLM class, whether it has NSP (its pretraining class takes
    ``next_sentence_label``), and whether the checkpoint carries a pretraining head that is not the
    MLM head (an ELECTRA discriminator's replaced-token detector): continued MLM on it is refused, as
    it would start from a random head;
  * tokenizer: special tokens and the mask token, lowercasing (the normalizer's output), the kind of
    model (WordPiece, BPE, Unigram), whether its pre-tokenizer is byte-level (then pre-split words, as
    NER sends, need ``add_prefix_space``) and whether it can give character offsets (a fast tokenizer).
"""

from __future__ import annotations

import inspect
import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

# Tasks by the head class each needs (export.py and the tasks build the same classes).
_TASK_CLASSES = {
    "sequence_classification": "AutoModelForSequenceClassification",
    "token_classification": "AutoModelForTokenClassification",
    "question_answering": "AutoModelForQuestionAnswering",
    "mlm": "AutoModelForMaskedLM",
    "mlm_nsp": "AutoModelForPreTraining",
}
_OFFSET_TASKS = ("token_classification", "question_answering")


@dataclass(frozen=True)
class ModelFacts:
    model_type: str
    architectures: list[str]
    token_type_ids: bool
    positions: int  # usable tokens per sequence, special tokens included
    position_offset: int  # max_position_embeddings - positions
    vocab_size: int
    hidden_size: int | None
    layers: int | None
    tasks: list[str]  # tasks whose head class exists for this architecture
    mlm_head: bool  # the checkpoint's weights include the MLM head (False: a fresh one would be trained)
    foreign_head: str | None  # a pretraining head that is not MLM (e.g. "discriminator_predictions")
    nsp: bool
    tokenizer_model: str | None  # WordPiece, BPE, Unigram, WordLevel
    byte_level: bool
    lowercase: bool | None
    fast_tokenizer: bool
    tokenizer_found: bool
    mask_token: str | None
    special_tokens: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def input_names(self) -> list[str]:
        """The model's inputs, in the ONNX export's order."""
        return ["input_ids", "attention_mask"] + (["token_type_ids"] if self.token_type_ids else [])


def _config(folder: Path) -> Any:
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(str(folder))


def _meta_model(config: Any, auto_class: str = "AutoModel") -> Any | None:
    """The architecture built on the meta device (shapes only, no memory), or None when it has no such class."""
    import torch
    import transformers

    try:
        with torch.device("meta"):
            return getattr(transformers, auto_class).from_config(config)
    except (ValueError, KeyError):
        return None


def _class_for(config: Any, auto_class: str) -> type | None:
    import transformers

    mapping = getattr(transformers, auto_class)._model_mapping
    try:
        return mapping[type(config)]
    except KeyError:
        return None


def _position_offset(base: Any) -> int:
    """Positions an absolute position embedding keeps before the first token (padding_idx + 1 when
    positions are counted from the padding index, as RoBERTa does); 0 otherwise."""
    import torch

    for name, module in base.named_modules():
        if name.endswith("position_embeddings") and isinstance(module, torch.nn.Embedding):
            return 0 if module.padding_idx is None else int(module.padding_idx) + 1
    return 0


def _checkpoint_keys(folder: Path) -> set[str] | None:
    try:
        return _read_keys(folder)
    except Exception:  # noqa: BLE001 - SafetensorError and friends: unreadable weights
        return None  # loading them fails later with its own message


def _read_keys(folder: Path) -> set[str] | None:
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        return set(json.loads(index.read_text(encoding="utf-8"))["weight_map"])
    single = folder / "model.safetensors"
    if single.is_file():
        from safetensors import safe_open

        with safe_open(str(single), framework="pt") as f:
            return set(f.keys())
    return None


def _heads(config: Any, keys: set[str] | None) -> tuple[bool, str | None]:
    """(the checkpoint holds the MLM head's weights, the name of another pretraining head it holds)."""
    mlm = _meta_model(config, "AutoModelForMaskedLM")
    if mlm is None or keys is None:
        return False, None
    prefix = mlm.base_model_prefix + "."
    head = {k for k in mlm.state_dict() if not k.startswith(prefix)}
    saved_head = {k for k in keys if not k.startswith(prefix)}
    if not any(k.startswith(prefix) for k in keys):
        return False, None  # a bare encoder (saved without the prefix): no head of any kind
    tied = set(getattr(mlm, "_tied_weights_keys", None) or ())  # tied to the embeddings: not saved
    if head - tied <= saved_head:
        return True, None
    foreign = sorted({k.split(".")[0] for k in saved_head} - {k.split(".")[0] for k in head})
    return False, (foreign[0] if foreign else None)


def _tokenizer_facts(folder: Path) -> dict[str, Any]:
    from transformers import AutoTokenizer

    facts: dict[str, Any] = {"tokenizer_model": None, "byte_level": False, "lowercase": None, "fast_tokenizer": False,
                             "tokenizer_found": False, "mask_token": None, "special_tokens": {}}
    try:
        tok = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError):
        return facts
    facts["tokenizer_found"] = True
    facts["fast_tokenizer"] = bool(getattr(tok, "is_fast", False))
    facts["mask_token"] = tok.mask_token
    facts["special_tokens"] = {k: str(v) for k, v in tok.special_tokens_map.items() if isinstance(v, str)}
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is not None:
        spec = json.loads(backend.to_str())
        facts["tokenizer_model"] = (spec.get("model") or {}).get("type")
        facts["byte_level"] = '"ByteLevel"' in json.dumps(spec.get("pre_tokenizer"))
        normalizer = backend.normalizer
        facts["lowercase"] = normalizer is not None and normalizer.normalize_str("AB") == "ab"
    return facts


def has_nsp(config: Any) -> bool:
    """Whether the architecture's pretraining class has a next-sentence head (takes next_sentence_label)."""
    pretraining = _class_for(config, "AutoModelForPreTraining")
    return pretraining is not None and "next_sentence_label" in inspect.signature(pretraining.forward).parameters


@lru_cache(maxsize=16)
def _facts_cached(folder: str, stamp: float) -> ModelFacts:
    path = Path(folder)
    config = _config(path)
    base = _meta_model(config)
    forward = inspect.signature(type(base).forward).parameters if base is not None else {}
    types = "token_type_ids" in forward and int(getattr(config, "type_vocab_size", 0) or 0) >= 2
    total = int(getattr(config, "max_position_embeddings", 512) or 512)
    offset = _position_offset(base) if base is not None else 0
    tasks = [t for t, c in _TASK_CLASSES.items() if _class_for(config, c) is not None]
    nsp = has_nsp(config)
    if not nsp and "mlm_nsp" in tasks:
        tasks.remove("mlm_nsp")
    mlm_head, foreign = _heads(config, _checkpoint_keys(path))
    return ModelFacts(
        model_type=str(config.model_type), architectures=list(getattr(config, "architectures", None) or []),
        token_type_ids=types, positions=total - offset, position_offset=offset,
        vocab_size=int(config.vocab_size), hidden_size=getattr(config, "hidden_size", None) or getattr(config, "dim", None),
        layers=getattr(config, "num_hidden_layers", None) or getattr(config, "n_layers", None),
        tasks=tasks, mlm_head=mlm_head, foreign_head=foreign, nsp=nsp, **_tokenizer_facts(path),
    )


def model_facts(folder: str | Path) -> ModelFacts:
    """The facts of a local model folder (cached per folder and config.json modification time)."""
    path = Path(folder).resolve()
    return _facts_cached(str(path), (path / "config.json").stat().st_mtime)


def nsp_refusal(model_type: str) -> str:
    return (f"task mlm_nsp (masked LM + next-sentence prediction) needs a model with an NSP head, which only "
            f"BERT-style models have; this {model_type} model has none. Use the mlm task instead.")


def task_refusal(facts: ModelFacts, task: str) -> str | None:
    """Why ``task`` cannot run on this checkpoint (a sentence with the fix), or None when it can."""
    name = facts.model_type
    if task == "mlm_nsp" and not facts.nsp:
        return nsp_refusal(name)
    if task not in facts.tasks:
        return f"the {name} architecture has no {_TASK_CLASSES.get(task, task)} head in transformers; choose another task or model."
    if task in ("mlm", "mlm_nsp") and facts.foreign_head:
        return (f"this {name} checkpoint's pretraining head ({facts.foreign_head}) is not a masked-LM head (an ELECTRA "
                "discriminator detects replaced tokens instead of predicting them), so continued MLM would start from "
                "a random head; fine-tune it on a downstream task instead, or start from a checkpoint with an MLM head "
                "(e.g. the ELECTRA generator).")
    if not facts.tokenizer_found:
        return None  # no tokenizer to judge: loading it fails with its own message
    if task in ("mlm", "mlm_nsp") and not facts.mask_token:
        return f"the tokenizer of this {name} model has no mask token, which masked-LM pretraining needs; add one (mask_token in tokenizer_config.json)."
    if task in _OFFSET_TASKS and not facts.fast_tokenizer:
        return (f"{task} needs character offsets, which only a fast (tokenizer.json) tokenizer gives; this {name} "
                "model has none: load its tokenizer with AutoTokenizer and save_pretrained it to write tokenizer.json.")
    return None


def load_tokenizer(folder: str | Path, task: str | None = None) -> Any:
    """The model's fast tokenizer, set up from its facts: no token_type_ids for a model without token
    types, and add_prefix_space for pre-split words (NER) with a byte-level BPE."""
    from transformers import AutoTokenizer

    facts = model_facts(folder)
    kwargs: dict[str, Any] = {"use_fast": True}
    if task == "token_classification" and facts.byte_level:
        kwargs["add_prefix_space"] = True
    tok = AutoTokenizer.from_pretrained(str(folder), **kwargs)
    names = list(tok.model_input_names)
    if not facts.token_type_ids and "token_type_ids" in names:
        names.remove("token_type_ids")
    elif facts.token_type_ids and "token_type_ids" not in names:
        names.append("token_type_ids")
    tok.model_input_names = names
    return tok
