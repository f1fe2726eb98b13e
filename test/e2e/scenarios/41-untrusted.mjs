// (c) Restricted mode: workspace trust on (security.workspace.trust.enabled, code-server started
// without --disable-workspace-trust) and the folder not trusted. code-server asks nothing in a
// headless browser: the window opens in Restricted Mode. The run commands are hidden from the
// palette there (when: isWorkspaceTrusted), so they are invoked through keybindings, as a user's
// own keybinding would: each must refuse with a message that says why, start no Python, and the
// views must still show the fixture's runs.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const pythons = () => execFileSync('ps', ['-eo', 'pid,ppid,args'], { encoding: 'utf8' }).split('\n').filter((l) => /bert_studio_trainer|python/.test(l) && !/ps -eo/.test(l));

export const scenario = {
  name: 'restricted workspace: New Training Run / Set Up Environment refuse and say why; views still show; no Python',
  trust: true,
  timeoutMs: 150_000,
  // User keybindings, written before the window opens (user-data is the workspace's sibling).
  prepare: (ws) => writeFileSync(join(ws, '..', 'user-data', 'User', 'keybindings.json'), JSON.stringify([
      { key: 'ctrl+alt+shift+n', command: 'bertStudio.newRun' },
      { key: 'ctrl+alt+shift+e', command: 'bertStudio.setUpEnvironment' },
      { key: 'ctrl+alt+shift+r', command: 'bertStudio.resumeRun' },
    ])),
  async run({ page, dirs, h }) {
    await page.locator('.statusbar-item', { hasText: /Restricted Mode/ }).first().waitFor({ timeout: 60_000 });
    await h.openBertStudio(page);
    await h.viewPane(page, 'Runs').locator('.monaco-list-row', { hasText: 'sst2 sample' }).first().waitFor({ timeout: 30_000 });
    const pyBefore = pythons();
    await page.waitForTimeout(2000); // keybindings.json is watched
    for (const [key, what] of [['Control+Alt+Shift+N', 'Starting a training run'], ['Control+Alt+Shift+E', 'Setting up the training environment'], ['Control+Alt+Shift+R', 'Resuming a run']]) {
      await h.waitFor(`the refusal for ${what}`, async () => {
        await page.keyboard.press(key);
        return page.locator('.notifications-toasts .notification-toast', { hasText: `${what} needs a trusted workspace` }).first().isVisible();
      }, { timeoutMs: 30_000, intervalMs: 2000 });
      const toast = await page.locator('.notifications-toasts .notification-toast', { hasText: what }).first().innerText();
      if (!/restricted workspace/i.test(toast)) throw new Error(`the refusal does not say why: ${toast}`);
    }
    const palette = await (async () => {
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget .quick-input-box input').fill('>BERT Studio: New Training Run');
      await page.waitForTimeout(1500);
      const n = await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'New Training Run' }).count();
      await page.keyboard.press('Escape');
      return n;
    })();
    if (palette) throw new Error('New Training Run is offered in the palette of a restricted workspace');
    await h.screenshot(page, 'restricted-mode', { readme: true });
    const started = pythons().filter((l) => !pyBefore.includes(l) && l.includes(dirs.root.split('/').pop()));
    const trainers = pythons().filter((l) => /bert_studio_trainer/.test(l) && l.includes(dirs.workspace));
    if (started.length || trainers.length) throw new Error(`Python started in restricted mode: ${[...started, ...trainers].join('\n')}`);
  },
};
