"""Chinese whole-word masking on real ChnSentiCorp reviews: the rate, whole segmenter words only,
seeded determinism, exact resume, mixed Chinese-English text, the inspector's word groups, and
English text masked exactly as before."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_spec, read_events, train_straight_and_resumed

from bert_studio_trainer.pretrain.corpus import Document, read_corpus
from bert_studio_trainer.pretrain.features import build_sequences, tokenize_documents
from bert_studio_trainer.pretrain.masking import NOT_CHOSEN, MaskingConfig, mask_sequence, word_units
from bert_studio_trainer.pretrain.nsp import pack_blocks
from bert_studio_trainer.pretrain.segment import CJK_RUN, WordContinuation, tokenize_marking_words

MIXED = "我们在北京使用transformers训练模型"


def reviews(data: Path) -> list[str]:
    with (data / "chnsenticorp" / "ChnSentiCorp_htl_all.csv").open(encoding="utf-8", newline="") as f:
        return [r["review"] for r in csv.DictReader(f) if r["review"].strip()]


@pytest.fixture(scope="module")
def sample(data: Path) -> list[str]:
    return reviews(data)[:1500]


@pytest.fixture(scope="module")
def zh_tokenizer(sample: list[str]):  # noqa: ANN201 - a transformers tokenizer
    from bert_studio_trainer.pretrain.vocab import train_wordpiece

    return train_wordpiece(sample, 3000)


@pytest.fixture(autouse=True)
def vocab_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERT_STUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def independent_words(text: str, offsets: list[tuple[int, int]]) -> list[list[int]]:
    """Token indices of each multi-character CJK word, from rjieba's own offsets (not segment.py)."""
    import rjieba

    words = []
    for run in CJK_RUN.finditer(text):
        for _word, start, end in rjieba.tokenize(run.group()):
            if end - start > 1:
                s, e = run.start() + start, run.start() + end
                words.append([i for i, (a, _) in enumerate(offsets) if s <= a < e])
    return words


def test_rate_is_fifteen_percent_over_real_reviews(sample: list[str], zh_tokenizer) -> None:  # noqa: ANN001
    docs = [Document([r]) for r in sample]
    token_docs = tokenize_documents(docs, zh_tokenizer, words=True)
    cfg = MaskingConfig.from_tokenizer(zh_tokenizer, 0.15, whole_word=True)
    rng = np.random.default_rng(0)
    chosen = candidates = multi = 0
    blocks = pack_blocks(token_docs, 128, 0.0, 0, zh_tokenizer.cls_token_id, zh_tokenizer.sep_token_id)
    assert len(blocks) > 300
    for ids, _ in blocks:
        _, labels, branch = mask_sequence(ids, cfg, rng)
        chosen += int((branch != NOT_CHOSEN).sum())
        candidates += len(ids) - 2
        multi += sum(len(u) > 1 and branch[u[0]] != NOT_CHOSEN for u in word_units(ids, cfg))
    assert abs(chosen / candidates - 0.15) < 0.01
    assert multi > 1000  # words of several characters are chosen, not single characters


def test_only_whole_segmenter_words_are_chosen(sample: list[str], zh_tokenizer) -> None:  # noqa: ANN001
    cfg = MaskingConfig.from_tokenizer(zh_tokenizer, 0.15, whole_word=True)
    rng = np.random.default_rng(1)
    whole = 0
    for text in sample[:400]:
        enc = zh_tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=True,
                           max_length=126)
        marked = tokenize_marking_words([text], zh_tokenizer)[0][:len(enc["input_ids"])]
        assert [int(t) for t in marked] == enc["input_ids"]
        ids = [zh_tokenizer.cls_token_id, *marked, zh_tokenizer.sep_token_id]
        _, _, branch = mask_sequence(ids, cfg, rng)
        chosen = branch[1:-1] != NOT_CHOSEN
        for word in independent_words(text, enc["offset_mapping"]):
            word = [i for i in word if i < len(chosen)]
            assert len({bool(chosen[i]) for i in word}) <= 1, (text, word)  # all of a word or none
            whole += len(word) > 1 and bool(chosen[word[0]])
        # And every chosen group is exactly one unit: a segmenter word, a ## word or a single token.
        units = word_units(ids, cfg)
        assert sorted(p for u in units for p in u.tolist()) == list(range(1, len(ids) - 1))
        assert all(len({bool(branch[p] != NOT_CHOSEN) for p in u.tolist()}) == 1 for u in units)
    assert whole > 100


