"""Token attributions by Integrated Gradients (Sundararajan et al. 2017) for a sequence classifier or a
token classifier (NER).

`python -m bert_studio_trainer attribute --model RUN_OR_DIR --text TEXT [--pair TEXT] [--target LABEL]
[--span START:END] [--steps N]` prints one JSON report; `--serve` reads one JSON request per stdin line
(`{"id", "text", "pair"?, "target"?, "span"?, "steps"?}`) and answers each on one stdout line, so the
editor keeps one process per model instead of paying Python's start for every selection.

The path runs from a baseline to the input in embedding space: the baseline keeps the special tokens
([CLS], [SEP], ...) and puts the padding token's embedding at every other position; position and
segment embeddings are the model's own on both ends. F is the softmax probability of the target
label (the predicted one unless asked), so an attribution reads as "this token moves P(label) by x".
The integral uses the trapezoidal rule over `steps` intervals. Completeness (the IG axiom): the
attributions sum to F(input) - F(baseline); `completeness_error` is the gap relative to that
difference. Offsets are character offsets (code points) into `text` and `pair`.

A token classifier explains one target in its text: the predicted entity that overlaps `span` most
(code points; an empty span is a cursor: the entity it is in or touches), else the words under
`span` with their predicted tags (an "O" word too), else, with no span, the first predicted entity.
Words and entities are decoded as training scores them (each word's first sub-token, seqeval's
entities), as the editor's Annotate Entities does. F is the SUM OF THE TARGET WORDS' LOGITS of the
tags predicted at the input (B-LOC at "New", I-LOC at "York"), fixed along the path: logits, not
probabilities, because a softmax saturated near 1 at the input leaves most of the path flat (the
attributions then concentrate on the few steps where it turns and the 50-step integral misses
completeness), and logits of several words add up where probabilities would not. The answer names the
target (`target`: its text, code-point span, tags and type) and keeps `probability` as the mean
probability of those tags (what the editor shows), with F in `value` and `baseline_value`.
A question-answering or masked-language model is refused with a message that names its task.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from ..spec import SpecError

DEFAULT_STEPS = 50
MAX_STEPS = 1000
BATCH = 16  # interpolation points per forward/backward pass
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


# What each model head is, for the refusal of the ones that cannot be explained.
HEAD_TASKS = {"ForSequenceClassification": "sequence_classification", "ForTokenClassification": "token_classification",
              "ForQuestionAnswering": "question_answering", "ForMaskedLM": "mlm", "ForPreTraining": "mlm_nsp"}
EXPLAINED = ("sequence_classification", "token_classification")


def head_task(arch: str) -> str | None:
    return next((task for suffix, task in HEAD_TASKS.items() if arch.endswith(suffix)), None)


class Explainer:
    """A sequence or token classifier loaded once (from a run folder or a model folder), explained many times."""

    def __init__(self, model: Path) -> None:
        import torch
        from transformers import (
            AutoModelForSequenceClassification,
            AutoModelForTokenClassification,
            AutoTokenizer,
        )

        from ..evaluate import resolve_model
        from ..train import _quiet_transformers

        _quiet_transformers()
        model_dir, _ = resolve_model(model)
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        arch = (config.get("architectures") or [""])[0]
        task = head_task(arch)
        if task not in EXPLAINED:
            what = f"a {task} model ({arch})" if task else f"a {arch or 'model of unknown type'}"
            raise SpecError(f"--model {model}: attributions explain a sequence classifier (a label's probability) or a token "
                            f"classifier (a predicted entity), and this model is {what}, which cannot be explained yet. "
                            "Pick a run trained for sequence_classification or token_classification.", "model")
        self.task = task
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        if not getattr(self.tokenizer, "is_fast", False):
            raise SpecError(f"--model {model}: its tokenizer cannot give character offsets (no tokenizer.json); "
                            "attributions are shown on the characters of each token.", "model")
        auto = AutoModelForTokenClassification if task == "token_classification" else AutoModelForSequenceClassification
        self.model = auto.from_pretrained(model_dir).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.labels = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        self.max_length = min(512, int(getattr(self.tokenizer, "model_max_length", 512) or 512))
        self.torch = torch

    def _target(self, target: str | None, probs: Any) -> int:
        if target is None:
            return int(probs.argmax())
        if target not in self.labels:
            raise SpecError(f"target {target!r} is not one of the model's labels: {', '.join(self.labels)}.", "target")
        return self.labels.index(target)

    def explain(self, text: str, pair: str | None = None, target: str | None = None, steps: int = DEFAULT_STEPS,
                span: Any = None) -> dict[str, Any]:
        if not isinstance(text, str) or not text.strip():
            raise SpecError("text is empty: select the text to explain.", "text")
        if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= MAX_STEPS:
            raise SpecError(f"steps must be a whole number from 1 to {MAX_STEPS}, not {steps!r}.", "steps")
        if self.task == "token_classification":
            if pair is not None:
                raise SpecError("pair: a token classifier reads one text; explain it without a second one.", "pair")
            if target is not None:
                raise SpecError("target: a token classifier explains the entity (or word) at span, not a label; "
                                "give span, the characters of the entity to explain.", "target")
            return self._explain_entity(text, _span(span, len(text)), steps)
        if span is not None:
            raise SpecError("span: a sequence classifier explains a label of the whole text; give target instead.", "span")
        return self._explain_label(text, pair, target, steps)

    def _encode(self, text: str, pair: str | None) -> dict[str, Any]:
        torch = self.torch
        enc = self.tokenizer(text, pair, truncation=True, max_length=self.max_length, return_offsets_mapping=True,
                             return_special_tokens_mask=True, return_tensors="pt")
        offsets = enc.pop("offset_mapping")[0].tolist()
        special = enc.pop("special_tokens_mask")[0].bool()
        embed = self.model.get_input_embeddings()
        ids = enc["input_ids"]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        return {
            "enc": enc, "ids": ids, "offsets": offsets, "special": special,
            "inputs": {k: v for k, v in enc.items() if k in ("attention_mask", "token_type_ids")},
            "x": embed(ids).detach(), "x0": embed(torch.where(special, ids, torch.full_like(ids, pad))).detach(),
        }

    def _outputs(self, e: Any, inputs: dict[str, Any]) -> Any:
        n = e.shape[0]
        return self.model(inputs_embeds=e, **{k: v.expand(n, -1) for k, v in inputs.items()}).logits.float()

    def _integrate(self, x: Any, x0: Any, f: Any, steps: int) -> Any:
        """Per-token IG attributions of f (a batch of embeddings -> one value each) from x0 to x (trapezoidal rule)."""
        torch = self.torch
        # Gradients at alpha = 0, 1/steps, ..., 1; the two ends weigh half.
        alphas = torch.linspace(0, 1, steps + 1)
        weights = torch.ones(steps + 1)
        weights[0] = weights[-1] = 0.5
        total = torch.zeros_like(x[0])
        for s in range(0, steps + 1, BATCH):
            a = alphas[s:s + BATCH].view(-1, 1, 1)
            path = (x0 + a * (x - x0)).requires_grad_(True)
            (grad,) = torch.autograd.grad(f(path).sum(), path)
            total += (grad * weights[s:s + BATCH].view(-1, 1, 1)).sum(0)
        return ((x - x0)[0] * total / steps).sum(-1)

    def _report(self, e: dict[str, Any], attributions: Any, value: float, baseline: float, steps: int, t0: float) -> dict[str, Any]:
        """The fields both kinds of answer share: the tokens with their offsets, the sums and the completeness gap."""
        tokens = self.tokenizer.convert_ids_to_tokens(e["ids"][0])
        rows = []
        for i, (tok, (s, end), seq) in enumerate(zip(tokens, e["offsets"], e["enc"].sequence_ids(0), strict=True)):
            if e["special"][i] or seq is None:
                continue
            rows.append({"token": tok, "segment": int(seq), "start": int(s), "end": int(end), "attribution": float(attributions[i])})
        delta = value - baseline
        gap = float(attributions.sum()) - delta
        return {
            "tokens": rows, "sum": float(attributions.sum()), "delta": delta,
            "completeness_error": abs(gap) / abs(delta) if abs(delta) > 1e-6 else abs(gap),
            "completeness_gap": gap, "steps": steps, "baseline": "padding embeddings (special tokens kept)",
            "truncated": bool(len(e["ids"][0]) >= self.max_length), "seconds": time.perf_counter() - t0,
        }

    def _explain_label(self, text: str, pair: str | None, target: str | None, steps: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        e = self._encode(text, pair)

        def probs_of(emb: Any) -> Any:
            return self._outputs(emb, e["inputs"]).softmax(-1)

        with self.torch.no_grad():
            p_input, p_base = probs_of(e["x"])[0], probs_of(e["x0"])[0]
        k = self._target(target, p_input)
        attributions = self._integrate(e["x"], e["x0"], lambda path: probs_of(path)[:, k], steps)
        return {
            "task": self.task, "output": "probability",
            "label": self.labels[k], "probability": float(p_input[k]), "baseline_probability": float(p_base[k]),
            "value": float(p_input[k]), "baseline_value": float(p_base[k]),
            "probabilities": {lab: float(v) for lab, v in zip(self.labels, p_input.tolist(), strict=True)},
            **self._report(e, attributions, float(p_input[k]), float(p_base[k]), steps, t0),
        }

    def _explain_entity(self, text: str, span: tuple[int, int] | None, steps: int) -> dict[str, Any]:
        torch = self.torch
        t0 = time.perf_counter()
        e = self._encode(text, None)
        with torch.no_grad():
            logits = self._outputs(e["x"], e["inputs"])[0]
        words = _words(e["enc"].word_ids(0), e["offsets"])
        tags = [self.labels[int(logits[w["first"]].argmax())] for w in words]
        entities = _entities(tags)
        chosen = _choose(words, entities, span)
        if chosen is None:
            where = "in this text" if span is None else f"at characters {span[0]}-{span[1]}"
            raise SpecError(f"span: no word of the text is {where}"
                            + (" (the model predicts no entity in it): put the cursor on a word to explain its tag." if span is None else
                               ": select an entity (or put the cursor on a word) inside the text."), "span")
        first, last = chosen
        positions = [words[i]["first"] for i in range(first, last + 1)]
        classes = [self.labels.index(tags[i]) for i in range(first, last + 1)]
        pos_t, cls_t = torch.tensor(positions), torch.tensor(classes)

        def f(emb: Any) -> Any:
            return self._outputs(emb, e["inputs"])[:, pos_t, cls_t].sum(-1)

        def mean_probability(out: Any) -> float:
            return float(out[pos_t].softmax(-1)[torch.arange(len(positions)), cls_t].mean())

        with torch.no_grad():
            base_logits = self._outputs(e["x0"], e["inputs"])[0]
        value = float(logits[pos_t, cls_t].sum())
        baseline = float(base_logits[pos_t, cls_t].sum())
        attributions = self._integrate(e["x"], e["x0"], f, steps)
        start, end = words[first]["start"], words[last]["end"]
        types = {t.split("-", 1)[-1] for t in tags[first:last + 1]}
        label = types.pop() if len(types) == 1 else "/".join(tags[first:last + 1])
        return {
            "task": self.task, "output": "logit sum",
            "label": label, "probability": mean_probability(logits), "baseline_probability": mean_probability(base_logits),
            "value": value, "baseline_value": baseline, "probabilities": {},
            "target": {"text": text[start:end], "start": start, "end": end, "tags": tags[first:last + 1],
                       "entity": (first, last + 1) in {(a, b) for a, b, _ in entities}},
            "entities": [{"label": t, "start": words[a]["start"], "end": words[b - 1]["end"], "text": text[words[a]["start"]:words[b - 1]["end"]]}
                         for a, b, t in entities],
            **self._report(e, attributions, value, baseline, steps, t0),
        }


def _span(span: Any, length: int) -> tuple[int, int] | None:
    """A request's span: [start, end] code points with 0 <= start <= end <= len(text), or None."""
    if span is None:
        return None
    ok = isinstance(span, (list, tuple)) and len(span) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in span)
    if not ok or not 0 <= span[0] <= span[1] <= length:
        raise SpecError(f"span must be [start, end] with 0 <= start <= end <= {length} (characters of the text), not {span!r}.", "span")
    return int(span[0]), int(span[1])


