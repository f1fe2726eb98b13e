// Annotate Entities on notes.md with a tiny real NER model (the real trainer's 4-step CoNLL run,
// its ONNX export): the command finishes and reports what it found in the status bar.
import { chooseModelIfAsked, modelFolder, selectLine } from '../fixtures/inference.mjs';

export const scenario = {
  name: 'annotate entities runs a real NER model over the editor',
  timeoutMs: 240_000,
  async run({ page, dirs, h }) {
    const model = await modelFolder(dirs.workspace, 'ner');
    await selectLine(page, h, 'notes.md', 8);
    await h.runCommand(page, 'BERT Studio: Annotate Entities');
    const status = page.locator('.part.statusbar', { hasText: /\d+ entit(?:y|ies)\b/ }).first();
    await chooseModelIfAsked(page, h, model, status);
    h.log(`status bar: ${(await status.innerText()).match(/\d+ entit(?:y|ies)\b[^\n]*/)?.[0]}`);
    await h.screenshot(page, 'entities', { readme: true });
  },
};
