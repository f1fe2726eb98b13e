// First use, as a new user follows it: from a fresh workspace (no .bert-studio) open the "Get
// Started with BERT Studio" walkthrough and do its five steps from its own buttons:
//   1. set up the environment: here it is already provisioned (bertStudio.pythonPath, the real
//      worker's Python), so the step completes by itself once it is found, and its button says so
//      instead of installing anything;
//   2. import data/sst2/train.tsv (dev.tsv beside it as validation) through the file dialog;
//   3. New Training Run on a tiny local BERT: 6 steps on the CPU, ONNX export included;
//   4. watch it on the dashboard to the end;
//   5. use its model (folder dialog on the run) and Classify Lines in a file: every line gets a label.
// Each step's check mark is read from the walkthrough page after its action.
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyModel } from '../fixtures/tiny.mjs';
import { driveWizard, runIds } from '../fixtures/wizard.mjs';
import { lineHints } from '../fixtures/editor.mjs';

const REVIEWS = [
  'a gorgeous , witty , seductive movie .',
  'the plot is nothing but boilerplate clichés from start to finish .',
  'one of the greatest family-oriented fantasy-adventure movies ever .',
];

/** The walkthrough step `id` on the Get Started page (ids end with the package.json step id). */
const step = (page, id) => page.locator(`.part.editor button.getting-started-step[data-step-id$="${id}"]`).first();

async function stepDone(page, id) {
  const mark = page.locator(`.part.editor [data-done-step-id$="${id}"]`).first();
  if (await mark.count()) {
    if ((await mark.getAttribute('aria-checked')) === 'true') return true;
    if (/\bcomplete\b|codicon-pass-filled/.test((await mark.getAttribute('class')) ?? '')) return true;
  }
  return (await step(page, id).getAttribute('aria-checked').catch(() => null)) === 'true';
}

/** Opens the walkthrough (BERT Studio: Get Started, as its welcome links do) and waits for its steps. */
async function openWalkthrough(page, h) {
  await h.runCommand(page, 'BERT Studio: Get Started');
  await step(page, 'setUp').waitFor({ state: 'visible', timeout: 60_000 });
}

/** Expands a step and presses the command button in its description. */
async function pressStepButton(page, h, id, label) {
  await openWalkthrough(page, h);
  const s = step(page, id);
  const button = s.locator('.monaco-button, a', { hasText: label }).first();
  // A step shows its description (and its button) once selected.
  await h.waitFor(`the "${label}" button of step ${id}`, async () => {
    if (await button.isVisible()) return true;
    await s.click();
    return button.waitFor({ state: 'visible', timeout: 5000 }).then(() => true, () => false);
  }, { timeoutMs: 60_000, intervalMs: 1000 });
  await button.click();
}