def _words(word_ids: list[int | None], offsets: list[list[int]]) -> list[dict[str, int]]:
    """The text's words as the model reads them: each with its first sub-token and its characters."""
    words: list[dict[str, int]] = []
    last = None
    for i, w in enumerate(word_ids):
        if w is None:
            continue
        s, e = offsets[i]
        if w != last:
            words.append({"first": i, "start": s, "end": e})
        else:
            words[-1]["end"] = max(words[-1]["end"], e)
        last = w
    return words


def _entities(tags: list[str]) -> list[tuple[int, int, str]]:
    """(first word, end word, type) of each predicted entity, decoded as seqeval (and the host's entityChunks) do."""
    from seqeval.metrics.sequence_labeling import get_entities

    return [(s, e + 1, t) for t, s, e in get_entities(list(tags))]


def _choose(words: list[dict[str, int]], entities: list[tuple[int, int, str]], span: tuple[int, int] | None) -> tuple[int, int] | None:
    """(first, last) word of the target: the entity overlapping span most, else the words under it; no span: the first entity."""
    if span is None:
        return (entities[0][0], entities[0][1] - 1) if entities else None
    s, e = span

    def overlap(a: int, b: int) -> int:
        # A cursor (s == e) counts inside a word or touching its end ("Paris|").
        return min(b, e) - max(a, s) if e > s else int(a <= s <= b)

    scored = [(overlap(words[a]["start"], words[b - 1]["end"]), a, b) for a, b, _ in entities]
    best = max(scored, default=(0, 0, 0))
    if best[0] > 0:
        return best[1], best[2] - 1
    under = [i for i, w in enumerate(words) if overlap(w["start"], w["end"]) > 0]
    return (under[0], under[-1]) if under else None


