// Every message the dashboard host sends passes the page's guard (webview/dashboard/protocol.ts),
// and the page refuses malformed host messages: both directions are checked on receipt.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DashboardSession, type SessionHost } from '../../../src/core/dashboard/session';
import { RunStore } from '../../../src/core/runs/store';
import { check } from '../../../src/shared/guard';
import { HOST_MESSAGE, type HostMessage } from '../../../webview/dashboard/protocol';
import { fakeRun, toJsonl } from './fakeRun';

describe('dashboard host messages', () => {
  it('every message a session sends for real runs passes the guard the page applies', async () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-dash-proto-'));
    const spec = { version: 1, model: { name_or_path: 'default' }, data: { train: 't.jsonl' }, training: {}, device: 'cpu' };
    for (const [id, task] of [['20250101-100000-cls', 'sequence_classification'], ['20250102-100000-ner', 'token_classification']] as const) {
      const dir = path.join(runs, id);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ ...spec, task, name: id.slice(16) }));
      fs.writeFileSync(path.join(dir, 'events.jsonl'), toJsonl(fakeRun({ maxSteps: 300, task })));
      fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ state: 'completed', pid: 1, pid_start: 1, step: 300, max_steps: 300, best_metric: { name: 'accuracy', value: 0.9, step: 200 } }));
      fs.writeFileSync(path.join(dir, 'worker.log'), 'loading model\ntraining\n');
    }
    const posted: HostMessage[] = [];
    const host: SessionHost = { post: (m) => posted.push(m), warn: () => undefined, store: () => new RunStore(runs), openExample: () => undefined, openLog: () => undefined };
    const s = new DashboardSession(host, { eventsPollMs: 20, statusPollMs: 50, logPollMs: 20, flushMs: 10_000, runsPollMs: 10_000 });
    try {
      s.receive({ type: 'ready', selection: { primary: '20250101-100000-cls', compare: ['20250102-100000-ner'], pinned: true } });
      await new Promise((r) => setTimeout(r, 150));
      s.flush();
      s.receive({ type: 'requestRange', requestId: 1, x0: 10, x1: 120 });
      s.flush();
    } finally {
      s.dispose();
    }
    const types = new Set(posted.map((m) => m.type));
    for (const t of ['runs', 'selection', 'series', 'summary', 'eval', 'logs', 'range']) assert.ok(types.has(t as HostMessage['type']), `sent ${t}`);
    for (const m of posted) {
      // Through a structured-clone round trip, as postMessage delivers it.
      const c = check(HOST_MESSAGE, structuredClone(m));
      assert.ok(c.ok, `${m.type}: ${c.ok ? '' : c.reason}`);
    }
    const evalMsg = posted.find((m) => m.type === 'eval' && m.report);
    assert.ok(evalMsg && evalMsg.type === 'eval' && evalMsg.report && evalMsg.report.table.length > 0, 'a real report with a table was checked');
  });

  it('refuses malformed host messages, naming the field', () => {
    const bad: [unknown, RegExp][] = [
      [{ type: 'runs', runs: [{ id: '../x', name: 'a', task: 't', state: 'running' }] }, /runs\[0\]\.id/],
      [{ type: 'series', runId: 'r', reset: true, deltas: [{ name: 'loss', from: 0, total: 1, buckets: ['1'] }] }, /deltas\[0\]\.buckets\[0\]/],
      [{ type: 'eval', runId: 'r', report: { step: 1, metrics: {}, table: [], misclassified: [{ text: 'a', gold: 'b', pred: 'c', openable: 'yes' }] } }, /misclassified\[0\]\.openable/],
      [{ type: 'notice' }, /message: expected a string/],
      [{ type: 'script', code: 'alert(1)' }, /unknown type "script"/],
    ];
    for (const [m, want] of bad) assert.match(HOST_MESSAGE.problem(m) ?? '', want);
  });
});
