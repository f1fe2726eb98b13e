import * as assert from 'node:assert/strict';
import { parseWebviewMessage, runIdFromArg } from '../../../src/core/dashboard/validate';

const ok = (m: unknown): void => assert.deepEqual(parseWebviewMessage(m), m);
const bad = (m: unknown): void => assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m));

describe('webview message validation', () => {
  it('accepts the protocol', () => {
    ok({ type: 'ready' });
    ok({ type: 'ready', selection: { primary: '20250101-120000-sst2', compare: ['20250101-110000-sst2'] } });
    ok({ type: 'select', selection: { compare: [] } });
    ok({ type: 'select', selection: { primary: 'run-1', compare: [], pinned: true } });
    ok({ type: 'requestRange', requestId: 3, x0: 10, x1: 2000.5 });
    ok({ type: 'openExample', runId: 'run-1', step: 200, index: 0 });
    ok({ type: 'openLog', runId: 'run-1' });
  });

  it('drops unknown types and non-objects', () => {
    for (const m of [null, undefined, 42, 'ready', [], [{ type: 'ready' }], {}, { type: 'openFile', path: '/etc/passwd' }, { type: 7 }]) bad(m);
  });

  it('drops payloads of the wrong shape', () => {
    bad({ type: 'ready', selection: 'run-1' });
    bad({ type: 'select' });
    bad({ type: 'select', selection: { primary: 'a' } });
    bad({ type: 'select', selection: { primary: 'a', compare: 'b' } });
    bad({ type: 'select', selection: { primary: 'a', compare: [], pinned: 'yes' } });
    bad({ type: 'select', selection: { primary: 'a', compare: Array.from({ length: 17 }, (_, i) => `r${i}`) } });
    bad({ type: 'requestRange', requestId: 1, x0: 5, x1: 5 });
    bad({ type: 'requestRange', requestId: 1, x0: Number.NaN, x1: 5 });
    bad({ type: 'requestRange', requestId: 1, x0: 0, x1: Infinity });
    bad({ type: 'requestRange', requestId: -1, x0: 0, x1: 1 });
    bad({ type: 'requestRange', requestId: '1', x0: 0, x1: 1 });
    bad({ type: 'openExample', runId: 'run-1', step: 200, index: -1 });
    bad({ type: 'openExample', runId: 'run-1', step: 200, index: 1.5 });
    bad({ type: 'openExample', runId: 'run-1', step: '200', index: 0 });
    bad({ type: 'openExample', runId: 'run-1', step: 200 });
  });

  it('never lets a path in: run ids are names, and extra fields are refused', () => {
    for (const runId of ['../..', '..', '.', 'a/b', 'a\\b', '/etc', '', 'x'.repeat(201), 'run 1', 'C:\\x']) bad({ type: 'openLog', runId });
    bad({ type: 'openExample', runId: 'run-1', step: 200, index: 0, path: '/etc/passwd' });
    bad({ type: 'openExample', runId: 'run-1', step: 200, index: 0, file: 'x', line: 3 });
    bad({ type: 'select', selection: { primary: '../x', compare: [] } });
    bad({ type: 'select', selection: { primary: 'a', compare: ['../../b'] } });
    bad(JSON.parse('{"type":"openLog","runId":"r","__proto__":{"x":1}}'));
  });
});

describe('openDashboard argument', () => {
  it('takes a run id, a tree item with runId or id, or nothing', () => {
    assert.equal(runIdFromArg('20250101-120000-sst2'), '20250101-120000-sst2');
    assert.equal(runIdFromArg({ runId: 'r1', label: 'x' }), 'r1');
    assert.equal(runIdFromArg({ id: 'r2' }), 'r2');
    assert.equal(runIdFromArg({ run: { id: 'r3' } }), 'r3');
    assert.equal(runIdFromArg(undefined), undefined);
    assert.equal(runIdFromArg('../evil'), undefined);
    assert.equal(runIdFromArg({ id: 5 }), undefined);
  });
});
