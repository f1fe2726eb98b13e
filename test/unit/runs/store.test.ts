import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JsonlTail } from '../../../src/core/runs/tail';
import { InvalidRunIdError, RunStore, checkRunId, displayState, isFinishing, pidAlive } from '../../../src/core/runs/store';
import type { RunEvent } from '../../../src/core/runs/protocol';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'bs-runs-'));
}

const step = (n: number): string => JSON.stringify({ type: 'step', ts: n, step: n, loss: 1 / n }) + '\n';

describe('JsonlTail', () => {
  it('reads only what was appended, across many appends', () => {
    const file = path.join(tmp(), 'events.jsonl');
    fs.writeFileSync(file, step(1) + step(2));
    const tail = new JsonlTail(file, () => undefined);
    assert.deepEqual(tail.readNew().map((e) => (e as { step: number }).step), [1, 2]);
    assert.deepEqual(tail.readNew(), []);
    for (let i = 3; i <= 500; i++) fs.appendFileSync(file, step(i));
    const got = tail.readNew().map((e) => (e as { step: number }).step);
    assert.equal(got.length, 498);
    assert.equal(got[0], 3);
    assert.equal(got.at(-1), 500);
  });

  it('holds a half-written last line until its newline arrives', () => {
    const file = path.join(tmp(), 'events.jsonl');
    const line = step(7);
    fs.writeFileSync(file, step(6) + line.slice(0, 10));
    const tail = new JsonlTail(file, () => undefined);
    assert.equal(tail.readNew().length, 1);
    fs.appendFileSync(file, line.slice(10, -1));
    assert.equal(tail.readNew().length, 0, 'no newline yet: nothing new');
    fs.appendFileSync(file, '\n');
    const ev = tail.readNew();
    assert.equal(ev.length, 1);
    assert.equal((ev[0] as { step: number }).step, 7);
  });

  it('keeps a multi-byte character split between two writes', () => {
    const file = path.join(tmp(), 'events.jsonl');
    const bytes = Buffer.from(JSON.stringify({ type: 'log', ts: 1, message: 'naïve — 日本' }) + '\n', 'utf8');
    const cut = bytes.indexOf(Buffer.from('日')) + 1; // inside the 3-byte character
    fs.writeFileSync(file, bytes.subarray(0, cut));
    const tail = new JsonlTail(file, () => undefined);
    assert.equal(tail.readNew().length, 0);
    fs.appendFileSync(file, bytes.subarray(cut));
    const [ev] = tail.readNew();
    assert.equal((ev as { message: string }).message, 'naïve — 日本');
  });

  it('skips malformed lines without stopping', () => {
    const file = path.join(tmp(), 'events.jsonl');
    fs.writeFileSync(file, step(1) + '{not json}\n' + '{"type":"nope"}\n' + step(2));
    assert.equal(new JsonlTail(file, () => undefined).readNew().length, 2);
  });

  it('follows a growing file and reattaches from the start after a reload', async () => {
    const file = path.join(tmp(), 'events.jsonl');
    fs.writeFileSync(file, step(1));
    const seen: RunEvent[] = [];
    const tail = new JsonlTail(file, (evs) => seen.push(...evs)).start(20);
    for (let i = 2; i <= 5; i++) {
      fs.appendFileSync(file, step(i));
      await new Promise((r) => setTimeout(r, 30));
    }
    await new Promise((r) => setTimeout(r, 100));
    tail.dispose();
    assert.equal(seen.length, 5);
    // A new window attaches with a fresh tail and sees the whole history.
    const again = new JsonlTail(file, () => undefined);
    assert.equal(again.readNew().length, 5);
  });
});

describe('RunStore', () => {
  it('shows a run whose worker died without a final status as interrupted', async () => {
    const runs = tmp();
    const store = new RunStore(runs);
    const id = store.newId('SST-2 demo', new Date('2026-01-02T03:04:05Z'));
    assert.equal(id, '20260102-030405-sst-2-demo');
    fs.mkdirSync(store.runDir(id));
    fs.writeFileSync(path.join(store.runDir(id), 'spec.json'), JSON.stringify({ version: 1, task: 'mlm' }));
    assert.equal(store.get(id).state, 'pending');
    // A real process that has exited: its pid is dead.
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid as number;
    await new Promise((r) => child.on('exit', r));
    fs.writeFileSync(path.join(store.runDir(id), 'status.json'), JSON.stringify({ state: 'running', pid, step: 3 }));
    assert.equal(pidAlive(pid), false);
    assert.equal(store.get(id).state, 'interrupted');
    // A live pid is not enough: this test process is not the run's worker (stop.test.ts has live workers).
    fs.writeFileSync(path.join(store.runDir(id), 'status.json'), JSON.stringify({ state: 'running', pid: process.pid, step: 3 }));
    assert.equal(store.get(id).state, 'interrupted');
    assert.deepEqual(store.ids(), [id]);
  });

  it('keeps final states as the worker wrote them', () => {
    assert.equal(displayState({ state: 'completed', pid: 999999 }, () => false), 'completed');
    assert.equal(displayState({ state: 'stopping', pid: 1 }, () => false), 'interrupted');
  });

  it('knows a live run past its last step is finishing, not stoppable', () => {
    assert.equal(isFinishing({ state: 'running', step: 400, max_steps: 400 }), true);
    assert.equal(isFinishing({ state: 'running', step: 399, max_steps: 400 }), false);
    assert.equal(isFinishing({ state: 'completed', step: 400, max_steps: 400 }), false);
    assert.equal(isFinishing({ state: 'starting', step: 0 }), false);
  });

  it('refuses run ids that would escape the runs folder, saying what a run id is', () => {
    const store = new RunStore(tmp());
    for (const bad of ['../x', '..', '.', '.hidden', 'a/b', 'a\\b', '', 'x'.repeat(201), 'a\0b']) {
      assert.throws(() => store.runDir(bad), (err: Error) => err instanceof InvalidRunIdError && /Invalid run id .*a run id is a folder name in the runs folder/.test(err.message), bad);
    }
    assert.equal(checkRunId('20260102-030405-sst-2-demo'), '20260102-030405-sst-2-demo');
  });

  it('lists only folders whose names are run ids', () => {
    const runs = tmp();
    for (const name of ['.hidden', 'ok-run']) {
      fs.mkdirSync(path.join(runs, name));
      fs.writeFileSync(path.join(runs, name, 'spec.json'), '{}');
    }
    assert.deepEqual(new RunStore(runs).ids(), ['ok-run']);
  });
});
