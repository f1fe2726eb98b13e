"""A Chinese WordPiece vocabulary trained on ChnSentiCorp: Chinese-BERT pre-tokenization (each CJK
character its own token, Latin words as WordPiece pieces) and few [UNK]s on held-out reviews."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_chinese_masking import reviews

from bert_studio_trainer.pretrain.segment import CJK_RUN
from bert_studio_trainer.pretrain.vocab import train_wordpiece


@pytest.fixture(scope="module")
def all_reviews(data: Path) -> list[str]:
    return reviews(data)


@pytest.fixture(scope="module")
def zh(all_reviews: list[str]):  # noqa: ANN201 - a transformers tokenizer
    return train_wordpiece(all_reviews[:1500], 3000)


def test_each_cjk_character_is_one_token(zh, all_reviews: list[str]) -> None:  # noqa: ANN001
    vocab = zh.get_vocab()
    assert not [t for t in vocab if CJK_RUN.search(t) and (t.startswith("##") or len(t) > 1)]
    for text in all_reviews[:200]:
        enc = zh(text, add_special_tokens=False, return_offsets_mapping=True)
        tokens = zh.convert_ids_to_tokens(enc["input_ids"])
        for tok, (a, b) in zip(tokens, enc["offset_mapping"], strict=True):
            if CJK_RUN.fullmatch(text[a:b]):
                assert b - a == 1 and tok == text[a]  # seen in training: the character itself
            else:
                assert not CJK_RUN.search(text[a:b])  # no token mixes CJK and other characters


def test_latin_words_are_word_pieces(zh) -> None:  # noqa: ANN001
    tokens = zh.tokenize("酒店的WiFi很好，unbelievable")
    assert tokens[:3] == ["酒", "店", "的"]
    latin = tokens[3:tokens.index("很")]
    assert len(latin) > 1 and latin[0] == "w" and all(t.startswith("##") for t in latin[1:])
    assert "".join(t.removeprefix("##") for t in latin) == "wifi"
    tail = tokens[tokens.index("，") + 1:]
    assert "".join(t.removeprefix("##") for t in tail) == "unbelievable" and tail[1].startswith("##")


def test_few_unknown_tokens_on_held_out_reviews(zh, all_reviews: list[str]) -> None:  # noqa: ANN001
    from transformers import AutoTokenizer

    from bert_studio_trainer.models import default_model_path

    held_out = all_reviews[6000:6500]

    def unk_share(tok) -> float:  # noqa: ANN001
        ids = [i for r in held_out for i in tok(r, add_special_tokens=False)["input_ids"]]
        return sum(i == tok.unk_token_id for i in ids) / len(ids)

    english = AutoTokenizer.from_pretrained(str(default_model_path()))
    assert unk_share(zh) < 0.02  # characters never seen in the 1,500 training reviews
    assert unk_share(english) > 0.5  # the shipped English vocabulary: most characters are [UNK]


def test_build_vocab_command_on_chinese_text(tmp_path: Path, all_reviews: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from transformers import AutoTokenizer

    from bert_studio_trainer.__main__ import main

    corpus = tmp_path / "zh.txt"
    corpus.write_text("\n\n".join(all_reviews[:300]) + "\n", encoding="utf-8")
    out = tmp_path / "vocab"
    assert main(["build-vocab", "--corpus", str(corpus), "--vocab-size", "2000", "--out", str(out)]) == 0
    size = json.loads(capsys.readouterr().out)["vocab_size"]
    tok = AutoTokenizer.from_pretrained(out)
    assert len(tok) == size >= 1000
    assert tok.tokenize("房间很干净") == ["房", "间", "很", "干", "净"]
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
