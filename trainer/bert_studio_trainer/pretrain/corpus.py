"""Pretraining corpora -> documents (lists of sentences), each with its source line.

Accepted shapes (DESIGN.md, snapshot for mlm/mlm_nsp):
- snapshot JSONL: `{"sentences": [...], "source": {...}}`, one document per line;
- BERT's original text format: one sentence per line, a blank line between documents;
- one document per line (multi-sentence lines), split into sentences here;
- WikiText (` = Title = ` headings): an article is a document, section headings are dropped,
  `@-@`-style split tokens are joined back and `<unk>` becomes `[UNK]`.
A folder is read file by file (*.txt, *.jsonl), sorted, so document order is reproducible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.readers import iter_jsonl, iter_lines
from .segment import _CJK


@dataclass
class Document:
    sentences: list[str]
    source: dict[str, Any] = field(default_factory=dict)


# A sentence ends at . ! ? (maybe followed by a closing quote or bracket) followed by space and an
# upper-case letter, digit or opening quote. Not after a single capital ("H. americanus" is an
# initial) nor inside WikiText's "@.@" number split.
_SENTENCE_END = re.compile(r"""(?<!\s[A-Z]\.)(?<!^[A-Z]\.)(?<!@\.)(?<=[.!?])["')\]]?\s+(?=["'(\[]?[A-Z0-9])""")
# Chinese sentences end at 。！？ (a run of them, maybe closed by a quote or bracket), with or without
# a space after; the next sentence starts at once, as Chinese writes no space between sentences.
# An ASCII . ! ? between two Chinese characters ends one too (reviews typed with ASCII punctuation),
# and so does one followed by a space and a Chinese character (mixed text).
_CJK_SENTENCE_END = re.compile(r"(?<=[。！？])(?![。！？”’」』）])|(?<=[。！？][”’」』）])"
                               f"|(?<=[{_CJK}][.!?])(?=[{_CJK}])|(?<=[.!?])\\s+(?=[{_CJK}])")
_WIKI_HEADING = re.compile(r"^\s*(=\s+)+.*?(\s+=)+\s*$")
_WIKI_TITLE = re.compile(r"^\s*=\s+[^=].*?\s+=\s*$")  # level 1 only: "= Title =", not "= = Section = ="
_WIKI_JOIN = re.compile(r"\s*@([-.,])@\s*")


def split_sentences(text: str) -> list[str]:
    return [c.strip() for s in _SENTENCE_END.split(text.strip()) for c in _CJK_SENTENCE_END.split(s) if c.strip()]


def clean_wikitext(line: str) -> str:
    return _WIKI_JOIN.sub(r"\1", line).replace("<unk>", "[UNK]").strip()


def read_corpus(path: Path) -> list[Document]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".txt", ".jsonl") and p.is_file())
        if not files:
            raise ValueError(f"No .txt or .jsonl files in {path}")
        return [d for f in files for d in read_corpus(f)]
    if path.suffix == ".jsonl":
        return _read_jsonl(path)
    # Streamed: a line over the reader's limit, a binary file or a non-UTF-8 byte stops at its line.
    return parse_lines([line for _, line in iter_lines(path)], path)


def parse_text(text: str, path: Path | str = "<text>") -> list[Document]:
    """Documents of a plain-text corpus (the shape is detected, see the module docstring)."""
    return parse_lines(text.splitlines(), path)


def parse_lines(lines: list[str], path: Path | str = "<text>") -> list[Document]:
    """Documents of a plain-text corpus given as its lines."""
    if any(_WIKI_TITLE.match(x) for x in lines[:200]):
        return _read_wikitext(path, lines)
    if _multi_sentence_lines(lines):
        return [Document(split_sentences(x), {"file": str(path), "line": n})
                for n, x in enumerate(lines, 1) if x.strip()]
    return _read_blank_separated(path, lines)


def _multi_sentence_lines(lines: list[str]) -> bool:
    """One document per line when most non-blank lines hold more than one sentence."""
    sample = [x for x in lines[:2000] if x.strip()]
    multi = sum(1 for x in sample if len(split_sentences(x)) > 1)
    return bool(sample) and multi * 2 > len(sample)


def _read_blank_separated(path: Path | str, lines: list[str]) -> list[Document]:
    docs: list[Document] = []
    current: list[str] = []
    start = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            if current:
                docs.append(Document(current, {"file": str(path), "line": start}))
            current = []
            continue
        if not current:
            start = n
        current.append(line.strip())
    if current:
        docs.append(Document(current, {"file": str(path), "line": start}))
    return docs


def _read_wikitext(path: Path | str, lines: list[str]) -> list[Document]:
    docs: list[Document] = []
    for n, line in enumerate(lines, 1):
        if _WIKI_TITLE.match(line):
            docs.append(Document([], {"file": str(path), "line": n, "title": line.strip(" =")}))
        elif _WIKI_HEADING.match(line) or not line.strip():
            continue
        else:
            if not docs:
                docs.append(Document([], {"file": str(path), "line": n}))
            docs[-1].sentences.extend(split_sentences(clean_wikitext(line)))
    return [d for d in docs if d.sentences]


def _read_jsonl(path: Path) -> list[Document]:
    docs = []
    for n, rec in iter_jsonl(path):
        sentences = rec.get("sentences")
        if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
            raise ValueError(f'{path}:{n}: a pretraining record needs "sentences": [str, ...]')
        sentences = [s for s in sentences if s.strip()]
        if sentences:
            docs.append(Document(sentences, rec.get("source") or {"file": str(path), "line": n}))
    return docs
