"""Figures of a fill-mask model run (scripts/make-fill-mask-model.sh): held-out top-1 and perplexity
from the run's own evaluations, the curve, training speed, and the probe sentences' ranks.

    .venv/bin/python scripts/fill_mask_figures.py RUN_DIR     # writes RUN_DIR/figures.json, prints it
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# Probe sentences (lower case: the model is uncased) and the word a reader expects at [MASK].
PROBES = [
    ("paris is the [MASK] of france .", "capital"),
    ("she opened the [MASK] and walked into the room .", "door"),
    ("he plays the [MASK] in a rock band .", "guitar"),
    ("the river flows into the [MASK] near the city .", "sea"),
    ("he was born in [MASK] , england .", "london"),
]


def probe_ranks(model_dir: Path, top: int = 5) -> list[dict]:
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    rows = []
    for text, expected in PROBES:
        enc = tok(text.replace("[MASK]", tok.mask_token), return_tensors="pt")
        at = int((enc["input_ids"][0] == tok.mask_token_id).nonzero()[0, 0])
        with torch.inference_mode():
            probs = model(**enc).logits[0, at].softmax(-1)
        order = probs.argsort(descending=True)
        want = tok.convert_tokens_to_ids(expected)
        rank = int((order == want).nonzero()[0, 0]) + 1
        rows.append({"text": text, "expected": expected, "rank": rank, "probability": float(probs[want]),
                     "top": [[tok.convert_ids_to_tokens(int(i)), round(float(probs[i]), 4)] for i in order[:top]]})
    return rows


def corpus_sha256(train: Path) -> str:
    """One digest of the training text: the file, or a folder's files in the order the worker reads them."""
    import hashlib

    digest = hashlib.sha256()
    for f in sorted(p for p in train.iterdir() if p.suffix in (".txt", ".jsonl")) if train.is_dir() else [train]:
        digest.update(f.read_bytes())
    return digest.hexdigest()


def figures(run: Path) -> dict:
    events = [json.loads(line) for line in (run / "events.jsonl").open() if line.strip()]
    evals = [e for e in events if e["type"] == "eval"]
    steps = [e for e in events if e["type"] == "step"]
    spec = json.loads((run / "spec.json").read_text())
    final = evals[-1]["metrics"]
    return {
        "step": evals[-1]["step"], "heldout": "wikitext-2 test.txt, first "
        f"{spec['data'].get('max_eval_samples')} articles, fixed 15% masks",
        "top1_accuracy": final["mlm_accuracy"], "perplexity": final["perplexity"], "masked_tokens": final["masked_tokens"],
        "curve": [{"step": e["step"], "top1_accuracy": e["metrics"]["mlm_accuracy"], "perplexity": e["metrics"]["perplexity"]}
                  for e in evals],
        "train_tokens_per_second": sum(s["tokens_per_second"] for s in steps) / max(len(steps), 1),
        "training": {k: spec["training"].get(k) for k in ("max_steps", "per_device_train_batch_size", "max_seq_length",
                                                          "learning_rate", "mlm_probability", "seed")},
        "corpus": spec["data"]["train"], "corpus_sha256": corpus_sha256(Path(spec["data"]["train"])),
        "probes": probe_ranks(run / "model"),
    }


if __name__ == "__main__":
    run = Path(sys.argv[1])
    result = figures(run)
    (run / "figures.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "probes"} | {
        "probes": {p["expected"]: p["rank"] for p in result["probes"]}}))
