// The dataset statistics page, built by the shared webview shell (src/core/webview/page.ts).

import { webviewPage } from '../webview/page';

export function datasetStatsHtml(p: { cspSource: string; scriptUri: string; styleUri: string; nonce?: string }): string {
  return webviewPage({
    cspSource: p.cspSource,
    title: 'Dataset Statistics',
    scriptUri: p.scriptUri,
    styleUris: [p.styleUri],
    nonce: p.nonce,
  });
}
