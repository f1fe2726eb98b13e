// Security in the real VS Code:
// (a) CSP of the dashboard and dataset statistics webviews (default-src 'none', nonce-only scripts,
//     no unsafe-*, no remote sources);
// (b) dataset text with HTML/script payloads shows as text in the dataset statistics/preview and in
//     the dashboard's misclassified examples (a REAL tiny run whose validation split holds them);
// (d) malformed messages posted from inside the dashboard iframe are rejected and logged.
import { join } from 'node:path';
import { PAYLOADS, tinyAssets, copyRun } from '../fixtures/tiny.mjs';
import { checkSentinels } from '../fixtures/security.mjs';

const RUN = '20991231-000000-payloads';

async function expectLiteral(frame, h, where) {
  const text = await frame.locator('body').innerText();
  const shown = PAYLOADS.filter((p) => text.includes(p));
  h.addFigure('payloads_tried', PAYLOADS.length);
  if (shown.length !== PAYLOADS.length) {
    const missing = PAYLOADS.filter((p) => !text.includes(p));
    throw new Error(`${where}: ${missing.length} payload(s) not shown literally: ${missing.map((m) => m.slice(0, 30)).join(' | ')}`);
  }
}

export const scenario = {
  // Its own window: a fresh workspace, where the import gets its plain id (a second import of the
  // same file keeps the first snapshot and gets a free id such as "payloads-2"; see 10-import-dataset).
  isolated: true,
  name: 'security: CSP of dashboard and dataset statistics, payloads shown as text, malformed messages rejected',
  timeoutMs: 240_000,
  async run({ page, dirs, h }) {
    const assets = await tinyAssets();
    copyRun(assets.runs.cls, dirs.workspace, RUN);

    // Dataset statistics/preview of the payload dataset.
    await h.explorerContextMenu(page, 'data/payloads/train.tsv', 'Import Dataset');
    await h.waitFor('the import', async () => {
      if (await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Validation data' }).isVisible()) await h.pickQuickItem(page, 'Use dev.tsv', { timeoutMs: 5000 });
      return page.locator('.notifications-toasts .notification-toast', { hasText: /Imported "payloads"/ }).first().isVisible();
    }, { timeoutMs: 90_000, intervalMs: 1000 });
    await page.locator('.notifications-toasts .notification-toast', { hasText: /Imported "payloads"/ }).locator('.monaco-button', { hasText: 'Show Statistics' }).click();
    await page.locator('.part.editor .tab', { hasText: /Dataset:/ }).first().waitFor({ timeout: 30_000 });
    const stats = await h.webviewFrameIn(page, '.part.editor');
    await h.waitFor('the preview with the payload lines', async () => (await stats.locator('body').innerText()).includes('onerror'), { timeoutMs: 60_000 });
    const statsCsp = h.cspProblems(await h.webviewCsp(stats));
    if (statsCsp.length) throw new Error(`dataset statistics CSP: ${statsCsp.join('; ')}`);
    await expectLiteral(stats, h, 'dataset preview');
    await checkSentinels(page, h, [stats]);
    await h.screenshot(page, 'security-dataset-preview');
    await h.runCommand(page, 'View: Close All Editors', { timeoutMs: 15_000 });

    // Dashboard of the real run: its eval event lists the payload sentences as misclassified.
    await h.runCommand(page, 'BERT Studio: Refresh Runs');
    await h.runCommand(page, 'BERT Studio: Open Training Dashboard');
    await page.locator('.part.editor .tab', { hasText: /dashboard/i }).first().waitFor({ timeout: 30_000 });
    const dash = await h.webviewFrameIn(page, '.part.editor');
    await h.waitFor('the payload run on the dashboard', async () => (await dash.locator('body').innerText()).includes('onerror'), { timeoutMs: 60_000 });
    const dashCsp = h.cspProblems(await h.webviewCsp(dash));
    if (dashCsp.length) throw new Error(`dashboard CSP: ${dashCsp.join('; ')}`);
    h.addFigure('csp_checked', 2);
    await expectLiteral(dash, h, 'dashboard misclassified examples');
    // Hover and click the example rows too (mouse events are where onmouseover/javascript: fire).
    for (const el of await dash.locator('text=/onerror|onload|javascript:|onmouseover/').all()) await el.hover({ timeout: 2000 }).catch(() => undefined);
    await checkSentinels(page, h, [dash]);
    await h.screenshot(page, 'security-dashboard-misclassified');

    // (d) Malformed messages from inside the dashboard iframe, through the webview's own channel:
    // acquireVsCodeApi().postMessage(message) calls the host frame's
    // __vscode_post_message__('onmessage', {message}) (VS Code's webview pre/index.html). The page has
    // already acquired its one API object and VS Code hides window.parent from it, so the function is
    // reached the way any script in the page could: through window.frameElement (same origin in
    // code-server); its name is read from the API script VS Code put into the page.
    const before = (h.readExtensionLog(dirs).match(/malformed message/g) ?? []).length;
    const bad = [
      null, 42, 'ready', [], {}, { type: 7 }, { type: 'nope' }, { type: 'ready', extra: 1 },
      { type: 'select', selection: { primary: '../../etc', compare: [] } },
      { type: 'select', selection: { primary: RUN, compare: 'x' } },
      { type: 'requestRange', requestId: -1, x0: 0, x1: 1 },
      { type: 'requestRange', requestId: 1, x0: 5, x1: 1 },
      { type: 'openExample', runId: RUN, step: 1.5, index: 0 },
      { type: 'openExample', runId: '/etc/passwd', step: 20, index: 0 },
      { type: 'openLog', runId: '..' },
      { type: 'openLog', runId: RUN, cmd: 'rm -rf /' },
    ];
    const sent = await dash.locator('html').evaluate((_html, messages) => {
      const api = document.getElementById('_vscodeApiScript')?.textContent ?? '';
      const name = api.match(/window\.parent\['([\w$]+)'\]/)?.[1];
      const host = window.frameElement?.ownerDocument?.defaultView;
      if (!name || typeof host?.[name] !== 'function') return `no webview post function (${name}) in the host frame`;
      for (const message of messages) host[name]('onmessage', { message });
      return messages.length;
    }, bad);
    if (sent !== bad.length) throw new Error(`could not post from inside the dashboard webview: ${sent}`);
    const rejected = await h.waitFor('the rejections in the BERT Studio log', () => {
      const n = (h.readExtensionLog(dirs).match(/malformed message/g) ?? []).length - before;
      return n >= bad.length ? n : undefined;
    }, { timeoutMs: 30_000 }).catch(() => (h.readExtensionLog(dirs).match(/malformed message/g) ?? []).length - before);
    h.addFigure('bad_messages_rejected', rejected);
    h.addFigure('bad_messages_sent', bad.length);
    if (rejected !== bad.length) throw new Error(`${rejected} of ${bad.length} malformed messages were logged as rejected`);
    await checkSentinels(page, h, [dash]);
  },
};
