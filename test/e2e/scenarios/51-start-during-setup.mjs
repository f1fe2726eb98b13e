// New Training Run before and during the environment set-up, and a run whose worker cannot start.
// bertStudio.pythonPath names a Python without the trainer's packages (the real one with site-packages
// off) that can make a .venv; the .venv's python is a small script whose "pip install" lasts until
// this scenario lets it finish (the set-up is "in progress" for as long as the scenario needs) and
// whose worker, while a flag file exists, starts without site-packages: the run's worker dies with
// ModuleNotFoundError, as one started on a half-installed environment does. Checked:
//   - the set-up prompt at activation and the Runs view's "set up" welcome;
//   - New Training Run with no environment offers the set-up, and starts it from its button;
//   - New Training Run during the set-up waits for it (a progress notification), no run folder;
//   - after the set-up the wizard runs with the new .venv (bertStudio.pythonPath now points at it);
//   - the worker that dies before starting leaves the run `failed` (the Runs view, with its inline
//     Retry), its traceback in the "BERT Studio" output channel, and Retry in the
//     notification; Retry with the environment complete runs it to the end.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pythonPath, tinyModel } from '../fixtures/tiny.mjs';
import { driveWizard, runIds } from '../fixtures/wizard.mjs';

const FAKE = mkdtempSync(join(tmpdir(), 'bert-studio-e2e-python-'));
if (process.env.E2E_KEEP !== '1') process.once('exit', () => rmSync(FAKE, { recursive: true, force: true }));
const INSTALLED = join(FAKE, 'installed'); // exists: "pip install" finishes
const BROKEN = join(FAKE, 'broken'); // exists: the worker starts without site-packages
const REAL = pythonPath();
mkdirSync(join(FAKE, 'bin'));
writeFileSync(join(FAKE, 'venv-python'), `#!/bin/bash
# The .venv's python: pip waits for ${INSTALLED}; the worker has no site-packages while ${BROKEN} exists.
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  echo "Installing (simulated by the e2e scenario)"
  while [ ! -e "${INSTALLED}" ]; do sleep 0.2; done
  exit 0
fi
if [ "$1" = "-m" ] && [ "$2" = "bert_studio_trainer" ] && [ -e "${BROKEN}" ]; then exec "${REAL}" -S "$@"; fi
exec "${REAL}" "$@"
`);
const BASE = join(FAKE, 'bin', 'python3');
writeFileSync(BASE, `#!/bin/bash
# A Python without torch or transformers (site-packages off) that makes a .venv with the script above.
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && cp "${join(FAKE, 'venv-python')}" "$3/bin/python" && chmod +x "$3/bin/python"
  exit $?
fi
exec "${REAL}" -S "$@"
`);
chmodSync(BASE, 0o755);

const toast = (page, text) => page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();

