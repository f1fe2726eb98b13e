// Annotate Entities with the tiny NER model (the Models row's ▶): outlined entities, and the count
// in the status bar stays (past the few seconds after which it used to vanish, and across a switch
// to another editor and back); Clear Annotations removes the outlines and the status entry.
import { lineHints, outlinedCount } from '../fixtures/editor.mjs';
import { selectLine } from '../fixtures/inference.mjs';
import { MODEL_RUNS, modelRows, useFromRow } from '../fixtures/models.mjs';

export const scenario = {
  name: 'annotations: the entity count stays in the status bar; Clear Annotations removes decorations and count',
  timeoutMs: 300_000,
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
  },
};