def test_units_match_the_segmenter_on_mixed_text(zh_tokenizer) -> None:  # noqa: ANN001
    import rjieba

    ids = [zh_tokenizer.cls_token_id, *tokenize_marking_words([MIXED], zh_tokenizer)[0], zh_tokenizer.sep_token_id]
    tokens = zh_tokenizer.convert_ids_to_tokens(ids)
    assert any(t.startswith("##") for t in tokens)  # "transformers" is word pieces in this vocabulary
    cfg = MaskingConfig.from_tokenizer(zh_tokenizer, 0.5, whole_word=True)
    texts = ["".join(tokens[p].removeprefix("##") for p in u) for u in word_units(ids, cfg)]
    assert texts == rjieba.cut(MIXED) == ["我们", "在", "北京", "使用", "transformers", "训练", "模型"]
    # Without whole-word masking every token is drawn on its own: a word is sometimes split.
    char_cfg = MaskingConfig.from_tokenizer(zh_tokenizer, 0.5)
    split = 0
    for seed in range(20):
        _, _, branch = mask_sequence(ids, char_cfg, np.random.default_rng(seed))
        split += any(len({bool(branch[p]) for p in u}) > 1 for u in word_units(ids, cfg))
    assert split > 0


def test_same_seed_same_masks(sample: list[str], zh_tokenizer) -> None:  # noqa: ANN001
    cfg = MaskingConfig.from_tokenizer(zh_tokenizer, 0.15, whole_word=True)
    ids = [zh_tokenizer.cls_token_id, *tokenize_marking_words([sample[3]], zh_tokenizer)[0][:126],
           zh_tokenizer.sep_token_id]
    a = mask_sequence(ids, cfg, np.random.default_rng(7))
    b = mask_sequence(ids, cfg, np.random.default_rng(7))
    c = mask_sequence(ids, cfg, np.random.default_rng(8))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[2], c[2])
    assert tokenize_marking_words([sample[3]], zh_tokenizer) == tokenize_marking_words([sample[3]], zh_tokenizer)


def test_english_text_is_masked_exactly_as_before(data: Path) -> None:
    from transformers import AutoTokenizer

    from bert_studio_trainer.models import default_model_path

    tok = AutoTokenizer.from_pretrained(str(default_model_path()))
    docs = read_corpus(data / "wikitext-2" / "valid.txt")[:20]
    marked, plain = tokenize_documents(docs, tok, words=True), tokenize_documents(docs, tok)
    assert marked == plain
    assert not any(type(t) is WordContinuation for d in marked for s in d for t in s)
    cfg = MaskingConfig.from_tokenizer(tok, 0.15, whole_word=True)
    for a, b in zip(build_sequences(marked, tok, True, 128, 0.1, 3), build_sequences(plain, tok, True, 128, 0.1, 3),
                    strict=True):
        ma = mask_sequence(a["input_ids"], cfg, np.random.default_rng(5))
        mb = mask_sequence(np.array(b["input_ids"]), cfg, np.random.default_rng(5))
        assert all(np.array_equal(x, y) for x, y in zip(ma, mb, strict=True))


