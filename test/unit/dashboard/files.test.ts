import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LOG_TAIL } from '../../../src/core/dashboard/follower';
import { checkSource, runDataSources } from '../../../src/core/dashboard/sourceAccess';
import { LineTail } from '../../../src/core/runs/tail';

function tmp(): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'bs-dash-')));
}

describe('LineTail from the end (worker.log)', () => {
  it('starts from the last lines of a big log and follows appends, holding a torn line', () => {
    const file = path.join(tmp(), 'worker.log');
    fs.writeFileSync(file, Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n') + '\n');
    const tail = new LineTail(file, () => undefined, { fromEnd: LOG_TAIL });
    const first = tail.readNew();
    assert.equal(first.length, 200);
    assert.ok(first.at(-1)?.startsWith('line 19999 '));
    assert.ok(first.every((l) => l.startsWith('line ')), 'no torn first line');
    fs.appendFileSync(file, 'half');
    assert.deepEqual(tail.readNew(), []);
    fs.appendFileSync(file, ' done\nnext\n');
    assert.deepEqual(tail.readNew(), ['half done', 'next']);
    fs.writeFileSync(file, 'truncated\n');
    assert.deepEqual(tail.readNew(), ['truncated']);
  });

  it('waits for a log that does not exist yet', () => {
    const file = path.join(tmp(), 'worker.log');
    const tail = new LineTail(file, () => undefined, { fromEnd: LOG_TAIL });
    assert.deepEqual(tail.readNew(), []);
    fs.writeFileSync(file, 'hello\n');
    assert.deepEqual(tail.readNew(), ['hello']);
  });

  it('drops no line when its start falls on a line boundary, and strips CRLF', () => {
    const file = path.join(tmp(), 'worker.log');
    fs.writeFileSync(file, ['line 001', 'line 002', 'line 003', 'line 004'].join('\r\n') + '\r\n');
    // Each line is 10 bytes: the last 30 start exactly at "line 002".
    const tail = new LineTail(file, () => undefined, { fromEnd: { lastLines: 100, lastBytes: 30 } });
    assert.deepEqual(tail.readNew(), ['line 002', 'line 003', 'line 004']);
  });

  it('from the very end, as the output channel follows a live log, keeps the first new line', () => {
    const file = path.join(tmp(), 'worker.log');
    fs.writeFileSync(file, 'history\n'.repeat(1000));
    const tail = new LineTail(file, () => undefined, { fromEnd: { lastLines: Number.POSITIVE_INFINITY, lastBytes: 0 } });
    assert.deepEqual(tail.readNew(), []);
    fs.appendFileSync(file, 'new 1\nnew 2\n');
    assert.deepEqual(tail.readNew(), ['new 1', 'new 2']);
  });
});

describe('example source checks', () => {
  it('opens files inside the workspace or a dataset source, and nothing else', () => {
    const ws = tmp();
    const outside = tmp();
    fs.mkdirSync(path.join(ws, 'data'));
    fs.writeFileSync(path.join(ws, 'data', 'dev.tsv'), 'a\tb\n');
    fs.writeFileSync(path.join(outside, 'corpus.txt'), 'text\n');
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'no\n');
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(ws, 'data', 'link.txt'));
    const roots = { workspaces: [ws], dataSources: [path.join(outside, 'corpus.txt')], base: ws };

    assert.deepEqual(checkSource({ file: 'data/dev.tsv', line: 3 }, roots), { ok: true, file: path.join(ws, 'data', 'dev.tsv'), line: 3 });
    assert.equal(checkSource({ file: path.join(ws, 'data', 'dev.tsv'), line: 1 }, roots).ok, true);
    assert.equal(checkSource({ file: path.join(outside, 'corpus.txt'), line: 1 }, roots).ok, true, 'a dataset source outside the workspace');
    assert.equal(checkSource({ file: path.join(outside, 'secret.txt'), line: 1 }, roots).ok, false);
    assert.equal(checkSource({ file: '../' + path.basename(outside) + '/secret.txt', line: 1 }, roots).ok, false);
    assert.equal(checkSource({ file: 'data/link.txt', line: 1 }, roots).ok, false, 'a symlink out of the workspace');
    assert.equal(checkSource({ file: 'data', line: 1 }, roots).ok, false, 'a folder');
    assert.equal(checkSource({ file: 'data/missing.tsv', line: 1 }, roots).ok, false);
    assert.equal(checkSource({ file: 'data/dev.tsv', line: 0 }, roots).ok, false);
    assert.equal(checkSource({ file: 'data/dev.tsv', line: 2.5 }, roots).ok, false);
    assert.equal(checkSource({ file: 'data/dev.tsv\0x', line: 1 }, roots).ok, false);
    assert.equal(checkSource(undefined, roots).ok, false);
  });

  it("collects a run's data sources from its spec and dataset manifest", () => {
    const datasets = tmp();
    fs.mkdirSync(path.join(datasets, 'sst2'));
    fs.writeFileSync(path.join(datasets, 'sst2', 'manifest.json'), JSON.stringify({ sources: { train: { path: '/data/sst2/train.tsv' }, validation: ['/data/sst2/dev.tsv'] } }));
    const spec = { data: { train: '/ws/.bert-studio/datasets/sst2/train.jsonl', validation: '/ws/v.jsonl' }, dataset_id: 'sst2' };
    assert.deepEqual(runDataSources(spec, datasets).sort(), ['/data/sst2/dev.tsv', '/data/sst2/train.tsv', '/ws/.bert-studio/datasets/sst2/train.jsonl', '/ws/v.jsonl']);
    assert.deepEqual(runDataSources({ data: {}, dataset_id: '../x' }, datasets), []);
    assert.deepEqual(runDataSources(undefined, datasets), []);
  });
});
