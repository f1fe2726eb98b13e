// Shared helpers for the end-to-end tests: a real VS Code (code-server) on 127.0.0.1, driven by
// Debian's chromium through playwright-core. Everything a run writes lives in one fresh temp
// folder, and stop() kills the process groups it started. Paths come from the cache folder that
// scripts/e2e-setup.sh fills (its env.sh), or from the E2E_* variables.
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_DIR = join(REPO, 'test-results', 'e2e');
export const FIXTURE_WORKSPACE = join(REPO, 'test', 'e2e', 'fixtures', 'workspace');

/** Tool paths: E2E_* from the environment, else the setup script's cache folder. */
export function tools() {
  const cache = process.env.BERT_STUDIO_E2E_CACHE ?? join(homedir(), '.cache', 'bert-studio-e2e');
  const t = {
    node: process.env.E2E_NODE24 ?? join(cache, 'node-24.21.0', 'bin', 'node'),
    codeServer: process.env.E2E_CODE_SERVER ?? join(cache, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
    playwright: process.env.E2E_PLAYWRIGHT ?? join(cache, 'playwright', 'node_modules', 'playwright-core'),
    chromium: process.env.E2E_CHROMIUM ?? '/usr/bin/chromium',
  };
  for (const [name, path] of Object.entries(t)) {
    if (!existsSync(path)) throw new Error(`e2e: ${name} not found at ${path}; run scripts/e2e-setup.sh`);
  }
  return t;
}

export function log(...args) {
  const t = new Date().toISOString().slice(11, 19);
  console.log(`[${t}]`, ...args);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Everything started and not yet stopped, so a signal or a crash still cleans up. Process groups
// also go to $E2E_PIDFILE, for scripts/e2e-run.sh's trap should this process itself be killed.
const live = new Set();
/** A detached process the extension started (a worker): killed at the end, and by e2e-run.sh's trap. */
const tracked = new Set();
export function trackPid(pid) {
  if (!pid || tracked.has(pid)) return;
  tracked.add(pid);
  if (process.env.E2E_PIDFILE) writeFileSync(process.env.E2E_PIDFILE, `${pid}\n`, { flag: 'a' });
}
export async function stopAll() {
  for (const pid of tracked) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  tracked.clear();
  for (const stop of [...live].reverse()) await stop().catch(() => undefined);
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping code-server and chromium`);
    stopAll().finally(() => process.exit(130));
  });
}

/** Polls `check` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor(what, check, { timeoutMs = 60_000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

async function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

// Keeps the screen quiet and the workbench predictable: no trust prompt, no welcome page, no
// update or extension-gallery traffic, no chat side bar.
const DEFAULT_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'git.enabled': false,
  'github.gitAuthentication': false,
  'window.dialogStyle': 'custom',
  'editor.minimap.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
};

/**
 * A fresh temp folder for one run: user data, extensions, XDG folders, browser profile and a copy
 * of the fixture workspace (with any `prepare(workspaceDir)` applied).
 */
export function makeSandbox({ fixture = FIXTURE_WORKSPACE, settings = {}, prepare } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'bert-studio-e2e-'));
  const dirs = {
    root,
    userData: join(root, 'user-data'),
    extensions: join(root, 'extensions'),
    xdgConfig: join(root, 'xdg', 'config'),
    xdgData: join(root, 'xdg', 'data'),
    xdgCache: join(root, 'xdg', 'cache'),
    profile: join(root, 'browser-profile'),
    workspace: join(root, 'workspace'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(join(dirs.userData, 'User', 'settings.json'), JSON.stringify({ ...DEFAULT_SETTINGS, ...settings }, null, 2));
  // code-server is a remote: machine-scoped settings (bertStudio.pythonPath) apply only from here.
  mkdirSync(join(dirs.userData, 'Machine'), { recursive: true });
  writeFileSync(join(dirs.userData, 'Machine', 'settings.json'), JSON.stringify(settings, null, 2));
  if (fixture) cpSync(fixture, dirs.workspace, { recursive: true });
  prepare?.(dirs.workspace);
  return dirs;
}

function sandboxEnv(dirs, extra = {}) {
  return {
    ...process.env,
    XDG_CONFIG_HOME: dirs.xdgConfig,
    XDG_DATA_HOME: dirs.xdgData,
    XDG_CACHE_HOME: dirs.xdgCache,
    ...extra,
  };
}

/** Runs code-server's CLI once (e.g. --install-extension) against the sandbox's folders. */
export async function codeServerCli(dirs, args, { timeoutMs = 120_000 } = {}) {
  const t = tools();
  const child = spawn(t.node, [t.codeServer, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions, ...args], {
    env: sandboxEnv(dirs),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise((r) => child.on('close', r));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`code-server ${args.join(' ')} exited ${code}:\n${output.slice(-2000)}`);
  return output;
}

/** Installs a .vsix into the sandbox's extensions folder (also proves the package installs). */
export async function installVsix(dirs, vsix) {
  const started = Date.now();
  const out = await codeServerCli(dirs, ['--install-extension', vsix]);
  if (!/successfully installed/i.test(out)) throw new Error(`install of ${vsix} did not report success:\n${out.slice(-2000)}`);
  log(`installed ${vsix.split('/').pop()} in ${Date.now() - started} ms`);
}

/**
 * Starts code-server on a free 127.0.0.1 port, serving `dirs.workspace`. `smokeDriver` turns on
 * the test driver that extension test suites report through (window.codeAutomationExit).
 */
export async function startCodeServer(dirs, { smokeDriver = false, env = {}, folder = dirs.workspace, workspaceTrust = false } = {}) {
  const t = tools();
  const port = await freePort();
  const args = [
    t.codeServer,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    // Restricted-mode scenarios turn trust on (and settings.json's security.workspace.trust.enabled).
    ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--user-data-dir', dirs.userData,
    '--extensions-dir', dirs.extensions,
    '--bind-addr', `127.0.0.1:${port}`,
    ...(smokeDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
    folder,
  ];
  const logFile = join(dirs.root, 'code-server.log');
  writeFileSync(logFile, '');
  const child = spawn(t.node, args, { env: sandboxEnv(dirs, env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (process.env.E2E_PIDFILE) writeFileSync(process.env.E2E_PIDFILE, `${child.pid}\n`, { flag: 'a' });
  const stop = async () => {
    live.delete(stop);
    await killGroup(child);
  };
  live.add(stop);
  const append = (d) => writeFileSync(logFile, d, { flag: 'a' });
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exited = null;
  child.on('exit', (code) => (exited = code ?? -1));
  const url = `http://127.0.0.1:${port}/`;
  const started = Date.now();
  await waitFor('code-server /healthz', async () => {
    if (exited !== null) throw new Error(`code-server exited ${exited}: ${readFileSync(logFile, 'utf8').slice(-1500)}`);
    const res = await fetch(`${url}healthz`).catch(() => undefined);
    return res?.ok;
  }, { timeoutMs: 90_000, intervalMs: 300 });
  log(`code-server up on ${url} in ${Date.now() - started} ms`);
  return {
    url,
    port,
    logFile,
    /** A vscode-remote URI for an absolute path on this machine (extension dev/test paths). */
    remoteUri: (absPath) => `vscode-remote://127.0.0.1:${port}${absPath}`,
    stop,
  };
}

async function killGroup(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = new Promise((r) => setTimeout(() => r('timeout'), 5000));
  if ((await Promise.race([gone, timer])) === 'timeout') {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

/**
 * Opens headless chromium on the workbench. `payload` becomes VS Code's ?payload= query (e.g.
 * extensionDevelopmentPath); `onExit(code)` receives window.codeAutomationExit from the smoke
 * test driver.
 */
export async function openBrowser(server, dirs, { payload, onExit, width = 1440, height = 900 } = {}) {
  const t = tools();
  const require = createRequire(import.meta.url);
  const { chromium } = require(t.playwright);
  const context = await chromium.launchPersistentContext(dirs.profile, {
    executablePath: t.chromium,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width, height },
    env: sandboxEnv(dirs),
  });
  const close = async () => {
    live.delete(close);
    await context.close().catch(() => undefined);
  };
  live.add(close);
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  if (onExit) await page.exposeFunction('codeAutomationExit', (code) => onExit(code));
  const query = payload ? `?payload=${encodeURIComponent(JSON.stringify(payload))}` : '';
  await page.goto(`${server.url}${query}`, { waitUntil: 'domcontentloaded', timeout: 90_000 });
  return {
    context,
    page,
    consoleLines,
    close,
  };
}

/** Waits until the workbench is drawn and the explorer (or a view) is visible. */
export async function waitForWorkbench(page, { timeoutMs = 120_000 } = {}) {
  const started = Date.now();
  await page.locator('.monaco-workbench .part.activitybar').first().waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.monaco-workbench .part.sidebar, .monaco-workbench .part.editor').first().waitFor({ timeout: timeoutMs });
  log(`workbench drawn in ${Date.now() - started} ms`);
}

/** Closes any quick input left open. */
async function closeQuickInput(page) {
  if (await page.locator('.quick-input-widget').isVisible().catch(() => false)) await page.keyboard.press('Escape');
}

/**
 * Runs a command through the F1 palette by its title (category included, as shown:
 * "BERT Studio: Refresh Runs"). Contributed commands appear a few seconds after the explorer, so
 * it retries until the row shows.
 */
export async function runCommand(page, title, { timeoutMs = 60_000 } = {}) {
  await waitFor(`palette entry "${title}"`, async () => {
    await closeQuickInput(page);
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 5000 });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ state: 'visible', timeout: 3000 });
    } catch {
      await page.keyboard.press('Escape');
      return false;
    }
    // Exact label match: the first row may be a longer title that contains this one.
    const labels = await page.locator('.quick-input-widget .quick-input-list .monaco-list-row .label-name').allInnerTexts();
    const index = labels.findIndex((l) => l.replace(/\s+/g, ' ').trim() === title);
    if (index < 0) {
      await page.keyboard.press('Escape');
      return false;
    }
    for (let i = 0; i < index; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    // Taken: the palette closed, or the command's own quick input replaced it. Not taken (the list
    // was re-filtering under the key): still the palette with our text, so try again.
    return waitFor(`the palette to take "${title}"`, async () => !(await input.isVisible()) || (await input.inputValue()) !== `>${title}`, { timeoutMs: 3000, intervalMs: 100 })
      .then(() => true, async () => {
        await page.keyboard.press('Escape');
        return false;
      });
  }, { timeoutMs, intervalMs: 1000 });
}

