// Start a tiny run through the New Training Run wizard (task, model, data file, epochs, learning
// rate, batch size) and watch the dashboard draw its loss curve; then stop it. The worker is the
// fake one (see 30-live-run-stop-resume.mjs); the real trainer is covered by the integration tests.
import { join } from 'node:path';
import { REPO } from '../harness.mjs';

async function answer(page, text) {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 30_000 });
  if (text !== undefined) await input.fill(text);
  await page.keyboard.press('Enter');
}

async function waitForTitle(page, title) {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).first().waitFor({ timeout: 30_000 });
}

export const scenario = {
  name: 'new training run wizard starts a run and the dashboard draws its loss curve',
  settings: { 'bertStudio.pythonPath': join(REPO, 'test', 'e2e', 'fixtures', 'fake-worker', 'python') },
  timeoutMs: 150_000,
  async run({ page, dirs, h }) {
    await h.openBertStudio(page);
    await h.runCommand(page, 'BERT Studio: New Training Run…');
    await waitForTitle(page, '(1/4): task');
    await h.pickQuickItem(page, 'sequence_classification');
    await waitForTitle(page, '(2/4): base model');
    await h.pickQuickItem(page, 'default');
    await waitForTitle(page, '(3/4): dataset');
    await h.pickQuickItem(page, 'Data file');
    // The browser's open dialog is VS Code's simple file dialog: a path box.
    const file = join(dirs.workspace, 'data', 'sst2-sample.tsv');
    const epochs = page.locator('.quick-input-widget .quick-input-title', { hasText: '(4/4): epochs' }).first();
    await h.waitFor('the data file accepted', async () => {
      if (await epochs.isVisible()) return true;
      const input = page.locator('.quick-input-widget .quick-input-box input');
      if ((await input.inputValue()) !== file) await input.fill(file);
      await page.locator('.quick-input-widget .monaco-button', { hasText: 'Train on this file' }).first().click({ timeout: 5000 });
      await epochs.waitFor({ timeout: 5000 });
      return true;
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    await waitForTitle(page, '(4/4): epochs');
    await answer(page, '1');
    await waitForTitle(page, 'Learning rate');
    await answer(page); // the default
    await waitForTitle(page, 'Batch size');
    await answer(page); // the default
    // A preflight warning (e.g. few examples) asks before starting.
    const startAnyway = page.getByRole('button', { name: 'Start Anyway' });
    await startAnyway.waitFor({ timeout: 10_000 }).then(() => startAnyway.click()).catch(() => undefined);

    await page.locator('.part.editor .tab', { hasText: /dashboard/i }).first().waitFor({ timeout: 60_000 });
    const frame = await h.webviewFrameIn(page, '.part.editor');
    await frame.getByText(/^running$/).first().waitFor({ timeout: 30_000 });
    await h.waitFor('loss curve with 30 steps', async () => {
      const text = await frame.getByText(/step \d+ \/ \d+/).first().textContent({ timeout: 5000 });
      return Number(/step (\d+)/.exec(text ?? '')?.[1] ?? 0) >= 30;
    }, { timeoutMs: 60_000 });
    await h.screenshot(page, 'new-run-dashboard', { readme: true });
    const runs = h.viewPane(page, 'Runs');
    await runs.locator('.monaco-list-row', { hasText: 'running' }).first().waitFor({ timeout: 30_000 });

    await h.runCommand(page, 'BERT Studio: Stop Run');
    await h.pickQuickItem(page, 'sequence_classification');
    await h.waitForNotification(page, /stopped at a checkpoint/, { timeoutMs: 60_000 });
  },
};
