// The one HTML shell every webview page is built from (dashboard, dataset statistics, attention,
// fill-mask). Policy: default-src 'none'; scripts only with this load's nonce (no 'unsafe-inline',
// no 'unsafe-eval'); styles, images and fonts only from the extension's own webview files
// (cspSource) or with the nonce; nothing remote. Charts set element.style through the CSSOM, which
// style-src does not govern, so no 'unsafe-inline' is needed for them either.
// No `vscode` import: the caller turns its webview into cspSource and asset URIs.

import { randomBytes } from 'node:crypto';

export interface PageInputs {
  /** webview.cspSource */
  readonly cspSource: string;
  /** Shown as the document title; escaped. */
  readonly title: string;
  /** webview.asWebviewUri of the page's bundle (dist/webview/<name>.js). */
  readonly scriptUri: string;
  /** webview.asWebviewUri of its stylesheets. */
  readonly styleUris?: readonly string[];
  /** CSS written in the extension's source (never from data), put in a nonce'd <style>. */
  readonly inlineStyle?: string;
  /** Static markup of the body, written in the extension's source; default `<div id="app"></div>`. */
  readonly body?: string;
  /** Attributes of <body> (names `data-*`), values escaped. */
  readonly bodyAttributes?: Readonly<Record<string, string>>;
  /** JSON the page reads at start with readInitialState (webview side): never executed. */
  readonly initialState?: unknown;
  /** A fixed nonce, for harnesses that must know it; a fresh one per load otherwise. */
  readonly nonce?: string;
}

/** The element id of the initial-state JSON block. */
export const INITIAL_STATE_ID = 'bert-studio-initial-state';

export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

export function escapeHtml(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

/** JSON safe inside a <script type="application/json">: no `</script>`, `<!--` or line separators. */
function jsonBlock(value: unknown): string {
  return (JSON.stringify(value) ?? 'null')
    .replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function webviewPage(p: PageInputs): string {
  const nonce = p.nonce ?? makeNonce();
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(nonce)) throw new Error('webviewPage: the nonce must be base64 of at least 96 bits');
  if (p.inlineStyle !== undefined && /<\/style/i.test(p.inlineStyle)) throw new Error('webviewPage: inlineStyle may not close its <style> element');
  const attrs = Object.entries(p.bodyAttributes ?? {}).map(([k, v]) => {
    if (!/^data-[a-z0-9-]+$/.test(k)) throw new Error(`webviewPage: body attribute ${k} is not a data-* name`);
    return ` ${k}="${escapeHtml(v)}"`;
  }).join('');
  const n = escapeHtml(nonce);
  const styles = (p.styleUris ?? []).map((u) => `<link rel="stylesheet" href="${escapeHtml(u)}" nonce="${n}">\n`).join('');
  const inline = p.inlineStyle !== undefined ? `<style nonce="${n}">${p.inlineStyle}</style>\n` : '';
  const state = p.initialState !== undefined
    ? `<script type="application/json" id="${INITIAL_STATE_ID}" nonce="${n}">${jsonBlock(p.initialState)}</script>\n`
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(p.cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${styles}${inline}<title>${escapeHtml(p.title)}</title>
</head>
<body${attrs}>
${p.body ?? '<div id="app"></div>'}
${state}<script nonce="${n}" src="${escapeHtml(p.scriptUri)}"></script>
</body>
</html>`;
}
