// The Models view's inline ▶ icon acts on its own row: two finished runs of the real trainer (the
// tiny classifier and the tiny NER model, with their ONNX exports) are listed; the icon of each row
// makes that row's model the one used for inference (its notification names it), with no folder
// dialog; Classify Lines then uses it without asking for a model.
import { selectLine } from '../fixtures/inference.mjs';
import { MODEL_RUNS, modelRows, useFromRow } from '../fixtures/models.mjs';

export const scenario = {
  name: 'Models view: the inline ▶ icon uses its own row\'s model, no folder dialog',
  timeoutMs: 300_000,
  async run({ page, dirs, h }) {
    const row = await modelRows(page, dirs, h);
    await h.clearNotifications(page);
    await useFromRow(page, h, row('ner'), MODEL_RUNS.ner, 'named-entity');
    await h.screenshot(page, 'models-inline-action', { clip: await h.viewPane(page, 'Models').boundingBox() });
    await useFromRow(page, h, row('cls'), MODEL_RUNS.cls, 'classification');
    await h.clearNotifications(page);

    // The classifier is the one in use: Classify Lines labels notes.md without asking.
    await selectLine(page, h, 'notes.md', 3);
    await h.runCommand(page, 'BERT Studio: Classify Lines');
    const asked = page.locator('.notifications-toasts .notification-toast', { hasText: /choose a .* model/ }).first();
    const labelled = page.locator('.part.statusbar', { hasText: /\d+ lines labelled/ }).first();
    const first = await h.waitFor('lines labelled (or a request for a model)', async () => ((await labelled.isVisible()) ? 'labelled' : (await asked.isVisible()) ? 'asked' : undefined), { timeoutMs: 120_000 });
    if (first === 'asked') throw new Error('Classify Lines asked for a model after the row\'s ▶ set one');
    await h.runCommand(page, 'BERT Studio: Clear Annotations');
  },
};
