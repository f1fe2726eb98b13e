"""CMRC 2018 exact match and F1, as the official cmrc2018_evaluate.py (v5) defines them, and the
choice between them and SQuAD's metrics by the data's language.

SQuAD's F1 counts whitespace tokens, which Chinese text does not have. CMRC's script instead:
- segments an answer into single CJK characters (U+4E00..U+9FA5) and, between them, runs of other
  characters tokenized by NLTK's word tokenizer (Latin words, numbers);
- lower-cases and strips the text, and for F1 drops its punctuation list (ASCII and Chinese) before
  segmenting. A dropped character does not end a Latin run: "a-b" is one token "ab";
- F1 = 2PR/(P+R) from the length of the longest common *contiguous* run of segments (not the
  multiset overlap SQuAD uses), the maximum over the reference answers;
- EM compares the strings after lower-casing, stripping and dropping the punctuation list.
Quirks kept on purpose, so that figures compare with published ones: "……" is in the list as one
two-character string, so a lone "…" is never removed; U+9FA6.. and extension-block characters are
not CJK here. One difference: the official script sentence-splits a Latin run with NLTK's Punkt
model before tokenizing; the model is a download, so runs are tokenized as one line
(`preserve_line`). Runs are lower-cased first, where Punkt rarely finds a boundary anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from .squad_metrics import average_over_questions, squad_evaluate
from .squad_metrics import exact_match_score as squad_exact_match

# The official list, in its order ("……" included as written: it never equals one character).
PUNCTUATION = ["-", ":", "_", "*", "^", "/", "\\", "~", "`", "+", "=",
               "，", "。", "：", "？", "！", "“", "”", "；", "’", "《", "》", "……", "·", "、",
               "「", "」", "（", "）", "－", "～", "『", "』"]
_CJK_CHAR = re.compile("[\u4e00-\u9fa5]")


def _word_tokenize(text: str) -> list[str]:
    from nltk.tokenize import word_tokenize

    return word_tokenize(text, preserve_line=True)


def mixed_segmentation(text: str, remove_punctuation: bool = False) -> list[str]:
    """CJK characters one by one, other runs as NLTK words (the official `mixed_segmentation`)."""
    segments: list[str] = []
    run = ""
    for ch in text.lower().strip():
        if remove_punctuation and ch in PUNCTUATION:
            continue
        if _CJK_CHAR.match(ch) or ch in PUNCTUATION:
            if run:
                segments.extend(_word_tokenize(run))
                run = ""
            segments.append(ch)
        else:
            run += ch
    if run:
        segments.extend(_word_tokenize(run))
    return segments


def remove_punctuation(text: str) -> str:
    return "".join(ch for ch in text.lower().strip() if ch not in PUNCTUATION)


def longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest contiguous run of segments common to a and b (the official `find_lcs`)."""
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        row = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                row[j + 1] = prev[j] + 1
                best = max(best, row[j + 1])
        prev = row
    return best


def f1_score(prediction: str, ground_truth: str) -> float:
    gold = mixed_segmentation(ground_truth, remove_punctuation=True)
    pred = mixed_segmentation(prediction, remove_punctuation=True)
    common = longest_common_run(gold, pred)
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def exact_match_score(prediction: str, ground_truth: str) -> bool:
    return remove_punctuation(prediction) == remove_punctuation(ground_truth)


def cmrc_evaluate(predictions: dict[str, str], gold: dict[str, Sequence[str]]) -> dict[str, float]:
    """CMRC 2018's EM/F1 (characters, punctuation removed) in percent over the questions in `gold`."""
    return average_over_questions(predictions, gold, exact_match_score, f1_score)


QA_METRICS = ("auto", "squad", "cmrc")


def choose_qa_metric(texts: Iterable[str], setting: str = "auto") -> str:
    """"squad" or "cmrc": the setting when it names one, else "cmrc" when at least a third of the
    letters in `texts` (contexts, or answers; the first 100,000 letters decide) are CJK characters,
    as in Chinese text with Latin names and numbers mixed in."""
    if setting not in QA_METRICS:
        raise ValueError(f"Unknown QA metric {setting!r}; use one of {', '.join(QA_METRICS)}.")
    if setting != "auto":
        return setting
    cjk = letters = 0
    for t in texts:
        cjk += len(_CJK_CHAR.findall(t))
        letters += sum(ch.isalnum() for ch in t)
        if letters >= 100_000:
            break
    return "cmrc" if letters and cjk * 3 >= letters else "squad"


def qa_evaluate(predictions: dict[str, str], gold: dict[str, Sequence[str]], metric: str) -> dict[str, float]:
    """EM/F1 by the metric choose_qa_metric picked."""
    return cmrc_evaluate(predictions, gold) if metric == "cmrc" else squad_evaluate(predictions, gold)


def qa_exact_match(metric: str) -> Callable[[str, str], bool]:
    """The exact-match function of a metric (for listing wrong answers)."""
    return exact_match_score if metric == "cmrc" else squad_exact_match
