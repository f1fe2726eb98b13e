// The attention viewer for a selection: the fill-mask model's attention export draws its layer ×
// head grid of maps. The selection is a dataset line carrying an HTML/script payload: in the head
// view its tokens must show as text ("<", "img", …), no payload markup may appear in the webview
// and no sentinel may fire (counted in bench/results/reliability.json). CSP checked in the real
// webview. The selection is made with the keyboard and verified in the status bar.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseModelIfAsked, fillMaskModel, selectLine } from '../fixtures/inference.mjs';
import { PAYLOADS } from '../fixtures/tiny.mjs';
import { checkSentinels } from '../fixtures/security.mjs';

export const scenario = {
  name: 'attention viewer for a selection: grid of maps, payload text shown as tokens, CSP',
  timeoutMs: 240_000,
  async run({ page, dirs, h }) {
    const model = await fillMaskModel(dirs.workspace);
    // data/payloads/dev.tsv: the header, then each payload twice (labels 0 and 1).
    const lines = readFileSync(join(dirs.workspace, 'data', 'payloads', 'dev.tsv'), 'utf8').split('\n');
    const line = lines.findIndex((l) => l.startsWith(PAYLOADS[0])) + 1;
    const selected = await selectLine(page, h, 'data/payloads/dev.tsv', line);
    if (selected !== lines[line - 1].length) throw new Error(`selected ${selected} characters, line ${line} has ${lines[line - 1].length}`);
    await h.runCommand(page, 'BERT Studio: Show Attention for Selection');
    await chooseModelIfAsked(page, h, model, page.locator('.part.editor .tab', { hasText: /^\s*Attention/ }));
    const frame = await h.webviewFrameWith(page, '.grid .cell canvas', { timeoutMs: 120_000 });
    const meta = await h.waitFor('the grid summary', async () => (await frame.locator('body').innerText()).match(/(\d+) tokens · (\d+) layers × (\d+) heads/), { timeoutMs: 30_000 });
    const [tokens, layers, heads] = meta.slice(1).map(Number);
    const maps = await frame.locator('.grid .cell canvas').count();
    if (maps !== layers * heads) throw new Error(`${maps} maps in the grid for ${layers} layers × ${heads} heads`);
    h.log(`attention: ${tokens} tokens, ${layers} × ${heads} maps`);
    const csp = h.cspProblems(await h.webviewCsp(frame));
    if (csp.length) throw new Error(`attention CSP: ${csp.join('; ')}`);
    h.addFigure('csp_checked', 1);
    await page.waitForTimeout(300); // the maps' first paint
    await h.screenshot(page, 'attention', { readme: true });

    // Head view: one span per token, the payload's pieces as plain text.
    await frame.locator('button', { hasText: 'Head view' }).click();
    const spans = frame.locator('.heads .col').first().locator('span');
    await h.waitFor('the head view tokens', async () => (await spans.count()) === tokens, { timeoutMs: 30_000 });
    const shown = (await spans.allInnerTexts()).map((t) => t.trim());
    // WordPiece pieces glued back ("im ##g" → "img"): the payload's own words must be there as text.
    const words = shown.filter((t) => !/^\[(CLS|SEP)\]$/.test(t)).reduce((acc, t) => (t.startsWith('##') ? acc + t.slice(2) : `${acc} ${t}`), '').trim();
    if (!shown.includes('<') || !words.includes('< img src = x onerror =')) throw new Error(`the payload's tokens are not shown as text: ${shown.join(' ')}`);
    h.log(`head view tokens: ${shown.slice(0, 16).join(' ')} …`);
    for (const el of (await spans.all()).slice(0, 12)) await el.hover({ timeout: 2000 }).catch(() => undefined);
    await checkSentinels(page, h, [frame]);
    h.addFigure('payloads_tried', 1);
    await h.screenshot(page, 'attention-head-view');
  },
};
