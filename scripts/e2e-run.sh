#!/usr/bin/env bash
# End-to-end tests in a real VS Code (code-server + headless chromium), offline:
#   1. scripts/e2e-setup.sh (idempotent: Node 24, code-server, chromium, playwright-core in a cache
#      folder outside the repository),
#   2. the .vsix (scripts/package.mjs --if-stale) and a development build for the test suite,
#   3. test/e2e/run.mjs: the extension test suite in the extension host, then the UI scenarios.
# Ends with exactly one line "e2e: N passed, N failed, N skipped"; exits non-zero if anything failed.
# Env: BERT_STUDIO_E2E_CACHE (cache folder), BERT_STUDIO_VSIX (use this .vsix), E2E_SCENARIOS
# (regex over scenario file names), UPDATE_SCREENSHOTS=1 (refresh media/screenshots), E2E_KEEP=1.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
started=$(date +%s)
mkdir -p test-results/e2e
pidfile=$(mktemp /tmp/bert-studio-e2e-pids.XXXXXX)
driver=""

cleanup() {
  # The driver stops what it started; this catches what a killed driver left behind.
  [[ -n "$driver" ]] && kill -TERM "$driver" 2>/dev/null && sleep 2
  while read -r pgid; do
    [[ -n "$pgid" ]] && kill -KILL -- "-$pgid" 2>/dev/null
  done < "$pidfile"
  rm -f "$pidfile"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "e2e: $1"; echo "e2e: 0 passed, 1 failed, 0 skipped"; exit 1; }

bash scripts/e2e-setup.sh || fail "setup failed"
# shellcheck disable=SC1091
source "${BERT_STUDIO_E2E_CACHE:-$HOME/.cache/bert-studio-e2e}/env.sh"

if [[ -z "${BERT_STUDIO_VSIX:-}" ]]; then
  node scripts/package.mjs --if-stale > test-results/e2e/package.log 2>&1 || { tail -20 test-results/e2e/package.log; fail "packaging failed"; }
  tail -1 test-results/e2e/package.log
fi
# The suite runs the working tree as the extension under development: it needs dist/.
node esbuild.mjs > test-results/e2e/build.log 2>&1 || { tail -20 test-results/e2e/build.log; fail "build failed"; }
echo "[e2e] setup, package and build took $(( $(date +%s) - started )) s"

E2E_PIDFILE="$pidfile" "$E2E_NODE24" test/e2e/run.mjs "$@" &
driver=$!
wait "$driver"
status=$?
driver=""
exit "$status"
