"""Pretraining data, engine-free: corpus reading, masking statistics, NSP pairs, the inspector."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bert_studio_trainer.pretrain.corpus import parse_text, read_corpus, split_sentences
from bert_studio_trainer.pretrain.features import tokenize_documents
from bert_studio_trainer.pretrain.masking import (
    IGNORE,
    KEPT,
    MASKED,
    NOT_CHOSEN,
    RANDOM,
    MaskingConfig,
    mask_sequence,
)
from bert_studio_trainer.pretrain.nsp import build_pairs, encode_pair, pack_blocks


@pytest.fixture(scope="module")
def tokenizer():  # noqa: ANN201 - a transformers tokenizer
    from transformers import AutoTokenizer

    from bert_studio_trainer.models import default_model_path

    return AutoTokenizer.from_pretrained(str(default_model_path()))


@pytest.fixture(scope="module")
def wiki_tokens(data: Path, tokenizer) -> list[list[list[int]]]:  # noqa: ANN001
    return tokenize_documents(read_corpus(data / "wikitext-2" / "valid.txt"), tokenizer)


# ---- corpus ----------------------------------------------------------------------------------
def test_wikitext_articles_are_documents(data: Path) -> None:
    docs = read_corpus(data / "wikitext-2" / "valid.txt")
    assert len(docs) == 60  # SOURCE.md: 60 articles
    first = docs[0]
    assert first.source["title"] == "Homarus gammarus" and first.source["line"] == 2
    assert first.sentences[1] == "It is closely related to the American lobster , H. americanus ."
    assert not any(s.startswith("= =") for d in docs for s in d.sentences)  # section headings dropped
    assert not any("@" in s or "<unk>" in s for d in docs[:5] for s in d.sentences)


def test_sentence_splitting_keeps_initials_and_numbers() -> None:
    assert split_sentences("It weighs 0.7 kg. H. Smith saw it! Then 3 more came.") == [
        "It weighs 0.7 kg.", "H. Smith saw it!", "Then 3 more came."]


def test_text_shapes(tmp_path: Path) -> None:
    per_sentence = "A one.\nA two.\n\nB one.\nB two.\nB three.\n"
    docs = parse_text(per_sentence)
    assert [d.sentences for d in docs] == [["A one.", "A two."], ["B one.", "B two.", "B three."]]
    assert docs[1].source["line"] == 4
    per_line = "First doc. It has two sentences.\nSecond doc. Also two.\n"
    assert [len(d.sentences) for d in parse_text(per_line)] == [2, 2]
    snap = tmp_path / "train.jsonl"
    snap.write_text(json.dumps({"sentences": ["x y.", "z."], "source": {"file": "a.txt", "line": 7}}) + "\n\n")
    (tmp_path / "more.txt").write_text(per_sentence)
    docs = read_corpus(tmp_path)  # a folder: every .txt and .jsonl, sorted by name
    assert len(docs) == 3 and docs[0].sentences == ["A one.", "A two."]
    assert docs[2].source == {"file": "a.txt", "line": 7}


# ---- masking ---------------------------------------------------------------------------------
def test_masking_rates_over_100k_tokens(wiki_tokens, tokenizer) -> None:  # noqa: ANN001
    blocks = pack_blocks(wiki_tokens, 128, 0.1, 0, tokenizer.cls_token_id, tokenizer.sep_token_id)
    cfg = MaskingConfig.from_tokenizer(tokenizer, 0.15)
    rng = np.random.default_rng(1234)
    candidates = 0
    branches = {MASKED: 0, RANDOM: 0, KEPT: 0}
    special = np.array(sorted(cfg.special_ids))
    for ids, _ in blocks:
        if candidates >= 100_000:
            break
        ids_np = np.array(ids)
        out, labels, branch = mask_sequence(ids_np, cfg, rng)
        chosen = branch != NOT_CHOSEN
        assert not np.any(chosen & np.isin(ids_np, special)), "a special token was chosen"
        assert np.array_equal(labels[chosen], ids_np[chosen]) and np.all(labels[~chosen] == IGNORE)
        assert np.all(out[branch == MASKED] == tokenizer.mask_token_id)
        assert np.array_equal(out[branch == KEPT], ids_np[branch == KEPT])
        assert np.array_equal(out[~chosen], ids_np[~chosen])
        assert not np.any(np.isin(out[branch == RANDOM], special))
        candidates += int((~np.isin(ids_np, special)).sum())
        for b in branches:
            branches[b] += int((branch == b).sum())
    assert candidates >= 100_000
    chosen_total = sum(branches.values())
    assert abs(chosen_total / candidates - 0.15) <= 0.005, chosen_total / candidates
    assert abs(branches[MASKED] / chosen_total - 0.8) <= 0.02, branches
    assert abs(branches[RANDOM] / chosen_total - 0.1) <= 0.02, branches
    assert abs(branches[KEPT] / chosen_total - 0.1) <= 0.02, branches


def test_same_seed_same_masks(tokenizer) -> None:  # noqa: ANN001
    cfg = MaskingConfig.from_tokenizer(tokenizer)
    ids = tokenizer("the quick brown fox jumps over the lazy dog " * 8)["input_ids"]
    a = mask_sequence(ids, cfg, np.random.default_rng(7))
    b = mask_sequence(ids, cfg, np.random.default_rng(7))
    c = mask_sequence(ids, cfg, np.random.default_rng(8))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[2], c[2])


def test_whole_word_masking_takes_every_piece(wiki_tokens, tokenizer) -> None:  # noqa: ANN001
    cfg = MaskingConfig.from_tokenizer(tokenizer, 0.15, whole_word=True)
    cont = cfg.continuation
    assert cont is not None
    rng = np.random.default_rng(3)
    chosen_n = cand_n = split_words = 0
    for ids, _ in pack_blocks(wiki_tokens, 128, 0.0, 0, tokenizer.cls_token_id, tokenizer.sep_token_id)[:300]:
        ids_np = np.array(ids)
        _, _, branch = mask_sequence(ids_np, cfg, rng)
        chosen = branch != NOT_CHOSEN
        for i in range(1, len(ids) - 1):
            # A piece after [CLS] or [UNK] has no head word in this sequence: it is its own unit.
            if cont[ids_np[i]] and ids_np[i - 1] not in cfg.special_ids and chosen[i] != chosen[i - 1]:
                split_words += 1
        chosen_n += int(chosen.sum())
        cand_n += len(ids) - 2
    assert split_words == 0
    assert abs(chosen_n / cand_n - 0.15) < 0.01


# ---- NSP pairs -------------------------------------------------------------------------------
def test_nsp_pairs_half_random_from_other_documents(data: Path, tokenizer) -> None:  # noqa: ANN001
    docs = read_corpus(data / "wikitext-2" / "valid.txt") + read_corpus(data / "wikitext-2" / "test.txt")
    token_docs = tokenize_documents(docs, tokenizer)
    pairs = build_pairs(token_docs, 64, 0.1, seed=11)
    assert len(pairs) > 8000
    not_next = [p for p in pairs if p.is_random_next]
    assert abs(len(not_next) / len(pairs) - 0.5) <= 0.02
    assert all(p.b_doc != p.doc for p in not_next)
    assert all(p.b_doc == p.doc for p in pairs if not p.is_random_next)
    streams = [" " + " ".join(map(str, (t for s in d for t in s))) + " " for d in token_docs]
    for p in pairs[:500]:
        ids, types = encode_pair(p, tokenizer.cls_token_id, tokenizer.sep_token_id)
        assert len(ids) <= 64 and len(ids) == len(types)
        assert types == [0] * (len(p.tokens_a) + 2) + [1] * (len(p.tokens_b) + 1)
        a = " " + " ".join(map(str, p.tokens_a)) + " "
        b = " " + " ".join(map(str, p.tokens_b)) + " "
        assert a in streams[p.doc] and b in streams[p.b_doc]  # contiguous runs of their documents
        if not p.is_random_next:
            assert streams[p.doc].find(b, streams[p.doc].find(a)) >= 0  # B comes after A
    lengths = [len(p.tokens_a) + len(p.tokens_b) + 3 for p in pairs]
    assert np.mean([n == 64 for n in lengths]) > 0.6  # segments fill the sequence


def test_nsp_pairs_are_reproducible(wiki_tokens) -> None:  # noqa: ANN001
    a = build_pairs(wiki_tokens[:10], 128, 0.1, seed=5)
    b = build_pairs(wiki_tokens[:10], 128, 0.1, seed=5)
    assert [(p.tokens_a, p.tokens_b, p.is_random_next) for p in a] == [(p.tokens_a, p.tokens_b, p.is_random_next) for p in b]
    with pytest.raises(ValueError, match="two documents"):
        build_pairs(wiki_tokens[:1], 128, 0.1, seed=5)


def test_packed_blocks_fill_the_length(wiki_tokens, tokenizer) -> None:  # noqa: ANN001
    blocks = pack_blocks(wiki_tokens, 128, 0.0, 0, tokenizer.cls_token_id, tokenizer.sep_token_id)
    assert all(ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id for ids, _ in blocks)
    assert all(len(ids) == 128 for ids, _ in blocks[:-1])
    total = sum(len(t) for d in wiki_tokens for s in d for t in [s])
    assert sum(len(ids) - 2 for ids, _ in blocks) >= total  # nothing dropped (plus document [SEP]s)


# ---- inspector -------------------------------------------------------------------------------
TEXT = ("The cat sat on the mat. It was happy there. Then it slept for hours.\n\n"
        "Paris is the capital of France. It has many museums. The Louvre is the largest.")


def test_inspector_reports_branches_and_pair(tokenizer) -> None:  # noqa: ANN001
    from bert_studio_trainer.pretrain.inspector import inspect_masking

    out = inspect_masking(TEXT, tokenizer, seed=3, mlm_probability=0.3)
    json.dumps(out)
    chosen = [t for t in out["tokens"] if t["chosen"]]
    assert out["summary"]["chosen"] == len(chosen) > 0
    assert sum(out["summary"][b] for b in ("mask", "random", "keep")) == len(chosen)
    assert all(t["branch"] in ("mask", "random", "keep") and not t["special"] for t in chosen)
    assert all(t["input_token"] == "[MASK]" for t in chosen if t["branch"] == "mask")
    assert out["nsp"]["label"] in ("IsNext", "NotNext") and out["nsp"]["a"] and out["nsp"]["b"]
    assert out == inspect_masking(TEXT, tokenizer, seed=3, mlm_probability=0.3)
    single = inspect_masking("Just one document. With two sentences.", tokenizer, seed=1, task="mlm_nsp")
    assert single["nsp"] is None and "two documents" in single["note"]


def test_inspect_masking_command(capsys: pytest.CaptureFixture[str]) -> None:
    from bert_studio_trainer.__main__ import main

    assert main(["inspect-masking", "--text", TEXT, "--seed", "4", "--task", "mlm", "--whole-word-masking"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["task"] == "mlm" and out["whole_word_masking"] and out["nsp"] is None
    assert out["tokens"][0]["token"] == "[CLS]"
