#!/usr/bin/env bash
# Fills .device-carry/ (git-ignored) with what bench/gpu.sh needs on a GPU machine that has no network
# and no project packages: SST-2 and WikiText-2 from the shared data, and the shipped MiniLM with its
# weights stored in bf16 (43 MiB, under the device tool's 64 MiB carry limit; loaded back as fp32).
# Then: run(command="bash bench/gpu.sh", carry=[".device-carry"]).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${BERT_STUDIO_DATA:-$(cd "$root/.." && pwd)/shared/data}
carry="$root/.device-carry"
rm -rf "$carry"; mkdir -p "$carry/data"
cp -r "$data/sst2" "$data/wikitext-2" "$carry/data/"
"$root/.venv/bin/python" - "$carry/minilm" <<'PY'
import shutil, sys
from pathlib import Path
import torch
from safetensors.torch import load_file, save_file
from bert_studio_trainer.models import default_model_path
src, dst = default_model_path(), Path(sys.argv[1])
dst.mkdir(parents=True)
for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
    shutil.copy(src / f, dst / f)
weights = {k: v.to(torch.bfloat16) for k, v in load_file(src / "model.safetensors").items()}
save_file(weights, dst / "model.safetensors", metadata={"format": "pt"})
PY
du -sh "$carry"
