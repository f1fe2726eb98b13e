import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DashboardSession, type SessionHost } from '../../../src/core/dashboard/session';
import { RunStore } from '../../../src/core/runs/store';
import { hasProc, processStartTime } from '../../../src/core/runs/workerProcess';
import type { Misclassified } from '../../../src/core/runs/protocol';
import type { HostMessage, Selection } from '../../../webview/dashboard/protocol';
import { loadState, readySelection } from '../../../webview/dashboard/uiState';
import { fakeRun, toJsonl } from './fakeRun';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function makeRuns(): RunStore {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-dash-runs-'));
  for (const [id, upTo] of [
    ['20250101-100000-old', undefined],
    ['20250102-100000-live', 400],
  ] as const) {
    const dir = path.join(runs, id);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ version: 1, task: 'sequence_classification', name: id.slice(16), data: { train: 't.jsonl' } }));
    fs.writeFileSync(path.join(dir, 'events.jsonl'), toJsonl(fakeRun({ maxSteps: 1000, upTo })));
    fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify(upTo ? { state: 'running', pid: process.pid, step: upTo, max_steps: 1000 } : { state: 'completed', step: 1000, max_steps: 1000 }));
    fs.writeFileSync(path.join(dir, 'worker.log'), 'loading model\ntraining\n');
  }
  return new RunStore(runs);
}

class FakeHost implements SessionHost {
  posted: HostMessage[] = [];
  warnings: string[] = [];
  opened: Misclassified[] = [];
  logs: string[] = [];
  constructor(readonly runs: RunStore) {}
  post(m: HostMessage): void {
    this.posted.push(m);
  }
  warn(m: string): void {
    this.warnings.push(m);
  }
  store(): RunStore {
    return this.runs;
  }
  openExample(_runId: string, ex: Misclassified): void {
    this.opened.push(ex);
  }
  openLog(runId: string): void {
    this.logs.push(runId);
  }
  types(): string[] {
    return this.posted.map((m) => m.type);
  }
}

const FAST = { eventsPollMs: 20, statusPollMs: 50, logPollMs: 20, flushMs: 10_000, runsPollMs: 10_000 };

