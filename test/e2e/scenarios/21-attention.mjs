// The attention viewer for a selection: a tiny real model's attention export draws its maps. The
// selection is a dataset line carrying an HTML/script payload: its tokens must show as text and the
// sentinel never fire (counted in bench/results/reliability.json). CSP checked in the real webview.
import { chooseModelIfAsked, modelFolder, selectLine } from '../fixtures/inference.mjs';
import { PAYLOADS } from '../fixtures/tiny.mjs';
import { checkSentinels } from '../fixtures/security.mjs';

export const scenario = {
  // FIXME: same selection problem as 20-fill-mask.
  pending: 'the harness cannot yet make an editor selection the command sees',
  name: 'attention viewer for a selection (payload text shown as tokens, CSP)',
  timeoutMs: 240_000,
  async run({ page, dirs, h }) {
    const model = await modelFolder(dirs.workspace, 'cls');
    // data/payloads/dev.tsv line 2 is the first payload (header on line 1).
    await selectLine(page, h, 'data/payloads/dev.tsv', 2);
    await h.runCommand(page, 'BERT Studio: Show Attention for Selection');
    await chooseModelIfAsked(page, h, model);
    await page.locator('.part.editor .tab', { hasText: /^\s*Attention/ }).first().waitFor({ timeout: 120_000 });
    const frame = await h.webviewFrameWith(page, 'canvas, svg', { timeoutMs: 120_000 });
    await h.waitFor('payload tokens in the viewer', async () => /img|onerror|src/i.test(await frame.locator('body').innerText()), { timeoutMs: 60_000 });
    const csp = h.cspProblems(await h.webviewCsp(frame));
    if (csp.length) throw new Error(`attention CSP: ${csp.join('; ')}`);
    h.addFigure('csp_checked', 1);
    await page.waitForTimeout(500);
    await checkSentinels(page, h, [frame]);
    h.addFigure('payloads_tried', 1);
    void PAYLOADS;
    await h.screenshot(page, 'attention', { readme: true });
  },
};
