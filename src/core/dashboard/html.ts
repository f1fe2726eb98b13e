// The dashboard page (sidebar view and editor panel), built by the shared webview shell.

import { webviewPage } from '../webview/page';

export { contentSecurityPolicy, makeNonce } from '../webview/page';

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

export function dashboardHtml(p: PageInputs): string {
  return webviewPage({
    cspSource: p.cspSource,
    title: 'Training Dashboard',
    scriptUri: p.scriptUri,
    styleUris: [p.styleUri],
    bodyAttributes: { 'data-context': p.context === 'panel' ? 'panel' : 'view' },
    nonce: p.nonce,
  });
}