def test_marks_survive_pair_building_and_the_task_uses_them(tmp_path: Path, sample: list[str]) -> None:
    from bert_studio_trainer.spec import parse_spec
    from bert_studio_trainer.tasks import build_task

    corpus = tmp_path / "zh.txt"
    corpus.write_text("\n\n".join(sample[:60]) + "\n", encoding="utf-8")
    raw = make_spec("mlm_nsp", corpus, max_seq_length=64, whole_word_masking=True)
    raw["model"]["from_scratch"] = {"preset": "tiny", "vocab_size": 2000}
    task = build_task(parse_spec(raw))
    docs = task.load_examples(corpus, "train")
    tok = task.build_tokenizer(task.spec.model)
    feats = task.build_train_features(docs, tok)
    marked = sum(type(t) is WordContinuation for f in feats for t in f["input_ids"])
    assert marked > 0.2 * sum(len(f["input_ids"]) for f in feats)  # Chinese: many tokens continue a word
    # The masking RNG is torch's checkpointed generator: restoring its state after some batches
    # (as a resume does) draws the very masks an uninterrupted run draws.
    torch.manual_seed(11)
    task.collate(feats[:8])
    state = torch.get_rng_state()
    first = task.collate(feats[8:16])
    torch.set_rng_state(state)
    again = task.collate(feats[8:16])
    assert torch.equal(first["labels"], again["labels"]) and torch.equal(first["input_ids"], again["input_ids"])
    cfg = task.masking
    for f, labels in zip(feats[8:16], first["labels"].tolist(), strict=True):
        chosen = [lab != -100 for lab in labels[:len(f["input_ids"])]]
        assert all(len({chosen[p] for p in u.tolist()}) == 1 for u in word_units(f["input_ids"], cfg))


def test_resume_is_exact_with_chinese_whole_word_masking(tmp_path: Path, sample: list[str]) -> None:
    corpus = tmp_path / "zh.txt"
    corpus.write_text("\n\n".join(sample[:40]) + "\n", encoding="utf-8")

    spec = make_spec("mlm_nsp", corpus, max_steps=6, per_device_train_batch_size=8, max_seq_length=32, save_steps=3,
                     logging_steps=1, learning_rate=1e-3, warmup_ratio=0.0, whole_word_masking=True)
    spec["model"]["from_scratch"] = {"preset": "tiny", "vocab_size": 1500}
    full, split = train_straight_and_resumed(tmp_path, spec, stop_after=3)
    a = {e["step"]: e for e in read_events(full, "step")}
    b = {e["step"]: e for e in read_events(split, "step")}
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in a:
        for key in ("loss", "mlm_loss", "nsp_loss"):
            assert b[step][key] == a[step][key]


def test_inspector_shows_word_groups(zh_tokenizer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    from bert_studio_trainer.__main__ import main
    from bert_studio_trainer.pretrain.inspector import inspect_masking

    text = "这家酒店的服务态度非常好。我们在北京使用transformers训练模型。"
    out = inspect_masking(text, zh_tokenizer, seed=2, task="mlm", mlm_probability=0.4, whole_word=True)
    words = {w["text"]: w for w in out["words"]}
    assert {"酒店", "服务态度", "北京", "transformers"} <= set(words)
    for w in out["words"]:
        chosen = {out["tokens"][i]["chosen"] for i in w["tokens"]}
        assert chosen == {w["chosen"]}  # a word is chosen whole
        assert all(out["tokens"][i]["word"] == w["index"] for i in w["tokens"])
    assert out["summary"]["chosen_words"] == sum(w["chosen"] for w in out["words"]) > 0
    assert len(words["服务态度"]["tokens"]) == 4
    folder = tmp_path / "tok"
    zh_tokenizer.save_pretrained(folder)
    assert main(["inspect-masking", "--text", text, "--tokenizer", str(folder), "--task", "mlm", "--seed", "2",
                 "--mlm-probability", "0.4", "--whole-word-masking"]) == 0
    assert json.loads(capsys.readouterr().out)["words"] == out["words"]


def test_slow_tokenizer_is_a_clear_error(zh_tokenizer, tmp_path: Path) -> None:  # noqa: ANN001
    from transformers import BertTokenizerLegacy  # a pure-Python tokenizer: no character offsets

    vocab = zh_tokenizer.get_vocab()
    (tmp_path / "vocab.txt").write_text("".join(t + "\n" for t in sorted(vocab, key=vocab.get)), encoding="utf-8")
    slow = BertTokenizerLegacy(str(tmp_path / "vocab.txt"))
    assert not slow.is_fast
    with pytest.raises(ValueError, match="fast tokenizer"):
        tokenize_marking_words([MIXED], slow)
    assert tokenize_marking_words(["plain English"], slow) == [slow("plain English", add_special_tokens=False)["input_ids"]]
