// Every webview page the extension builds has a strict CSP: default-src 'none', scripts only with
// this load's nonce, no 'unsafe-*', nothing remote. All of them come from one shell builder
// (src/core/webview/page.ts), checked on its own and through each page it produces: the plain
// page functions directly, the ones in src/vscode bundled with esbuild against a stub of the vscode API.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { contentSecurityPolicy, dashboardHtml } from '../../../src/core/dashboard/html';
import { embeddingMapHtml } from '../../../src/core/analysis/embeddingMap';
import { datasetStatsHtml } from '../../../src/core/datasets/statsHtml';
import { INITIAL_STATE_ID, webviewPage } from '../../../src/core/webview/page';
import { REPO, sourceFiles } from './helpers';

const CSP_SOURCE = 'vscode-webview-test:';
const ASSET = 'vscode-webview-test://ext/';

function unescapeAttr(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;|&#039;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d))).replace(/&amp;/g, '&');
}

/** Checks one page; returns its nonce. */
function assertStrictPage(html: string, cspSource = CSP_SOURCE): string {
  const metas = [...html.matchAll(/<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"\s*\/?>/gi)];
  assert.equal(metas.length, 1, 'exactly one CSP meta tag');
  assert.ok(html.indexOf(metas[0]![0]) < html.search(/<(script|link|style)\b/i), 'the CSP comes before any script or style');
  const directives = new Map<string, string[]>();
  for (const part of unescapeAttr(metas[0]![1]!).split(';').map((p) => p.trim()).filter(Boolean)) {
    const [name, ...tokens] = part.split(/\s+/);
    assert.ok(!directives.has(name!), `directive ${name} twice`);
    directives.set(name!, tokens);
  }
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  const script = directives.get('script-src') ?? [];
  assert.equal(script.length, 1, `script-src is nonce-only: ${script.join(' ')}`);
  const nonce = /^'nonce-([A-Za-z0-9+/=_-]{22,})'$/.exec(script[0]!)?.[1];
  assert.ok(nonce, `script-src is one 128-bit nonce: ${script[0]}`);
  for (const [name, tokens] of directives) {
    if (name === 'default-src') continue;
    for (const t of tokens) {
      const ok = t === `'nonce-${nonce}'` || t === cspSource || (t === 'data:' && /^(img|font)-src$/.test(name));
      assert.ok(ok, `${name} allows ${t}`);
    }
  }
  assert.doesNotMatch(html, /unsafe-inline|unsafe-eval|unsafe-hashes|strict-dynamic|wasm-unsafe/);
  assert.doesNotMatch(html, /\b(src|href)="(https?:)?\/\//i, 'no remote or protocol-relative resource');
  for (const tag of html.match(/<script\b[^>]*>/gi) ?? []) assert.ok(tag.includes(`nonce="${nonce}"`), `script without the nonce: ${tag}`);
  for (const tag of html.match(/<(script|link)\b[^>]*>/gi) ?? []) {
    const url = /\b(?:src|href)="([^"]*)"/.exec(tag)?.[1];
    if (url !== undefined) assert.ok(url.startsWith(ASSET), `${tag} loads from outside the extension's webview files`);
  }
  assert.doesNotMatch(html, /<[a-z][^>]*\son[a-z]+\s*=/i, 'no inline event handler attributes');
  return nonce!;
}

/** A page built twice must carry two different nonces. */
function assertFreshNonces(make: () => string): void {
  const a = assertStrictPage(make());
  const b = assertStrictPage(make());
  assert.notEqual(a, b, 'the nonce is made per load');
}

// ---- the vscode layer, bundled against a stub ---------------------------------------------------
const VSCODE_STUB = `
class Uri { constructor(p) { this.path = p; } static file(p) { return new Uri(p); }
  static joinPath(b, ...s) { return new Uri([b.path, ...s].join('/')); } get fsPath() { return this.path; }
  toString() { return 'file://' + this.path; } }
const any = (name) => new Proxy(function () {}, { get: (_, p) => p === 'then' ? undefined : any(name + '.' + String(p)),
  apply: () => any(name + '()'), construct: () => any('new ' + name) });
module.exports = new Proxy({ Uri, ViewColumn: { Active: -1, Beside: -2, One: 1 } },
  { get: (o, p) => (p in o ? o[p] : p === '__esModule' ? false : any('vscode.' + String(p))) });
`;

interface StubUri { readonly path: string; toString(): string }
type Loaded = Record<string, (...args: unknown[]) => unknown>;

async function loadWithStub(entry: string): Promise<Loaded> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'csp-')), 'bundle.js');
  await build({
    entryPoints: [path.join(REPO, entry)], bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'error',
    external: ['onnxruntime-node', '@huggingface/transformers'],
    plugins: [{
      name: 'vscode-stub',
      setup(b) {
        b.onResolve({ filter: /^vscode$/ }, () => ({ path: 'vscode', namespace: 'stub' }));
        b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: VSCODE_STUB, loader: 'js' }));
      },
    }],
  });
  return (await import(out)) as Loaded;
}

