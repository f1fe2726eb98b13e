"""CMRC 2018's character-level EM/F1 (the official cmrc2018_evaluate.py algorithm), against values
worked out by hand from that algorithm, and the metric chosen from the data's language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bert_studio_trainer.tasks.cmrc_metrics import (
    choose_qa_metric,
    cmrc_evaluate,
    exact_match_score,
    f1_score,
    mixed_segmentation,
    qa_evaluate,
)
from bert_studio_trainer.tasks.squad_metrics import f1_score as squad_f1


@pytest.mark.parametrize(("prediction", "gold", "em", "f1"), [
    ("北京大学", "北京大学", True, 1.0),
    # 4 characters against 2, both of "北京" shared: P = 1/2, R = 1, F1 = 2/3.
    ("北京大学", "北京", False, 2 / 3),
    # The longest common *contiguous* run is 2 of 4 ("北京" or "大学"): P = R = 1/2, F1 = 1/2,
    # where a bag-of-characters overlap would give 1.
    ("大学北京", "北京大学", False, 0.5),
    # Chinese punctuation (《》) is dropped for both EM and F1.
    ("《红楼梦》", "红楼梦", True, 1.0),
    # A number is one segment: [2018, 年, 世, 界, 杯] against [2018, 年]: P = 2/5, R = 1, F1 = 4/7.
    ("2018年世界杯", "2018年", False, 4 / 7),
    # Latin text is lower-cased and split into words: [apple, store] against [apple]: F1 = 2/3.
    ("Apple Store", "apple", False, 2 / 3),
    # A dropped "-" does not end the Latin run: "a-b" is the single segment "ab".
    ("a-b", "ab", True, 1.0),
    # EM keeps inner spaces, F1's segmentation drops them.
    ("北京 大学", "北京大学", False, 1.0),
    # "……" is listed as one two-character string, so "…" is never removed: EM fails.
    ("好……", "好", False, None),
    ("上海", "北京", False, 0.0),
])
def test_hand_computed_pairs(prediction: str, gold: str, em: bool, f1: float | None) -> None:
    assert exact_match_score(prediction, gold) is em
    if f1 is not None:
        assert f1_score(prediction, gold) == pytest.approx(f1)


def test_segmentation() -> None:
    assert mixed_segmentation("  Hello世界2018年，OK  ") == ["hello", "世", "界", "2018", "年", "，", "ok"]
    assert mixed_segmentation("Hello世界2018年，OK", remove_punctuation=True) == ["hello", "世", "界", "2018", "年", "ok"]


def test_squad_f1_means_nothing_without_spaces() -> None:
    # One "word" each for SQuAD: all or nothing, however many characters are right.
    assert squad_f1("北京大学的图书馆", "北京大学") == 0.0
    assert f1_score("北京大学的图书馆", "北京大学") == pytest.approx(2 * (4 / 8) * 1 / (4 / 8 + 1))


def test_evaluate_takes_the_best_reference_and_counts_missing_as_zero() -> None:
    gold = {"q1": ["北京", "北京大学"], "q2": ["北京"], "q3": ["上海"]}
    preds = {"q1": "北京大学", "q2": "北京大学"}
    out = cmrc_evaluate(preds, gold)
    assert out["exact_match"] == pytest.approx(100 / 3)
    assert out["f1"] == pytest.approx(100 * (1 + 2 / 3) / 3)


def test_gold_answers_score_100_on_cmrc_dev(data: Path) -> None:
    raw = json.loads((data / "cmrc2018" / "cmrc2018_dev.json").read_text(encoding="utf-8"))
    paragraphs = [p for a in raw["data"] for p in a["paragraphs"]]
    gold = {q["id"]: [x["text"] for x in q["answers"]] for p in paragraphs for q in p["qas"]}
    assert len(gold) == 3219
    for pick in (0, -1):
        assert cmrc_evaluate({k: v[pick] for k, v in gold.items()}, gold) == {"exact_match": 100.0, "f1": 100.0}
    assert choose_qa_metric(p["context"] for p in paragraphs) == "cmrc"


def test_metric_follows_the_language(data: Path) -> None:
    raw = json.loads((data / "squad_v1.1" / "dev-v1.1.json").read_text(encoding="utf-8"))
    contexts = [p["context"] for a in raw["data"][:20] for p in a["paragraphs"]]
    assert choose_qa_metric(contexts) == "squad"
    assert choose_qa_metric(["我们在北京使用transformers训练模型"]) == "cmrc"
    assert choose_qa_metric(contexts, "cmrc") == "cmrc"
    with pytest.raises(ValueError, match="auto, squad, cmrc"):
        choose_qa_metric(contexts, "bleu")
    preds, gold = {"q": "大学北京"}, {"q": ["北京大学"]}
    assert qa_evaluate(preds, gold, "cmrc")["f1"] == pytest.approx(50.0)
    assert qa_evaluate(preds, gold, "squad")["f1"] == 0.0
