// The statistics page: scripts only with this load's nonce, styles from the extension's files,
// nothing remote (the same CSP as the dashboard).

import { contentSecurityPolicy, makeNonce } from '../dashboard/html';

function attr(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function datasetStatsHtml(p: { cspSource: string; scriptUri: string; styleUri: string; nonce?: string }): string {
  const nonce = p.nonce ?? makeNonce();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(contentSecurityPolicy(p.cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(p.styleUri)}" nonce="${attr(nonce)}">
<title>Dataset Statistics</title>
</head>
<body>
<div id="app"></div>
<script nonce="${attr(nonce)}" src="${attr(p.scriptUri)}"></script>
</body>
</html>`;
}
