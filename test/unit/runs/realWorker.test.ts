// The process check against the real worker: `python -m bert_studio_trainer train --run-dir DIR`
// as launchWorker starts it. The host's launch.json and the worker's status.json name the same
// process (pid and /proc start time), and Stop on a run still starting reaches it through them.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../../src/core/paths';
import { venvPython } from '../../../src/core/python/interpreter';
import { workerEnv } from '../../../src/core/python/workerEnv';
import { buildSpec } from '../../../src/core/runs/spec';
import { RunStore, readStatus } from '../../../src/core/runs/store';
import { launchWorker, stopWorker } from '../../../src/core/runs/worker';
import { hasProc, readLaunch, verifyWorker } from '../../../src/core/runs/workerProcess';
import { needSetup } from '../needSetup';

const root = packageRoot(__dirname);
const python = venvPython(path.join(root, '.venv'));
const data = process.env.BERT_STUDIO_DATA ?? path.resolve(root, '..', 'shared', 'data');

describe('stop against the real worker', function () {
  this.timeout(180_000);

  it('launch.json and status.json name the same process, and a stop while starting reaches it', async function () {
    if (!hasProc()) this.skip();
    needSetup(this, fs.existsSync(python) && fs.existsSync(path.join(data, 'sst2', 'train.tsv')), 'the venv (scripts/setup.sh) and the shared data');
    const store = new RunStore(fs.mkdtempSync(path.join(os.tmpdir(), 'bs-real-stop-')));
    const id = store.newId('real-stop');
    const dir = store.runDir(id);
    fs.mkdirSync(dir);
    const spec = buildSpec({ task: 'sequence_classification', model: 'default', train: path.join(data, 'sst2', 'train.tsv'), device: 'cpu', training: { max_steps: 50, per_device_train_batch_size: 4, max_seq_length: 16 }, export: false });
    fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
    const worker = launchWorker({ python, runDir: dir, env: { ...workerEnv(root), BERT_STUDIO_NUM_THREADS: '1', OMP_NUM_THREADS: '1' }, detached: false });
    let exitCode: number | null | undefined;
    void worker.exited.then((c) => (exitCode = c));
    try {
      const launch = readLaunch(dir);
      assert.equal(launch?.pid, worker.pid);
      assert.ok(typeof launch?.pid_start === 'number');
      assert.deepEqual(verifyWorker(dir, { pid: worker.pid, start: launch.pid_start }), { ok: true }, 'spawn returns after exec: the command line is the worker\'s');
      assert.equal(store.get(id).state, 'starting');
      // The worker writes status.json first thing; its own /proc/self/stat start time matches the host's reading.
      while (!readStatus(dir) && exitCode === undefined) await new Promise((r) => setTimeout(r, 50));
      const status = readStatus(dir);
      assert.ok(status, `the worker wrote status.json (exit ${exitCode}): ${fs.readFileSync(path.join(dir, 'worker.log'), 'utf8').slice(-2000)}`);
      assert.equal(status.pid, worker.pid);
      assert.equal(status.pid_start, launch.pid_start);
      if (['starting', 'running'].includes(store.get(id).state)) {
        assert.equal(await stopWorker(dir, undefined, 120_000, 100), 'stopped');
      }
      await worker.exited;
      assert.equal(store.get(id).state, 'stopped', 'asked to stop, it shows stopped rather than failed or pending');
    } finally {
      if (exitCode === undefined) process.kill(worker.pid, 'SIGKILL');
    }
  });
});
