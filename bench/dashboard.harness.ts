// Loads the built dashboard webview (dist/webview/dashboard.{js,css}) in headless Chromium, under
// the same HTML and CSP the extension serves, with a stand-in for acquireVsCodeApi and VS Code's
// Dark Modern theme variables. Host messages are dispatched into the page as the webview would
// receive them. Used by bench/dashboard.ts and bench/dashboard.screenshot.ts.

import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { dashboardHtml, makeNonce } from '../src/core/dashboard/html';
import type { HostMessage, WebviewMessage } from '../webview/dashboard/protocol';

// ---- the few playwright-core types used here ---------------------------------------------------
/** The page globals the `send` callback uses (it runs in Chromium; this file compiles without DOM types). */
interface PageGlobals {
  readonly document: { readonly body: { readonly dataset: Readonly<Record<string, string | undefined>> } };
  readonly window: { dispatchEvent(event: unknown): boolean };
  requestAnimationFrame(callback: () => void): number;
}

export interface Page {
  addInitScript(script: string): Promise<void>;
  goto(url: string): Promise<unknown>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  waitForFunction(fn: string, arg?: unknown, options?: { timeout?: number }): Promise<unknown>;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>;
  click(selector: string): Promise<void>;
  on(event: 'console', fn: (msg: { type(): string; text(): string }) => void): void;
  on(event: 'pageerror', fn: (err: Error) => void): void;
  setViewportSize(size: { width: number; height: number }): Promise<void>;
}
interface Browser {
  newPage(options?: { viewport?: { width: number; height: number }; deviceScaleFactor?: number }): Promise<Page>;
  version(): string;
  close(): Promise<void>;
}
interface PlaywrightCore {
  chromium: { launch(options: { executablePath?: string; headless?: boolean; args?: string[] }): Promise<Browser> };
}

function loadPlaywright(): PlaywrightCore {
  const candidates = [
    process.env.PLAYWRIGHT_CORE,
    path.join(os.homedir(), '.cache', 'bert-studio-e2e', 'node_modules', 'playwright-core'),
    '/tmp/dash-pw/node_modules/playwright-core',
    'playwright-core',
  ].filter((c): c is string => !!c);
  const req = createRequire(__filename);
  for (const c of candidates) {
    try {
      return req(c) as PlaywrightCore;
    } catch {
      // next
    }
  }
  throw new Error(`playwright-core not found (tried ${candidates.join(', ')}); install it outside the repo with PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 and set PLAYWRIGHT_CORE`);
}

export function chromiumPath(): string {
  for (const p of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) if (p && fs.existsSync(p)) return p;
  throw new Error('No Chromium found: apt-get install -y chromium, or set CHROMIUM');
}

/** VS Code Dark Modern's values for the variables the dashboard and vscode-elements read. */
export const DARK_THEME: Readonly<Record<string, string>> = {
  '--vscode-font-family': '-apple-system, BlinkMacSystemFont, "Segoe WPC", "Segoe UI", "Ubuntu", "Droid Sans", sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-font-weight': 'normal',
  '--vscode-editor-font-family': '"Droid Sans Mono", "monospace", monospace',
  '--vscode-foreground': '#cccccc',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-errorForeground': '#f85149',
  '--vscode-editor-background': '#1f1f1f',
  '--vscode-sideBar-background': '#181818',
  '--vscode-editorWidget-border': '#313131',
  '--vscode-widget-border': '#313131',
  '--vscode-focusBorder': '#0078d4',
  '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-green': '#89d185',
  '--vscode-charts-purple': '#b180d7',
  '--vscode-charts-red': '#f14c4c',
  '--vscode-charts-yellow': '#cca700',
  '--vscode-badge-background': '#616161',
  '--vscode-badge-foreground': '#f8f8f8',
  '--vscode-progressBar-background': '#0078d4',
  '--vscode-button-background': '#0078d4',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-textLink-foreground': '#4daafc',
  '--vscode-textCodeBlock-background': '#2b2b2b',
  '--vscode-textBlockQuote-background': '#2b2b2b',
  '--vscode-editor-selectionBackground': '#264f78',
  '--vscode-editorWarning-foreground': '#cca700',
  '--vscode-dropdown-background': '#313131',
  '--vscode-dropdown-border': '#3c3c3c',
  '--vscode-dropdown-foreground': '#cccccc',
  '--vscode-dropdown-listBackground': '#1f1f1f',
  '--vscode-settings-dropdownBorder': '#3c3c3c',
  '--vscode-checkbox-background': '#313131',
  '--vscode-checkbox-border': '#3c3c3c',
  '--vscode-checkbox-foreground': '#cccccc',
  '--vscode-list-activeSelectionBackground': '#04395e',
  '--vscode-list-activeSelectionForeground': '#ffffff',
  '--vscode-list-hoverBackground': '#2a2d2e',
  '--vscode-list-focusOutline': '#0078d4',
  '--vscode-quickInput-background': '#222222',
  '--vscode-icon-foreground': '#cccccc',
  '--vscode-scrollbarSlider-background': 'rgba(121, 121, 121, 0.4)',
};

