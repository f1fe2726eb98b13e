"""question_answering: SQuAD v1.1 extractive QA. Long contexts become overlapping windows
(doc_stride); answers are decoded from the n best start/end logits with a maximum length."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.collate import pad_batch
from ..data.readers import check_fields, read_jsonl, read_squad, record_where
from ..models import from_pretrained_kwargs
from ..spec import ModelRef, SpecError
from .base import Batch, EvalResult, Feature, RunBatches, Task
from .cmrc_metrics import choose_qa_metric, qa_evaluate, qa_exact_match

MAX_MISCLASSIFIED = 50
# Scripts written without spaces between words (Han, kana, Thai, Lao, Myanmar, Khmer): answers
# there stay character-exact. Mirrors NO_SPACE in src/core/inference/postprocess.ts.
_NO_SPACE = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u2e80-\u2fdf\u3005\u3007\u3021-\u3029"
                       "\u3038-\u303b\u3040-\u30ff\u3190-\u319f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
                       "\uf900-\ufaff\uff66-\uff9f\U0001b000-\U0001b16f\U00020000-\U0003134f]")


def _word_char(c: str) -> bool:
    return (c.isalpha() or c.isdecimal() or unicodedata.category(c).startswith("M")) and not _NO_SPACE.match(c)


def whole_word_span(context: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened to the whole words it cuts, as BERT's SQuAD code answers with the
    original words its tokens cover: a span ending at a word piece ("Sergey Br", "RA" of "RARS")
    takes the rest of the word. Only letters, decimal digits and marks extend a span (not "½"), so punctuation next
    to a word ("Denver,", "Smith's") stays out, and text in scripts without spaces (Chinese,
    Japanese, Thai) stays character-exact. Whitespace at either end is left out (a SentencePiece
    "▁word" or a byte-level "Ġword" token's offsets may cover the space before it). Same rule as
    wholeWordSpan in src/core/inference/postprocess.ts."""
    while start < end and context[start].isspace():
        start += 1
    while end > start and context[end - 1].isspace():
        end -= 1
    if start >= end:
        return start, end
    if _word_char(context[start]):
        while start > 0 and _word_char(context[start - 1]):
            start -= 1
    if _word_char(context[end - 1]):
        while end < len(context) and _word_char(context[end]):
            end += 1
    return start, end


