"""Named model shapes for pretraining from scratch: Google's BERT miniatures (Turc et al. 2019,
"Well-Read Students Learn Better") and the paper's base and large. Heads are H/64 and the
feed-forward is 4H, as in all of them.

`chinese-small` is `small`'s shape meant for a Chinese vocabulary: the vocabulary comes from the
corpus (`model.from_scratch.vocab_size`, trained by pretrain/vocab.py with Chinese-BERT
pre-tokenization, every CJK character its own token) and `suggested_vocab_size` gives bert-base-chinese's
21,128 for it. Any other preset combines with a Chinese vocabulary the same way: the shape is the
preset's, the vocabulary the corpus's."""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, tuple[int, int]] = {  # name -> (layers, hidden size)
    "tiny": (2, 128),
    "mini": (4, 256),
    "small": (4, 512),
    "medium": (8, 512),
    "base": (12, 768),
    "large": (24, 1024),
    "chinese-small": (4, 512),
}
# Vocabulary sizes to train for presets made for one language (bert-base-chinese has 21,128 tokens).
SUGGESTED_VOCAB_SIZE: dict[str, int] = {"chinese-small": 21128}


def suggested_vocab_size(name: str, default: int = 30522) -> int:
    """The vocabulary size to train for a preset: its language's (SUGGESTED_VOCAB_SIZE), else BERT's 30,522."""
    return SUGGESTED_VOCAB_SIZE.get(name, default)


def preset_config(name: str, vocab_size: int, pad_token_id: int = 0, max_position_embeddings: int = 512) -> Any:
    """A transformers BertConfig for a preset. Raises ValueError naming unknown presets."""
    from transformers import BertConfig

    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; use one of {', '.join(PRESETS)}.")
    layers, hidden = PRESETS[name]
    return BertConfig(
        vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 64), intermediate_size=4 * hidden,
        max_position_embeddings=max_position_embeddings, pad_token_id=pad_token_id,
        tie_word_embeddings=True,  # the MLM decoder is the input embedding matrix, as in BERT
    )
