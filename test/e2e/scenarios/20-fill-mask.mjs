// Fill mask on a selection of notes.md ("The capital of France is [MASK].") with the fill-mask
// default model when built, else a tiny real MLM (random weights, trained 4 steps by the real
// trainer, its ONNX export; see fixtures/inference.mjs fillMaskModel): the quick pick lists
// completions with probabilities, and choosing one replaces [MASK] in the editor (checked on disk
// after saving). The model is chosen through "Choose Model…" and the folder dialog. The selection
// is made with the keyboard in the real editor and verified in the status bar ("(32 selected)").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseModelIfAsked, fillMaskModel, selectLine } from '../fixtures/inference.mjs';

export const scenario = {
  name: 'fill mask on a selection lists completions from a real ONNX model; choosing one edits the text',
  timeoutMs: 240_000,
  async run({ page, dirs, h }) {
    const model = await fillMaskModel(dirs.workspace);
    h.log(`fill-mask model: ${model}`);
    const file = join(dirs.workspace, 'notes.md');
    const before = readFileSync(file, 'utf8').split('\n');
    const line = before.findIndex((l) => l.includes('[MASK]')) + 1;
    const selected = await selectLine(page, h, 'notes.md', line);
    if (selected !== before[line - 1].length) throw new Error(`selected ${selected} characters, line ${line} has ${before[line - 1].length}`);
    await h.runCommand(page, 'BERT Studio: Fill Mask at Selection');
    const title = page.locator('.quick-input-widget .quick-input-title', { hasText: /Fill \[MASK\] — \d+ completions/ }).first();
    await chooseModelIfAsked(page, h, model, title);
    const count = Number((await title.innerText()).match(/— (\d+) completions/)[1]);
    const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    await h.waitFor('the completion rows', async () => (await rows.count()) >= Math.min(count, 3), { timeoutMs: 10_000 });
    const texts = (await rows.allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim());
    if (count < 3) throw new Error(`only ${count} completions: ${texts.join(' | ')}`);
    if (!texts.slice(0, 3).every((r) => /\d+\.\d%/.test(r))) throw new Error(`completions without a probability: ${texts.slice(0, 3).join(' | ')}`);
    h.log(`fill-mask: ${texts.slice(0, 3).join(' | ')}`);
    // The progress notification closes a moment after the quick pick opens: picture without it.
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'filling the mask' }).first().waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
    await h.screenshot(page, 'fill-mask', { readme: true });

    // Choose the first completion: [MASK] is replaced by it in the editor.
    const fill = (await rows.first().locator('.label-name').first().innerText()).trim();
    await rows.first().click({ timeout: 5000 }).catch(() => page.keyboard.press('Enter')); // the first row has the focus
    await title.waitFor({ state: 'hidden', timeout: 10_000 });
    await h.runCommand(page, 'File: Save');
    const expected = before[line - 1].replace('[MASK]', fill);
    await h.waitFor(`line ${line} of notes.md saved as "${expected}"`, () => readFileSync(file, 'utf8').split('\n')[line - 1] === expected, { timeoutMs: 15_000 });
    h.log(`fill-mask: line ${line} is now "${expected}"`);
  },
};