def _error(e: BaseException) -> dict[str, Any]:
    return {"error": str(e), **({"field": e.field} if isinstance(e, SpecError) and e.field else {})}


def serve(explainer: Explainer, lines: Any = None, out: Any = None) -> None:
    """One JSON request per line in, one JSON answer per line out (with the request's id)."""
    lines = lines if lines is not None else sys.stdin
    out = out or sys.stdout
    print(json.dumps({"ready": True, "labels": explainer.labels, "task": explainer.task}), file=out, flush=True)
    for line in lines:
        if not line.strip():
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id")
            answer = explainer.explain(req.get("text", ""), req.get("pair"), req.get("target"),
                                       req.get("steps", DEFAULT_STEPS), req.get("span"))
        except (SpecError, json.JSONDecodeError, AttributeError) as e:
            answer = _error(e)
        print(json.dumps({"id": rid, **answer}), file=out, flush=True)


def run_command(args: Any) -> int:
    import torch

    from ..engine.runtime import choose_threads

    torch.set_num_threads(choose_threads()[0])
    try:
        explainer = Explainer(Path(args.model))
        if args.serve:
            serve(explainer)
            return EXIT_OK
        span = [int(v) for v in args.span.split(":")] if args.span else None
        print(json.dumps(explainer.explain(args.text or "", args.pair, args.target, args.steps, span)))
        return EXIT_OK
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception:  # noqa: BLE001 - reported, never a bare crash
        traceback.print_exc()
        return EXIT_FAILED


def add_command(sub: Any) -> None:
    p = sub.add_parser("attribute", help="Integrated Gradients token attributions of a sequence or token classifier")
    p.add_argument("--model", required=True, help="a run folder, or a trained model folder (model/, best/)")
    p.add_argument("--text", default=None)
    p.add_argument("--pair", default=None, help="the second sentence, for a pair classifier")
    p.add_argument("--target", default=None, help="the label to explain (default: the predicted one)")
    p.add_argument("--span", default=None, type=_span_arg, help="token classifier: START:END, the characters (code points) of "
                   "the entity or word to explain (default: the first predicted entity)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"interpolation steps (default {DEFAULT_STEPS})")
    p.add_argument("--serve", action="store_true", help="answer JSON requests, one per stdin line")


def _span_arg(value: str) -> str:
    import argparse

    parts = value.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"{value!r}: give START:END, character offsets such as 10:15")
    return value
