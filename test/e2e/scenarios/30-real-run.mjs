// The REAL trainer, as a user drives it: import data/sst2 (explorer context menu, dev.tsv as
// validation), New Training Run wizard on a tiny local BERT folder (built at test time,
// fixtures/tiny.mjs), watch the dashboard's loss curve grow, stop it (graceful: `stopped` with a
// complete checkpoint), resume it (continues past the checkpoint), reload the window during the run
// (the detached worker keeps its pid and keeps writing steps; the dashboard reattaches), stop again.
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyModel } from '../fixtures/tiny.mjs';

const readJson = (f) => JSON.parse(readFileSync(f, 'utf8'));
const lastStep = (runDir) => {
  const lines = readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const e = JSON.parse(lines[i]);
    if (e.type === 'step') return e.step;
  }
  return 0;
};

async function answer(page, text) {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 30_000 });
  if (text !== undefined) await input.fill(text);
  await page.keyboard.press('Enter');
}
const title = (page, t) => page.locator('.quick-input-widget .quick-input-title', { hasText: t }).first().waitFor({ timeout: 30_000 });

async function dashboardStep(frame) {
  const text = await frame.getByText(/step \d+ \/ \d+/).first().textContent({ timeout: 5000 });
  return Number(/step (\d+)/.exec(text ?? '')?.[1] ?? -1);
}

