"""The one JSONL reader (data/readers.py) behind the task snapshots and pretraining corpora."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bert_studio_trainer.data.readers import iter_jsonl, read_jsonl
from bert_studio_trainer.pretrain.corpus import read_corpus
from bert_studio_trainer.spec import SpecError


def test_snapshot_and_corpus_read_the_same_lines(tmp_path: Path) -> None:
    f = tmp_path / "train.jsonl"
    rows = [{"sentences": ["A b.", "C d."]}, {"sentences": ["E f."], "source": {"file": "x.txt", "line": 9}}]
    f.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(json.dumps(r).encode() for r in [rows[0]]) + b"\r\n\r\n" + json.dumps(rows[1]).encode() + b"\r\n")
    assert [n for n, _ in iter_jsonl(f)] == [1, 3]  # BOM and CRLF accepted, blank lines skipped
    assert [r["source"] for r in read_jsonl(f)] == [{"file": str(f), "line": 1}, {"file": "x.txt", "line": 9}]
    docs = read_corpus(f)
    assert [d.sentences for d in docs] == [r["sentences"] for r in rows]
    assert [d.source for d in docs] == [r["source"] for r in read_jsonl(f)]


@pytest.mark.parametrize(("content", "message"), [
    ('{"sentences": ["a"]}\n{"sentences": [\n', r"train\.jsonl:2: not valid JSON"),
    ('{"sentences": ["a"]}\n\n["a", "b"]\n', r"train\.jsonl:3: expected a JSON object, found list"),
])
def test_errors_name_file_and_line_for_both_readers(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "train.jsonl"
    f.write_text(content)
    with pytest.raises(SpecError, match=message):
        read_jsonl(f)
    with pytest.raises(SpecError, match=message):
        read_corpus(f)


def test_corpus_record_without_sentences(tmp_path: Path) -> None:
    f = tmp_path / "c.jsonl"
    f.write_text('{"text": "a"}\n')
    with pytest.raises(ValueError, match=r'c\.jsonl:1: a pretraining record needs "sentences"'):
        read_corpus(f)
