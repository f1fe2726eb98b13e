// The malformed corpus: each file gives its diagnostic, and never a crash, hang or unbounded memory.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importDataset } from '../../../src/core/datasets/snapshot';
import type { DatasetDiagnostic, DatasetRequest, FileReport, ProblemCode } from '../../../src/core/datasets/types';
import { validateDataset } from '../../../src/core/datasets/validate';
import { fixture, tmpDir } from './helpers';

const TSV = { task: 'sequence_classification', format: 'tsv', mapping: { text: 'sentence', label: 'label' } } as const;
const SQUAD = { task: 'question_answering', format: 'squad', mapping: {} } as const;

async function check(req: Omit<DatasetRequest, 'files'>, train: string, validation?: string): Promise<FileReport[]> {
  const r = await validateDataset({ ...req, files: { train, validation } });
  return r.files;
}

function find(f: FileReport, code: ProblemCode): DatasetDiagnostic {
  const d = f.diagnostics.find((x) => x.code === code);
  assert.ok(d, `expected ${code} in ${f.file}; got ${f.diagnostics.map((x) => `${x.code}@${x.line}`).join(', ')}`);
  return d;
}

describe('datasets: malformed files', function () {
  this.timeout(60_000);
  let tmp: string;
  before(() => (tmp = tmpDir()));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, data: string | Buffer): string => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, data);
    return p;
  };

  it('wrong column count and empty text, with line and fix', async () => {
    const [f] = await check(TSV, fixture('wrong-columns.tsv'));
    const cols = find(f, 'row.columnCount');
    assert.equal(cols.line, 3);
    assert.match(cols.message, /3 columns; the header has 2/);
    const empty = find(f, 'text.empty');
    assert.equal(empty.line, 5);
    assert.deepEqual(empty.fix?.edits[0], { line: 5, column: 1, endLine: 6, endColumn: 1, newText: '' });
    assert.equal(f.counts.examples, 2);
    assert.equal(f.counts.skipped, 2);
  });

  it('bad CoNLL tags: I-X after O offers B-X, B_LOC offers B-LOC, a missing column is counted', async () => {
    const [f] = await check({ task: 'token_classification', format: 'conll', mapping: { tokens: 0, tags: -1 } }, fixture('bad-tags.conll'));
    const iob = find(f, 'tag.iobStart');
    assert.equal(iob.line, 3);
    assert.equal(iob.column, 15);
    assert.equal(iob.fix?.edits[0].newText, 'B-PER');
    assert.deepEqual([iob.fix?.edits[0].column, iob.fix?.edits[0].endColumn], [15, 20]);
    const bad = find(f, 'tag.invalid');
    assert.equal(bad.line, 6);
    assert.equal(bad.fix?.edits[0].newText, 'B-LOC');
    assert.equal(find(f, 'row.columnCount').line, 13);
    // IOB1 files are legal with I- starts.
    const [iob1] = await validateDataset({ task: 'token_classification', format: 'conll', mapping: {}, options: { tagScheme: 'iob1' }, files: { train: fixture('bad-tags.conll') } }).then((r) => r.files);
    assert.equal(iob1.problems['tag.iobStart'], undefined);
  });

  it('SQuAD answer_start that misses its answer offers the right offset; a missing answer is an error', async () => {
    const [f] = await check(SQUAD, fixture('wrong-offsets.json'));
    const starts = f.diagnostics.filter((d) => d.code === 'squad.answerStart');
    assert.equal(starts.length, 2);
    assert.equal(starts[0].line, 2);
    assert.equal(starts[0].fix?.edits[0].newText, '12');
    const text = fs.readFileSync(fixture('wrong-offsets.json'), 'utf8').split('\n');
    const e = starts[0].fix!.edits[0];
    assert.equal(text[e.line - 1].slice(e.column - 1, e.endColumn - 1), '8');
    assert.equal(starts[1].fix?.edits[0].newText, '24');
    assert.equal(find(f, 'squad.answerMissing').line, 4);
    assert.equal(f.counts.examples, 0);
  });

  it('truncated JSON: a diagnostic at the end, no crash, no snapshot', async () => {
    const [f] = await check(SQUAD, fixture('truncated.json'));
    const d = find(f, 'json.truncated');
    assert.equal(d.line, 2);
    assert.ok(f.fatal);
    const ds = tmpDir();
    const r = await importDataset({ ...SQUAD, files: { train: fixture('truncated.json') } }, ds);
    assert.equal(r.ok, false);
    assert.deepEqual(fs.readdirSync(ds), []);
  });

  it('JSON syntax error at line:col', async () => {
    const [f] = await check(SQUAD, fixture('bad-syntax.json'));
    const d = find(f, 'json.syntax');
    assert.deepEqual([d.line, d.column], [3, 23]);
    assert.match(d.message, /comma is missing/);
  });

  it('JSONL: broken line reported with its line, the rest read', async () => {
    const [f] = await check({ task: 'sequence_classification', format: 'jsonl', mapping: { text: 'text', label: 'label' } }, fixture('broken.jsonl'));
    assert.equal(find(f, 'json.syntax').line, 2);
    assert.equal(find(f, 'text.empty').line, 3);
    assert.equal(f.counts.examples, 1);
  });

  it('unknown dev label offers the closest known one; a train/dev duplicate is flagged on train', async () => {
    const files = await check(TSV, fixture('train.tsv'), fixture('dev.tsv'));
    const train = files.find((f) => f.split === 'train')!;
    const dev = files.find((f) => f.split === 'validation')!;
    const dup = find(train, 'example.duplicate');
    assert.equal(dup.line, 2);
    assert.match(dup.message, /dev\.tsv line 2/);
    const unknown = dev.diagnostics.filter((d) => d.code === 'label.unknown');
    assert.deepEqual(unknown.map((d) => d.line), [3, 4]);
    assert.equal(unknown[1].fix?.edits[0].newText, '0');
    assert.deepEqual([unknown[1].column, unknown[1].endColumn], [13, 15]);
  });

  it('an empty file and a binary file are fatal diagnostics', async () => {
    const [empty] = await check(TSV, fixture('empty.tsv'));
    find(empty, 'file.empty');
    const bin = write('model.tsv', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0xff, 0xfe, 1, 2, 3, 0, 0, 10, 0, 0]));
    const [b] = await check(TSV, bin);
    find(b, 'file.binary');
    assert.ok(b.fatal);
    const [squadBin] = await check(SQUAD, bin);
    find(squadBin, 'file.binary');
    const [missing] = await check(TSV, path.join(tmp, 'nope.tsv'));
    find(missing, 'file.unreadable');
  });

  it('Latin-1 is read with a warning; invalid UTF-8 is reported at its column', async () => {
    const latin = write('latin.tsv', Buffer.from('sentence\tlabel\ncaf\xe9 cr\xe8me\t1\nna\xefve\t0\n', 'latin1'));
    const [l] = await check(TSV, latin);
    find(l, 'encoding.latin1');
    assert.equal(l.facts?.encoding, 'latin-1');
    assert.equal(l.counts.examples, 2);
    const ds = tmpDir();
    const r = await importDataset({ ...TSV, files: { train: latin } }, ds);
    assert.equal(JSON.parse(fs.readFileSync(path.join(r.dir!, 'train.jsonl'), 'utf8').split('\n')[0]).text, 'café crème');
    const bad = write('bad-utf8.tsv', Buffer.concat([Buffer.from('sentence\tlabel\nnaïve one\t1\nok\t0\nab'), Buffer.from([0xc3, 0x28]), Buffer.from('cd\t1\n')]));
    const [u] = await check(TSV, bad);
    const d = find(u, 'encoding.invalidUtf8');
    assert.deepEqual([d.line, d.column], [4, 3]);
  });

  it('mixed CRLF/LF line endings are read alike and reported once', async () => {
    const mixed = write('mixed.tsv', 'sentence\tlabel\r\ngood\t1\r\nbad\t0\nfine\t1\r\n');
    const [f] = await check(TSV, mixed);
    assert.equal(f.counts.examples, 3);
    assert.deepEqual(f.counts.labels, { '0': 1, '1': 2 });
    assert.equal(find(f, 'newline.mixed').line, 3);
    assert.equal(f.facts?.newline, 'mixed');
  });

  it('a 50 MB single line is skipped with a diagnostic in bounded memory', async () => {
    const big = path.join(tmp, 'big.tsv');
    const fd = fs.openSync(big, 'w');
    fs.writeSync(fd, 'sentence\tlabel\nshort one\t1\n');
    const block = Buffer.alloc(1024 * 1024, 'a');
    for (let i = 0; i < 50; i++) fs.writeSync(fd, block);
    fs.writeSync(fd, '\t1\nlast one\t0\n');
    fs.closeSync(fd);
    global.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const rss0 = process.memoryUsage().rss;
    let peakHeap = heap0;
    let peakRss = rss0;
    const r = await validateDataset(
      { ...TSV, files: { train: big } },
      {
        onProgress: () => {
          const m = process.memoryUsage();
          peakHeap = Math.max(peakHeap, m.heapUsed);
          peakRss = Math.max(peakRss, m.rss);
        },
      },
    );
    const f = r.files[0];
    assert.equal(find(f, 'line.tooLong').line, 3);
    assert.equal(f.counts.examples, 2);
    assert.ok(peakHeap - heap0 < 48 * 1024 * 1024, `heap grew ${(peakHeap - heap0) / 1048576} MiB`);
    assert.ok(peakRss - rss0 < 96 * 1024 * 1024, `rss grew ${(peakRss - rss0) / 1048576} MiB`);
    // The same line as one giant JSON string: refused with a diagnostic, not parsed whole.
    const bigJson = path.join(tmp, 'big.json');
    const jfd = fs.openSync(bigJson, 'w');
    fs.writeSync(jfd, '{"data": [{"title": "');
    for (let i = 0; i < 50; i++) fs.writeSync(jfd, block);
    fs.writeSync(jfd, '"}]}');
    fs.closeSync(jfd);
    const [j] = await check(SQUAD, bigJson);
    assert.match(find(j, 'json.syntax').message, /longer than 16 MiB/);
  });

  it('a cancelled import leaves no snapshot and the existing one intact', async () => {
    const ds = tmpDir();
    const ok = await importDataset({ ...TSV, files: { train: fixture('train.tsv') } }, ds, { id: 'keep' });
    assert.ok(ok.ok);
    const before = fs.readFileSync(path.join(ds, 'keep', 'train.jsonl'), 'utf8');
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(importDataset({ ...TSV, files: { train: fixture('train.tsv') } }, ds, { id: 'keep', replace: true, signal: ac.signal }), { name: 'AbortError' });
    assert.deepEqual(fs.readdirSync(ds), ['keep']);
    assert.equal(fs.readFileSync(path.join(ds, 'keep', 'train.jsonl'), 'utf8'), before);
  });
});