export const scenario = {
  // Its own window: a fresh workspace, where the import gets its plain id (a second import of the
  // same file keeps the first snapshot and gets a free id such as "sst2-2"; see 10-import-dataset).
  isolated: true,
  name: 'real trainer: import data, wizard starts a run, loss curve grows, stop, resume, reload window, stop',
  timeoutMs: 300_000,
  async run({ page, dirs, h }) {
    const ws = dirs.workspace;
    const model = join(ws, 'models', 'tiny-bert');
    cpSync(await tinyModel(), model, { recursive: true });

    // 1. Import the SST-2 subset from the explorer's context menu; dev.tsv beside it is the validation split.
    await h.explorerContextMenu(page, 'data/sst2/train.tsv', 'Import Dataset');
    await title(page, 'Validation data');
    await h.pickQuickItem(page, 'Use dev.tsv');
    await h.waitForNotification(page, /Imported "sst2"/, { timeoutMs: 60_000 });
    await h.clearNotifications(page);

    // 2. The wizard: task, a local model folder, the dataset snapshot, 20 epochs, batch 4, CPU. Its
    // steps are found by what they ask (Trainer field names), not by their "(n/m)" numbering.
    const step = (what) => title(page, new RegExp(`^New Training Run \\(\\d/\\d\\): ${what}`));
    await h.openBertStudio(page);
    await h.runCommand(page, 'BERT Studio: New Training Run…');
    await step('task');
    await h.pickQuickItem(page, 'sequence_classification');
    await step('base model');
    await h.pickQuickItem(page, 'Local folder');
    // The wizard then describes the model (architecture, parameters, positions, tokenizer) in a modal.
    const describe = page.locator('.monaco-dialog-box', { hasText: 'Architecture: bert' });
    await h.answerFileDialog(page, model, 'Use this model folder', { done: () => describe.isVisible() });
    await describe.locator('.monaco-button', { hasText: 'Use This Model' }).click();
    await step('dataset');
    await h.pickQuickItem(page, 'sst2');
    await step('num_train_epochs');
    await answer(page, '20'); // 12000 steps: still running at the second Stop, even on an idle machine (13 steps/s)
    await step('learning_rate');
    await answer(page);
    await step('per_device_train_batch_size');
    await answer(page, '4');
    await step('other training fields');
    await answer(page);
    await step('device');
    await h.pickQuickItem(page, 'cpu', { exact: true });
    const startAnyway = page.getByRole('button', { name: 'Start Anyway' });
    await startAnyway.waitFor({ timeout: 5_000 }).then(() => startAnyway.click()).catch(() => undefined);

    const runsDir = join(ws, '.bert-studio', 'runs');
    const runDir = await h.waitFor('the new run folder', () => {
      const id = readdirSync(runsDir).find((d) => /sequence.classification/.test(d));
      return id && existsSync(join(runsDir, id, 'status.json')) ? join(runsDir, id) : undefined;
    }, { timeoutMs: 120_000 });
    const runId = runDir.split('/').pop();
    const spec = readJson(join(runDir, 'spec.json'));
    if (spec.model.name_or_path !== model) throw new Error(`spec.json model is ${spec.model.name_or_path}, not the folder picked`);
    if (!String(spec.data.train).includes('.bert-studio/datasets/sst2')) throw new Error(`spec.json trains on ${spec.data.train}, not the imported snapshot`);
    h.trackPid(readJson(join(runDir, 'status.json')).pid);

    await page.locator('.part.editor .tab', { hasText: /dashboard/i }).first().waitFor({ timeout: 60_000 });
    let frame = await h.webviewFrameIn(page, '.part.editor');
    await frame.getByText(/^running$/).first().waitFor({ timeout: 90_000 });
    const seen = await h.waitFor('the loss curve to grow to 20 steps', async () => {
      const s = await dashboardStep(frame);
      return s >= 20 ? s : undefined;
    }, { timeoutMs: 120_000 });
    if (!(await frame.locator('canvas').count())) throw new Error('no chart canvas on the dashboard');
    await h.screenshot(page, 'real-run-dashboard', { readme: true });

    // 3. Stop: graceful, a complete checkpoint at the step it stopped on.
    await h.runCommand(page, 'BERT Studio: Stop Run');
    await h.pickQuickItem(page, runId);
    await h.waitForNotification(page, /stopped at a checkpoint/, { timeoutMs: 90_000 });
    await frame.getByText(/^stopped$/).first().waitFor({ timeout: 30_000 });
    const stopped = readJson(join(runDir, 'status.json'));
    if (stopped.state !== 'stopped' || !stopped.last_checkpoint) throw new Error(`after Stop: ${JSON.stringify(stopped)}`);
    if (!existsSync(join(runDir, stopped.last_checkpoint, 'COMPLETE'))) throw new Error(`${stopped.last_checkpoint} has no COMPLETE marker`);
    if (stopped.step < seen) throw new Error(`stopped at step ${stopped.step}, before the ${seen} the dashboard showed`);
    h.log(`stopped at step ${stopped.step} (${stopped.last_checkpoint})`);
    await h.clearNotifications(page);

    // 4. Resume from the Runs view's data: it continues past the checkpoint.
    await h.runCommand(page, 'BERT Studio: Resume Run');
    await h.pickQuickItem(page, runId);
    await page.locator('.part.editor .tab', { hasText: /dashboard/i }).first().waitFor({ timeout: 60_000 });
    frame = await h.webviewFrameIn(page, '.part.editor');
    await frame.getByText(/^running$/).first().waitFor({ timeout: 90_000 });
    const resumedPid = await h.waitFor('the resumed worker pid', () => {
      const s = readJson(join(runDir, 'status.json'));
      return s.state === 'running' && s.pid !== stopped.pid ? s.pid : undefined;
    }, { timeoutMs: 60_000 });
    h.trackPid(resumedPid);
    await h.waitFor('steps past the checkpoint on the dashboard', async () => (await dashboardStep(frame)) >= stopped.step + 10, { timeoutMs: 120_000 });
    const events = readFileSync(join(runDir, 'events.jsonl'), 'utf8');
    if (!events.includes('"resumed') && !/resum/i.test(events)) h.log('note: no resume message in events.jsonl');

    // 5. Reload the window during the run: the detached worker goes on, the dashboard reattaches.
    const beforeReload = lastStep(runDir);
    await h.reloadWindow(page);
    if (!h.pidAlive(resumedPid)) throw new Error(`worker ${resumedPid} died with the window reload`);
    await h.waitFor('new steps after the reload', () => lastStep(runDir) >= beforeReload + 10, { timeoutMs: 120_000 });
    if (readJson(join(runDir, 'status.json')).pid !== resumedPid) throw new Error('a new worker was started by the reload');
    await h.runCommand(page, 'BERT Studio: Open Training Dashboard');
    frame = await h.webviewFrameIn(page, '.part.editor');
    await frame.getByText(/^running$/).first().waitFor({ timeout: 60_000 });
    const after = await h.waitFor('the dashboard past the pre-reload step', async () => {
      const s = await dashboardStep(frame);
      return s > beforeReload ? s : undefined;
    }, { timeoutMs: 60_000 });
    await h.openBertStudio(page);
    await h.viewPane(page, 'Runs').locator('.monaco-list-row', { hasText: runId }).first().waitFor({ timeout: 30_000 }).catch(() => undefined);
    await h.screenshot(page, 'dashboard-after-reload', { readme: true });
    h.log(`dashboard reattached at step ${after} (was ${beforeReload} before the reload; worker ${resumedPid} alive)`);

    // 6. Stop again (the window that stops it is not the one that started it).
    await h.runCommand(page, 'BERT Studio: Stop Run');
    await h.pickQuickItem(page, runId);
    await h.waitFor('stopped after the reload', () => readJson(join(runDir, 'status.json')).state === 'stopped', { timeoutMs: 90_000 });
    await h.waitFor('the worker to exit', () => !h.pidAlive(resumedPid), { timeoutMs: 30_000 });
    await h.screenshot(page, 'run-stopped');
  },
};
