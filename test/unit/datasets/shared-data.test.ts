// Every shared data set imports with the counts its SOURCE.md gives.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guessDataset } from '../../../src/core/datasets/detect';
import { importDataset, listDatasets, snapshotPaths } from '../../../src/core/datasets/snapshot';
import type { DatasetRequest } from '../../../src/core/datasets/types';
import { DATA, sourceCount, tmpDir } from './helpers';

async function requestFor(train: string, validation?: string, test?: string): Promise<DatasetRequest> {
  const g = await guessDataset(train);
  assert.ok(g.task, `no task guessed for ${train}`);
  return { task: g.task, format: g.format, mapping: g.mapping, files: { train, validation, test }, options: g.textMode ? { textMode: g.textMode } : {} };
}

function firstLine(file: string): Record<string, unknown> {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(256 * 1024);
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  fs.closeSync(fd);
  return JSON.parse(buf.subarray(0, n).toString('utf8').split('\n')[0]) as Record<string, unknown>;
}

describe('datasets: shared data sets', function () {
  this.timeout(60_000);
  let datasets: string;
  before(function () {
    if (!fs.existsSync(DATA)) this.skip();
    datasets = tmpDir();
  });
  after(() => datasets && fs.rmSync(datasets, { recursive: true, force: true }));

  it('SST-2: sentence/label inferred, 67,349 / 872 rows, label counts', async () => {
    const d = path.join(DATA, 'sst2');
    const g = await guessDataset(path.join(d, 'train.tsv'));
    assert.equal(g.confident, true);
    assert.deepEqual(g.mapping, { text: 'sentence', textPair: undefined, label: 'label' });
    const r = await importDataset(await requestFor(path.join(d, 'train.tsv'), path.join(d, 'dev.tsv')), datasets);
    assert.ok(r.ok, r.reason);
    const m = r.manifest!;
    assert.equal(m.splits.train?.count, sourceCount('sst2', 'train.tsv', 1));
    assert.equal(m.splits.validation?.count, sourceCount('sst2', 'dev.tsv', 1));
    assert.deepEqual(m.labels, ['0', '1']);
    // SOURCE.md: train label 0: 29,780 / 1: 37,569.
    assert.deepEqual(m.splits.train?.labels, { '0': 29780, '1': 37569 });
    const rec = firstLine(path.join(r.dir!, 'train.jsonl'));
    assert.deepEqual(Object.keys(rec).sort(), ['label', 'source', 'text']);
    assert.deepEqual(rec.source, { file: path.join(d, 'train.tsv'), line: 2 });
    assert.equal(m.sources[0].sha256, '48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1');
  });

  it('MRPC: #1 String / #2 String / Quality inferred through the BOM, 3,668 / 408', async () => {
    const d = path.join(DATA, 'mrpc');
    const req = await requestFor(path.join(d, 'train.tsv'), path.join(d, 'dev.tsv'));
    assert.deepEqual(req.mapping, { text: '#1 String', textPair: '#2 String', label: 'Quality' });
    const r = await importDataset(req, datasets);
    assert.ok(r.ok, r.reason);
    assert.equal(r.manifest!.splits.train?.count, sourceCount('mrpc', 'train.tsv', 2));
    assert.equal(r.manifest!.splits.validation?.count, sourceCount('mrpc', 'dev.tsv', 2));
    assert.equal(r.manifest!.sources[0].encoding, 'utf-8-bom');
    const rec = firstLine(path.join(r.dir!, 'train.jsonl'));
    assert.equal(typeof rec.text_pair, 'string');
  });

  it('RTE: sentence1/sentence2/label, 2,490 / 277', async () => {
    const d = path.join(DATA, 'rte');
    const r = await importDataset(await requestFor(path.join(d, 'train.tsv'), path.join(d, 'dev.tsv')), datasets);
    assert.ok(r.ok, r.reason);
    assert.equal(r.manifest!.splits.train?.count, sourceCount('rte', 'train.tsv', 1));
    assert.equal(r.manifest!.splits.validation?.count, sourceCount('rte', 'dev.tsv', 1));
    assert.deepEqual(r.manifest!.labels, ['entailment', 'not_entailment']);
  });

  it('CoNLL-2003: 14,041 / 3,250 / 3,453 sentences, 203,621 train tokens, 9 IOB2 tags', async () => {
    const d = path.join(DATA, 'conll2003');
    const r = await importDataset(await requestFor(path.join(d, 'train.txt'), path.join(d, 'valid.txt'), path.join(d, 'test.txt')), datasets, { id: 'conll' });
    assert.ok(r.ok, r.reason);
    const m = r.manifest!;
    assert.equal(m.task, 'token_classification');
    assert.equal(m.splits.train?.count, sourceCount('conll2003', 'train.txt', 2));
    assert.equal(m.splits.validation?.count, sourceCount('conll2003', 'valid.txt', 2));
    assert.equal(m.splits.test?.count, sourceCount('conll2003', 'test.txt', 2));
    assert.equal(m.counts.train?.tokens, sourceCount('conll2003', 'train.txt', 3));
    assert.equal(m.counts.train?.documents, sourceCount('conll2003', 'train.txt', 4));
    assert.equal(m.labels?.length, 9);
    assert.equal(m.problems.byCode['tag.iobStart'] ?? 0, 0);
    const rec = firstLine(path.join(r.dir!, 'train.jsonl'));
    assert.deepEqual(rec.tokens, ['EU', 'rejects', 'German', 'call', 'to', 'boycott', 'British', 'lamb', '.']);
    assert.deepEqual(rec.tags, ['B-ORG', 'O', 'B-MISC', 'O', 'O', 'O', 'B-MISC', 'O', 'O']);
    assert.deepEqual(await snapshotPaths(datasets, 'conll'), {
      train: path.join(datasets, 'conll', 'train.jsonl'),
      validation: path.join(datasets, 'conll', 'validation.jsonl'),
      test: path.join(datasets, 'conll', 'test.jsonl'),
    });
  });

  it('SQuAD v1.1 dev: 10,570 questions in 48 articles, 2,067 paragraphs, offsets all right', async () => {
    const f = path.join(DATA, 'squad_v1.1', 'dev-v1.1.json');
    const r = await importDataset(await requestFor(f), datasets, { id: 'squad' });
    assert.ok(r.ok, r.reason);
    // SOURCE.md: 48 articles, 2,067 paragraphs, 10,570 questions, 34,726 answer annotations.
    assert.equal(r.manifest!.splits.train?.count, 10570);
    assert.equal(r.manifest!.counts.train?.documents, 48);
    assert.equal(r.manifest!.counts.train?.paragraphs, 2067);
    assert.equal(r.manifest!.counts.train?.answers, 34726);
    assert.equal(r.report.errors, 0);
    const rec = firstLine(path.join(r.dir!, 'train.jsonl'));
    assert.equal(rec.title, 'Super_Bowl_50');
    assert.deepEqual(Object.keys(rec).sort(), ['answers', 'context', 'id', 'question', 'source', 'title']);
  });

  it('WikiText-2 valid: 60 articles as documents', async () => {
    const f = path.join(DATA, 'wikitext-2', 'valid.txt');
    const req = await requestFor(f);
    assert.equal(req.format, 'text');
    const r = await importDataset(req, datasets, { id: 'wiki' });
    assert.ok(r.ok, r.reason);
    assert.equal(r.manifest!.splits.train?.count, sourceCount('wikitext-2', 'valid.txt', 1));
    const rec = firstLine(path.join(r.dir!, 'train.jsonl'));
    assert.ok(Array.isArray(rec.sentences) && (rec.sentences as string[]).length > 1);
  });

  it('a seeded split carves a reproducible validation split out of train', async () => {
    const f = path.join(DATA, 'rte', 'train.tsv');
    const req = { ...(await requestFor(f)), seededSplit: { validationFraction: 0.1, seed: 7 } };
    const a = await importDataset(req, datasets, { id: 'rte-a' });
    const b = await importDataset(req, datasets, { id: 'rte-b' });
    const va = a.manifest!.splits.validation!.count;
    assert.equal(a.manifest!.splits.train!.count + va, 2490);
    assert.ok(va > 180 && va < 320, String(va));
    assert.equal(fs.readFileSync(path.join(a.dir!, 'validation.jsonl'), 'utf8'), fs.readFileSync(path.join(b.dir!, 'validation.jsonl'), 'utf8'));
    const ids = (await listDatasets(datasets)).map((d) => d.id);
    assert.ok(ids.includes('rte-a') && ids.includes('sst2'));
  });
});