export const scenario = {
  isolated: true,
  name: 'walkthrough from a fresh workspace: environment found, import, a 6-step run on the dashboard, its model labels lines in the editor',
  timeoutMs: 540_000,
  // A fresh workspace: the fixture's runs removed; data/ (the user's files) stays.
  prepare: (ws) => {
    rmSync(join(ws, '.bert-studio'), { recursive: true, force: true });
    writeFileSync(join(ws, 'reviews.txt'), REVIEWS.join('\n') + '\n');
  },
  async run({ page, dirs, h }) {
    const ws = dirs.workspace;
    const model = join(ws, 'models', 'tiny-bert');
    cpSync(await tinyModel(), model, { recursive: true });

    // 1. The environment is found (the real worker's Python): the step completes without a click.
    await openWalkthrough(page, h);
    await h.screenshot(page, 'walkthrough-start');
    await h.waitFor('the "set up" step complete (environment found)', () => stepDone(page, 'setUp'), { timeoutMs: 90_000 });
    for (const id of ['import', 'train', 'watch', 'try']) if (await stepDone(page, id)) throw new Error(`step ${id} is complete before it was done`);
    await pressStepButton(page, h, 'setUp', 'Set Up Training Environment');
    await h.waitForNotification(page, /training environment is ready .*nothing to install/, { timeoutMs: 60_000 });
    await h.clearNotifications(page);

    // 2. Import: the file dialog, then dev.tsv as the validation split.
    await pressStepButton(page, h, 'import', 'Import Dataset');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: /Import dataset/ }).first().waitFor({ timeout: 60_000 });
    await h.answerFileDialog(page, join(ws, 'data', 'sst2', 'train.tsv'), 'OK', {
      done: async () => !(await page.locator('.quick-input-widget .quick-input-title', { hasText: /Import dataset/ }).first().isVisible()),
    });
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Validation data' }).first().waitFor({ timeout: 60_000 });
    await h.pickQuickItem(page, 'Use dev.tsv');
    await h.waitForNotification(page, /Imported "sst2"/, { timeoutMs: 120_000 });
    await h.clearNotifications(page);
    await openWalkthrough(page, h);
    await h.waitFor('the "import" step complete', () => stepDone(page, 'import'), { timeoutMs: 30_000 });

    // 3. New Training Run from the step's button: 6 steps, a loss point each, evaluation at 3 and 6.
    await pressStepButton(page, h, 'train', 'New Training Run');
    await driveWizard(page, h, {
      model,
      dataset: 'sst2',
      epochs: '6 steps',
      batch: '8',
      other: 'logging_steps=1, eval_steps=3, save_steps=3',
      done: () => runIds(ws).length > 0,
    });
    const runId = runIds(ws)[0];
    const runDir = join(ws, '.bert-studio', 'runs', runId);
    h.log(`run ${runId}`);
    const status = () => JSON.parse(readFileSync(join(runDir, 'status.json'), 'utf8'));
    await h.waitFor('the worker started', () => status().pid, { timeoutMs: 120_000 }).then((pid) => h.trackPid(pid), () => undefined);

    // 4. Watch: the dashboard shows it to its last step.
    await page.locator('.part.editor .tab', { hasText: /dashboard/i }).first().waitFor({ timeout: 120_000 });
    const frame = await h.webviewFrameIn(page, '.part.editor');
    await frame.getByText(/step 6 \/ 6/).first().waitFor({ timeout: 240_000 });
    await h.waitFor('the run completed with its ONNX export', () => status().state === 'completed', { timeoutMs: 240_000 });
    await frame.getByText(/^completed$/).first().waitFor({ timeout: 60_000 });
    await h.screenshot(page, 'walkthrough-run-dashboard');
    await openWalkthrough(page, h);
    await h.waitFor('the "train" and "watch" steps complete', async () => (await stepDone(page, 'train')) && (await stepDone(page, 'watch')), { timeoutMs: 30_000 });

    // 5. Try it: "Use a Model" picks the run's folder; Classify Lines labels every line with it.
    await pressStepButton(page, h, 'try', 'Use a Model');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Model folder' }).first().waitFor({ timeout: 60_000 });
    const using = page.locator('.notifications-toasts .notification-toast', { hasText: `using ${runId} as the classification model` }).first();
    await h.answerFileDialog(page, runDir, 'Use Model', { done: () => using.isVisible() });
    await h.explorerReveal(page, 'reviews.txt');
    await page.locator('.part.editor .tab.active', { hasText: 'reviews.txt' }).first().waitFor({ timeout: 30_000 });
    await h.runCommand(page, 'BERT Studio: Classify Lines');
    const labelled = page.locator('.part.statusbar', { hasText: /3 lines labelled/ }).first();
    await labelled.waitFor({ timeout: 120_000 });
    const hints = await h.waitFor('a label after every line', async () => {
      const found = await lineHints(page);
      return found.length >= REVIEWS.length ? found : undefined;
    }, { timeoutMs: 30_000 });
    if (!hints.every((t) => /^\s*\S+ \d+%/.test(t))) throw new Error(`line labels are not "label N%": ${JSON.stringify(hints)}`);
    h.log(`labels: ${hints.join(' | ')}`);
    if (/choose a classification model/.test(await page.locator('.notifications-toasts').innerText().catch(() => ''))) throw new Error('Classify Lines asked for a model after one was chosen');
    await h.screenshot(page, 'walkthrough-model-in-editor');

    // Every step checked on the walkthrough page.
    await openWalkthrough(page, h);
    await h.waitFor('all five steps complete', async () => {
      for (const id of ['setUp', 'import', 'train', 'watch', 'try']) if (!(await stepDone(page, id))) return false;
      return true;
    }, { timeoutMs: 30_000 });
    await h.clearNotifications(page);
    await h.screenshot(page, 'walkthrough', { readme: true });
  },
};