const extensionUri = { path: '/ext' } as StubUri;
const webview = {
  cspSource: CSP_SOURCE,
  asWebviewUri: (u: StubUri) => ({ toString: () => ASSET + u.path.replace(/^\/ext\//, '') }),
};

function assertRoots(options: unknown): void {
  const o = options as { localResourceRoots: StubUri[]; enableCommandUris?: boolean };
  const roots = o.localResourceRoots.map((u) => u.path).sort();
  for (const r of roots) assert.ok(['/ext/dist/webview', '/ext/media'].includes(r), `localResourceRoots has ${r}`);
  assert.notEqual(o.enableCommandUris, true);
}

describe('security: webview pages', () => {
  it('the check rejects loose policies', () => {
    const page = (csp: string, body = '<script nonce="abcdefghijklmnopqrstuvwx" src="vscode-webview-test://ext/a.js"></script>'): string =>
      `<meta http-equiv="Content-Security-Policy" content="${csp}">${body}`;
    const good = "default-src 'none'; script-src 'nonce-abcdefghijklmnopqrstuvwx'; style-src vscode-webview-test:";
    assert.equal(assertStrictPage(page(good)), 'abcdefghijklmnopqrstuvwx');
    for (const bad of [
      good.replace("'none'", '*'),
      good.replace("script-src '", "script-src 'unsafe-inline' '"),
      good.replace("script-src '", "script-src 'unsafe-eval' '"),
      good + '; img-src https://cdn.example.com',
      good + "; connect-src 'self'",
      good.replace('nonce-abcdefghijklmnopqrstuvwx', 'nonce-abc'),
    ]) assert.throws(() => assertStrictPage(page(bad)), bad);
    assert.throws(() => assertStrictPage(page(good, '<script src="vscode-webview-test://ext/a.js"></script>')));
    assert.throws(() => assertStrictPage(page(good, '<script nonce="abcdefghijklmnopqrstuvwx" src="https://x/a.js"></script>')));
    assert.throws(() => assertStrictPage(page(good, '<img src="x" onerror="alert(1)">')));
  });

  it('the shared builder, src/core/webview/page.ts, with every input', () => {
    const hostile = '</script><script>alert(1)</script><!-- "x" & \u2028';
    const make = (): string => webviewPage({
      cspSource: CSP_SOURCE, title: `<Title "x">`, scriptUri: `${ASSET}dist/webview/x.js`,
      styleUris: [`${ASSET}dist/webview/x.css`, `${ASSET}media/y.css`], inlineStyle: 'body { color: red; }',
      body: '<main id="app"></main>', bodyAttributes: { 'data-context': '"><script>x</script>' },
      initialState: { text: hostile, n: 3 },
    });
    assertFreshNonces(make);
    const html = make();
    assert.match(html, /<title>&lt;Title &quot;x&quot;&gt;<\/title>/);
    assert.match(html, /<body data-context="&quot;&gt;&lt;script&gt;x&lt;\/script&gt;">/);
    assert.match(html, /<main id="app"><\/main>/);
    assert.match(html, /<style nonce="[^"]+">body \{ color: red; \}<\/style>/);
    assert.equal((html.match(/<link rel="stylesheet"/g) ?? []).length, 2);
    // The state block is data, never markup: one </script> per script element, and it parses back.
    assert.equal((html.match(/<\/script>/g) ?? []).length, (html.match(/<script\b/g) ?? []).length);
    const block = new RegExp(`<script type="application/json" id="${INITIAL_STATE_ID}" nonce="[^"]+">([^<]*)</script>`).exec(html);
    assert.ok(block, 'initial state block');
    assert.deepEqual(JSON.parse(block[1]!), { text: hostile, n: 3 });
    assert.doesNotMatch(webviewPage({ cspSource: CSP_SOURCE, title: 't', scriptUri: `${ASSET}a.js` }), new RegExp(INITIAL_STATE_ID));
    assert.throws(() => webviewPage({ cspSource: CSP_SOURCE, title: 't', scriptUri: `${ASSET}a.js`, inlineStyle: '</style><script>' }), /inlineStyle/);
    assert.throws(() => webviewPage({ cspSource: CSP_SOURCE, title: 't', scriptUri: `${ASSET}a.js`, bodyAttributes: { onload: 'x' } }), /data-\*/);
    assert.throws(() => webviewPage({ cspSource: CSP_SOURCE, title: 't', scriptUri: `${ASSET}a.js`, nonce: "a' 'unsafe-inline" }), /nonce/);
  });

  it('no page writes its own HTML shell or CSP: only the shared builder does', () => {
    const shells: string[] = [];
    for (const f of [...sourceFiles(path.join(REPO, 'src')), ...sourceFiles(path.join(REPO, 'webview'))]) {
      if (/<!DOCTYPE html|Content-Security-Policy|default-src/i.test(fs.readFileSync(f, 'utf8'))) shells.push(path.relative(REPO, f));
    }
    assert.deepEqual(shells, [path.join('src', 'core', 'webview', 'page.ts')]);
  });

  it('dashboard (sidebar view and editor panel), src/core/dashboard/html.ts', () => {
    for (const context of ['view', 'panel'] as const) {
      assertFreshNonces(() => dashboardHtml({ cspSource: CSP_SOURCE, scriptUri: `${ASSET}dist/webview/dashboard.js`, styleUri: `${ASSET}dist/webview/dashboard.css`, context }));
      assert.match(dashboardHtml({ cspSource: CSP_SOURCE, scriptUri: `${ASSET}a.js`, styleUri: `${ASSET}a.css`, context }), new RegExp(`<body data-context="${context}">`));
    }
    assert.doesNotMatch(contentSecurityPolicy(CSP_SOURCE, 'n'), /unsafe|https?:/);
  });

  it('dataset statistics, src/core/datasets/statsHtml.ts', () => {
    assertFreshNonces(() => datasetStatsHtml({ cspSource: CSP_SOURCE, scriptUri: `${ASSET}dist/webview/datasetStats.js`, styleUri: `${ASSET}dist/webview/datasetStats.css` }));
    assert.match(datasetStatsHtml({ cspSource: CSP_SOURCE, scriptUri: `${ASSET}a.js`, styleUri: `${ASSET}a.css` }), /<title>Dataset Statistics<\/title>[\s\S]*<div id="app"><\/div>/);
  });

  it('embedding map, src/core/analysis/embeddingMap.ts', () => {
    assertFreshNonces(() => embeddingMapHtml({ cspSource: CSP_SOURCE, scriptUri: `${ASSET}dist/webview/embeddings.js`, styleUri: `${ASSET}dist/webview/embeddings.css`, title: 'Embedding Map: <run "x">', runId: 'r1' }));
    assert.match(embeddingMapHtml({ cspSource: CSP_SOURCE, scriptUri: `${ASSET}a.js`, styleUri: `${ASSET}a.css`, title: '<b>', runId: 'r"1' }), /<title>&lt;b&gt;<\/title>[\s\S]*<body data-run="r&quot;1">/);
  });

  it('dashboard as the extension renders it, src/vscode/dashboard/webview.ts', async function () {
    this.timeout(60_000);
    const m = await loadWithStub('src/vscode/dashboard/webview.ts');
    const ctx = { extension: { extensionUri } };
    for (const context of ['view', 'panel']) assertFreshNonces(() => m.renderHtml!(ctx, webview, context) as string);
    assertRoots(m.webviewOptions!(ctx));
  });

  it('attention and fill-mask panels, src/vscode/inference/html.ts', async function () {
    this.timeout(60_000);
    const m = await loadWithStub('src/vscode/inference/html.ts');
    const css = 'body { color: var(--vscode-foreground); }';
    for (const name of ['attention', 'fillMask']) {
      assertFreshNonces(() => m.webviewHtml!(webview, extensionUri, name, '<Title "x">', css) as string);
    }
    const page = m.webviewHtml!(webview, extensionUri, 'attention', '<b>', css) as string;
    assert.match(page, /<title>&lt;b&gt;<\/title>/);
    assert.ok(page.includes(`>${css}</style>`), 'the panel CSS is in a nonce\'d <style>');
    assert.ok(page.includes(`src="${ASSET}dist/webview/attention.js"`));
    assertRoots(m.webviewOptions!(extensionUri));
  });

  it('dataset statistics panel options, src/vscode/datasets/statsPanel.ts', async function () {
    this.timeout(60_000);
    const m = await loadWithStub('src/vscode/datasets/statsPanel.ts');
    const panel = m.DatasetStatsPanel as unknown as { options(ctx: unknown): unknown };
    assertRoots(panel.options({ extension: { extensionUri } }));
  });

  it('every webview page in src/ comes from a builder checked above', () => {
    const checked = new Set(['dashboardHtml', 'renderHtml', 'datasetStatsHtml', 'webviewHtml', 'embeddingMapHtml']);
    const found: string[] = [];
    for (const f of sourceFiles(path.join(REPO, 'src'))) {
      const text = fs.readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\.html\s*=\s*([A-Za-z_$][\w$.]*)\s*\(/g)) found.push(`${path.relative(REPO, f)}: ${m[1]}`);
      for (const m of text.matchAll(/\.html\s*=(?!=|\s*[A-Za-z_$][\w$.]*\s*\()/g)) {
        assert.fail(`${path.relative(REPO, f)}:${text.slice(0, m.index).split('\n').length}: webview HTML not from a builder`);
      }
    }
    assert.ok(found.length >= 4, found.join('\n'));
    for (const f of found) assert.ok(checked.has(f.split(': ')[1]!.split('.').pop()!), `unchecked webview HTML builder: ${f}`);
  });
});