export const scenario = {
  name: 'New Training Run offers the set-up, waits for it; a worker that cannot start leaves the run failed with Retry and its traceback in the log',
  timeoutMs: 540_000,
  settings: { 'bertStudio.pythonPath': BASE },
  prepare: (ws) => rmSync(join(ws, '.bert-studio'), { recursive: true, force: true }),
  async run({ page, dirs, h }) {
    const ws = dirs.workspace;
    const model = join(ws, 'models', 'tiny-bert');
    cpSync(await tinyModel(), model, { recursive: true });
    for (const f of [INSTALLED, BROKEN]) if (existsSync(f)) unlinkSync(f); // a retried attempt starts over

    // Activation finds no usable environment: the prompt, and the Runs view's welcome button.
    await h.openBertStudio(page);
    await h.expandView(page, 'Runs');
    const prompt = toast(page, /lacks torch.*set it up now/);
    await prompt.waitFor({ timeout: 90_000 });
    await prompt.locator('.monaco-button', { hasText: 'Not now' }).click();
    const runsPane = h.viewPane(page, 'Runs');
    await runsPane.getByText(/Training needs a Python environment/).first().waitFor({ timeout: 30_000 });
    await runsPane.locator('.monaco-button', { hasText: 'Set Up Training Environment' }).first().waitFor({ timeout: 10_000 });
    await h.screenshot(page, 'setup-welcome');
    // One welcome text at a time: the set-up prompt, without "No training runs yet" under it.
    const welcome = async () => (await runsPane.locator('.welcome-view-content').first().innerText()).replace(/\s+/g, ' ').trim();
    const before = await welcome();
    if (!/Training needs a Python environment/.test(before) || /No training runs yet/.test(before)) throw new Error(`the Runs view's welcome: "${before}", not the set-up prompt alone`);

    await h.explorerContextMenu(page, 'data/sst2/train.tsv', 'Import Dataset');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Validation data' }).first().waitFor({ timeout: 60_000 });
    await h.pickQuickItem(page, 'Use dev.tsv');
    await h.waitForNotification(page, /Imported "sst2"/, { timeoutMs: 120_000 });
    await h.clearNotifications(page);

    // No environment: New Training Run offers the set-up (no wizard, no run), and starts it from its button.
    await h.runCommand(page, 'BERT Studio: New Training Run…');
    const offer = toast(page, /lacks torch.*Set up a training environment/);
    await offer.waitFor({ timeout: 60_000 });
    if (await page.locator('.quick-input-widget .quick-input-title', { hasText: /New Training Run/ }).first().isVisible()) throw new Error('the wizard opened without an environment');
    await offer.locator('.monaco-button', { hasText: 'Set Up Training Environment' }).click();
    await toast(page, /setting up the training environment/).waitFor({ timeout: 60_000 });
    await h.openBertStudio(page);
    await runsPane.getByText(/being set up/).first().waitFor({ timeout: 30_000 });
    const during = await welcome();
    if (!/being set up/.test(during) || /No training runs yet|Training needs a Python environment/.test(during)) throw new Error(`during the set-up the Runs view's welcome is "${during}", not the set-up text alone`);

    // During the set-up: a second New Training Run waits for it.
    await h.runCommand(page, 'BERT Studio: New Training Run…');
    await toast(page, /waiting for the training environment set-up to finish/).waitFor({ timeout: 60_000 });
    await h.screenshot(page, 'start-during-setup');
    if (runIds(ws).length) throw new Error(`a run was made during the set-up: ${runIds(ws).join(', ')}`);
    if (await page.locator('.quick-input-widget .quick-input-title', { hasText: /New Training Run/ }).first().isVisible()) throw new Error('the wizard opened during the set-up');

    // The set-up ends (its worker still misses its packages: BROKEN); the wizard goes on with the .venv.
    writeFileSync(BROKEN, '');
    writeFileSync(INSTALLED, '');
    await toast(page, /training environment ready/).waitFor({ timeout: 120_000 });
    await driveWizard(page, h, {
      model,
      dataset: 'sst2',
      epochs: '4 steps',
      other: 'logging_steps=1, eval_steps=4, save_steps=4',
      done: () => runIds(ws).length > 0,
    });
    const venvPython = join(ws, '.venv', 'bin', 'python');
    const machine = JSON.parse(readFileSync(join(dirs.userData, 'Machine', 'settings.json'), 'utf8'));
    const user = JSON.parse(readFileSync(join(dirs.userData, 'User', 'settings.json'), 'utf8'));
    h.log(`pythonPath after the set-up: machine ${machine['bertStudio.pythonPath']}, user ${user['bertStudio.pythonPath']}`);

    // The worker dies before it starts: failed (never pending), Retry, the traceback in the log.
    const runId = runIds(ws)[0];
    const runDir = join(ws, '.bert-studio', 'runs', runId);
    // The worker never wrote a status: the run's state is derived (DESIGN: a worker gone without a status is failed).
    const status = () => (existsSync(join(runDir, 'status.json')) ? JSON.parse(readFileSync(join(runDir, 'status.json'), 'utf8')) : {});
    const failed = toast(page, /failed to start: ModuleNotFoundError/);
    await failed.waitFor({ timeout: 180_000 });
    if (['starting', 'running', 'pending'].includes(status().state)) throw new Error(`status.json says ${status().state} after the worker died`);
    const log = await h.waitFor('the traceback in the BERT Studio output channel', () => {
      const text = h.readExtensionLog(dirs);
      return /failed to start/.test(text) && /Traceback \(most recent call last\)/.test(text) && /ModuleNotFoundError: No module named '/.test(text) ? text : undefined;
    }, { timeoutMs: 60_000 });
    if (!log.includes(venvPython)) throw new Error(`the worker did not run with the new .venv (${venvPython}):\n${log.slice(-2000)}`);
    await h.openBertStudio(page);
    const row = runsPane.locator('.monaco-list-row', { hasText: /failed/ }).first();
    await row.waitFor({ timeout: 30_000 }); // the Runs view says failed (never pending or starting)
    await row.hover();
    await row.locator('.action-label[aria-label^="Retry"]').first().waitFor({ timeout: 10_000 });
    await h.screenshot(page, 'run-failed-to-start');

    // The environment complete, Retry from the notification: the same run trains to the end.
    unlinkSync(BROKEN);
    await failed.locator('.monaco-button', { hasText: 'Retry' }).click();
    await h.waitFor('the retried run to train', () => ['running', 'completed'].includes(status().state) && status().pid, { timeoutMs: 180_000 }).then((pid) => h.trackPid(pid));
    await h.waitFor('the retried run completed', () => status().state === 'completed', { timeoutMs: 300_000 });
    if (runIds(ws).length !== 1) throw new Error(`Retry made another run: ${runIds(ws).join(', ')}`);
  },
};
