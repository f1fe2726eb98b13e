// Runs the extension test suite (test/e2e/suite) inside the real extension host of code-server,
// with the working tree as the extension under development (dist/ must be built).
//   node test/e2e/run-suite.mjs      (prints one line per test; exit code 1 if any failed)
// Exported runSuite() is what test/e2e/run.mjs and bench/activation.mjs call.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as h from './harness.mjs';
import { prepareStudio } from './fixtures/studio.mjs';

const SUITE = join(h.REPO, 'test', 'e2e', 'suite');

/** Returns { results: [{name, file, status, ms, error}], metrics, exitCode, logFile }. */
export async function runSuite({ timeoutMs = 240_000, keepLogs = false } = {}) {
  if (!existsSync(join(h.REPO, 'dist', 'extension.js'))) throw new Error('dist/extension.js missing: run npm run build');
  const dirs = h.makeSandbox({ prepare: prepareStudio });
  const resultsFile = join(dirs.root, 'suite-results.json');
  let server;
  let browser;
  try {
    server = await h.startCodeServer(dirs, { smokeDriver: true, env: { BERT_STUDIO_E2E_RESULTS: resultsFile } });
    let exit;
    const exited = new Promise((r) => (exit = r));
    const started = Date.now();
    browser = await h.openBrowser(server, dirs, {
      payload: [
        ['extensionDevelopmentPath', server.remoteUri(h.REPO)],
        ['extensionTestsPath', server.remoteUri(SUITE)],
      ],
      onExit: (code) => exit(code),
    });
    const exitCode = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), timeoutMs))]);
    h.log(`suite finished with code ${exitCode} in ${Date.now() - started} ms`);
    if (!existsSync(resultsFile)) {
      const tail = readFileSync(server.logFile, 'utf8').slice(-3000);
      const consoleTail = browser.consoleLines.filter((l) => /error|e2e suite/i.test(l)).slice(-20).join('\n');
      return {
        results: [{ name: 'extension test suite ran', file: 'index.js', status: 'failed', error: `no results (exit ${exitCode})\n${tail}\n${consoleTail}` }],
        metrics: {},
        exitCode,
        userData: dirs.userData,
      };
    }
    const { results, metrics } = JSON.parse(readFileSync(resultsFile, 'utf8'));
    if (exitCode === 'timeout') results.push({ name: 'extension test suite finished', file: 'index.js', status: 'failed', error: 'no exit code' });
    return { results, metrics, exitCode, userData: dirs.userData, dirs, keep: keepLogs };
  } finally {
    await browser?.close();
    await server?.stop();
    if (!keepLogs) h.removeSandbox(dirs);
  }
}

export function printResults(results, label = 'suite') {
  for (const r of results) {
    const mark = r.status === 'passed' ? 'ok  ' : r.status === 'failed' ? 'FAIL' : 'skip';
    console.log(`  ${mark} [${label}] ${r.name}${r.ms !== undefined ? ` (${r.ms} ms)` : ''}${r.reason ? ` — ${r.reason}` : ''}`);
    if (r.error) console.log(r.error.split('\n').map((l) => `       ${l}`).join('\n'));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { results } = await runSuite();
  printResults(results);
  process.exit(results.some((r) => r.status === 'failed') ? 1 : 0);
}
