// Resume a stopped run, watch the dashboard follow it live (steps and loss curve advancing), stop
// it at a checkpoint. The worker is test/e2e/fixtures/fake-worker (same run-folder contract as the
// real one, a step every 150 ms), so this takes seconds; test/integration/worker.test.ts covers
// the real trainer.
import { join } from 'node:path';
import { REPO } from '../harness.mjs';
import { writeFixtureRun } from '../fixtures/studio.mjs';

const RUN = '20250302-090000-sst2-live';

async function stepShown(frame) {
  const text = await frame.getByText(/step \d+ \/ 400/).first().textContent({ timeout: 5000 });
  return Number(/step (\d+)/.exec(text ?? '')?.[1] ?? -1);
}

export const scenario = {
  name: 'resume a stopped run, dashboard follows it live, stop it at a checkpoint',
  settings: { 'bertStudio.pythonPath': join(REPO, 'test', 'e2e', 'fixtures', 'fake-worker', 'python') },
  prepare: (ws) => writeFixtureRun(ws, { id: RUN, name: 'sst2 live', steps: 40, maxSteps: 400, state: 'stopped', t0: Date.now() / 1000 - 30 }),
  timeoutMs: 150_000,
  async run({ page, h }) {
    await h.openBertStudio(page);
    await h.runCommand(page, 'BERT Studio: Resume Run');
    await h.pickQuickItem(page, RUN);
    // Resuming opens the dashboard panel on the run.
    await page.locator('.part.editor .tab', { hasText: /dashboard/i }).first().waitFor({ timeout: 30_000 });
    const frame = await h.webviewFrameIn(page, '.part.editor');
    await frame.getByText(/^running$/).first().waitFor({ timeout: 30_000 });
    const first = await h.waitFor('steps past the checkpoint', async () => ((await stepShown(frame)) > 40 ? stepShown(frame) : undefined), { timeoutMs: 60_000 });
    await h.waitFor('the dashboard following new steps', async () => (await stepShown(frame)) >= first + 20, { timeoutMs: 60_000 });
    await h.screenshot(page, 'dashboard-live', { readme: true });

    await h.runCommand(page, 'BERT Studio: Stop Run');
    await h.pickQuickItem(page, RUN);
    await h.waitForNotification(page, /stopped at a checkpoint/, { timeoutMs: 60_000 });
    await frame.getByText(/^stopped$/).first().waitFor({ timeout: 30_000 });
    const runs = h.viewPane(page, 'Runs');
    await runs.locator('.monaco-list-row', { hasText: 'sst2 live' }).filter({ hasText: 'stopped' }).first().waitFor({ timeout: 30_000 });
    await h.screenshot(page, 'run-stopped');
  },
};
