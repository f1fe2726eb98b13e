// The dashboard page. Scripts run only with this load's nonce; styles come from the extension's
// own files (and the nonce); nothing remote. uPlot and the charts set element.style through the
// CSSOM, which style-src does not govern, so no 'unsafe-inline' is needed.

import { randomBytes } from 'node:crypto';

export interface PageInputs {
  /** webview.cspSource */
  readonly cspSource: string;
  /** webview.asWebviewUri of dist/webview/dashboard.js and .css */
  readonly scriptUri: string;
  readonly styleUri: string;
  /** 'view' (sidebar) or 'panel' (editor). */
  readonly context: 'view' | 'panel';
  readonly nonce?: string;
}

export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

function attr(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
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

export function dashboardHtml(p: PageInputs): string {
  const nonce = p.nonce ?? makeNonce();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(contentSecurityPolicy(p.cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(p.styleUri)}" nonce="${attr(nonce)}">
<title>Training Dashboard</title>
</head>
<body data-context="${p.context === 'panel' ? 'panel' : 'view'}">
<div id="app"></div>
<script nonce="${attr(nonce)}" src="${attr(p.scriptUri)}"></script>
</body>
</html>`;
}
