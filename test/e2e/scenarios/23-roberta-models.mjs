// A non-BERT tokenizer in the real editor: a tiny RoBERTa (byte-level BPE, "<mask>", no token type
// ids; random weights and their exports from test/fixtures/families/build.py --editor). Fill Mask
// at Selection on a line with "<mask>" lists completions titled with the model's own mask token and
// replaces it; Annotate Entities puts decorations on exactly the characters the engine's entities
// name (the engine's character offsets are checked against Python's and the worker's in
// test/unit/inference/families.test.ts).
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../harness.mjs';
import { chooseModelIfAsked, selectLine } from '../fixtures/inference.mjs';
import { pythonPath } from '../fixtures/tiny.mjs';

const MASK_LINE = 'The capital of France is <mask>.';
const ENTITY_LINE = 'Angela Merkel met Emmanuel Macron in Zürich on Tuesday, near São Paulo.';

/** The RoBERTa exports ({mlm, token_classification}/onnx) of test/fixtures/families/build.py --editor (cached). */
function robertaModels() {
  const out = execFileSync(pythonPath(), [join(REPO, 'test/fixtures/families/build.py'), '--no-runs', '--editor'], { encoding: 'utf8', env: { ...process.env, BERT_STUDIO_NUM_THREADS: '1' } });
  const editor = out.trim().split('\n').pop();
  return { mlm: join(editor, 'roberta', 'mlm', 'onnx'), ner: join(editor, 'roberta', 'token_classification', 'onnx') };
}

export const scenario = {
  name: 'a RoBERTa model in the editor: fill-mask with <mask>, entity decorations on the right characters',
  timeoutMs: 420_000,
  prepare(ws) {
    const models = robertaModels();
    cpSync(models.mlm, join(ws, 'models', 'roberta-mlm'), { recursive: true });
    cpSync(models.ner, join(ws, 'models', 'roberta-ner'), { recursive: true });
    writeFileSync(join(ws, 'roberta.md'), `${MASK_LINE}\n${ENTITY_LINE}\n`);
  },
  async run({ page, dirs, h }) {
    const ws = dirs.workspace;
    const file = join(ws, 'roberta.md');

    await selectLine(page, h, 'roberta.md', 1);
    await h.runCommand(page, 'BERT Studio: Fill Mask at Selection');
    const title = page.locator('.quick-input-widget .quick-input-title', { hasText: /Fill <mask> — \d+ completions/ }).first();
    await chooseModelIfAsked(page, h, join(ws, 'models', 'roberta-mlm'), title);
    const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    await h.waitFor('the completion rows', async () => (await rows.count()) >= 3, { timeoutMs: 10_000 });
    const texts = (await rows.allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim());
    if (texts.slice(0, 3).some((t) => /[Ġ▁]/.test(t))) throw new Error(`completions show raw byte-level tokens: ${texts.slice(0, 3).join(' | ')}`);
    h.log(`roberta fill-mask: ${texts.slice(0, 3).join(' | ')}`);
    const fill = (await rows.first().locator('.label-name').first().innerText()).trim();
    await rows.first().click({ timeout: 5000 }).catch(() => page.keyboard.press('Enter'));
    await title.waitFor({ state: 'hidden', timeout: 10_000 });
    await h.runCommand(page, 'File: Save');
    // A word-starting completion keeps the space before <mask>; a piece that continues the word before joins it.
    const expected = [MASK_LINE.replace('<mask>', fill), MASK_LINE.replace(' <mask>', fill)];
    await h.waitFor(`line 1 saved as "${expected[0]}" (or "${expected[1]}")`, () => expected.includes(readFileSync(file, 'utf8').split('\n')[0]), { timeoutMs: 15_000 });

    // Entities: what the engine finds (the CLI runs the same engine), then what the editor decorates.
    const json = execFileSync(process.execPath, [join(REPO, 'dist', 'cli.js'), 'predict', '--model', join(ws, 'models', 'roberta-ner'), '--json', ENTITY_LINE], { encoding: 'utf8' });
    const entities = JSON.parse(json.trim().split('\n')[0]).entities;
    if (!entities.length) throw new Error('the tiny NER head found no entity in the line: nothing to compare');
    await selectLine(page, h, 'roberta.md', 2);
    await h.runCommand(page, 'BERT Studio: Annotate Entities');
    const status = page.locator('.part.statusbar', { hasText: /\d+ entit(?:y|ies)\b/ }).first();
    await chooseModelIfAsked(page, h, join(ws, 'models', 'roberta-ner'), status);
    const shown = (await status.innerText()).match(/(\d+) entit(?:y|ies)\b/)?.[1];
    if (Number(shown) !== entities.length) throw new Error(`the status bar says ${shown} entities, the engine found ${entities.length}`);
    // A bordered decoration is drawn in the overlay layer as a box ("ced-..." class) from its first
    // character to its last: its columns, in the monospace editor font, are the entity's characters.
    const editorRoot = page.locator('.part.editor .monaco-editor').first();
    const boxes = editorRoot.locator('.view-overlays div[class*="ced-"]');
    await h.waitFor('the entity decorations', async () => (await boxes.count()) >= entities.length, { timeoutMs: 15_000 });
    const geometry = await editorRoot.evaluate((root, text) => {
      const line = [...root.querySelectorAll('.view-line')].find((l) => l.textContent.replace(/\u00a0/g, ' ') === text);
      if (!line) return undefined;
      const span = line.firstElementChild;
      const charWidth = span.getBoundingClientRect().width / text.length;
      const top = parseFloat(line.style.top);
      const found = [...root.querySelectorAll('.view-overlays div[class*="ced-"]')]
        .filter((d) => Math.abs(parseFloat(d.parentElement.style.top || d.style.top || '0') - top) < 1)
        .map((d) => [parseFloat(d.style.left), parseFloat(d.style.width)]);
      return { charWidth, found };
    }, ENTITY_LINE);
    if (!geometry) throw new Error('the entity line is not on screen');
    const got = geometry.found.map(([left, width]) => [Math.round(left / geometry.charWidth), Math.round((left + width) / geometry.charWidth)]).sort((x, y) => x[0] - y[0]);
    const want = entities.map((e) => [e.start, e.end]);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`decorated columns ${JSON.stringify(got)} differ from the entities' characters ${JSON.stringify(want)}`);
    h.log(`roberta entities: ${entities.map((e) => `${e.type} "${e.text}" ${e.start}-${e.end}`).join(', ')}`);
    await h.screenshot(page, 'roberta-entities');
  },
};
