// Stop and the run's display state against real processes: a signal goes only to this run's
// worker (command line and start time), never to an unrelated process whose pid a stale or
// crafted status.json names; a worker that died before it wrote anything is not `pending`.

import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunStore, displayState } from '../../../src/core/runs/store';
import { stopWorker, waitUntilStarted, type LaunchedWorker } from '../../../src/core/runs/worker';
import { LAUNCH_FILE, hasProc, processStartTime, verifyWorker, writeLaunch } from '../../../src/core/runs/workerProcess';

/**
 * A real process that looks like a worker on the process table: `node -e SCRIPT bert_studio_trainer
 * train --run-dir DIR`. SCRIPT keeps it alive and, on SIGTERM, writes `got-sigterm` and exits.
 */
const WORKER_SCRIPT = `process.on('SIGTERM', () => { require('fs').writeFileSync(require('path').join(process.argv[4], 'got-sigterm'), ''); process.exit(0); });`;
/** Written once the script's SIGTERM handler is in place. */
const READY = `require('fs').writeFileSync(require('path').join(process.argv[4], 'ready-' + process.pid), ''); setInterval(() => {}, 1000);`;

function fakeWorker(runDir: string, script = WORKER_SCRIPT): ChildProcess {
  return spawn(process.execPath, ['-e', `${script} ${READY}`, 'bert_studio_trainer', 'train', '--run-dir', runDir], { stdio: 'ignore' });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Waits (polling a real condition) until the fake worker's script has installed its SIGTERM handler. */
async function execed(child: ChildProcess): Promise<void> {
  const dir = (child.spawnargs.at(-1) as string);
  while (!fs.existsSync(path.join(dir, `ready-${child.pid}`))) {
    if (!alive(child)) throw new Error('the fake worker exited');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('stop and run state against real processes', function () {
  this.timeout(30_000);
  const children: ChildProcess[] = [];
  let runs: string;
  let store: RunStore;

  before(function () {
    if (!hasProc()) this.skip(); // the process check needs Linux's /proc; elsewhere nothing is signalled
  });

  beforeEach(() => {
    runs = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-stop-'));
    store = new RunStore(runs);
  });

  afterEach(() => {
    for (const c of children.splice(0)) if (alive(c)) c.kill('SIGKILL');
  });

  function newRun(id: string): string {
    const dir = store.runDir(id);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ version: 1, task: 'mlm', model: { name_or_path: 'default' }, data: { train: 'x.txt' }, training: {}, device: 'cpu' }));
    return dir;
  }

  /** A fake worker for `dir`, killed after the test, once its SIGTERM handler is in place. */
  async function startWorker(dir: string, script?: string): Promise<ChildProcess> {
    const child = fakeWorker(dir, script);
    children.push(child);
    await execed(child);
    return child;
  }

  function writeStatus(dir: string, status: Record<string, unknown>): void {
    fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ step: 3, max_steps: 10, updated: Date.now() / 1000, ...status }));
  }

  it('never signals an unrelated process named by a crafted status.json, even with its true start time', async () => {
    const dir = newRun('crafted');
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(sleeper);
    const pid = sleeper.pid as number;
    writeStatus(dir, { state: 'running', pid, pid_start: processStartTime(pid) });
    assert.equal(store.get('crafted').state, 'interrupted', 'the run is not live: its pid is not its worker');
    const reasons: string[] = [];
    assert.equal(await stopWorker(dir, undefined, 500, 20, (r) => reasons.push(r)), 'not-running');
    assert.match(reasons.join(), /not a bert_studio_trainer worker/);
    assert.ok(fs.existsSync(path.join(dir, 'stop')), 'the stop file is still written');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(alive(sleeper), 'sleep 60 was not signalled');
    // The pid passed explicitly (e.g. from a caller that trusted the file) is checked the same way.
    assert.equal(await stopWorker(dir, pid, 500, 20), 'not-running');
    assert.ok(alive(sleeper));
  });

  it('never signals a recycled pid: a worker-looking process with another start time', async () => {
    const dir = newRun('recycled');
    const other = await startWorker(dir);
    const pid = other.pid as number;
    writeStatus(dir, { state: 'running', pid, pid_start: (processStartTime(pid) as number) - 1 });
    assert.equal(store.get('recycled').state, 'interrupted');
    assert.equal(await stopWorker(dir, undefined, 500, 20), 'not-running');
    writeStatus(dir, { state: 'running', pid }); // no start time recorded at all
    assert.equal(await stopWorker(dir, undefined, 500, 20), 'not-ours');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(alive(other));
    assert.equal(fs.existsSync(path.join(dir, 'got-sigterm')), false);
  });

  it("never signals another run's worker", async () => {
    const mine = newRun('mine');
    const theirs = newRun('theirs');
    const worker = await startWorker(theirs);
    const pid = worker.pid as number;
    writeStatus(mine, { state: 'running', pid, pid_start: processStartTime(pid) });
    const check = verifyWorker(mine, { pid, start: processStartTime(pid) });
    assert.equal(check.ok, false);
    assert.match(check.ok ? '' : check.reason, /another run folder/);
    assert.equal(await stopWorker(mine, undefined, 500, 20), 'not-running');
    assert.ok(alive(worker));
    assert.equal(verifyWorker(theirs, { pid, start: processStartTime(pid) }).ok, true, 'it is the worker of its own run');
  });

  it("stops this run's worker: stop file, then SIGTERM; a stale pid afterwards signals nothing", async () => {
    const dir = newRun('live');
    const worker = await startWorker(dir);
    const pid = worker.pid as number;
    writeStatus(dir, { state: 'running', pid, pid_start: processStartTime(pid) });
    assert.equal(store.get('live').state, 'running');
    assert.equal(await stopWorker(dir, undefined, 10_000, 20), 'stopped');
    await exited(worker);
    assert.ok(fs.existsSync(path.join(dir, 'got-sigterm')), 'the worker got SIGTERM');
    assert.equal(store.get('live').state, 'interrupted', 'status.json still says running, and its worker is gone');
    assert.equal(await stopWorker(dir, undefined, 500, 20), 'not-running');
  });

  it('kills a worker that ignores the stop after the grace period, checking it again first', async () => {
    const dir = newRun('stubborn');
    const worker = await startWorker(dir, `process.on('SIGTERM', () => {});`);
    writeStatus(dir, { state: 'running', pid: worker.pid, pid_start: processStartTime(worker.pid as number) });
    assert.equal(await stopWorker(dir, undefined, 300, 20), 'killed');
    await exited(worker);
    assert.equal(worker.signalCode, 'SIGKILL');
  });

  it('a launched worker shows starting before its first status, failed when it dies before one, stopped when asked to stop', async () => {
    const dir = newRun('launch');
    const worker = await startWorker(dir);
    writeLaunch(dir, worker.pid as number, false);
    assert.equal(store.get('launch').state, 'starting');
    // A run still starting stops through launch.json (there is no status.json yet).
    assert.equal(await stopWorker(dir, undefined, 10_000, 20), 'stopped');
    await exited(worker);
    assert.ok(fs.existsSync(path.join(dir, 'got-sigterm')));
    assert.equal(store.get('launch').state, 'stopped', 'stopped on request before it wrote anything');
    fs.rmSync(path.join(dir, 'stop'));
    assert.equal(store.get('launch').state, 'failed', 'died before it wrote anything, no stop asked');

    // One that died after writing `starting` (nothing trained) failed too; a resume is interrupted.
    fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ state: 'starting', pid: worker.pid, pid_start: processStartTime(process.pid), step: 0, updated: Date.now() / 1000 + 1 }));
    assert.equal(store.get('launch').state, 'failed');
    const launch = JSON.parse(fs.readFileSync(path.join(dir, LAUNCH_FILE), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(dir, LAUNCH_FILE), JSON.stringify({ ...launch, resume: true }));
    assert.equal(store.get('launch').state, 'interrupted');
  });

  it('a run nothing was launched for stays pending; a newer launch wins over an old final status', () => {
    assert.equal(displayState(undefined, () => true), 'pending');
    const status = { state: 'stopped' as const, pid: 10, pid_start: 5, updated: 100 };
    const launch = { pid: 11, pid_start: 7, launched_at: 200 };
    assert.equal(displayState(status, (w) => w.pid === 11, launch), 'starting', 'a resume that has not reported yet');
    assert.equal(displayState(status, () => false, launch), 'stopped', 'it died: the last word stands');
    assert.equal(displayState({ ...status, state: 'running', pid: 11, pid_start: 7, updated: 300 }, (w) => w.pid === 11 && w.start === 7, launch), 'running');
  });

  it('cancelling a start stops the launched worker', async () => {
    const dir = newRun('cancel');
    const child = await startWorker(dir);
    const record = writeLaunch(dir, child.pid as number, false);
    const w: LaunchedWorker = { pid: child.pid as number, start: record.pid_start, exited: exited(child) };
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    assert.deepEqual(await waitUntilStarted(dir, w, abort.signal, { pollMs: 20, graceMs: 5000, timeoutMs: 10_000 }), { kind: 'cancelled' });
    assert.equal(await w.exited, 0);
    assert.ok(fs.existsSync(path.join(dir, 'got-sigterm')));
  });
});
