#!/usr/bin/env bash
# Runs every test suite: TypeScript checks, mocha (unit + integration), pytest (trainer) and the
# end-to-end suites in a real VS Code. Installs what it needs first. The last line it prints is
# "N passed, N failed, N skipped" summed over all suites; the exit code is non-zero if anything
# failed. Under CI (CI=true) a test whose set-up is missing fails rather than skips
# (test/unit/needSetup.ts, trainer/tests/conftest.py need_setup).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export BERT_STUDIO_DATA=${BERT_STUDIO_DATA:-$(cd "$root/.." && pwd)/shared/data}
logs=${BERT_STUDIO_TEST_LOGS:-$root/test-results}
mkdir -p "$logs"
passed=0
failed=0
skipped=0
started=$(date +%s)

add() { passed=$((passed + ${1:-0})); failed=$((failed + ${2:-0})); skipped=$((skipped + ${3:-0})); }
section() { echo; echo "=================== $1 ($(($(date +%s) - started)) s)"; }

section "setup"
if ! bash scripts/setup.sh; then
  echo "setup failed"; echo "0 passed, 1 failed"; exit 1
fi

section "static checks: typecheck, lint, build"
for step in typecheck lint build compile-tests; do
  if npm run -s "$step" >"$logs/$step.log" 2>&1; then add 1 0; echo "ok   $step"
  else add 0 1; echo "FAIL $step"; tail -40 "$logs/$step.log"; fi
done

section "fill-mask test model (continued MLM of the shipped MiniLM; built once per machine, outside the clone)"
# The fill-mask tests and E2E use a real pretrained masked LM; no shipped package has an MLM head, so
# the quick preset of scripts/make-fill-mask-model.sh (PRESET=test, about 10 minutes on 2 cores) is
# trained here once into a temp folder and moved in place. The tests check mechanics, not quality;
# the stronger default model (the script's default preset, about an hour) is built on demand and its
# figures are in bench/results/fill-mask-model.json. Kept in the bert-studio cache (BERT_STUDIO_CACHE,
# default ~/.cache/bert-studio), so a fresh clone on the same machine reuses it; a change to the build
# script builds it again. No time limit applies.
cache=${BERT_STUDIO_CACHE:-$HOME/.cache/bert-studio}
fm="$cache/fill-mask-model"
recipe="test $(cat scripts/make-fill-mask-model.sh scripts/fill_mask_figures.py | sha256sum | cut -d' ' -f1)"
if [ ! -f "$fm/model/model.safetensors" ] || [ ! -f "$fm/onnx/model.onnx" ] || [ "$(cat "$fm/.recipe" 2>/dev/null)" != "$recipe" ]; then
  rm -rf "$fm" "$fm.partial"; mkdir -p "$cache"
  if PRESET=test bash scripts/make-fill-mask-model.sh "$fm.partial" >"$logs/fill-mask-model.log" 2>&1 \
    && [ -f "$fm.partial/model/model.safetensors" ]; then
    echo "$recipe" > "$fm.partial/.recipe"; mv "$fm.partial" "$fm"; add 1 0; echo "ok   fill-mask test model built"
  else
    add 0 1; echo "FAIL fill-mask test model"; tail -40 "$logs/fill-mask-model.log"; rm -rf "$fm.partial"
  fi
else
  echo "kept $fm"
fi

section "test fixtures (tiny exported models, tokenizers of every type, the Chinese models; built once, cached)"
# Built here, with no time limit, so that no mocha hook waits on a model build under its timeout.
if node out/test/unit/inference/fixtures.js >"$logs/fixtures.log" 2>&1 \
  && .venv/bin/python test/fixtures/tokenizers/build_tokenizers.py >>"$logs/fixtures.log" 2>&1 \
  && node out/test/unit/inference/familyFixtures.js >>"$logs/fixtures.log" 2>&1 \
  && node out/test/unit/inference/chineseFixtures.js >>"$logs/fixtures.log" 2>&1; then add 1 0; cat "$logs/fixtures.log"
else add 0 1; echo "FAIL test fixtures"; tail -40 "$logs/fixtures.log"; fi

section "mocha"
npx mocha --reporter spec "out/test/unit/**/*.test.js" "out/test/integration/**/*.test.js" 2>&1 | tee "$logs/mocha.log"
mp=$(grep -Eo '^ +[0-9]+ passing' "$logs/mocha.log" | grep -Eo '[0-9]+' | tail -1)
mf=$(grep -Eo '^ +[0-9]+ failing' "$logs/mocha.log" | grep -Eo '[0-9]+' | tail -1)
ms=$(grep -Eo '^ +[0-9]+ pending' "$logs/mocha.log" | grep -Eo '[0-9]+' | tail -1)
[ -z "$mp$mf" ] && mf=1  # mocha crashed before reporting
add "${mp:-0}" "${mf:-0}" "${ms:-0}"

section "pytest (trainer)"
.venv/bin/python -m pytest trainer/tests -q -p no:cacheprovider 2>&1 | tee "$logs/pytest.log"
# -q prints "N passed, M failed in Xs" (with or without ==== borders).
summary=$(grep -E '[0-9]+ (passed|failed|errors?)(,.*)? in [0-9.]+s' "$logs/pytest.log" | tail -1)
pp=$(echo "$summary" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+')
pf=$(echo "$summary" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+')
pe=$(echo "$summary" | grep -Eo '[0-9]+ errors?' | grep -Eo '[0-9]+')
ps=$(echo "$summary" | grep -Eo '[0-9]+ skipped' | grep -Eo '[0-9]+')
[ -z "$summary" ] && pf=1
add "${pp:-0}" "$(( ${pf:-0} + ${pe:-0} ))" "${ps:-0}"

section "bench/gpu.sh --dry-run (the GPU benchmark's steps on CPU at a tiny shape, so it cannot rot)"
if BERT_STUDIO_NUM_THREADS=1 bash bench/gpu.sh --dry-run >"$logs/gpu-dry-run.log" 2>&1; then add 1 0; echo "ok   bench/gpu.sh --dry-run"
else add 0 1; echo "FAIL bench/gpu.sh --dry-run"; tail -40 "$logs/gpu-dry-run.log"; fi

section "end-to-end (code-server)"
if [ -f scripts/e2e-run.sh ] && [ "${BERT_STUDIO_SKIP_E2E:-0}" != "1" ]; then
  bash scripts/e2e-run.sh 2>&1 | tee "$logs/e2e.log"
  line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed' "$logs/e2e.log" | tail -1)
  if [ -n "$line" ]; then
    es=$(echo "$line" | grep -Eo '[0-9]+ skipped' | grep -Eo '[0-9]+')
    add "$(echo "$line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+')" "$(echo "$line" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+')" "${es:-0}"
  else add 0 1; fi
elif [ "${CI:-}" = "true" ]; then
  echo "FAIL: the end-to-end suite cannot be skipped under CI"; add 0 1
else
  echo "skipped (BERT_STUDIO_SKIP_E2E=1)"
fi

section "done in $(($(date +%s) - started)) s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
