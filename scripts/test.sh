#!/usr/bin/env bash
# Runs every test suite: TypeScript checks, mocha (unit + integration), pytest (trainer) and the
# end-to-end suites in a real VS Code. Installs what it needs first. The last line it prints is
# "N passed, N failed" summed over all suites; the exit code is non-zero if anything failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export BERT_STUDIO_DATA=${BERT_STUDIO_DATA:-$(cd "$root/.." && pwd)/shared/data}
logs=${BERT_STUDIO_TEST_LOGS:-$root/test-results}
mkdir -p "$logs"
passed=0
failed=0
started=$(date +%s)

add() { passed=$((passed + ${1:-0})); failed=$((failed + ${2:-0})); }
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

section "fill-mask model (continued MLM of the shipped MiniLM; built once, kept in .cache)"
# The fill-mask tests and E2E pictures use a real pretrained masked LM; no shipped package has an MLM
# head, so it is trained here once (a few minutes on 2 cores) into a temp folder and moved in place.
fm="$root/.cache/fill-mask-model"
if [ ! -f "$fm/model/model.safetensors" ] || [ ! -f "$fm/onnx/model.onnx" ]; then
  rm -rf "$fm" "$fm.partial"; mkdir -p "$root/.cache"
  if bash scripts/make-fill-mask-model.sh "$fm.partial" >"$logs/fill-mask-model.log" 2>&1 \
    && [ -f "$fm.partial/model/model.safetensors" ]; then
    mv "$fm.partial" "$fm"; add 1 0; echo "ok   fill-mask model built"
  else
    add 0 1; echo "FAIL fill-mask model"; tail -40 "$logs/fill-mask-model.log"; rm -rf "$fm.partial"
  fi
else
  echo "kept $fm"
fi

section "mocha"
npx mocha --reporter spec 2>&1 | tee "$logs/mocha.log"
mp=$(grep -Eo '^ +[0-9]+ passing' "$logs/mocha.log" | grep -Eo '[0-9]+' | tail -1)
mf=$(grep -Eo '^ +[0-9]+ failing' "$logs/mocha.log" | grep -Eo '[0-9]+' | tail -1)
[ -z "$mp$mf" ] && mf=1  # mocha crashed before reporting
add "${mp:-0}" "${mf:-0}"

section "pytest (trainer)"
.venv/bin/python -m pytest trainer/tests -q -p no:cacheprovider 2>&1 | tee "$logs/pytest.log"
# -q prints "N passed, M failed in Xs" (with or without ==== borders).
summary=$(grep -E '[0-9]+ (passed|failed|errors?)(,.*)? in [0-9.]+s' "$logs/pytest.log" | tail -1)
pp=$(echo "$summary" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+')
pf=$(echo "$summary" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+')
pe=$(echo "$summary" | grep -Eo '[0-9]+ errors?' | grep -Eo '[0-9]+')
[ -z "$summary" ] && pf=1
add "${pp:-0}" "$(( ${pf:-0} + ${pe:-0} ))"

section "end-to-end (code-server)"
if [ -f scripts/e2e-run.sh ] && [ "${BERT_STUDIO_SKIP_E2E:-0}" != "1" ]; then
  bash scripts/e2e-run.sh 2>&1 | tee "$logs/e2e.log"
  line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed' "$logs/e2e.log" | tail -1)
  if [ -n "$line" ]; then
    add "$(echo "$line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+')" "$(echo "$line" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+')"
  else add 0 1; fi
else
  echo "skipped"
fi

section "done in $(($(date +%s) - started)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
