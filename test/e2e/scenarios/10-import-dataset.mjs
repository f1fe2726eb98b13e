// Import a shared dataset with deliberately broken lines through the explorer's context menu:
// a copy of CoNLL-2003 valid (copied into the temp workspace at test time, never committed) with an
// I-PER right after O (IOB2) and a line with a missing column. The Problems panel must list both at
// their lines with a fix; the statistics webview opens from the import notification.
// Re-importing the fixed file keeps the first snapshot and imports a new one under a free id
// ("broken-2"; importDataset never overwrites without being asked), so the second notification
// names that id: the scenario reads the id from the notification rather than assuming it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA } from '../fixtures/tiny.mjs';

export const scenario = {
  name: 'import a broken CoNLL copy from the explorer: Problems name the lines and fixes, statistics webview',
  timeoutMs: 150_000,
  async run({ page, dirs, h }) {
    const blocks = readFileSync(join(DATA, 'conll2003', 'valid.txt'), 'utf8').split(/\n\s*\n/).filter((b) => b.trim() && !b.startsWith('-DOCSTART-')).slice(0, 60);
    const lines = blocks.join('\n\n').split('\n');
    // Line numbers are 1-based; pick token lines well inside the file.
    const ioLine = lines.findIndex((l, i) => i > 20 && / O$/.test(l) && / O$/.test(lines[i - 1] ?? '')) + 1;
    lines[ioLine - 1] = lines[ioLine - 1].replace(/ O$/, ' I-PER');
    const colLine = lines.findIndex((l, i) => i > ioLine + 10 && / O$/.test(l)) + 1;
    lines[colLine - 1] = lines[colLine - 1].split(' ').slice(0, 1).join(' ') + ' O O O O';
    mkdirSync(join(dirs.workspace, 'data', 'broken'), { recursive: true });
    writeFileSync(join(dirs.workspace, 'data', 'broken', 'train.txt'), lines.join('\n') + '\n');
    h.log(`broken lines: I-PER after O at ${ioLine}, wrong column count at ${colLine}`);

    await h.explorerContextMenu(page, 'data/broken/train.txt', 'Import Dataset');
    const picks = page.locator('.quick-input-widget .quick-input-title');
    // Answer whatever it asks (task when not confident, validation data) with the first sensible choice.
    await h.waitFor('the import to finish', async () => {
      if (await page.locator('.notifications-toasts .notification-toast', { hasText: /Imported|not imported/ }).first().isVisible()) return true;
      if (await picks.first().isVisible()) {
        const t = await picks.first().innerText();
        if (/Validation/.test(t)) await h.pickQuickItem(page, 'No validation split', { timeoutMs: 5000 });
        else if (/Task/.test(t)) await h.pickQuickItem(page, 'token_classification', { timeoutMs: 5000 });
        else await page.keyboard.press('Enter');
      }
      return false;
    }, { timeoutMs: 90_000, intervalMs: 1000 });

    await page.keyboard.press('Control+Shift+M');
    const problems = page.locator('.markers-panel .monaco-list-row');
    await problems.first().waitFor({ timeout: 30_000 });
    const texts = await h.waitFor('both problems listed', async () => {
      const all = (await problems.allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
      const io = all.find((t) => new RegExp(`\\[Ln ${ioLine}, Col`).test(t));
      const col = all.find((t) => new RegExp(`\\[Ln ${colLine}, Col`).test(t));
      return io && col ? { io, col, all } : undefined;
    }, { timeoutMs: 30_000 });
    h.log(`Problems: ${texts.io} | ${texts.col}`);
    if (!/I-PER/.test(texts.io) || !/B-PER|→|instead|use|change|fix/i.test(texts.io)) throw new Error(`the I-PER diagnostic names no fix: ${texts.io}`);
    if (!/column|field/i.test(texts.col)) throw new Error(`the column-count diagnostic does not say what is wrong: ${texts.col}`);
    await h.screenshot(page, 'dataset-problems', { readme: true });

    // Fix the two lines as the diagnostics say, import again, open the statistics from the notification.
    await h.clearNotifications(page);
    lines[ioLine - 1] = lines[ioLine - 1].replace(/ I-PER$/, ' B-PER');
    lines[colLine - 1] = lines[colLine - 1].split(' ').slice(0, 1).join(' ') + ' NN I-NP O';
    writeFileSync(join(dirs.workspace, 'data', 'broken', 'train.txt'), lines.join('\n') + '\n');
    await h.explorerContextMenu(page, 'data/broken/train.txt', 'Import Dataset');
    const done = page.locator('.notifications-toasts .notification-toast', { hasText: /Imported "broken(-\d+)?"/ }).first();
    await h.waitFor('the re-import', async () => {
      if (await done.isVisible()) return true;
      if (await picks.first().isVisible()) {
        const t = await picks.first().innerText();
        if (/Validation/.test(t)) await h.pickQuickItem(page, 'No validation split', { timeoutMs: 5000 });
        else if (/Task/.test(t)) await h.pickQuickItem(page, 'token_classification', { timeoutMs: 5000 });
      }
      return false;
    }, { timeoutMs: 90_000, intervalMs: 1000 });
    const notice = (await done.innerText()).replace(/\s+/g, ' ');
    const id = notice.match(/Imported "([^"]+)"/)[1];
    h.log(`re-import: ${notice}`);
    if (!/ 0 errors, 0 warnings/.test(notice)) throw new Error(`the fixed file still has problems: ${notice}`);
    await done.locator('.monaco-button', { hasText: 'Show Statistics' }).click();
    await page.locator('.part.editor .tab', { hasText: `Dataset: ${id}` }).first().waitFor({ timeout: 30_000 });
    const frame = await h.webviewFrameIn(page, '.part.editor');
    await h.waitFor('statistics drawn', async () => /PER|LOC|ORG/.test(await frame.locator('body').innerText()), { timeoutMs: 60_000 });
    const problemsCsp = h.cspProblems(await h.webviewCsp(frame));
    if (problemsCsp.length) throw new Error(`dataset statistics CSP: ${problemsCsp.join('; ')}`);
    await page.waitForTimeout(500);
    await h.screenshot(page, 'dataset-statistics', { readme: true });
  },
};
