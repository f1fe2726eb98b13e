import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pidAlive } from '../../../src/core/runs/store';
import { waitUntilStarted, type LaunchedWorker } from '../../../src/core/runs/worker';
import { processStartTime } from '../../../src/core/runs/workerProcess';

/**
 * A real process standing in for the worker's start-up: `script` runs in Node with the run dir as
 * argv[1]; its command line names bert_studio_trainer and the run dir, as the worker's does, so the
 * stop's process check accepts it.
 */
function launch(runDir: string, script: string): LaunchedWorker {
  const child = spawn(process.execPath, ['-e', script, runDir, 'bert_studio_trainer'], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { pid: child.pid as number, start: processStartTime(child.pid as number), exited };
}

const FAST = { pollMs: 20, graceMs: 2000, timeoutMs: 10_000 };

describe('waiting for a worker to start (progress with cancel)', function () {
  this.timeout(20_000);
  const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'bs-start-'));

  it('resolves started once status.json appears', async () => {
    const dir = tmp();
    const w = launch(dir, `setTimeout(() => { require('fs').writeFileSync(require('path').join(process.argv[1], 'status.json'), '{"state":"starting"}'); setTimeout(() => {}, 300); }, 150)`);
    assert.deepEqual(await waitUntilStarted(dir, w, new AbortController().signal, FAST), { kind: 'started' });
    await w.exited;
  });

  it('reports a worker that exits before it says anything, with its code', async () => {
    const dir = tmp();
    const w = launch(dir, 'process.exit(2)');
    assert.deepEqual(await waitUntilStarted(dir, w, new AbortController().signal, FAST), { kind: 'exited', code: 2 });
  });

  it('a cancel stops the worker (stop file, then SIGTERM) before it resolves', async () => {
    const dir = tmp();
    const w = launch(dir, 'setInterval(() => {}, 1000)');
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 150);
    assert.deepEqual(await waitUntilStarted(dir, w, abort.signal, FAST), { kind: 'cancelled' });
    assert.ok(fs.existsSync(path.join(dir, 'stop')), 'the stop request was written');
    await w.exited;
    assert.equal(pidAlive(w.pid), false);
  });
});