class QuestionAnsweringTask(Task):
    name = "question_answering"
    metric_names = ("exact_match", "f1")
    default_metric = "f1"

    def validate_spec(self, spec: Any) -> None:
        if spec.t("doc_stride") >= spec.t("max_seq_length"):
            raise SpecError("training.doc_stride must be smaller than max_seq_length.", "training.doc_stride")

    def load_examples(self, path: Path, split: str) -> list[dict[str, Any]]:
        records = read_jsonl(path) if path.suffix == ".jsonl" else read_squad(path)
        check_fields(records, ("id", "context", "question", "answers"), path)
        return records

    def build_model(self, model_ref: ModelRef) -> torch.nn.Module:
        from transformers import AutoModelForQuestionAnswering

        return AutoModelForQuestionAnswering.from_pretrained(model_ref.path, **from_pretrained_kwargs(model_ref.trust_pickle))

    def _questions(self, examples: Sequence[dict[str, Any]], tokenizer: Any) -> list[str]:
        """The questions, each cut to the tokens that leave the context more than doc_stride tokens of
        a window (a longer question would leave no room to slide the window: the tokenizer stops
        with a panic). Cut questions are counted in a note."""
        max_len, stride = self.spec.t("max_seq_length"), self.spec.t("doc_stride")
        limit = max_len - tokenizer.num_special_tokens_to_add(pair=True) - stride - 1
        if limit < 1:
            raise SpecError(f"training.doc_stride {stride} leaves no room for a question in windows of max_seq_length "
                            f"{max_len}; use a doc_stride of at most {stride + limit - 1} (or a longer max_seq_length).",
                            "training.doc_stride")
        questions = [r["question"].lstrip() for r in examples]
        enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
        cut = 0
        for i, offsets in enumerate(enc["offset_mapping"]):
            if len(offsets) > limit:
                questions[i] = questions[i][:offsets[max(limit, 1) - 1][1]]
                cut += 1
        if cut:
            self.notes.append(
                f"{cut} question(s) longer than {limit} tokens were cut to that length: with max_seq_length {max_len} "
                f"and doc_stride {stride} a longer question leaves the context no room for the sliding window. "
                "Raise training.max_seq_length or lower training.doc_stride to keep whole questions.")
        return questions

    def _encode(self, examples: Sequence[dict[str, Any]], tokenizer: Any) -> Any:
        self.pad_id = tokenizer.pad_token_id or 0
        return tokenizer(
            self._questions(examples, tokenizer), [r["context"] for r in examples],
            truncation="only_second", max_length=self.spec.t("max_seq_length"), stride=self.spec.t("doc_stride"),
            return_overflowing_tokens=True, return_offsets_mapping=True, return_attention_mask=False,
        )

    def build_train_features(self, examples: Sequence[dict[str, Any]], tokenizer: Any) -> list[Feature]:
        examples = self._with_true_spans(examples)
        enc = self._encode(examples, tokenizer)
        feats = []
        for i, ex_i in enumerate(enc["overflow_to_sample_mapping"]):
            r = examples[ex_i]
            seq_ids = enc.sequence_ids(i)
            offsets = enc["offset_mapping"][i]
            start = end = 0  # answer not inside this window: point at [CLS]
            if r["answers"]:
                a = r["answers"][0]
                s_char = a["answer_start"]
                e_char = s_char + len(a["text"])
                ctx = [k for k, s in enumerate(seq_ids) if s == 1]
                if ctx and offsets[ctx[0]][0] <= s_char and offsets[ctx[-1]][1] >= e_char:
                    start = next(k for k in ctx if offsets[k][1] > s_char)
                    end = next(k for k in reversed(ctx) if offsets[k][0] < e_char)
            f: Feature = {"input_ids": enc["input_ids"][i], "start_positions": start, "end_positions": end}
            if "token_type_ids" in enc:
                f["token_type_ids"] = enc["token_type_ids"][i]
            feats.append(f)
        return feats

    def _with_true_spans(self, examples: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Questions whose trained answer's `answer_start` does not point at its text are never trained
        on (a shifted span teaches the wrong words): they are left out, with a note naming the first."""
        kept, wrong = [], []
        for r in examples:
            a = r["answers"][0] if r["answers"] else None
            if a is not None and r["context"][a["answer_start"]:a["answer_start"] + len(a["text"])] != a["text"]:
                wrong.append(r)
            else:
                kept.append(r)
        if wrong:
            where = record_where(wrong[0], Path(str((wrong[0].get("source") or {}).get("file", "data"))))
            self.notes.append(
                f"{len(wrong)} training question(s) whose answer_start does not point at their answer text were "
                f"left out (the first: {where}, id {wrong[0].get('id')}); import the file as a dataset to see each "
                "one at its place with the corrected offset as a quick fix.")
        return kept

    def build_eval_features(self, examples: Sequence[dict[str, Any]], tokenizer: Any) -> list[Feature]:
        enc = self._encode(examples, tokenizer)
        feats = []
        for i, ex_i in enumerate(enc["overflow_to_sample_mapping"]):
            seq_ids = enc.sequence_ids(i)
            offsets = [o if seq_ids[k] == 1 else None for k, o in enumerate(enc["offset_mapping"][i])]
            f: Feature = {"input_ids": enc["input_ids"][i], "offsets": offsets, "example": ex_i}
            if "token_type_ids" in enc:
                f["token_type_ids"] = enc["token_type_ids"][i]
            feats.append(f)
        return feats

    def collate(self, features: Sequence[Feature], pad_to_multiple_of: int = 8) -> Batch:
        pads = {"input_ids": self.pad_id, "token_type_ids": 0, "start_positions": 0, "end_positions": 0}
        return pad_batch(features, pads, pad_to_multiple_of)

    def evaluate(self, model: torch.nn.Module, examples: Sequence[dict[str, Any]], features: Sequence[Feature],
                 run_batches: RunBatches) -> EvalResult:
        best: dict[int, tuple[float, str]] = {}
        n_best, max_len = self.spec.t("n_best_size"), self.spec.t("max_answer_length")
        for idx, _batch, out in run_batches(features):
            starts, ends = out["start_logits"].numpy(), out["end_logits"].numpy()
            for row, i in enumerate(idx):
                f = features[i]
                score, text = best_span(starts[row], ends[row], f["offsets"], examples[f["example"]]["context"], n_best, max_len)
                if f["example"] not in best or score > best[f["example"]][0]:
                    best[f["example"]] = (score, text)
        preds = {r["id"]: best.get(i, (0.0, ""))[1] for i, r in enumerate(examples)}
        gold = {r["id"]: [a["text"] for a in r["answers"]] or [""] for r in examples}
        metric = choose_qa_metric(r["context"] for r in examples)  # CMRC's character F1 for Chinese
        metrics = qa_evaluate(preds, gold, metric)
        wrong = [r for r in examples if not any(qa_exact_match(metric)(preds[r["id"]], g) for g in gold[r["id"]])]
        misclassified = [{"text": r["question"], "gold": gold[r["id"]][0], "pred": preds[r["id"]], "source": r.get("source")}
                         for r in wrong[:MAX_MISCLASSIFIED]]
        return EvalResult(metrics, {"misclassified": misclassified})


def best_span(start_logits: np.ndarray, end_logits: np.ndarray, offsets: Sequence[Any], context: str,
              n_best: int, max_answer_length: int) -> tuple[float, str]:
    """The highest start+end score over the n best starts and ends forming a valid context span,
    as whole words (whole_word_span)."""
    score, span = best_char_span(start_logits, end_logits, offsets, context, n_best, max_answer_length)
    return score, (context[span[0]:span[1]] if span else "")


def best_char_span(start_logits: np.ndarray, end_logits: np.ndarray, offsets: Sequence[Any], context: str,
                   n_best: int, max_answer_length: int) -> tuple[float, tuple[int, int] | None]:
    """best_span's answer as (score, (start, end) characters of context), None when there is none."""
    length = len(offsets)
    start_idx = np.argsort(start_logits[:length])[::-1][:n_best]
    end_idx = np.argsort(end_logits[:length])[::-1][:n_best]
    best_score, best_span_ = -np.inf, None
    for s in start_idx:
        if offsets[s] is None:
            continue
        for e in end_idx:
            if offsets[e] is None or e < s or e - s + 1 > max_answer_length:
                continue
            score = float(start_logits[s] + end_logits[e])
            if score > best_score:
                best_score, best_span_ = score, (offsets[s][0], offsets[e][1])
    if best_span_ is None:
        return float(best_score), None
    return float(best_score), whole_word_span(context, *best_span_)
