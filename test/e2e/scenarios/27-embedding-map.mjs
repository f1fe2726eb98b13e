// The embedding map of a real (tiny) classification run, as a user: "BERT Studio: Show Embedding Map"
// from the palette runs the worker (PCA of the mean-pooled embeddings of the validation split), the
// page draws every point; colouring by error changes the legend; a lasso drawn with the mouse around
// the whole plot lists every example (the payload sentences as text, never markup); pressing one
// opens its file at its line beside the map; the command again answers from the cache. The
// assertions are the path, not the model's quality.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyRun, tinyAssets } from '../fixtures/tiny.mjs';

const RUN = 'tiny-cls-map';

export const scenario = {
  // Its own window: the copied run must not become "the latest run" of the shared window's dashboard.
  isolated: true,
  name: 'embedding map: points from the worker, colour by error, a lasso that lists examples, each opening at its source line',
  timeoutMs: 420_000,
  async run({ page, dirs, h }) {
    const assets = await tinyAssets();
    const runDir = copyRun(assets.runs.cls, dirs.workspace, RUN);
    const spec = JSON.parse(readFileSync(join(runDir, 'spec.json'), 'utf8'));
    const devLines = readFileSync(spec.data.validation, 'utf8').split('\n');
    const examples = devLines.slice(1).filter((l) => l.trim()).length;

    await h.runCommand(page, 'BERT Studio: Refresh Runs');
    await h.runCommand(page, 'BERT Studio: Show Embedding Map');
    await h.pickQuickItem(page, spec.name);
    await page.locator('.part.editor .tab', { hasText: /Embedding Map/ }).first().waitFor({ timeout: 60_000 });
    const map = await h.webviewFrameWith(page, '#embeddings-canvas', { timeoutMs: 60_000 });
    const status = map.locator('#embeddings-status');
    await h.waitFor('the map computed by the worker', async () => new RegExp(`^${examples} of ${examples} validation examples · PCA`).test(await status.innerText()), { timeoutMs: 240_000, intervalMs: 1000 });
    const title = await map.locator('#embeddings-title').innerText();
    if (!title.includes(spec.name) || !/model (model|best)\//.test(title)) throw new Error(`the title names no run and model: ${title}`);
    const csp = h.cspProblems(await h.webviewCsp(map));
    if (csp.length) throw new Error(`embedding map CSP: ${csp.join('; ')}`);
    await h.screenshot(page, 'embedding-map', { readme: true });

    // Colour by error: the legend names correct and misclassified points.
    await map.locator('#embeddings-color-by').selectOption('error');
    await h.waitFor('the error legend', async () => /correct/.test(await map.locator('#embeddings-legend').innerText()), { timeoutMs: 10_000 });

    // A lasso around the whole plot (the points sit at least 16 px inside it): every example listed.
    const box = await map.locator('#embeddings-canvas').boundingBox();
    if (!box) throw new Error('the map canvas has no box');
    const [x0, y0, x1, y1] = [box.x + 4, box.y + 4, box.x + box.width - 4, box.y + box.height - 4];
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    for (const [x, y] of [[x1, y0], [x1, y1], [x0, y1], [x0, y0 + 8]]) await page.mouse.move(x, y, { steps: 12 });
    await page.mouse.up();
    await h.waitFor('every example selected', async () => (await map.locator('#embeddings-selection-count').innerText()).startsWith(`${examples} selected`), { timeoutMs: 10_000 });
    const rows = map.locator('#embeddings-selection button.example');
    if ((await rows.count()) !== examples) throw new Error(`${await rows.count()} listed, expected ${examples}`);
    // Payload sentences show as text; nothing ran.
    const listed = await map.locator('#embeddings-selection').innerText();
    if (!listed.includes('onerror=')) throw new Error('the payload sentences are not listed literally');
    const pwned = await map.locator('html').evaluate(() => window.__pwned ?? (document.title.includes('PWNED') ? 'title' : undefined));
    if (pwned !== undefined) throw new Error(`a payload ran in the embedding map: ${pwned}`);
    await h.screenshot(page, 'embedding-map-lasso');

    // The first listed example opens beside the map, at its line.
    const where = (await rows.first().locator('.where').innerText()).trim();
    const m = /^(.+):(\d+)$/.exec(where);
    if (!m) throw new Error(`no file:line on the first row: ${where}`);
    await rows.first().focus();
    await page.keyboard.press('Enter');
    const tab = page.locator('.part.editor .tab', { hasText: m[1] }).first();
    await tab.waitFor({ timeout: 30_000 });
    await tab.click();
    await h.waitFor(`the cursor on line ${m[2]}`, async () => (await h.editorSelectionStatus(page)).startsWith(`Ln ${m[2]}, Col 1`), { timeoutMs: 15_000 });
    const text = (await rows.first().locator('.text').innerText()).trim();
    if (!devLines[Number(m[2]) - 1].startsWith(text.replace(/…$/, ''))) throw new Error(`line ${m[2]} is not the listed example: ${text}`);

    // The same settings again: answered from the cache in the run folder.
    await h.runCommand(page, 'BERT Studio: Show Embedding Map');
    await h.pickQuickItem(page, spec.name);
    await map.locator('#embeddings-compute').click();
    await h.waitFor('the cached map', async () => /from the cache/.test(await status.innerText()), { timeoutMs: 60_000, intervalMs: 500 });
  },
};
