"""A WordPiece vocabulary trained on the corpus with the `tokenizers` library (BERT's uncased
normalization and pre-tokenization), wrapped as a transformers tokenizer so it saves with the
model and loads with AutoTokenizer.

Chinese follows Chinese BERT: the normalizer puts spaces around every CJK character, so each is a
word of its own and becomes one token (never a `##` piece), while Latin words and numbers in the
same text are split into WordPiece pieces as in English. Every character of the corpus is in the
vocabulary, so a Chinese vocabulary holds at least its distinct characters, even when that is
more than vocab_size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0..4, in this order


def train_wordpiece(texts: Iterable[str], vocab_size: int, lowercase: bool = True, min_frequency: int = 2) -> Any:
    """Train a BERT WordPiece tokenizer on `texts`. Deterministic for the same input."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from tokenizers.trainers import WordPieceTrainer
    from transformers import BertTokenizerFast

    tok = Tokenizer(WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=None, clean_text=True,
                                                handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS,
                               show_progress=False)
    tok.train_from_iterator(_without_specials(texts), trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return BertTokenizerFast(tokenizer_object=tok, do_lower_case=lowercase, unk_token="[UNK]", sep_token="[SEP]",
                             pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")


def _without_specials(texts: Iterable[str]) -> Iterator[str]:
    # The corpus reader writes WikiText's <unk> as [UNK]; it must not become word pieces.
    for t in texts:
        yield t.replace("[UNK]", " ")


def build_vocab(corpus: Path, vocab_size: int, out_dir: Path) -> Any:
    """The `build-vocab` command: train on a corpus file or folder and save the tokenizer."""
    from .corpus import read_corpus

    docs = read_corpus(corpus)
    tokenizer = train_wordpiece((s for d in docs for s in d.sentences), vocab_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out_dir)
    return tokenizer