/** The editor's cursor/selection status bar item ("Ln 3, Col 1 (32 selected)"); '' when none shows. */
export async function editorSelectionStatus(page) {
  const item = page.locator('.part.statusbar .statusbar-item', { hasText: /Ln \d+, Col \d+/ }).first();
  return ((await item.innerText({ timeout: 2000 }).catch(() => '')) ?? '').replace(/\s+/g, ' ').trim();
}

/**
 * Selects line `line` (1-based) of the active text editor with the keyboard, as a user would:
 * focus the text, Go to Line (Ctrl+G), Home, Shift+End. Each step waits for what it causes (the
 * Go to Line box closed, the cursor on the line at column 1) and the whole is retried until the
 * status bar reports "(N selected)" on that line, so a key that lands while the workbench is busy
 * cannot leave an empty selection behind. Returns N.
 */
export async function selectEditorLine(page, line, { timeoutMs = 45_000 } = {}) {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  return waitFor(`line ${line} selected in the editor`, async () => {
    await closeQuickInput(page);
    await page.locator('.part.editor .monaco-editor .view-lines').first().click();
    await waitFor('the editor focused', () => page.evaluate(() => !!document.activeElement?.closest('.monaco-editor')), { timeoutMs: 5000 });
    await page.keyboard.press('Control+G');
    await input.waitFor({ state: 'visible', timeout: 5000 });
    await input.fill(`:${line}`);
    await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden', timeout: 5000 });
    await waitFor(`the cursor on line ${line}`, async () => new RegExp(`^Ln ${line}, Col \\d+$`).test(await editorSelectionStatus(page)), { timeoutMs: 5000 });
    await page.keyboard.press('Home');
    await waitFor(`the cursor at column 1 of line ${line}`, async () => (await editorSelectionStatus(page)) === `Ln ${line}, Col 1`, { timeoutMs: 5000 });
    await page.keyboard.press('Shift+End');
    const m = await waitFor('the selection in the status bar', async () => (await editorSelectionStatus(page)).match(new RegExp(`^Ln ${line}, Col \\d+ \\((\\d+) selected\\)$`)), { timeoutMs: 5000 }).catch(() => undefined);
    return m ? Number(m[1]) : false;
  }, { timeoutMs, intervalMs: 500 });
}

