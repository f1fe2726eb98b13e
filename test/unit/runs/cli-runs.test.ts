// `bert-studio runs show|stop` with hostile ids and run folders: clear one-line errors, no stack
// trace, and no signal to a process that is not the run's worker.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../src/cli/main';
import { hasProc, processStartTime, writeLaunch } from '../../../src/core/runs/workerProcess';
import { textSink } from '../../../src/cli/io';


async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = textSink();
  const err = textSink();
  const code = await main(argv, { stdout: out, stderr: err });
  return { code, out: out.text, err: err.text };
}

describe('CLI runs show/stop: ids and workers', function () {
  this.timeout(20_000);
  let ws: string;
  let runs: string;

  beforeEach(() => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-cli-runs-'));
    runs = path.join(ws, '.bert-studio', 'runs');
    fs.mkdirSync(runs, { recursive: true });
  });

  function newRun(id: string, spec: unknown = { version: 1, task: 'mlm', model: { name_or_path: 'default' }, data: { train: 'x.txt' }, training: {}, device: 'cpu' }): string {
    const dir = path.join(runs, id);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
    return dir;
  }

  it('refuses ids that are paths, with the fix, as text and as JSON', async () => {
    // A real run folder outside the runs folder that "../" would reach.
    fs.mkdirSync(path.join(ws, '.bert-studio', 'x'));
    fs.writeFileSync(path.join(ws, '.bert-studio', 'x', 'spec.json'), '{}');
    for (const id of ['../x', '..', '.', '/etc', 'a/b', '.hidden']) {
      for (const sub of ['show', 'stop']) {
        const r = await cli('runs', sub, id, '--workspace', ws);
        assert.equal(r.code, 2, `${sub} ${id}`);
        assert.match(r.err, /is not a run id: a run id is a folder name in .* as "bert-studio runs" lists them/);
        assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
      }
    }
    for (const id of ['../x', '.hidden']) {
      const r = await cli('train', '--resume', id, '--workspace', ws, '--python', process.execPath);
      assert.equal(r.code, 2, `train --resume ${id}`);
      assert.match(r.err, /--resume: ".*" is not a run id \(a folder name in .*; "bert-studio runs" lists them/);
    }
    const j = await cli('runs', 'show', '../x', '--workspace', ws, '--json');
    assert.equal(j.code, 2);
    const obj = JSON.parse(j.out) as { type: string; field: string; message: string };
    assert.equal(obj.type, 'error');
    assert.equal(obj.field, 'RUN_ID');
  });

  it('names an invalid spec.json instead of saying the run does not exist', async () => {
    newRun('broken', { version: 1, task: 'summarize' });
    const r = await cli('runs', 'show', 'broken', '--workspace', ws);
    assert.equal(r.code, 2);
    assert.match(r.err, /invalid spec\.json \(spec\.json: task: expected one of "sequence_classification".*fix or remove/);
    const missing = await cli('runs', 'show', 'nope', '--workspace', ws);
    assert.match(missing.err, /No run "nope"/);
  });

  it('stop does not signal an unrelated process a crafted status.json names', async function () {
    if (!hasProc()) this.skip();
    const dir = newRun('crafted');
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const pid = sleeper.pid as number;
      fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ state: 'running', pid, pid_start: processStartTime(pid), step: 1 }));
      const list = await cli('runs', 'list', '--workspace', ws, '--json');
      assert.equal((JSON.parse(list.out) as { state: string }[])[0]?.state, 'interrupted');
      const r = await cli('runs', 'stop', 'crafted', '--workspace', ws);
      assert.equal(r.code, 0);
      assert.match(r.out, /crafted: is interrupted, not running; nothing to stop/);
      assert.equal(sleeper.exitCode, null);
      assert.equal(sleeper.signalCode, null);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('stop on a run still starting (launch.json, no status.json) asks its worker to stop', async function () {
    if (!hasProc()) this.skip();
    const dir = newRun('starting');
    const script = `process.on('SIGTERM', () => { require('fs').writeFileSync(require('path').join(process.argv[4], 'got-sigterm'), ''); process.exit(0); }); require('fs').writeFileSync(require('path').join(process.argv[4], 'ready'), ''); setInterval(() => {}, 1000);`;
    const worker = spawn(process.execPath, ['-e', script, 'bert_studio_trainer', 'train', '--run-dir', dir], { stdio: 'ignore' });
    const exited = new Promise((r) => worker.once('exit', r));
    while (!fs.existsSync(path.join(dir, 'ready'))) await new Promise((r) => setTimeout(r, 10));
    writeLaunch(dir, worker.pid as number, false);
    const r = await cli('runs', 'stop', 'starting', '--workspace', ws, '--json');
    assert.deepEqual(JSON.parse(r.out), { id: 'starting', result: 'stopped' });
    await exited;
    assert.ok(fs.existsSync(path.join(dir, 'stop')), 'the stop file');
    assert.ok(fs.existsSync(path.join(dir, 'got-sigterm')), 'then SIGTERM');
    const show = await cli('runs', 'show', 'starting', '--workspace', ws, '--json');
    assert.equal((JSON.parse(show.out) as { state: string }).state, 'stopped');
  });
});
