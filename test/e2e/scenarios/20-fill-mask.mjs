// Fill mask on a selection of notes.md ("The capital of France is [MASK].") with a tiny real MLM
// (random weights, trained 4 steps by the real trainer, its ONNX export): the quick pick lists
// completions with probabilities. The model is chosen through "Choose Model…" and the folder dialog.
import { chooseModelIfAsked, modelFolder, selectLine } from '../fixtures/inference.mjs';

export const scenario = {
  // FIXME: the editor selection made through Ctrl+G and Shift+End is not seen by the command
  // (editorHasSelection stays false in code-server). Pending until the harness selects reliably.
  pending: 'the harness cannot yet make an editor selection the command sees',
  name: 'fill mask on a selection lists completions from a real ONNX model',
  timeoutMs: 240_000,
  async run({ page, dirs, h }) {
    const model = await modelFolder(dirs.workspace, 'mlm');
    await selectLine(page, h, 'notes.md', 3);
    await h.runCommand(page, 'BERT Studio: Fill Mask at Selection');
    await chooseModelIfAsked(page, h, model);
    const title = page.locator('.quick-input-widget .quick-input-title', { hasText: /Fill \[MASK\] — \d+ completions/ }).first();
    await title.waitFor({ timeout: 120_000 });
    const rows = await page.locator('.quick-input-widget .quick-input-list .monaco-list-row').allInnerTexts();
    if (rows.length < 3) throw new Error(`only ${rows.length} completions`);
    if (!rows.some((r) => /\d+(\.\d+)?\s*%/.test(r))) h.log(`note: no percentage in the rows: ${rows.slice(0, 3).join(' | ')}`);
    await h.screenshot(page, 'fill-mask', { readme: true });
    await page.keyboard.press('Escape');
  },
};
