// Label errors and attributions at the source line, with a real (tiny) trainer run: data/reviews-
// noisy.csv (64 reviews, 4 labels flipped: lines 8, 21, 35 and 52) is imported and trained on by the
// CLI (a random-weight 2-layer BERT, 64 CPU steps, training dynamics recorded), then, as a user:
// Find Label Errors… puts the flagged examples in the Problems panel at their lines; the quick fix
// "Change label to X" edits the CSV (checked on disk); "Mark as reviewed" hides the next one; Explain
// the Prediction tints the tokens of a selection with the value on hover; the attention viewer shows
// the same attributions beside the maps (cached from the editor), then computes them for the other
// label on demand; the dashboard's data map puts each flipped review among the hard-to-learn or
// ambiguous examples. The assertions are the path, not the model's quality.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../harness.mjs';
import { tinted } from '../fixtures/editor.mjs';
import { chooseModelIfAsked } from '../fixtures/inference.mjs';
import { pythonPath, tinyModel } from '../fixtures/tiny.mjs';

const CSV = 'data/reviews-noisy.csv';
const FLIPPED = [8, 21, 35, 52];
const lines = (ws) => readFileSync(join(ws, CSV), 'utf8').split('\n');

/** The bert-studio CLI on this workspace (the real worker underneath, one thread). */
async function cli(ws, args) {
  const env = { ...process.env, BERT_STUDIO_PYTHON: pythonPath(), BERT_STUDIO_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
  const { stdout } = await promisify(execFile)(process.execPath, [join(REPO, 'dist', 'cli.js'), ...args, '--workspace', ws], { env, maxBuffer: 64 << 20 });
  return stdout;
}

/** The Problems panel row of label issue #rank. */
const problemRow = (page, rank) => page.locator('.markers-panel .monaco-list-row', { hasText: `Likely label error (#${rank},` }).first();

/** Puts the cursor in the label cell of `line` of the open CSV and runs the quick fix whose title starts with `title`. */
async function quickFix(page, h, line, title) {
  const item = page.locator('.action-widget .monaco-list-row', { hasText: title }).first();
  await h.waitFor(`the quick fix "${title}" on line ${line}`, async () => {
    await h.selectEditorLine(page, line);
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('Control+.');
    if (!(await item.waitFor({ state: 'visible', timeout: 10_000 }).then(() => true, () => false))) {
      await page.keyboard.press('Escape');
      return false;
    }
    await item.hover({ timeout: 2000 }).catch(() => undefined);
    await item.click({ timeout: 5000 }).catch(() => page.keyboard.press('Enter'));
    return item.waitFor({ state: 'hidden', timeout: 5000 }).then(() => true, () => false);
  }, { timeoutMs: 120_000, intervalMs: 1000 });
}


export const scenario = {
  // Its own window: reviewed marks live in the workspace state, and the import gets its plain id.
  isolated: true,
  name: 'label errors in the Problems panel, quick fixes that edit the file, attributions in the editor and beside attention',
  timeoutMs: 600_000,
  async run({ page, dirs, h }) {
    const ws = dirs.workspace;
    // Each flipped review's text (its line without the label), before any quick fix edits the file.
    const flippedText = Object.fromEntries(FLIPPED.map((n) => [n, lines(ws)[n - 1].replace(/,[^,]*$/, '')]));
    const model = await tinyModel();
    await cli(ws, ['dataset', 'import', join(ws, CSV)]);
    const started = Date.now();
    await cli(ws, ['train', '--task', 'sequence_classification', '--dataset', 'reviews-noisy', '--model', model, '--epochs', '8', '--batch-size', '8',
      '--lr', '3e-3', '--max-seq-length', '32', '--device', 'cpu', '--name', 'noisy reviews']);
    const runsDir = join(ws, '.bert-studio', 'runs');
    const runId = readdirSync(runsDir).find((d) => d.endsWith('noisy-reviews'));
    if (!runId) throw new Error(`no noisy-reviews run in ${runsDir}: ${readdirSync(runsDir).join(', ')}`);
    const runDir = join(runsDir, runId);
    for (const f of ['dynamics.npz', 'onnx/model_attentions.onnx', 'model/config.json']) if (!existsSync(join(runDir, f))) throw new Error(`the run has no ${f}`);
    h.log(`trained ${runId} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // 1. Find Label Errors… on the run: the flagged examples go to the Problems panel at their lines.
    await h.openBertStudio(page);
    await h.runCommand(page, 'BERT Studio: Refresh Runs');
    await h.runCommand(page, 'BERT Studio: Find Label Errors…');
    await h.pickQuickItem(page, 'noisy reviews');
    const toast = await h.waitForNotification(page, /likely label errors in/, { timeoutMs: 180_000 });
    const issues = readFileSync(join(runDir, 'label_issues.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    if (issues.length < 2) throw new Error(`${issues.length} label issues flagged: the scenario needs two (the fix and the review)`);
    h.log(`${issues.length} flagged, at lines ${issues.map((i) => i.source.line).join(', ')} (flipped: ${FLIPPED.join(', ')})`);
    await toast.locator('.monaco-button', { hasText: 'Open Problems' }).click();
    const [first, second] = issues;
    const row1 = problemRow(page, first.rank);
    await row1.waitFor({ state: 'visible', timeout: 60_000 });
    const rowText = (await row1.innerText()).replace(/\s+/g, ' ');
    if (!rowText.includes(`Ln ${first.source.line},`)) throw new Error(`the Problems entry of #${first.rank} is not at line ${first.source.line}: ${rowText}`);
    if (!rowText.includes(`suggests "${first.suggested}"`)) throw new Error(`the Problems entry does not name the suggested label: ${rowText}`);
    await h.explorerReveal(page, CSV);
    await h.selectEditorLine(page, first.source.line);
    await h.screenshot(page, 'label-errors-problems', { readme: true });

    // 2. "Change label to X" edits the CSV at that line; the entry leaves the Problems panel.
    const before = lines(ws);
    await quickFix(page, h, first.source.line, `Change label to "${first.suggested}"`);
    await h.runCommand(page, 'File: Save');
    const want = before[first.source.line - 1].replace(new RegExp(`,${first.given}$`), `,${first.suggested}`);
    await h.waitFor(`line ${first.source.line} saved as "${want}"`, () => lines(ws)[first.source.line - 1] === want, { timeoutMs: 30_000 });
    const after = lines(ws);
    const changed = after.map((l, i) => (l !== before[i] ? i + 1 : 0)).filter(Boolean);
    if (changed.length !== 1 || after.length !== before.length) throw new Error(`the fix changed lines ${changed.join(', ')} (${before.length} → ${after.length} lines)`);
    await h.waitFor(`#${first.rank} gone from the Problems panel`, async () => !(await row1.isVisible()), { timeoutMs: 30_000 });

    // 3. "Mark as reviewed" hides the next one and leaves its line as it is.
    const row2 = problemRow(page, second.rank);
    await row2.waitFor({ state: 'visible', timeout: 30_000 });
    await quickFix(page, h, second.source.line, 'Mark as reviewed');
    await h.waitFor(`#${second.rank} gone from the Problems panel`, async () => !(await row2.isVisible()), { timeoutMs: 30_000 });
    if (lines(ws)[second.source.line - 1] !== before[second.source.line - 1]) throw new Error('Mark as reviewed changed the file');
    for (const other of issues.slice(2)) {
      if (!(await problemRow(page, other.rank).isVisible())) throw new Error(`#${other.rank} left the Problems panel with #${second.rank}`);
    }
    h.log(`fixed line ${first.source.line}, reviewed line ${second.source.line}; ${issues.length - 2} left`);

    // 4. Attributions on a selection (a review's text, not its label): tinted tokens, the value on hover.
    // A negative review: the padding baseline leans to the majority cue, so its change is the larger.
    const flagged = new Set(issues.map((i) => i.source.line));
    const line = after.findIndex((l, i) => i > 0 && l.endsWith(',negative') && !flagged.has(i + 1)) + 1;
    const text = after[line - 1].slice(0, after[line - 1].lastIndexOf(','));
    await h.runCommand(page, 'View: Hide Panel', { timeoutMs: 10_000 }).catch(() => undefined);
    const selectText = () => h.waitFor(`the review text of line ${line} selected`, async () => {
      await h.selectEditorLine(page, line);
      for (let i = 0; i < after[line - 1].length - text.length; i++) await page.keyboard.press('Shift+ArrowLeft');
      return (await h.editorSelectionStatus(page)).endsWith(`(${text.length} selected)`);
    }, { timeoutMs: 60_000 });
    await selectText();
    await h.runCommand(page, 'BERT Studio: Explain the Prediction for the Selection (Token Attributions)');
    const status = page.locator('.part.statusbar .statusbar-item', { hasText: /: attributions$/ }).first();
    await chooseModelIfAsked(page, h, runDir, status, { timeoutMs: 180_000 });
    const label = /(\S+) \d+%: attributions/.exec((await status.innerText()).trim())?.[1];
    await h.clearNotifications(page);
    const tints = await h.waitFor('tinted tokens in the editor', async () => {
      const t = await tinted(page);
      return t.length ? t : undefined;
    }, { timeoutMs: 30_000 });
    const hover = page.locator('.monaco-hover:not(.hidden)', { hasText: 'to P(' }).first();
    const hoverText = await h.waitFor('the hover of a tinted token', async () => {
      await page.mouse.move(tints[0].x + 1, tints[0].y);
      await page.mouse.move(tints[0].x, tints[0].y);
      // Markdown's appendText keeps spaces as &nbsp;: read them as spaces.
      return (await hover.isVisible()) ? (await hover.innerText()).replace(/\u00a0/g, ' ').trim() : undefined;
    }, { timeoutMs: 30_000, intervalMs: 1000 });
    if (!new RegExp(`^[+−]\\d\\.\\d{4} to P\\(${label}\\) · ".+" · noisy reviews$`).test(hoverText.split('\n')[0])) throw new Error(`the hover says "${hoverText}"`);
    h.log(`${tints.length} tinted tokens for ${label}; hover: ${hoverText.split('\n')[0]}`);
    // The tints without the selection over them, the hover still open.
    await page.keyboard.press('End');
    await page.mouse.move(tints[0].x, tints[0].y);
    await hover.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => undefined);
    await h.screenshot(page, 'attributions-tinted', { readme: true });
    await page.mouse.move(5, 5);
    await selectText();

    // 5. The attention viewer: the same attributions beside the maps, at once (the editor's cache),
    // naming the model and the label; then the other label, computed on demand with the button.
    await h.runCommand(page, 'BERT Studio: Show Attention for Selection');
    const frame = await h.webviewFrameWith(page, '.attr .attr-tokens span', { timeoutMs: 120_000 });
    const caption = (await frame.locator('.attr-caption').innerText()).trim();
    if (!caption.startsWith(`noisy reviews → ${label} `) || !caption.includes('(predicted)')) throw new Error(`the column's caption: "${caption}"`);
    const meta = await h.waitFor('the grid summary', async () => (await frame.locator('body').innerText()).match(/(\d+) tokens · \d+ layers × \d+ heads/), { timeoutMs: 30_000 });
    const spans = frame.locator('.attr .attr-tokens span');
    if ((await spans.count()) !== Number(meta[1])) throw new Error(`${await spans.count()} attribution rows for ${meta[1]} tokens`);
    const titles = await spans.evaluateAll((els) => els.map((e) => e.title));
    if (!titles.includes(hoverText.split('\n')[0])) throw new Error(`no token in the column reads as the editor's hover "${hoverText.split('\n')[0]}": ${titles.join(' | ')}`);
    if (!(await frame.locator('.attr').innerText()).includes('cached')) throw new Error('the column did not come from the editor\'s cache');
    await h.screenshot(page, 'attention-attributions', { readme: true });

    const other = label === 'positive' ? 'negative' : 'positive';
    await frame.locator('.attr select.attr-target').selectOption(other);
    await frame.locator('.attr button.attr-run').click();
    await h.waitFor(`the column for ${other}`, async () => (await frame.locator('.attr-caption').innerText().catch(() => '')).startsWith(`noisy reviews → ${other} `), { timeoutMs: 120_000 });
    const chosen = (await frame.locator('.attr-caption').innerText()).trim();
    if (!chosen.includes('(chosen label)')) throw new Error(`the caption for the chosen label: "${chosen}"`);
    const levels = await spans.evaluateAll((els) => els.map((e) => Number(e.dataset.level)));
    if (!levels.some((l) => l !== 0)) throw new Error('no token tinted for the chosen label');
    const tip = await h.waitFor('a hover value in the column', async () => {
      const i = levels.findIndex((l) => l !== 0);
      await spans.nth(i).hover();
      const t = (await frame.locator('.tip').innerText().catch(() => '')).trim();
      return t.includes(`to P(${other})`) ? t : undefined;
    }, { timeoutMs: 15_000 });
    h.log(`attention viewer: ${caption} / ${chosen}; hover ${tip}`);
    await h.screenshot(page, 'attention-attributions-chosen');

    // 6. The dashboard's data map of the same run: every example is listed under its region with its
    // confidence (mean probability of its label over the epochs); each flipped review is hard to learn
    // or ambiguous, and less confident than the median of the other reviews.
    await h.runCommand(page, 'BERT Studio: Open Training Dashboard');
    const dash = await h.webviewFrameWith(page, '#data-map-summary', { timeoutMs: 120_000 });
    await dash.locator('#data-map-summary').click();
    await dash.locator('#data-map-region-hard').waitFor({ timeout: 120_000 });
    const listed = [];
    for (const region of ['hard', 'ambiguous', 'easy']) {
      await dash.locator(`#data-map-region-${region}`).click();
      await h.waitFor(`the ${region} region's list`, async () => (await dash.locator('.data-map-list-head').innerText().catch(() => '')).includes(':'), { timeoutMs: 15_000 });
      const rows = await dash.locator('#data-map-list li.map-example').evaluateAll((els) => els.map((e) => [e.querySelector('.example-text')?.textContent ?? '', e.querySelector('.example-labels')?.textContent ?? '']));
      for (const [text, figures] of rows) listed.push({ region, text: text.trim(), confidence: Number(/confidence ([0-9.]+)/.exec(figures)?.[1]) });
      if (region === 'ambiguous') {
        await dash.locator('#data-map-canvas').scrollIntoViewIfNeeded();
        await h.screenshot(page, 'data-map', { readme: true });
      }
    }
    if (listed.length !== 64) throw new Error(`the data map lists ${listed.length} examples, not the 64 reviews`);
    const flippedRows = FLIPPED.map((n) => listed.find((r) => r.text.startsWith(flippedText[n])));
    const others = listed.filter((r) => !flippedRows.includes(r)).map((r) => r.confidence).sort((a, b) => a - b);
    const median = others[Math.floor(others.length / 2)];
    for (const [i, row] of flippedRows.entries()) {
      if (!row) throw new Error(`the flipped review at line ${FLIPPED[i]} is not on the data map`);
      if (row.region === 'easy' || !(row.confidence < median)) throw new Error(`the flipped review at line ${FLIPPED[i]} is ${row.region}, confidence ${row.confidence} (median of the others ${median})`);
    }
    h.log(`data map: ${['hard', 'ambiguous', 'easy'].map((r) => `${r} ${listed.filter((x) => x.region === r).length}`).join(', ')}; flipped confidences ${flippedRows.map((r) => r.confidence).join(', ')} < median ${median}`);
  },
};
