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

``architectures.json`` (beside this file) is what the host knows of architectures without Python: per
``model_type`` the tasks with a head class, NSP, whether positions start after the padding index and
the MLM head's module names; the tokenizer classes that are Python-only (no offsets); and the refusal
sentences ``task_refusal`` gives, which the host gives in the same words. It is written by
``python -m bert_studio_trainer.families --write`` from this module's readings of the pinned
transformers, and ``trainer/tests/test_families.py`` checks that it still matches them.
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
ARCHITECTURES_FILE = Path(__file__).with_name("architectures.json")


@lru_cache(maxsize=1)
def architectures() -> dict[str, Any]:
    """architectures.json: the refusal sentences and the architecture table the host bundles."""
    return json.loads(ARCHITECTURES_FILE.read_text(encoding="utf-8"))


def refusal(key: str, **values: Any) -> str:
    """One of architectures.json's refusal sentences with its {placeholders} filled in."""
    return architectures()["refusals"][key].format(**values)


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
    tokenizer_class: str | None
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
                             "tokenizer_found": False, "tokenizer_class": None, "mask_token": None, "special_tokens": {}}
    try:
        tok = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError):
        return facts
    facts["tokenizer_found"] = True
    facts["tokenizer_class"] = type(tok).__name__
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
    return refusal("nsp", model_type=model_type)


def task_refusal(facts: ModelFacts, task: str) -> str | None:
    """Why ``task`` cannot run on this checkpoint (a sentence with the fix), or None when it can. The
    sentences are architectures.json's; the host (src/core/models/config.ts) gives the same ones."""
    name = facts.model_type
    if task == "mlm_nsp" and not facts.nsp:
        return nsp_refusal(name)
    if task not in facts.tasks:
        return refusal("no_head", model_type=name, task=task, head=_TASK_CLASSES.get(task, task))
    if task in ("mlm", "mlm_nsp") and facts.foreign_head:
        return refusal("foreign_head", model_type=name, task=task, head=facts.foreign_head)
    if not facts.tokenizer_found:
        return None  # no tokenizer to judge: loading it fails with its own message
    if task in ("mlm", "mlm_nsp") and not facts.mask_token:
        return refusal("no_mask", model_type=name, task=task)
    if task in _OFFSET_TASKS and not facts.fast_tokenizer:
        return refusal("no_offsets", model_type=name, task=task, tokenizer=facts.tokenizer_class)
    return None


def architecture_entry(config: Any) -> dict[str, Any]:
    """What architectures.json says of one model_type, read from transformers as model_facts reads it."""
    base = _meta_model(config)
    mlm = _meta_model(config, "AutoModelForMaskedLM")
    nsp = has_nsp(config)
    tasks = [t for t, c in _TASK_CLASSES.items() if _class_for(config, c) is not None and (t != "mlm_nsp" or nsp)]
    prefix = getattr(mlm if mlm is not None else base, "base_model_prefix", "") or ""
    head: list[str] = []
    if mlm is not None:  # as _heads reads a checkpoint: weights tied to the embeddings are not saved
        tied = set(getattr(mlm, "_tied_weights_keys", None) or ())
        head = sorted({k.split(".")[0] for k in mlm.state_dict() if not k.startswith(prefix + ".") and k not in tied})
    from transformers.models.auto.tokenization_auto import TOKENIZER_MAPPING_NAMES

    return {"tasks": tasks, "nsp": nsp, "positions_after_padding": bool(base is not None and _position_offset(base)),
            "base_prefix": prefix, "mlm_head": head, "tokenizer": TOKENIZER_MAPPING_NAMES.get(config.model_type)}


