// Runs both end-to-end parts: (a) the extension test suite in the real extension host, (b) the UI
// scenarios against the installed .vsix. Writes test-results/e2e/results.json and ends with the
// line "e2e: N passed, N failed" (pending scenarios are listed above it, not counted).
//   node test/e2e/run.mjs [--suite-only | --ui-only]
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
// Security figures into bench/results/reliability.json: read-modify-write of our keys only (the
// file's other keys belong to the fault-tolerance benchmark, which may write it concurrently).
if (h.figures.payloads_tried !== undefined || h.figures.bad_messages_rejected !== undefined) {
  const file = join(h.REPO, 'bench', 'results', 'reliability.json');
  mkdirSync(join(h.REPO, 'bench', 'results'), { recursive: true });
  let current = {};
  try {
    if (existsSync(file)) current = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    current = {};
  }
  const ours = { payloads_tried: h.figures.payloads_tried ?? 0, payloads_executed: h.figures.payloads_executed ?? 0, bad_messages_rejected: h.figures.bad_messages_rejected ?? 0 };
  const tmp = `${file}.e2e-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ ...current, ...ours }, null, 2) + '\n');
  renameSync(tmp, file);
  console.log(`reliability.json: ${JSON.stringify(ours)} (also: ${JSON.stringify(h.figures)})`);
}
const pending = all.filter((r) => r.status === 'pending');
if (pending.length) console.log(`\npending (${pending.length}): ${pending.map((r) => r.name).join('; ')}`);
console.log(`e2e finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`e2e: ${count('passed')} passed, ${count('failed')} failed`);
process.exit(count('failed') ? 1 : 0);