/**
 * Picks the quick-pick row whose text contains `text` (a quick pick a command opened); with
 * `exact: true`, the row whose label is exactly `text` (descriptions may repeat a label's word).
 */
export async function pickQuickItem(page, text, { timeoutMs = 30_000, exact = false } = {}) {
  const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  const row = (exact
    ? rows.filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`) }) })
    : rows.filter({ hasText: text })).first();
  await row.waitFor({ state: 'visible', timeout: timeoutMs });
  try {
    await row.click({ timeout: 5_000 });
  } catch {
    // The list can keep re-laying out under load ("element is not stable"): the keyboard does not
    // care. Enter accepts the focused row, so focus ours first when it is not.
    if (!/\bfocused\b/.test((await row.getAttribute('class')) ?? '')) await row.click({ force: true });
    else await page.keyboard.press('Enter');
  }
}

/** Waits for a notification toast whose text matches; returns its locator. */
export async function waitForNotification(page, text, { timeoutMs = 60_000 } = {}) {
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
  await toast.waitFor({ state: 'visible', timeout: timeoutMs });
  return toast;
}

/** Dismisses every notification (palette: "Notifications: Clear All Notifications"). */
export async function clearNotifications(page) {
  await runCommand(page, 'Notifications: Clear All Notifications', { timeoutMs: 15_000 }).catch(() => undefined);
}

/** The content frame of the active webview (view or panel): two iframes deep. */
export function webviewFrame(page, { index = 0 } = {}) {
  return page.frameLocator('iframe.webview.ready').nth(index).frameLocator('iframe#active-frame');
}

/**
 * The content frame of the first webview (of possibly several: side bar views, panels) holding an
 * element that matches `selector`; waits for one to appear.
 */
export async function webviewFrameWith(page, selector, { timeoutMs = 60_000 } = {}) {
  return waitFor(`a webview containing ${selector}`, async () => {
    const count = await page.locator('iframe.webview.ready').count();
    for (let i = count - 1; i >= 0; i--) {
      const frame = webviewFrame(page, { index: i });
      if ((await frame.locator(selector).count().catch(() => 0)) > 0) return frame;
    }
    return undefined;
  }, { timeoutMs, intervalMs: 500 });
}

/**
 * The content frame of the webview drawn inside `container` (a locator or selector: the editor
 * part '.part.editor', or a view pane from viewPane()). Webview iframes live in an overlay outside
 * the part that shows them, so they are matched by position; waits for one to appear.
 */
export async function webviewFrameIn(page, container, { timeoutMs = 60_000 } = {}) {
  const box = typeof container === 'string' ? page.locator(container).first() : container;
  return waitFor(`a webview inside ${container}`, async () => {
    const area = await box.boundingBox();
    if (!area) return undefined;
    const frames = page.locator('iframe.webview.ready');
    const count = await frames.count();
    for (let i = 0; i < count; i++) {
      const b = await frames.nth(i).boundingBox();
      if (!b || b.width < 2 || b.height < 2) continue;
      const cx = b.x + b.width / 2;
      const cy = b.y + b.height / 2;
      if (cx >= area.x && cx <= area.x + area.width && cy >= area.y && cy <= area.y + area.height) return webviewFrame(page, { index: i });
    }
    return undefined;
  }, { timeoutMs, intervalMs: 500 });
}

/** Opens the BERT Studio view container in the activity bar. */
export async function openBertStudio(page) {
  const title = page.locator('.part.sidebar .composite.title', { hasText: /BERT Studio/i }).first();
  if (await title.isVisible().catch(() => false)) return; // clicking again would close it
  const item = page.locator('.activitybar .action-item a[aria-label^="BERT Studio"], .activitybar .action-item[aria-label^="BERT Studio"]').first();
  if (await item.count()) await item.click();
  else await runCommand(page, 'View: Show BERT Studio');
  await waitFor('BERT Studio side bar', () => title.isVisible(), { timeoutMs: 30_000 });
}

/** A side bar view's header (pane), by its name (e.g. "Runs"). */
export function viewPane(page, name) {
  return page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: new RegExp(`^\\s*${name}`, 'i') }) }).first();
}

/** Expands a collapsed side bar view by name. */
export async function expandView(page, name) {
  const header = viewPane(page, name).locator('.pane-header').first();
  await header.waitFor({ state: 'visible', timeout: 30_000 });
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
}

/**
 * Saves test-results/e2e/<name>.png; with `readme: true` and UPDATE_SCREENSHOTS=1 also
 * media/screenshots/<name>.png (the README's pictures).
 */
export async function screenshot(page, name, { readme = false, ...options } = {}) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, ...options });
  if (readme && process.env.UPDATE_SCREENSHOTS === '1') {
    const media = join(REPO, 'media', 'screenshots');
    mkdirSync(media, { recursive: true });
    copyFileSync(file, join(media, `${name}.png`));
  }
  return file;
}

export function removeSandbox(dirs) {
  if (process.env.E2E_KEEP === '1') {
    log(`kept ${dirs.root}`);
    return;
  }
  rmSync(dirs.root, { recursive: true, force: true, maxRetries: 3 });
}

/** The packaged .vsix to install: BERT_STUDIO_VSIX, else the default output of scripts/package.mjs. */
export function vsixPath() {
  if (process.env.BERT_STUDIO_VSIX) return resolve(process.env.BERT_STUDIO_VSIX);
  const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  return join(REPO, `${manifest.name}-${manifest.version}-linux-x64.vsix`);
}

/**
 * Right-clicks a row of the Explorer (by its path relative to the workspace) and runs a context-menu
 * entry. code-server's menu is the workbench's own (not a native one), and a mouse click on an
 * entry is sometimes not taken (the menu ignores a mouseup that comes too soon after it opened, or
 * the list re-lays out under the pointer): the entry is focused by hovering, checked to be the
 * focused one, and run with Enter, as a keyboard user would; then the menu must have closed.
 */
export async function explorerContextMenu(page, relPath, entry, { timeoutMs = 45_000 } = {}) {
  const menu = page.locator('.context-view .monaco-menu');
  await waitFor(`"${entry}" run from the explorer menu of ${relPath}`, async () => {
    if (await menu.isVisible().catch(() => false)) {
      await page.keyboard.press('Escape');
      await menu.waitFor({ state: 'hidden', timeout: 5000 });
    }
    await explorerReveal(page, relPath, { button: 'right' });
    const item = menu.locator('.action-item', { hasText: entry }).first();
    await item.waitFor({ state: 'visible', timeout: 15_000 });
    await waitFor(`"${entry}" focused in the menu`, async () => {
      await item.hover({ timeout: 2000 });
      return /\bfocused\b/.test((await item.getAttribute('class')) ?? '');
    }, { timeoutMs: 5000, intervalMs: 200 });
    await page.keyboard.press('Enter');
    return menu.waitFor({ state: 'hidden', timeout: 5000 }).then(() => true, () => false);
  }, { timeoutMs, intervalMs: 500 });
}

/** Expands the Explorer down to `relPath` and clicks its row (left: opens a file). */
export async function explorerReveal(page, relPath, { button = 'left' } = {}) {
  await runCommand(page, 'View: Show Explorer', { timeoutMs: 15_000 });
  // Start from a collapsed tree: rows of earlier scenarios would push this one out of view.
  await runCommand(page, 'File: Collapse Folders in Explorer', { timeoutMs: 10_000 }).catch(() => undefined);
  const parts = relPath.split('/');
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const row = page.locator('.part.sidebar .monaco-list-row').filter({ hasText: new RegExp(`^\\s*${name}\\s*$`) }).first();
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    if (i < parts.length - 1) {
      if ((await row.getAttribute('aria-expanded')) === 'false') await row.click();
    } else {
      await row.click({ button });
    }
  }
}

/**
 * Types a path into VS Code's simple file dialog (the browser's open dialog) and presses its button.
 * The dialog fills its box with its starting folder once that folder is listed: typing before then
 * gets overwritten and the button accepts the starting folder. So it waits for the listing first,
 * and presses the button only while the box still holds our path (read twice, 200 ms apart).
 */
export async function answerFileDialog(page, path, button, { done, timeoutMs = 60_000 } = {}) {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  let listed = false;
  await waitFor(`the file dialog to accept ${path}`, async () => {
    if (done && (await done())) return true;
    if (!(await input.isVisible())) return false;
    // Still listing its starting folder: not yet a list and a folder path ending in "/".
    listed ||= (await rows.count()) > 0 && (await input.inputValue()).endsWith('/');
    if (!listed) return false;
    await input.fill(path);
    const held = await waitFor('the path to stay in the box', async () => {
      if ((await input.inputValue()) !== path) return 'changed';
      await sleep(200);
      return (await input.inputValue()) === path ? 'held' : 'changed';
    }, { timeoutMs: 5000 });
    if (held !== 'held') return false;
    await page.locator('.quick-input-widget .monaco-button', { hasText: button }).first().click({ timeout: 5000 });
    if (!done) return true;
    return waitFor('dialog closed', done, { timeoutMs: 5000 }).catch(() => false);
  }, { timeoutMs, intervalMs: 1000 });
}

/** Developer: Reload Window, then waits for the workbench again. */
export async function reloadWindow(page) {
  await runCommand(page, 'Developer: Reload Window');
  await page.waitForEvent('load', { timeout: 60_000 }).catch(() => undefined);
  await waitForWorkbench(page);
}

/** The Content-Security-Policy meta of a webview content frame (a frameLocator). */
export async function webviewCsp(frame) {
  return frame.locator('meta[http-equiv="Content-Security-Policy"]').first().getAttribute('content', { timeout: 15_000 });
}

/** Problems with a webview CSP (empty when it is as DESIGN.md asks). */
export function cspProblems(csp) {
  const problems = [];
  if (!csp) return ['no Content-Security-Policy meta'];
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
    const [name, ...values] = d.split(/\s+/);
    return [name.toLowerCase(), values];
  }));
  if (!(directives['default-src']?.length === 1 && directives['default-src'][0] === "'none'")) problems.push(`default-src is not 'none': ${directives['default-src']?.join(' ')}`);
  const scripts = directives['script-src'] ?? directives['default-src'] ?? [];
  if (!scripts.length || !scripts.every((s) => /^'nonce-[A-Za-z0-9+/=_-]{16,}'$/.test(s))) problems.push(`script-src is not nonce-only: ${scripts.join(' ')}`);
  if (/unsafe-inline|unsafe-eval|wasm-unsafe-eval|unsafe-hashes/.test(csp)) problems.push('an unsafe-* keyword is allowed');
  for (const [name, values] of Object.entries(directives)) {
    for (const v of values) {
      // webview.cspSource is the one allowed origin: VS Code's webview resource host
      // (https://*.vscode-cdn.net in code-server, vscode-webview:/vscode-resource: on desktop).
      const cspSource = /^https:\/\/\*\.vscode-cdn\.net$|^vscode-(webview|resource):/.test(v);
      if (!cspSource && /^(https?:|wss?:|data:|blob:|\*$)/i.test(v) && !(name === 'img-src' && /^(data:|blob:)$/.test(v))) problems.push(`${name} allows ${v}`);
    }
  }
  return problems;
}

// Figures the scenarios record (payloads tried, messages rejected, …); run.mjs writes them out.
export const figures = {};
export function addFigure(key, n) {
  figures[key] = (figures[key] ?? 0) + n;
}

/** Reads the extension's "BERT Studio" output channel log from the sandbox's user data. */
export function readExtensionLog(dirs, channel = 'BERT Studio') {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(`${channel}.log`)) out.push(readFileSync(p, 'utf8'));
    }
  };
  try {
    walk(join(dirs.userData, 'logs'));
  } catch {
    /* no logs yet */
  }
  return out.join('\n');
}

/** True when a process with this pid exists. */
export function pidAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}