def architecture_table() -> dict[str, Any]:
    """architectures.json's generated part: every model_type with a masked-LM or token-classification
    class (the encoder families), and the tokenizer classes without a fast (offsets) implementation."""
    import transformers
    from transformers import CONFIG_MAPPING
    from transformers.models.auto.tokenization_auto import TOKENIZER_MAPPING_NAMES, tokenizer_class_from_name
    from transformers.tokenization_utils_tokenizers import TokenizersBackend

    encoders = (transformers.AutoModelForMaskedLM._model_mapping, transformers.AutoModelForTokenClassification._model_mapping)
    types: dict[str, Any] = {}
    for model_type in sorted(CONFIG_MAPPING.keys()):
        config_class = CONFIG_MAPPING[model_type]
        if not any(config_class in m for m in encoders):
            continue
        try:
            types[model_type] = architecture_entry(config_class())
        except Exception:  # noqa: BLE001 - an architecture whose default config does not build (optional imports)
            continue
    slow = set()
    for name in {n for n in TOKENIZER_MAPPING_NAMES.values() if n}:
        try:
            cls = tokenizer_class_from_name(name)
        except Exception:  # noqa: BLE001 - a class that needs an optional package
            continue
        if cls is not None and not issubclass(cls, TokenizersBackend):
            slow.add(name)
    return {"transformers": transformers.__version__, "heads": dict(_TASK_CLASSES), "model_types": types,
            "slow_tokenizers": sorted(slow)}


def write_architectures() -> None:
    """Regenerates architectures.json's table, keeping its comment and refusal sentences."""
    current = json.loads(ARCHITECTURES_FILE.read_text(encoding="utf-8"))
    data = {"_comment": current["_comment"], "refusals": current["refusals"], **architecture_table()}
    ARCHITECTURES_FILE.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    architectures.cache_clear()


def _prefix_space(tok: Any) -> None:
    """Sets add_prefix_space on the byte-level steps of ``tok``'s pipeline itself. Tokenizer classes that
    rebuild their pipeline (RoBERTa's) honour the keyword; a plain tokenizer.json one (ModernBERT's,
    PreTrainedTokenizerFast) ignores it, and would then read each pre-split word as if it started the
    text ("wrote" -> "w", "rote") while running text reads "Ġwrote". Set here, it is saved in the run's
    tokenizer.json, which the editor's tokenizer follows, so training and editor tokenize alike."""
    from tokenizers import Tokenizer

    backend = tok.backend_tokenizer
    state = json.loads(backend.to_str())
    changed = False

    def visit(node: Any) -> None:
        nonlocal changed
        if isinstance(node, dict):
            if node.get("type") in ("ByteLevel", "RobertaProcessing") and node.get("add_prefix_space") is False:
                node["add_prefix_space"] = True
                changed = True
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for part in ("pre_tokenizer", "post_processor"):
        visit(state.get(part))
    if changed:
        rebuilt = Tokenizer.from_str(json.dumps(state))
        backend.pre_tokenizer = rebuilt.pre_tokenizer
        backend.post_processor = rebuilt.post_processor
    tok.add_prefix_space = True
    tok.init_kwargs["add_prefix_space"] = True


def load_tokenizer(folder: str | Path, task: str | None = None) -> Any:
    """The model's fast tokenizer, set up from its facts: no token_type_ids for a model without token
    types, and add_prefix_space for pre-split words (NER) with a byte-level BPE, in its pipeline."""
    from transformers import AutoTokenizer

    facts = model_facts(folder)
    kwargs: dict[str, Any] = {"use_fast": True}
    prefix = task == "token_classification" and facts.byte_level
    if prefix:
        kwargs["add_prefix_space"] = True
    tok = AutoTokenizer.from_pretrained(str(folder), **kwargs)
    if prefix:
        _prefix_space(tok)
    names = list(tok.model_input_names)
    if not facts.token_type_ids and "token_type_ids" in names:
        names.remove("token_type_ids")
    elif facts.token_type_ids and "token_type_ids" not in names:
        names.append("token_type_ids")
    tok.model_input_names = names
    return tok


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m bert_studio_trainer.families --write  (regenerates architectures.json)")
    write_architectures()
    print(ARCHITECTURES_FILE)
