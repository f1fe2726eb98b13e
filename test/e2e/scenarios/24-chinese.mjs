// Chinese in the real editor (issue 13), on the tiny Chinese BERT the worker pretrains from scratch
// on the shared Chinese texts and its MSRA NER fine-tune (test/fixtures/chinese/build.py, cached in
// the bert-studio cache). A two-character word selected in mixed Chinese–English text is filled as
// one word: two masks ranked jointly, the quick pick showing whole words (the ranking is checked
// against a brute force in test/unit/inference/chinese.test.ts); choosing one replaces the word.
// Annotate Entities on a line with an emoji (a surrogate pair) and Latin words puts its
// boxes on exactly the characters the engine names (measured with DOM ranges: CJK glyphs are wider
// than Latin ones, so columns would not do). Screenshots: chinese-fill-mask, chinese-entities.
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../harness.mjs';
import { chooseModelIfAsked, selectLine } from '../fixtures/inference.mjs';
import { pythonPath } from '../fixtures/tiny.mjs';

const FILL_LINE = '这家酒店的wifi信号很差，但是房间还可以。';
const WORD = '酒店';
// (A character beyond the BMP's CJK, such as 𠮷, has no glyph in the test machine's CJK font; the
// unit test covers it. 😀 is a surrogate pair before the entities here.)
const ENTITY_LINE = '😀 新华社记者报道：江泽民主席今天在北京人民大会堂会见了美国Microsoft代表团。';

/**
 * The fixture's exports ({mlm, ner}), built once per machine; E2E_CHINESE_MLM / E2E_CHINESE_NER name
 * other ONNX folders (a Chinese model pretrained longer, e.g. by bench/chinese.py, for the README
 * pictures: the tiny fixture barely leaves the unigram plateau, so its words are mostly 的 and ，).
 */
function chineseModels() {
  const out = execFileSync(pythonPath(), [join(REPO, 'test/fixtures/chinese/build.py')], { encoding: 'utf8', env: { ...process.env, BERT_STUDIO_NUM_THREADS: '1' } });
  const dir = out.trim().split('\n').pop();
  return { mlm: process.env.E2E_CHINESE_MLM ?? join(dir, 'mlm', 'onnx'), ner: process.env.E2E_CHINESE_NER ?? join(dir, 'ner', 'onnx') };
}

/** Selects `length` characters from column `from` (0-based) of line `line` with the keyboard; checks the status bar. */
async function selectChars(page, h, line, from, length) {
  await selectLine(page, h, 'chinese.md', line);
  await page.keyboard.press('Home');
  for (let i = 0; i < from; i++) await page.keyboard.press('ArrowRight');
  for (let i = 0; i < length; i++) await page.keyboard.press('Shift+ArrowRight');
  await h.waitFor(`${length} characters selected`, async () => new RegExp(`\\(${length} selected\\)`).test(await h.editorSelectionStatus(page)), { timeoutMs: 10_000 });
}

