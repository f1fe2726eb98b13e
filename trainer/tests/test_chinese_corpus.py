"""The Chinese pretraining recipe (issue 13): sentence splitting for NSP, the corpus bench/chinese.py
builds from the shared Chinese data without any evaluation text, and the chinese-small preset."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from conftest import REPO

from bert_studio_trainer.pretrain.corpus import parse_text, split_sentences
from bert_studio_trainer.pretrain.presets import PRESETS, preset_config, suggested_vocab_size
from bert_studio_trainer.pretrain.vocab import train_wordpiece


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_chinese", REPO / "bench" / "chinese.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_chinese"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench(data: Path) -> ModuleType:
    if not (data / "cmrc2018").is_dir():
        pytest.skip("shared Chinese data missing")
    return _bench()


@pytest.fixture(scope="module")
def splits(bench: ModuleType, data: Path) -> dict:
    return bench.load_splits(data, 42)


def test_chinese_sentences_end_at_full_stops_and_marks() -> None:
    text = "房间很干净。早餐一般！！服务员说：“欢迎光临。”还会再来吗？会的"
    assert split_sentences(text) == ["房间很干净。", "早餐一般！！", "服务员说：“欢迎光临。”", "还会再来吗？", "会的"]
    # ASCII punctuation between Chinese characters, as many reviews are typed; never inside a number.
    assert split_sentences("交通方便.房间3.5米宽!推荐") == ["交通方便.", "房间3.5米宽!", "推荐"]
    # English and mixed text keep the English rule.
    assert split_sentences("It is near. We liked it. 很好。") == ["It is near.", "We liked it.", "很好。"]


def test_a_chinese_document_per_line_is_split_into_sentences() -> None:
    docs = parse_text("房间很好。早餐一般。\n交通方便！价格合理。下次再来。\n")
    assert [d.sentences for d in docs] == [["房间很好。", "早餐一般。"], ["交通方便！", "价格合理。", "下次再来。"]]
    assert [d.source["line"] for d in docs] == [1, 2]


def test_corpus_holds_no_evaluation_text(bench: ModuleType, splits: dict) -> None:
    corpus = bench.build_corpus(splits)
    sentences = {s for d in corpus for s in d["sentences"]}
    documents = {"".join(d["sentences"]) for d in corpus}
    joined = "\n".join(documents)
    senti_eval = [r["text"] for k in ("dev", "test") for r in splits["chnsenticorp"][k]]
    assert len(senti_eval) > 1000
    for text in senti_eval:
        assert text not in documents
        assert text not in sentences
    # A long review cannot be inside another document either (short ones, "不错", may well be).
    long_reviews = [t for t in senti_eval if len(t) >= 40]
    assert long_reviews and not [t for t in long_reviews if t in joined]
    msra_eval = {"".join(r["tokens"]) for k in ("dev", "test") for r in splits["msra_ner"][k]}
    assert not msra_eval & sentences
    dev_contexts = {r["context"] for r in splits["cmrc2018"]["dev"]}
    assert not [c for c in dev_contexts if c[:60] in joined]
    # What it does hold: the train splits.
    train = [r["text"] for r in splits["chnsenticorp"]["train"]]
    assert sum(t in documents for t in train) > 0.9 * len(train)
    assert all(isinstance(d["source"], dict) for d in corpus)


def test_a_train_text_equal_to_an_evaluation_text_is_left_out(bench: ModuleType, splits: dict) -> None:
    senti = dict(splits["chnsenticorp"])
    leaked = senti["test"][0]
    senti["train"] = [*senti["train"][:50], dict(leaked, source={"file": "dup", "line": 1})]
    msra = dict(splits["msra_ner"])
    msra["train"] = [*msra["train"][:20], msra["dev"][0], *msra["train"][20:30]]
    cmrc = {"train": [*splits["cmrc2018"]["train"][:5], splits["cmrc2018"]["dev"][0]], "dev": splits["cmrc2018"]["dev"]}
    corpus = bench.build_corpus({"chnsenticorp": senti, "msra_ner": msra, "cmrc2018": cmrc})
    texts = {"".join(d["sentences"]) for d in corpus}
    sentences = {s for d in corpus for s in d["sentences"]}
    assert leaked["text"] not in texts
    assert "".join(msra["dev"][0]["tokens"]) not in sentences
    assert splits["cmrc2018"]["dev"][0]["context"] not in texts
    assert len([d for d in corpus if d["source"].get("file") == bench.CMRC_TRIAL]) == len({r["context"] for r in cmrc["train"][:5]})
    # The MSRA sentences on either side of the left-out one are still there.
    assert "".join(msra["train"][19]["tokens"]) in sentences and "".join(msra["train"][21]["tokens"]) in sentences


def test_seeded_splits_are_stated_and_disjoint(bench: ModuleType) -> None:
    a, b = bench.split_three(1000, 42), bench.split_three(1000, 42)
    assert a == b
    assert sorted(a["train"] + a["dev"] + a["test"]) == list(range(1000))
    assert [len(a[k]) for k in ("train", "dev", "test")] == [800, 100, 100]
    assert bench.split_three(1000, 7) != a


def test_cmrc_questions_with_a_wrong_offset_are_not_trained_on(bench: ModuleType, data: Path) -> None:
    trial = bench.read_cmrc(data / bench.CMRC_TRIAL)
    kept = [r for r in trial if bench.usable_answers(r)]
    wrong = [r for r in trial if not bench.usable_answers(r)]
    assert wrong, "the trial file has offsets that do not match"
    for r in wrong:
        a = r["answers"][0]
        assert r["context"][a["answer_start"]:a["answer_start"] + len(a["text"])] != a["text"]
    for r in kept:
        a = r["answers"][0]
        assert r["context"][a["answer_start"]:a["answer_start"] + len(a["text"])] == a["text"]


def test_chinese_small_preset_builds_with_a_chinese_vocabulary(data: Path) -> None:
    from transformers import BertForMaskedLM

    assert PRESETS["chinese-small"] == PRESETS["small"]
    assert suggested_vocab_size("chinese-small") == 21128
    assert suggested_vocab_size("tiny") == 30522
    path = data / "chnsenticorp" / "ChnSentiCorp_htl_all.csv"
    if not path.is_file():
        pytest.skip("shared Chinese data missing")
    lines = path.read_text(encoding="utf-8").splitlines()[1:400]
    texts = [x.split(",", 1)[1] for x in lines if "," in x]
    tok = train_wordpiece(texts, suggested_vocab_size("chinese-small"))
    config = preset_config("chinese-small", len(tok), tok.pad_token_id, 64)
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads, config.intermediate_size) == (4, 512, 8, 2048)
    assert config.vocab_size == len(tok) < suggested_vocab_size("chinese-small")  # what the corpus holds
    torch.manual_seed(0)
    model = BertForMaskedLM(config).eval()
    enc = tok(random.Random(0).sample(texts, 4), padding=True, truncation=True, max_length=64, return_tensors="pt")
    assert tok.unk_token_id not in enc["input_ids"][enc["attention_mask"].bool()].tolist()
    with torch.no_grad():
        logits = model(**enc).logits
    assert logits.shape == (*enc["input_ids"].shape, len(tok))
    with pytest.raises(ValueError, match="chinese-small"):
        preset_config("chinese-smal", 100)
