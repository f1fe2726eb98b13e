// A run whose worker dies before starting (the training environment is only half set up: a venv
// without its packages) is `failed`, never `pending`, and its traceback can be shown to the user.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../../src/core/paths';
import { venvPython } from '../../../src/core/python/interpreter';
import { workerEnv } from '../../../src/core/python/workerEnv';
import { readStartFailure } from '../../../src/core/runs/startFailure';
import { RunStore } from '../../../src/core/runs/store';
import { launchWorker, waitUntilStarted } from '../../../src/core/runs/worker';
import { needSetup } from '../needSetup';

const root = packageRoot(__dirname);

describe('a worker that dies before starting', function () {
  this.timeout(30_000);

  it('leaves a failed run whose worker.log names the missing module', async function () {
    const python = venvPython(path.join(root, '.venv'));
    needSetup(this, fs.existsSync(python), 'the trainer venv (.venv); run scripts/setup.sh');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-startfail-'));
    try {
      // What set-up leaves while pip is still installing: an interpreter without the trainer's packages.
      const bare = path.join(tmp, 'bare-venv');
      execFileSync(python, ['-m', 'venv', '--without-pip', bare]);
      const runs = path.join(tmp, 'runs');
      const id = '20261130-120000-half-set-up';
      const dir = path.join(runs, id);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ version: 1, task: 'mlm', name: 'half set up', model: { name_or_path: 'default' }, data: { train: 'x.txt' }, training: {}, device: 'cpu' }));
      const store = new RunStore(runs);
      assert.equal(store.get(id).state, 'pending', 'nothing launched yet');
      const worker = launchWorker({ python: venvPython(bare), runDir: dir, resume: false, env: workerEnv(root), detached: true });
      const outcome = await waitUntilStarted(dir, worker, new AbortController().signal, { timeoutMs: 20_000, graceMs: 2000 });
      assert.deepEqual(outcome, { kind: 'exited', code: 1 });
      assert.equal(store.get(id).state, 'failed');
      const failure = readStartFailure(dir);
      assert.equal(failure.lines[0], 'Traceback (most recent call last):');
      assert.match(failure.summary ?? '', /^ModuleNotFoundError: No module named '\w+'$/);
      assert.ok(failure.missingModule && failure.summary?.includes(failure.missingModule));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('without a traceback: the last lines, escape codes removed; nothing without a log', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-startfail-'));
    try {
      assert.deepEqual(readStartFailure(dir), { lines: [] });
      fs.writeFileSync(path.join(dir, 'worker.log'), 'loading\n\x1b[31mKilled\x1b[0m\n\n');
      assert.deepEqual(readStartFailure(dir), { lines: ['loading', 'Killed'], summary: 'Killed' });
      fs.writeFileSync(path.join(dir, 'worker.log'), '2026-11-30 05:47:01,986 INFO starting\n2026-11-30 05:47:01,998 INFO failed: No spec.json in /x\n');
      assert.equal(readStartFailure(dir).summary, 'failed: No spec.json in /x', 'the logging prefix is left out');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
