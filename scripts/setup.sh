#!/usr/bin/env bash
# Installs what BERT Studio needs to build, train and test, and skips what is already there:
# the npm packages (npm ci) and the Python environment (.venv with the trainer). Safe to re-run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.bert-studio-lock ] || [ "$(cat node_modules/.bert-studio-lock)" != "$lock_hash" ]; then
  echo "== npm ci"
  # .npmrc skips onnxruntime-node's CUDA download; the CPU binaries ship inside the package.
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.bert-studio-lock
fi

bash scripts/setup-python.sh
