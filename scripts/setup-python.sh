#!/usr/bin/env bash
# Creates <repo>/.venv with the trainer installed (editable) and its pinned requirements.
# torch is pinned to 2.13.0: on this machine that is a CPU build that lies on disk; an unpinned
# torch would pull a several-GB CUDA build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${BERT_STUDIO_VENV:-$root/.venv}
python=${PYTHON:-python3}
want=$(cat "$root"/trainer/requirements.txt "$root"/trainer/requirements-dev.txt "$root"/trainer/pyproject.toml | sha256sum | cut -d' ' -f1)
stamp="$venv/.bert-studio-requirements"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "== Python environment in $venv"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$root/trainer/requirements-dev.txt"
"$venv/bin/python" -m pip install --disable-pip-version-check -q --no-deps -e "$root/trainer"
"$venv/bin/python" -c "import torch, transformers, bert_studio_trainer; print('torch', torch.__version__, '· transformers', transformers.__version__)"
echo "$want" > "$stamp"
