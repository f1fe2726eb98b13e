// Annotate Entities with the tiny NER model (the Models row's ▶): outlined entities, and the count
// in the status bar stays (past the few seconds after which it used to vanish, and across a switch
// to another editor and back); Clear Annotations removes the outlines and the status entry. Then
// Explain with the cursor on a word: the NER model's attributions for the entity (or word) there,
// tinted as a classifier's are, the target outlined, the hover naming its tag logits; cleared again.
import { dottedCount, lineHints, outlinedCount, tinted } from '../fixtures/editor.mjs';
import { selectLine } from '../fixtures/inference.mjs';
import { MODEL_RUNS, modelRows, useFromRow } from '../fixtures/models.mjs';

export const scenario = {
  name: 'annotations: the entity count stays in the status bar; Clear Annotations removes decorations and count',
  timeoutMs: 480_000,
  async run({ page, dirs, h }) {
    const row = await modelRows(page, dirs, h);
    await useFromRow(page, h, row('ner'), MODEL_RUNS.ner, 'named-entity');
    await h.clearNotifications(page);
    // The whole file (no selection): a random-weight 4-step model may still find entities anywhere.
    await selectLine(page, h, 'notes.md', 8);
    await page.keyboard.press('Control+End'); // drops the selection: the whole file is annotated
    await h.runCommand(page, 'BERT Studio: Annotate Entities');
    const status = page.locator('.part.statusbar .statusbar-item', { hasText: /\d+ entit(?:y|ies)\b/ }).first();
    const none = page.locator('.notifications-toasts .notification-toast', { hasText: /found no entities/ }).first();
    await h.waitFor('the entity count in the status bar', () => status.isVisible(), { timeoutMs: 120_000 });
    const text = (await status.innerText()).trim();
    const count = Number(/(\d+) entit/.exec(text)[1]);
    h.log(`status bar: ${text}`);
    if (count === 0 && !(await none.isVisible())) throw new Error('0 entities found and no message said so');
    const outlined = await outlinedCount(page);
    if (count > 0 && outlined === 0) throw new Error(`${count} entities counted, none outlined in the editor`);
    await h.screenshot(page, 'annotations-entities');

    // It stays: after longer than the old transient message lasted, and after another editor and back.
    const shownAt = Date.now();
    await h.explorerReveal(page, 'data/sst2-sample.tsv');
    await h.waitFor('the count hidden for another editor', async () => !(await status.isVisible()), { timeoutMs: 30_000 });
    await h.explorerReveal(page, 'notes.md');
    await status.waitFor({ state: 'visible', timeout: 30_000 });
    if (Date.now() - shownAt < 10_000) await page.waitForTimeout(10_000 - (Date.now() - shownAt));
    if (!(await status.isVisible())) throw new Error('the entity count left the status bar');
    if (count > 0 && (await outlinedCount(page)) === 0) throw new Error('the outlines went with the editor switch');

    // Clear Annotations: outlines and status entry gone.
    await h.runCommand(page, 'BERT Studio: Clear Annotations');
    await h.waitFor('the count gone from the status bar', async () => !(await status.isVisible()), { timeoutMs: 30_000 });
    await h.waitFor('the outlines gone', async () => (await outlinedCount(page)) === 0, { timeoutMs: 30_000 });
    const hints = await lineHints(page);
    if (hints.length) throw new Error(`decorations left after Clear Annotations: ${JSON.stringify(hints)}`);
    await h.screenshot(page, 'annotations-cleared');

    // Explain, the cursor in "Paris" (no selection): the entity or word there, explained over its paragraph.
    const line = 'Angela Merkel met Emmanuel Macron in Paris on Tuesday to discuss the European Union budget.';
    await selectLine(page, h, 'notes.md', 8);
    await page.keyboard.press('Home');
    for (let i = 0; i < line.indexOf('Paris') + 2; i++) await page.keyboard.press('ArrowRight');
    await h.waitFor('the cursor in "Paris"', async () => /Ln 8, Col (\d+)/.exec(await h.editorSelectionStatus(page))?.[1] === String(line.indexOf('Paris') + 3), { timeoutMs: 30_000 });
    await h.runCommand(page, 'BERT Studio: Explain the Prediction for the Selection (Token Attributions)');
    const explained = page.locator('.part.statusbar .statusbar-item', { hasText: /: attributions$/ }).first();
    const which = page.locator('.quick-input-widget .quick-input-title', { hasText: 'Explain with which model?' }).first();
    const asked = await h.waitFor('the attributions, or the choice of model', async () => ((await explained.isVisible()) ? 'done' : (await which.isVisible()) ? 'asked' : undefined), { timeoutMs: 180_000 });
    if (asked === 'asked') {
      await h.pickQuickItem(page, 'named entities');
      await explained.waitFor({ timeout: 180_000 });
    }
    const said = (await explained.innerText()).trim();
    const target = /(\S+) "(.+)": attributions$/.exec(said);
    if (!target || !target[2].includes('Paris')) throw new Error(`the status bar says "${said}", not the attributions of the entity or word at "Paris"`);
    const tints = await h.waitFor('tinted tokens in the editor', async () => {
      const t = await tinted(page);
      return t.length ? t : undefined;
    }, { timeoutMs: 30_000 });
    if ((await dottedCount(page)) === 0) throw new Error('the explained entity is not outlined');
    const hover = page.locator('.monaco-hover:not(.hidden)', { hasText: 'logits of' }).first();
    const hoverText = await h.waitFor('the hover of a tinted token', async () => {
      await page.mouse.move(tints[0].x + 1, tints[0].y);
      await page.mouse.move(tints[0].x, tints[0].y);
      return (await hover.isVisible()) ? (await hover.innerText()).replace(/\u00a0/g, ' ').trim() : undefined;
    }, { timeoutMs: 30_000, intervalMs: 1000 });
    if (!new RegExp(`^[+−]\\d\\.\\d{4} to the ${target[1]} logits of "${target[2].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" · ".+" · `).test(hoverText.split('\n')[0])) throw new Error(`the hover says "${hoverText}"`);
    h.log(`${tints.length} tinted tokens for ${said}; hover: ${hoverText.split('\n')[0]}`);
    await page.mouse.move(5, 5);
    await h.screenshot(page, 'attributions-entity');
    await h.runCommand(page, 'BERT Studio: Clear Annotations');
    await h.waitFor('the tints and the outline gone', async () => (await tinted(page)).length === 0 && (await dottedCount(page)) === 0, { timeoutMs: 30_000 });
  },
};
