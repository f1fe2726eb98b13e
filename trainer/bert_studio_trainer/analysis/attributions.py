"""Token attributions by Integrated Gradients (Sundararajan et al. 2017) for a sequence classifier.

`python -m bert_studio_trainer attribute --model RUN_OR_DIR --text TEXT [--pair TEXT] [--target LABEL]
[--steps N]` prints one JSON report; `--serve` reads one JSON request per stdin line
(`{"id", "text", "pair"?, "target"?, "steps"?}`) and answers each on one stdout line, so the editor
keeps one process per model instead of paying Python's start for every selection.

The path runs from a baseline to the input in embedding space: the baseline keeps the special tokens
([CLS], [SEP], ...) and puts the padding token's embedding at every other position; position and
segment embeddings are the model's own on both ends. F is the softmax probability of the target
label (the predicted one unless asked), so an attribution reads as "this token moves P(label) by x".
The integral uses the trapezoidal rule over `steps` intervals. Completeness (the IG axiom): the
attributions sum to F(input) - F(baseline); `completeness_error` is the gap relative to that
difference. Offsets are character offsets (code points) into `text` and `pair`.
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


class Explainer:
    """A sequence classifier loaded once (from a run folder or a model folder), explained many times."""

    def __init__(self, model: Path) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from ..evaluate import resolve_model
        from ..train import _quiet_transformers

        _quiet_transformers()
        model_dir, _ = resolve_model(model)
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        arch = (config.get("architectures") or [""])[0]
        if not arch.endswith("ForSequenceClassification"):
            raise SpecError(f"--model {model}: attributions explain a sequence classifier, and this model is a {arch or 'model of unknown type'}. "
                            "Pick a run trained for sequence_classification.", "model")
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        if not getattr(self.tokenizer, "is_fast", False):
            raise SpecError(f"--model {model}: its tokenizer cannot give character offsets (no tokenizer.json); "
                            "attributions are shown on the characters of each token.", "model")
        self.model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
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

    def explain(self, text: str, pair: str | None = None, target: str | None = None, steps: int = DEFAULT_STEPS) -> dict[str, Any]:
        torch = self.torch
        if not isinstance(text, str) or not text.strip():
            raise SpecError("text is empty: select the text to explain.", "text")
        if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= MAX_STEPS:
            raise SpecError(f"steps must be a whole number from 1 to {MAX_STEPS}, not {steps!r}.", "steps")
        t0 = time.perf_counter()
        enc = self.tokenizer(text, pair, truncation=True, max_length=self.max_length, return_offsets_mapping=True,
                             return_special_tokens_mask=True, return_tensors="pt")
        offsets = enc.pop("offset_mapping")[0].tolist()
        special = enc.pop("special_tokens_mask")[0].bool()
        sequence_ids = enc.sequence_ids(0)
        inputs = {k: v for k, v in enc.items() if k in ("attention_mask", "token_type_ids")}
        embed = self.model.get_input_embeddings()
        ids = enc["input_ids"]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        x = embed(ids).detach()
        x0 = embed(torch.where(special, ids, torch.full_like(ids, pad))).detach()

        def probs_of(e: Any) -> Any:
            n = e.shape[0]
            extra = {k: v.expand(n, -1) for k, v in inputs.items()}
            return self.model(inputs_embeds=e, **extra).logits.float().softmax(-1)

        with torch.no_grad():
            p_input, p_base = probs_of(x)[0], probs_of(x0)[0]
        k = self._target(target, p_input)
        # Trapezoidal rule: gradients at alpha = 0, 1/steps, ..., 1; the two ends weigh half.
        alphas = torch.linspace(0, 1, steps + 1)
        weights = torch.ones(steps + 1)
        weights[0] = weights[-1] = 0.5
        total = torch.zeros_like(x[0])
        for s in range(0, steps + 1, BATCH):
            a = alphas[s:s + BATCH].view(-1, 1, 1)
            path = (x0 + a * (x - x0)).requires_grad_(True)
            out = probs_of(path)[:, k].sum()
            (grad,) = torch.autograd.grad(out, path)
            total += (grad * weights[s:s + BATCH].view(-1, 1, 1)).sum(0)
        attributions = ((x - x0)[0] * total / steps).sum(-1)
        delta = float(p_input[k] - p_base[k])
        gap = float(attributions.sum()) - delta
        tokens = self.tokenizer.convert_ids_to_tokens(ids[0])
        rows = []
        for i, (tok, (s, e), seq) in enumerate(zip(tokens, offsets, sequence_ids, strict=True)):
            if special[i] or seq is None:
                continue
            rows.append({"token": tok, "segment": int(seq), "start": int(s), "end": int(e), "attribution": float(attributions[i])})
        return {
            "label": self.labels[k], "probability": float(p_input[k]), "baseline_probability": float(p_base[k]),
            "probabilities": {lab: float(v) for lab, v in zip(self.labels, p_input.tolist(), strict=True)},
            "tokens": rows, "sum": float(attributions.sum()), "delta": delta,
            "completeness_error": abs(gap) / abs(delta) if abs(delta) > 1e-6 else abs(gap),
            "completeness_gap": gap, "steps": steps, "baseline": "padding embeddings (special tokens kept)",
            "truncated": bool(len(ids[0]) >= self.max_length), "seconds": time.perf_counter() - t0,
        }


def _error(e: BaseException) -> dict[str, Any]:
    return {"error": str(e), **({"field": e.field} if isinstance(e, SpecError) and e.field else {})}


def serve(explainer: Explainer, lines: Any = None, out: Any = None) -> None:
    """One JSON request per line in, one JSON answer per line out (with the request's id)."""
    lines = lines if lines is not None else sys.stdin
    out = out or sys.stdout
    print(json.dumps({"ready": True, "labels": explainer.labels}), file=out, flush=True)
    for line in lines:
        if not line.strip():
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id")
            answer = explainer.explain(req.get("text", ""), req.get("pair"), req.get("target"),
                                       req.get("steps", DEFAULT_STEPS))
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
        print(json.dumps(explainer.explain(args.text or "", args.pair, args.target, args.steps)))
        return EXIT_OK
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception:  # noqa: BLE001 - reported, never a bare crash
        traceback.print_exc()
        return EXIT_FAILED


def add_command(sub: Any) -> None:
    p = sub.add_parser("attribute", help="Integrated Gradients token attributions of a sequence classifier")
    p.add_argument("--model", required=True, help="a run folder, or a trained model folder (model/, best/)")
    p.add_argument("--text", default=None)
    p.add_argument("--pair", default=None, help="the second sentence, for a pair classifier")
    p.add_argument("--target", default=None, help="the label to explain (default: the predicted one)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"interpolation steps (default {DEFAULT_STEPS})")
    p.add_argument("--serve", action="store_true", help="answer JSON requests, one per stdin line")
