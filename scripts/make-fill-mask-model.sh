#!/usr/bin/env bash
# The fill-mask default model: continued masked-LM training of the shipped MiniLM encoder (which has
# no MLM head: a fresh one is added, its decoder tied to the word embeddings) on WikiText-2 valid,
# evaluated on WikiText-2 test (held out). Reproducible: fixed seed, fixed data, CPU-sized.
#
#   scripts/make-fill-mask-model.sh [OUT_DIR]        # default: ~/.cache/bert-studio/fill-mask-model
#   STEPS=300 BATCH=32 LR=3e-4 scripts/make-fill-mask-model.sh /tmp/fm   # longer, better
#
# OUT_DIR is a run folder (spec.json, events.jsonl, checkpoints/); OUT_DIR/model is the Hugging Face
# folder (BertForMaskedLM weights + tokenizer) to load by path; OUT_DIR/figures.json holds the
# held-out masked-token top-1 accuracy and perplexity recorded in bench/pretrain.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-${BERT_STUDIO_CACHE:-$HOME/.cache/bert-studio}/fill-mask-model}"
DATA="${BERT_STUDIO_DATA:-$ROOT/../shared/data}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
STEPS="${STEPS:-240}"      # 240 x 16 x 128 tokens: ~10 minutes of training on 2 CPU cores
BATCH="${BATCH:-16}"
LR="${LR:-5e-4}"
EVAL_DOCS="${EVAL_DOCS:-8}"  # WikiText-2 test articles scored (of 64): ~4,000 masked tokens

if [ -e "$OUT/spec.json" ]; then
  echo "$OUT already holds a run; remove it or pick another folder" >&2
  exit 1
fi
mkdir -p "$OUT"
"$PY" - "$OUT" "$DATA" "$STEPS" "$BATCH" "$EVAL_DOCS" "$LR" <<'PYEOF'
import json, sys
out, data, steps, batch, eval_docs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
lr = float(sys.argv[6])
spec = {
    "version": 1, "task": "mlm", "name": "fill-mask default (MiniLM-L6 + MLM head)",
    "model": {"name_or_path": "default"},
    "data": {"train": f"{data}/wikitext-2/valid.txt", "validation": f"{data}/wikitext-2/test.txt",
             "max_eval_samples": eval_docs},
    "training": {
        "max_steps": steps, "per_device_train_batch_size": batch, "max_seq_length": 128,
        # The head is fresh: it needs a higher rate than fine-tuning's 5e-5 to leave the unigram
        # plateau within a CPU budget; the 6-layer encoder tolerates it for this short run.
        "learning_rate": lr, "warmup_ratio": 0.06, "weight_decay": 0.01,
        "eval_steps": steps, "save_steps": steps, "logging_steps": 10, "seed": 42,
        "metric_for_best_model": "perplexity",
    },
    "device": "auto",
    "export": {"onnx": True, "quantize": True},
}
with open(f"{out}/spec.json", "w") as f:
    json.dump(spec, f, indent=2)
PYEOF
"$PY" -m bert_studio_trainer train --run-dir "$OUT"
"$PY" - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]
events = [json.loads(line) for line in open(f"{out}/events.jsonl") if line.strip()]
final = [e for e in events if e["type"] == "eval"][-1]
steps = [e for e in events if e["type"] == "step"]
m = final["metrics"]
figures = {"step": final["step"], "heldout": "wikitext-2 test.txt", "top1_accuracy": m["mlm_accuracy"],
           "perplexity": m["perplexity"], "masked_tokens": m["masked_tokens"],
           "train_tokens_per_second": sum(s["tokens_per_second"] for s in steps) / max(len(steps), 1)}
json.dump(figures, open(f"{out}/figures.json", "w"), indent=2)
print(json.dumps(figures))
PYEOF