/** Runs before the page's scripts: the acquireVsCodeApi stand-in, theme, CSP violation log. */
function initScript(theme: Readonly<Record<string, string>>, state: unknown): string {
  return `(() => {
  window.__posted = [];
  window.__csp = [];
  let state = ${JSON.stringify(state ?? null)};
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__posted.push(m),
    getState: () => state === null ? undefined : state,
    setState: (s) => { state = s; },
  });
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));
  const apply = () => { const s = document.documentElement.style; for (const [k, v] of Object.entries(${JSON.stringify(theme)})) s.setProperty(k, v); };
  document.addEventListener('DOMContentLoaded', apply);
  if (document.documentElement) apply();
})();`;
}

export interface Harness {
  readonly page: Page;
  readonly browserVersion: string;
  /** Dispatches host messages into the page and waits until the charts have been drawn. Returns ms spent in the page. */
  send(messages: readonly HostMessage[]): Promise<number>;
  posted(): Promise<WebviewMessage[]>;
  cspViolations(): Promise<string[]>;
  readonly errors: string[];
  close(): Promise<void>;
}

export async function openHarness(repo: string, options: { width?: number; height?: number; state?: unknown; context?: 'view' | 'panel'; scale?: number } = {}): Promise<Harness> {
  const nonce = makeNonce();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/') {
      const origin = `http://${req.headers.host ?? ''}`;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(dashboardHtml({ cspSource: origin, scriptUri: `${origin}/dist/webview/dashboard.js`, styleUri: `${origin}/dist/webview/dashboard.css`, context: options.context ?? 'panel', nonce }));
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const file = path.join(repo, path.normalize(url.pathname));
    if (!file.startsWith(path.join(repo, 'dist', 'webview')) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.css') ? 'text/css' : 'text/javascript' });
    res.end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const browser = await loadPlaywright().chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: options.width ?? 1280, height: options.height ?? 900 }, deviceScaleFactor: options.scale ?? 1 });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.addInitScript(initScript(DARK_THEME, options.state));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction('window.__posted.some((m) => m.type === "ready")', undefined, { timeout: 20_000 });
  return {
    page,
    browserVersion: browser.version(),
    errors,
    send: (messages) =>
      page.evaluate(async (msgs: readonly HostMessage[]) => {
        // Runs in the page: its DOM globals, typed here because host code compiles without DOM types.
        const { document, window, requestAnimationFrame } = globalThis as unknown as PageGlobals;
        const before = document.body.dataset.renders ?? '0';
        const t0 = performance.now();
        for (const data of msgs) window.dispatchEvent(new MessageEvent('message', { data }));
        await new Promise<void>((resolve) => {
          const check = (): void => {
            if ((document.body.dataset.renders ?? '0') !== before) resolve();
            else requestAnimationFrame(check);
          };
          requestAnimationFrame(check);
        });
        return performance.now() - t0;
      }, messages),
    posted: () => page.evaluate(() => (globalThis as unknown as { __posted: WebviewMessage[] }).__posted, undefined),
    cspViolations: () => page.evaluate(() => (globalThis as unknown as { __csp: string[] }).__csp, undefined),
    close: async () => {
      await browser.close();
      server.close();
    },
  };
}