describe('DashboardSession', () => {
  const sessions: DashboardSession[] = [];
  afterEach(() => sessions.splice(0).forEach((s) => s.dispose()));

  it('sends nothing before ready, then the runs, the selection and each visible run in full', () => {
    const host = new FakeHost(makeRuns());
    const s = new DashboardSession(host, FAST);
    sessions.push(s);
    s.show('20250101-100000-old');
    assert.deepEqual(host.posted, [], 'queued until the webview is ready');
    s.receive({ type: 'ready', selection: { primary: '20250102-100000-live', compare: [] } });
    assert.deepEqual(host.types(), ['runs', 'selection', 'series', 'summary', 'eval', 'logs']);
    const sel = host.posted[1] as Extract<HostMessage, { type: 'selection' }>;
    assert.equal(sel.selection.primary, '20250101-100000-old', 'a command before ready wins over the restored state');
    const series = host.posted[2] as Extract<HostMessage, { type: 'series' }>;
    assert.equal(series.reset, true);
    assert.ok(series.deltas.find((d) => d.name === 'loss'));
    const logs = host.posted[5] as Extract<HostMessage, { type: 'logs' }>;
    assert.deepEqual(logs.lines.slice(-2).map((l) => l.text), ['loading model', 'training']);
  });

  it('defaults to the most recent run, follows it live and sends small increments', async () => {
    const store = makeRuns();
    const host = new FakeHost(store);
    const s = new DashboardSession(host, FAST);
    sessions.push(s);
    s.receive({ type: 'ready' });
    assert.deepEqual(s.followed, ['20250102-100000-live']);
    host.posted = [];
    const file = path.join(store.runDir('20250102-100000-live'), 'events.jsonl');
    const more = fakeRun({ maxSteps: 1000, upTo: 430 }).filter((e) => e.type === 'step' && e.step > 400);
    fs.appendFileSync(file, toJsonl(more));
    fs.appendFileSync(path.join(store.runDir('20250102-100000-live'), 'worker.log'), 'step 430\n');
    await sleep(120);
    s.flush();
    const series = host.posted.find((m) => m.type === 'series') as Extract<HostMessage, { type: 'series' }>;
    assert.ok(series, host.types().join());
    assert.equal(series.reset, false);
    const loss = series.deltas.find((d) => d.name === 'loss');
    assert.equal(loss?.from, 40, 'appends after the 40 buckets already sent');
    assert.equal(loss?.total, 43);
    const logs = host.posted.find((m) => m.type === 'logs') as Extract<HostMessage, { type: 'logs' }>;
    assert.deepEqual(logs.lines.map((l) => l.text), ['step 430']);
  });

  it('follows exactly the selected runs and stops when hidden', () => {
    const host = new FakeHost(makeRuns());
    const s = new DashboardSession(host, FAST);
    sessions.push(s);
    s.receive({ type: 'ready' });
    s.receive({ type: 'select', selection: { primary: '20250101-100000-old', compare: ['20250102-100000-live', 'no-such-run'], pinned: true } });
    assert.deepEqual(s.followed.sort(), ['20250101-100000-old', '20250102-100000-live']);
    assert.deepEqual(s.currentSelection.compare, ['20250102-100000-live'], 'unknown runs are dropped');
    s.receive({ type: 'select', selection: { primary: '20250101-100000-old', compare: [], pinned: true } });
    assert.deepEqual(s.followed, ['20250101-100000-old']);
    s.hidden();
    assert.deepEqual(s.followed, []);
    host.posted = [];
    s.flush();
    assert.deepEqual(host.posted, []);
    s.receive({ type: 'ready', selection: { primary: '20250101-100000-old', compare: [] } });
    assert.ok(host.types().includes('series'), 'replayed in full after the reload');
  });

  it('drops malformed messages with a log line and opens examples by index only', () => {
    const host = new FakeHost(makeRuns());
    const s = new DashboardSession(host, FAST);
    sessions.push(s);
    s.receive({ type: 'ready', selection: { primary: '20250101-100000-old', compare: [], pinned: true } });
    const before = host.posted.length;
    s.receive({ type: 'openExample', runId: '20250101-100000-old', step: 1000, index: 0, path: '/etc/passwd' });
    s.receive({ type: 'openFile', path: '/etc/passwd' });
    s.receive('ready');
    assert.equal(host.warnings.length, 3);
    assert.equal(host.opened.length, 0);
    assert.equal(host.posted.length, before);
    s.receive({ type: 'openExample', runId: '20250101-100000-old', step: 1000, index: 2 });
    assert.equal(host.opened.length, 1);
    assert.equal(host.opened[0]?.source?.file, 'data/validation.tsv');
    s.receive({ type: 'openExample', runId: '20250101-100000-old', step: 800, index: 2 });
    assert.equal(host.opened.length, 1, 'not the last eval');
    assert.equal(host.posted.at(-1)?.type, 'notice');
    s.receive({ type: 'openLog', runId: '20250101-100000-old' });
    s.receive({ type: 'openLog', runId: 'not-a-run' });
    assert.deepEqual(host.logs, ['20250101-100000-old']);
  });

  it('answers a zoom request with full-resolution detail for every visible run', () => {
    const host = new FakeHost(makeRuns());
    const s = new DashboardSession(host, FAST);
    sessions.push(s);
    s.receive({ type: 'ready', selection: { primary: '20250101-100000-old', compare: ['20250102-100000-live'], pinned: true } });
    s.receive({ type: 'requestRange', requestId: 7, x0: 100, x1: 200 });
    const range = host.posted.at(-1) as Extract<HostMessage, { type: 'range' }>;
    assert.equal(range.type, 'range');
    assert.equal(range.requestId, 7);
    assert.equal(range.runs.length, 2);
    assert.equal(range.runs[0]?.deltas.find((d) => d.name === 'loss')?.total, 13, '11 points in range + neighbours');
  });
});

/** Runs whose ids (creation order) disagree with their activity: the running one is the oldest id. */
function reloadRuns(runs: readonly { id: string; state: string; updated: number; pid?: number }[]): RunStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-dash-reload-'));
  for (const r of runs) {
    const run = path.join(dir, r.id);
    fs.mkdirSync(run);
    fs.writeFileSync(path.join(run, 'spec.json'), JSON.stringify({ version: 1, task: 'sequence_classification', data: { train: 't.jsonl' } }));
    const live = r.state === 'running';
    fs.writeFileSync(path.join(run, 'events.jsonl'), toJsonl(fakeRun({ maxSteps: 400, upTo: live ? 200 : undefined })));
    fs.writeFileSync(path.join(run, 'status.json'), JSON.stringify({ state: r.state, pid: r.pid, step: 200, max_steps: 400, updated: r.updated }));
    // File times as a run that last wrote at `updated`.
    for (const f of ['spec.json', 'events.jsonl', 'status.json']) fs.utimesSync(path.join(run, f), r.updated, r.updated);
  }
  return new RunStore(dir);
}

