"""QA answers are whole words: spans that stop inside a word take the rest of it, as BERT's SQuAD code
answers with the original words its tokens cover. Checked on real SQuAD v1.1 and CMRC 2018 dev
contexts with the default model's real tokenizer offsets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bert_studio_trainer.models import default_model_path
from bert_studio_trainer.tasks.qa import _word_char, best_span, whole_word_span
from bert_studio_trainer.tasks.squad_metrics import squad_evaluate


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(default_model_path()))


def questions(path: Path, limit: int) -> list[tuple[str, str, str, int]]:
    """(id, context, answer text, answer start) of the first `limit` answers."""
    out = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for p in article["paragraphs"]:
            for q in p["qas"]:
                for a in q["answers"][:1]:
                    out.append((q["id"], p["context"], a["text"], a["answer_start"]))
                    if len(out) >= limit:
                        return out
    return out


def token_span(offsets: list[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """First and last token of the context (offsets) that overlap [start, end)."""
    inside = [k for k, (a, b) in enumerate(offsets) if b > start and a < end and b > a]
    return (inside[0], inside[-1]) if inside else None


def test_partial_word_spans_become_the_whole_word(data: Path, tokenizer: Any) -> None:
    """Every SQuAD answer whose last word is several word pieces, cut before its last piece (the
    "Sergey Br" of "Sergey Brin"), comes back as the gold answer; so does one started at a piece."""
    cut_end = cut_start = 0
    for _qid, context, text, start in questions(data / "squad_v1.1" / "dev-v1.1.json", 2000):
        end = start + len(text)
        if not (_word_char(text[-1]) and _word_char(text[0])):
            continue
        if (end < len(context) and _word_char(context[end])) or (start > 0 and _word_char(context[start - 1])):
            continue  # the gold answer itself is part of a word: nothing to project onto
        enc = tokenizer(context, return_offsets_mapping=True, add_special_tokens=False)
        offsets, tokens = enc["offset_mapping"], enc.tokens()
        span = token_span(offsets, start, end)
        assert span is not None
        first, last = span
        if last > first and tokens[last].startswith("##"):  # the last token continues a word
            a, b = whole_word_span(context, offsets[first][0], offsets[last - 1][1])
            assert context[offsets[first][0]:offsets[last - 1][1]] != text
            assert context[a:b] == text, (context[offsets[first][0]:offsets[last - 1][1]], text)
            cut_end += 1
        if last > first and tokens[first + 1].startswith("##"):  # the second token continues the first word
            a, b = whole_word_span(context, offsets[first + 1][0], offsets[last][1])
            assert context[a:b] == text
            cut_start += 1
    assert cut_end >= 30 and cut_start >= 30, (cut_end, cut_start)


def test_gold_token_spans_keep_their_exact_match(data: Path, tokenizer: Any) -> None:
    """Projecting the gold answers' own token spans never lowers SQuAD EM/F1 (punctuation beside a
    word stays out), and a span's projection is idempotent."""
    qs = questions(data / "squad_v1.1" / "dev-v1.1.json", 600)
    raw, projected, gold = {}, {}, {}
    for qid, context, text, start in qs:
        offsets = tokenizer(context, return_offsets_mapping=True, add_special_tokens=False)["offset_mapping"]
        first, last = token_span(offsets, start, start + len(text))  # type: ignore[misc]
        a, b = offsets[first][0], offsets[last][1]
        raw[qid] = context[a:b]
        pa, pb = whole_word_span(context, a, b)
        projected[qid] = context[pa:pb]
        assert whole_word_span(context, pa, pb) == (pa, pb)
        gold[qid] = [text]
    before, after = squad_evaluate(raw, gold), squad_evaluate(projected, gold)
    assert after["exact_match"] >= before["exact_match"] and after["f1"] >= before["f1"], (before, after)
    assert sum(raw[q] != projected[q] for q in raw) < len(raw) / 10  # a gold span rarely cuts a word


def test_chinese_answers_stay_character_exact(data: Path, tokenizer: Any) -> None:
    """CMRC 2018: spans inside Chinese text are never widened (no spaces: every character would join)."""
    checked = 0
    for _qid, context, text, start in questions(data / "cmrc2018" / "cmrc2018_dev.json", 400):
        end = start + len(text)
        if context[start:end] != text or not ("\u4e00" <= text[0] <= "\u9fff" and "\u4e00" <= text[-1] <= "\u9fff"):
            continue
        for a, b in ((start, end), (start + 1, end), (start, end - 1)):
            if a < b:
                assert whole_word_span(context, a, b) == (a, b), text
        checked += 1
    assert checked >= 100


def test_best_span_returns_whole_words() -> None:
    """best_span's answer when the top end logit is on a word piece: the whole word."""
    context = "Google was founded by Larry Page and Sergey Brin."
    s = context.index("Sergey")
    b = context.index("Brin")
    offsets = [None, (s, s + 6), (b, b + 2), (b + 2, b + 4), (b + 4, b + 5), None]
    start = np.array([0.0, 5.0, 0.0, 0.0, 0.0, 0.0])
    end = np.array([0.0, 0.0, 5.0, 1.0, 0.0, 0.0])
    assert best_span(start, end, offsets, context, 5, 30)[1] == "Sergey Brin"
