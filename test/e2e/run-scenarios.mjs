// Runs the UI scenarios (test/e2e/scenarios/*.mjs) in code-server with the packaged .vsix
// installed, through headless chromium.
//   node test/e2e/run-scenarios.mjs            all scenarios
//   E2E_SCENARIOS=dashboard node ...           only files whose name matches the regex
//   UPDATE_SCREENSHOTS=1 node ...              also refresh media/screenshots/
//
// A scenario file exports `scenario`:
//   { name, run(t), timeoutMs?, isolated?, pending?, settings?, prepare? }
// - run(t) gets t = { page, dirs, server, h } (h: the harness helpers); it throws to fail.
// - Scenarios share one code-server session by default (fixture workspace with two finished
//   runs); the runner closes editors and notifications between them. `isolated: true` (or any
//   `settings`/`prepare`) gives the scenario a fresh session of its own.
// - `pending: 'why'` reports it as skipped without running it (a feature not built yet).
// - `trust: true`: a session with workspace trust on and the folder NOT trusted (restricted mode).
// - Scenarios that need real models await fixtures/tiny.mjs's tinyAssets() (built once, in the
//   background, from the start of the run).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as h from './harness.mjs';
import { prepareStudio } from './fixtures/studio.mjs';
import { pythonPath, tinyAssets, writeTinyData } from './fixtures/tiny.mjs';

const DIR = join(h.REPO, 'test', 'e2e', 'scenarios');

// Every session: the real worker's Python (machine-scoped setting), the fixture's finished runs and
// the SST-2/CoNLL subsets in data/; one torch thread per worker (2 cores are shared with the browser).
async function openSession({ settings, prepare, trust = false } = {}) {
  const dirs = h.makeSandbox({
    settings: { 'bertStudio.pythonPath': pythonPath(), ...(trust ? { 'security.workspace.trust.enabled': true } : {}), ...settings },
    prepare: (ws) => {
      prepareStudio(ws);
      writeTinyData(join(ws, 'data'));
      prepare?.(ws);
    },
  });
  const vsix = h.vsixPath();
  await h.installVsix(dirs, vsix);
  const server = await h.startCodeServer(dirs, { workspaceTrust: trust, env: { OMP_NUM_THREADS: '1', TOKENIZERS_PARALLELISM: 'false' } });
  const browser = await h.openBrowser(server, dirs);
  await h.waitForWorkbench(browser.page);
  return {
    t: { page: browser.page, dirs, server, h },
    close: async () => {
      await browser.close();
      await server.stop();
      h.removeSandbox(dirs);
    },
  };
}

async function reset(page) {
  await page.keyboard.press('Escape').catch(() => undefined);
  await h.runCommand(page, 'View: Close All Editors', { timeoutMs: 15_000 }).catch(() => undefined);
  await h.clearNotifications(page);
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

export async function runScenarios({ filter = process.env.E2E_SCENARIOS } = {}) {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.mjs') && (!filter || new RegExp(filter).test(f))).sort();
  const results = [];
  // The tiny model and the real runs build in the background while the first scenarios run.
  if (files.some((f) => /^(2|3|4|5)/.test(f))) tinyAssets().catch(() => undefined);
  let shared;
  try {
    for (const file of files) {
      const { scenario } = await import(pathToFileURL(join(DIR, file)).href);
      const name = scenario?.name ?? file;
      if (!scenario || typeof scenario.run !== 'function') {
        results.push({ name, file, status: 'failed', error: `${file} exports no scenario with a run() function` });
        continue;
      }
      if (scenario.pending) {
        results.push({ name, file, status: 'pending', reason: scenario.pending });
        continue;
      }
      const isolated = scenario.isolated || scenario.settings || scenario.prepare || scenario.trust;
      // A scenario in its own window gets one more try in a fresh window: on 2 loaded cores the
      // workbench sometimes re-lays out under a click. A second failure counts; a retry is logged.
      const attempts = isolated ? 2 : 1;
      for (let attempt = 1; attempt <= attempts; attempt++) {
      const started = Date.now();
      let session;
      let failedNow = false;
      // Figures count what a passing attempt checked: a failed try's counts are dropped.
      const figuresBefore = { ...h.figures };
      try {
        if (isolated) session = await openSession(scenario);
        else {
          shared ??= await openSession();
          session = shared;
          await reset(session.t.page);
        }
        h.log(`scenario ${file}: ${name}`);
        await withTimeout(scenario.run(session.t), scenario.timeoutMs ?? 90_000, name);
        results.push({ name, file, status: 'passed', ms: Date.now() - started });
      } catch (err) {
        const shot = session ? await h.screenshot(session.t.page, `failed-${file.replace(/\.mjs$/, '')}${attempt > 1 ? `-try${attempt}` : ''}`).catch(() => undefined) : undefined;
        const error = `${err?.stack ?? err}${shot ? `\nscreenshot: ${shot}` : ''}`;
        for (const k of Object.keys(h.figures)) delete h.figures[k];
        Object.assign(h.figures, figuresBefore);
        if (attempt < attempts) {
          h.log(`scenario ${file} failed (try ${attempt} of ${attempts}), retrying in a fresh window: ${String(err?.message ?? err).split('\n')[0]}`);
          failedNow = true;
        } else results.push({ name, file, status: 'failed', ms: Date.now() - started, error });
      } finally {
        if (isolated) await session?.close();
      }
      if (!failedNow) break;
      }
    }
  } finally {
    await shared?.close();
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { printResults } = await import('./run-suite.mjs');
  const results = await runScenarios();
  printResults(results, 'ui');
  process.exit(results.some((r) => r.status === 'failed') ? 1 : 0);
}
