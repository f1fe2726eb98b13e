import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DashboardSession, type SessionHost } from '../../../src/core/dashboard/session';
import { RunStore } from '../../../src/core/runs/store';
import type { Misclassified } from '../../../src/core/runs/protocol';
import type { HostMessage } from '../../../webview/dashboard/protocol';
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
    s.receive({ type: 'select', selection: { primary: '20250101-100000-old', compare: ['20250102-100000-live', 'no-such-run'] } });
    assert.deepEqual(s.followed.sort(), ['20250101-100000-old', '20250102-100000-live']);
    assert.deepEqual(s.currentSelection.compare, ['20250102-100000-live'], 'unknown runs are dropped');
    s.receive({ type: 'select', selection: { primary: '20250101-100000-old', compare: [] } });
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
    s.receive({ type: 'ready', selection: { primary: '20250101-100000-old', compare: [] } });
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
    s.receive({ type: 'ready', selection: { primary: '20250101-100000-old', compare: ['20250102-100000-live'] } });
    s.receive({ type: 'requestRange', requestId: 7, x0: 100, x1: 200 });
    const range = host.posted.at(-1) as Extract<HostMessage, { type: 'range' }>;
    assert.equal(range.type, 'range');
    assert.equal(range.requestId, 7);
    assert.equal(range.runs.length, 2);
    assert.equal(range.runs[0]?.deltas.find((d) => d.name === 'loss')?.total, 13, '11 points in range + neighbours');
  });
});