export const scenario = {
  name: 'Chinese: a selected word filled as one word (masks ranked jointly); entity boxes on exact CJK characters after emoji',
  timeoutMs: 420_000,
  prepare(ws) {
    const models = chineseModels();
    cpSync(models.mlm, join(ws, 'models', 'zh-mlm'), { recursive: true });
    cpSync(models.ner, join(ws, 'models', 'zh-ner'), { recursive: true });
    writeFileSync(join(ws, 'chinese.md'), `${FILL_LINE}\n\n${ENTITY_LINE}\n`);
  },
  async run({ page, dirs, h }) {
    const ws = dirs.workspace;
    const file = join(ws, 'chinese.md');

    // Whole-word fill-mask: "酒店" selected, two masks, words ranked jointly.
    await selectChars(page, h, 1, FILL_LINE.indexOf(WORD), WORD.length);
    await h.runCommand(page, 'BERT Studio: Fill Mask at Selection');
    const title = page.locator('.quick-input-widget .quick-input-title', { hasText: /Fill 2 × \[MASK\] as one word — \d+ words ranked jointly/ }).first();
    await chooseModelIfAsked(page, h, join(ws, 'models', 'zh-mlm'), title);
    const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    await h.waitFor('the word rows', async () => (await rows.count()) >= 5, { timeoutMs: 10_000 });
    // Each completion is one word of two tokens: its label the two characters without a space, its
    // description the joint probability and the two pieces ("的 · 房").
    const labels = (await rows.locator('.label-name').allInnerTexts()).map((t) => t.trim()).filter(Boolean);
    const texts = (await rows.allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim());
    const two = texts.filter((r) => /\d+\.\d% · \S+ · \S+/.test(r));
    if (two.length < 5) throw new Error(`completions without a joint probability and two pieces: ${texts.slice(0, 5).join(' | ')}`);
    if (!labels.some((l) => /^\p{Script=Han}{2}$/u.test(l))) throw new Error(`no two-character Chinese word among the completions: ${labels.join(' | ')}`);
    if (labels.some((l) => /\p{Script=Han}\s+\p{Script=Han}/u.test(l))) throw new Error(`a word shown with a space inside: ${labels.join(' | ')}`);
    h.log(`chinese fill-mask: ${texts.slice(0, 5).join(' | ')}`);
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'filling the mask' }).first().waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
    await h.screenshot(page, 'chinese-fill-mask', { readme: true });
    const fill = (await rows.first().locator('.label-name').first().innerText()).trim();
    await rows.first().click({ timeout: 5000 }).catch(() => page.keyboard.press('Enter'));
    await title.waitFor({ state: 'hidden', timeout: 10_000 });
    await h.runCommand(page, 'File: Save');
    const expected = FILL_LINE.replace(WORD, fill);
    await h.waitFor(`line 1 saved as "${expected}"`, () => readFileSync(file, 'utf8').split('\n')[0] === expected, { timeoutMs: 15_000 });

    // Entities: what the engine finds (the CLI runs the same engine), then where the editor draws them.
    const json = execFileSync(process.execPath, [join(REPO, 'dist', 'cli.js'), 'predict', '--model', join(ws, 'models', 'zh-ner'), '--json', ENTITY_LINE], { encoding: 'utf8' });
    const entities = JSON.parse(json.trim().split('\n')[0]).entities;
    if (!entities.length) throw new Error('the NER model found no entity in the line: nothing to compare');
    if (!entities.some((e) => e.start > ENTITY_LINE.indexOf('😀') + 1)) throw new Error('no entity after the surrogate pair');
    await selectLine(page, h, 'chinese.md', 3);
    await h.runCommand(page, 'BERT Studio: Annotate Entities');
    const status = page.locator('.part.statusbar', { hasText: /\d+ entit(?:y|ies)\b/ }).first();
    await chooseModelIfAsked(page, h, join(ws, 'models', 'zh-ner'), status);
    const shown = (await status.innerText()).match(/(\d+) entit(?:y|ies)\b/)?.[1];
    if (Number(shown) !== entities.length) throw new Error(`the status bar says ${shown} entities, the engine found ${entities.length}`);
    const editorRoot = page.locator('.part.editor .monaco-editor').first();
    const boxes = editorRoot.locator('.view-overlays div[class*="ced-"]');
    await h.waitFor('the entity decorations', async () => (await boxes.count()) >= entities.length, { timeoutMs: 15_000 });
    // Pixel extents of each entity's characters (a DOM range over the rendered line's text, by UTF-16
    // offset) against the decoration boxes on that line.
    const geometry = await editorRoot.evaluate((root, { text, spans }) => {
      const line = [...root.querySelectorAll('.view-line')].find((l) => l.textContent.replace(/\u00a0/g, ' ') === text);
      if (!line) return undefined;
      const nodes = [];
      const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
      let at = 0;
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        nodes.push({ n, at });
        at += n.data.length;
      }
      const point = (offset) => {
        const hit = nodes.filter((x) => x.at <= offset).pop();
        return [hit.n, offset - hit.at];
      };
      const want = spans.map(([s, e]) => {
        const r = document.createRange();
        r.setStart(...point(s));
        r.setEnd(...point(e));
        const rect = r.getBoundingClientRect();
        return [rect.left, rect.right];
      });
      const lineRect = line.getBoundingClientRect();
      const got = [...root.querySelectorAll('.view-overlays div[class*="ced-"]')]
        .map((d) => d.getBoundingClientRect())
        .filter((b) => b.top < lineRect.bottom - 1 && b.bottom > lineRect.top + 1)
        .map((b) => [b.left, b.right])
        .sort((x, y) => x[0] - y[0]);
      return { want, got };
    }, { text: ENTITY_LINE, spans: entities.map((e) => [e.start, e.end]) });
    if (!geometry) throw new Error('the entity line is not on screen');
    const close = (a, b) => Math.abs(a[0] - b[0]) <= 2 && Math.abs(a[1] - b[1]) <= 2;
    if (geometry.got.length !== geometry.want.length || !geometry.want.every((w, i) => close(w, geometry.got[i]))) {
      throw new Error(`decoration boxes ${JSON.stringify(geometry.got)} differ from the entities' characters ${JSON.stringify(geometry.want)} (${entities.map((e) => `${e.type} "${e.text}"`).join(', ')})`);
    }
    h.log(`chinese entities: ${entities.map((e) => `${e.type} "${e.text}" ${e.start}-${e.end}`).join(', ')}`);
    // The picture without the selection over the boxes and without the progress toast.
    await page.keyboard.press('ArrowRight').catch(() => undefined);
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'annotating entities' }).first().waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
    await h.screenshot(page, 'chinese-entities', { readme: true });
  },
};
