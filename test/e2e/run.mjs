// Runs both end-to-end parts: (a) the extension test suite in the real extension host, (b) the UI
// scenarios against the installed .vsix. Writes test-results/e2e/results.json and ends with the
// line "e2e: N passed, N failed" (pending scenarios are listed above it, not counted).
//   node test/e2e/run.mjs [--suite-only | --ui-only]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as h from './harness.mjs';
import { printResults, runSuite } from './run-suite.mjs';
import { runScenarios } from './run-scenarios.mjs';

const started = Date.now();
const all = [];
const part = async (label, fn) => {
  const t0 = Date.now();
  let results;
  try {
    results = await fn();
  } catch (err) {
    results = [{ name: `${label} could run`, status: 'failed', error: String(err?.stack ?? err) }];
  }
  console.log(`\n${label} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  printResults(results, label);
  all.push(...results.map((r) => ({ part: label, ...r })));
};

if (!process.argv.includes('--ui-only')) await part('suite', async () => (await runSuite()).results);
if (!process.argv.includes('--suite-only')) await part('ui', () => runScenarios());
await h.stopAll();

const count = (s) => all.filter((r) => r.status === s).length;
mkdirSync(h.RESULTS_DIR, { recursive: true });
writeFileSync(join(h.RESULTS_DIR, 'results.json'), JSON.stringify({ seconds: (Date.now() - started) / 1000, results: all }, null, 2));
const pending = all.filter((r) => r.status === 'pending');
if (pending.length) console.log(`\npending (${pending.length}): ${pending.map((r) => r.name).join('; ')}`);
console.log(`e2e finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`e2e: ${count('passed')} passed, ${count('failed')} failed`);
process.exit(count('failed') ? 1 : 0);