describe('DashboardSession after a window reload', () => {
  const sessions: DashboardSession[] = [];
  afterEach(() => sessions.splice(0).forEach((s) => s.dispose()));
  const t = 1_760_000_000;
  // Resumed yesterday's run (running, oldest id); the newest id finished an hour ago.
  const runs = [
    { id: '20250101-100000-resumed', state: 'running', updated: t + 7200, pid: process.pid },
    { id: '20250102-100000-earlier', state: 'completed', updated: t },
    { id: '20250103-100000-newest', state: 'completed', updated: t + 3600 },
  ];
  const open = (store: RunStore, selection?: Selection): DashboardSession => {
    const s = new DashboardSession(new FakeHost(store), FAST);
    sessions.push(s);
    s.receive(selection ? { type: 'ready', selection } : { type: 'ready' });
    return s;
  };

  it('shows the running run, not the newest id', () => {
    assert.equal(open(reloadRuns(runs)).currentSelection.primary, '20250101-100000-resumed');
  });

  it('does not keep a run it picked itself before the reload', () => {
    // The page saved the run the host had shown (not pinned); that run is no longer the active one.
    const s = open(reloadRuns(runs), { primary: '20250103-100000-newest', compare: ['20250102-100000-earlier'] });
    assert.deepEqual(s.currentSelection, { primary: '20250101-100000-resumed', compare: ['20250102-100000-earlier'], pinned: false });
  });

  it("restores the user's explicit choice", () => {
    const s = open(reloadRuns(runs), { primary: '20250102-100000-earlier', compare: [], pinned: true });
    assert.deepEqual(s.currentSelection, { primary: '20250102-100000-earlier', compare: [], pinned: true });
    assert.deepEqual(s.followed, ['20250102-100000-earlier']);
  });

  it('with nothing running, shows the most recently active run', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.on('exit', r));
    const store = reloadRuns([
      { id: '20250101-100000-a', state: 'completed', updated: t + 9000 },
      { id: '20250102-100000-b', state: 'running', updated: t + 100, pid: child.pid }, // its worker died: interrupted
      { id: '20250103-100000-c', state: 'stopped', updated: t + 50 },
    ]);
    assert.equal(open(store).currentSelection.primary, '20250101-100000-a');
  });

  it('a pinned choice whose run was deleted falls back to the running run', () => {
    const s = open(reloadRuns(runs), { primary: '20250104-000000-deleted', compare: [], pinned: true });
    assert.deepEqual(s.currentSelection, { primary: '20250101-100000-resumed', compare: [], pinned: false });
  });

  it('moves an unpinned dashboard to a run that starts, and leaves a pinned one alone', () => {
    const store = reloadRuns(runs.map((r) => ({ ...r, state: 'completed', pid: undefined })));
    const free = open(store);
    const pinned = open(store, { primary: '20250102-100000-earlier', compare: [], pinned: true });
    assert.equal(free.currentSelection.primary, '20250101-100000-resumed', 'most recently active');
    // A new run starts (the CLI, or another window).
    const id = '20250105-100000-started';
    fs.mkdirSync(path.join(store.runsDir, id));
    fs.writeFileSync(path.join(store.runsDir, id, 'spec.json'), JSON.stringify({ version: 1, task: 'mlm', data: { train: 't' } }));
    fs.writeFileSync(path.join(store.runsDir, id, 'status.json'), JSON.stringify({ state: 'running', pid: process.pid, step: 1, updated: t + 1 }));
    free.sendRuns();
    pinned.sendRuns();
    assert.equal(free.currentSelection.primary, id);
    assert.equal(pinned.currentSelection.primary, '20250102-100000-earlier');
  });

  it('follows one of two live runs until another starts, however their activity alternates', async function () {
    if (!hasProc()) this.skip(); // liveness is checked through /proc
    const store = reloadRuns([
      { id: '20250101-100000-a', state: 'running', updated: t + 100 },
      { id: '20250102-100000-b', state: 'running', updated: t + 200 },
    ]);
    // Stand-in workers: processes whose command line names the trainer module and their run folder.
    const workers = new Map<string, ChildProcess>();
    const touch = (id: string, updated: number, step: number): void => {
      const file = path.join(store.runsDir, id, 'status.json');
      const pid = workers.get(id)?.pid as number;
      fs.writeFileSync(file, JSON.stringify({ state: 'running', pid, pid_start: processStartTime(pid), step, max_steps: 400, updated }));
      fs.utimesSync(file, updated, updated);
    };
    const startWorker = async (id: string): Promise<void> => {
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'bert_studio_trainer', store.runDir(id)], { stdio: 'ignore' });
      workers.set(id, child);
      await new Promise((r) => child.once('spawn', r));
    };
    try {
      await startWorker('20250101-100000-a');
      await startWorker('20250102-100000-b');
      touch('20250101-100000-a', t + 100, 200);
      touch('20250102-100000-b', t + 200, 200);
      const s = open(store);
      assert.equal(s.currentSelection.primary, '20250102-100000-b', 'the most recently active at first');
      for (let i = 1; i <= 4; i++) {
        touch(i % 2 ? '20250101-100000-a' : '20250102-100000-b', t + 1000 * i, 200 + i);
        s.sendRuns();
        assert.equal(s.currentSelection.primary, '20250102-100000-b', `still b after update ${i}`);
      }
      const id = '20250105-100000-started';
      fs.mkdirSync(path.join(store.runsDir, id));
      fs.writeFileSync(path.join(store.runsDir, id, 'spec.json'), JSON.stringify({ version: 1, task: 'mlm', data: { train: 't' } }));
      await startWorker(id);
      touch(id, t + 1, 1);
      s.sendRuns();
      assert.equal(s.currentSelection.primary, id, 'a run that starts takes over');
      assert.equal(s.currentSelection.pinned, false);
      workers.get(id)?.kill();
      await new Promise((r) => workers.get(id)?.once('exit', r));
      s.sendRuns();
      assert.equal(s.currentSelection.primary, '20250102-100000-b', 'once it ends: the most recently active live run');
    } finally {
      for (const w of workers.values()) w.kill();
    }
  });

  it('"follow the active run" in the page unpins: the host picks the run and tells the page', () => {
    const host = new FakeHost(reloadRuns(runs));
    const s = new DashboardSession(host, FAST);
    sessions.push(s);
    s.receive({ type: 'ready', selection: { primary: '20250102-100000-earlier', compare: ['20250103-100000-newest'], pinned: true } });
    host.posted = [];
    s.receive({ type: 'select', selection: { primary: '20250102-100000-earlier', compare: ['20250103-100000-newest'], pinned: false } });
    const expected = { primary: '20250101-100000-resumed', compare: ['20250103-100000-newest'], pinned: false };
    assert.deepEqual(s.currentSelection, expected);
    assert.deepEqual(host.posted.find((m) => m.type === 'selection'), { type: 'selection', selection: expected });
    assert.deepEqual(s.followed.sort(), ['20250101-100000-resumed', '20250103-100000-newest']);
  });

  it('a command naming a run pins it; one without a run does not', () => {
    const s = new DashboardSession(new FakeHost(reloadRuns(runs)), FAST);
    sessions.push(s);
    s.show('20250102-100000-earlier');
    s.receive({ type: 'ready', selection: { primary: '20250103-100000-newest', compare: [], pinned: true } });
    assert.deepEqual(s.currentSelection, { primary: '20250102-100000-earlier', compare: [], pinned: true });
    s.show(undefined);
    assert.deepEqual(s.currentSelection, { primary: '20250101-100000-resumed', compare: [], pinned: false });
  });
});

describe('dashboard page state', () => {
  it('saved before `pinned` existed, or picked by the host: reported unpinned on ready', () => {
    const legacy = loadState({ primary: '20250103-100000-newest', compare: ['a'], smoothing: 0.8 });
    assert.deepEqual(readySelection(legacy), { primary: '20250103-100000-newest', compare: ['a'], pinned: false });
    assert.equal(readySelection(loadState({ primary: 'x', compare: [], pinned: true }))?.pinned, true);
    assert.equal(readySelection(loadState(undefined)), undefined);
    assert.equal(loadState({ smoothing: 7 }).smoothing, 0.6, 'out-of-range smoothing');
    assert.equal(loadState({ pinned: true, compare: [] }).pinned, false, 'nothing to pin');
  });
});
