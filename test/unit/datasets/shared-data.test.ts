// Every shared data set imports with the counts its SOURCE.md gives.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guessDataset } from '../../../src/core/datasets/detect';
import { importDataset, listDatasets, snapshotPaths } from '../../../src/core/datasets/snapshot';
import type { DatasetRequest } from '../../../src/core/datasets/types';
import { validateDataset } from '../../../src/core/datasets/validate';
import { DATA, sourceCount, sourceLabelCounts, sourceProseCount, tmpDir } from './helpers';
import { needSetup } from '../needSetup';

async function requestFor(train: string, validation?: string, test?: string): Promise<DatasetRequest> {
  const g = await guessDataset(train);
  assert.ok(g.task, `no task guessed for ${train}`);
  return { task: g.task, format: g.format, mapping: g.mapping, files: { train, validation, test }, options: { ...g.options, ...(g.textMode ? { textMode: g.textMode } : {}) } };
}

/** Keys seen in a snapshot JSONL, over every line. */
function snapshotKeys(file: string): Set<string> {
  const keys = new Set<string>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) if (line) for (const k of Object.keys(JSON.parse(line) as object)) keys.add(k);
  return keys;
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
    needSetup(this, fs.existsSync(DATA), `shared data at ${DATA}`);
    datasets = tmpDir();
  });
  after(() => datasets && fs.rmSync(datasets, { recursive: true, force: true }));

  it('SST-2: sentence/label inferred, the source recorded with its line and sha256', async () => {
    const d = path.join(DATA, 'sst2');
    const g = await guessDataset(path.join(d, 'train.tsv'));
    assert.equal(g.confident, true);
    assert.deepEqual(g.mapping, { text: 'sentence', textPair: undefined, label: 'label' });
    const r = await importDataset(await requestFor(path.join(d, 'train.tsv'), path.join(d, 'dev.tsv')), datasets);
    assert.ok(r.ok, r.reason);
    const m = r.manifest!;
    assert.deepEqual(m.labels, ['0', '1']);
    const rec = firstLine(path.join(r.dir!, 'train.jsonl'));
    assert.deepEqual(Object.keys(rec).sort(), ['label', 'source', 'text']);
    assert.deepEqual(rec.source, { file: path.join(d, 'train.tsv'), line: 2 });
    const sha = fs.readFileSync(path.join(d, 'SOURCE.md'), 'utf8').split('\n').find((l) => l.startsWith('| train.tsv |'))!.split('|')[4]!.trim();
    assert.equal(m.sources[0].sha256, sha);
  });

  it('MRPC: #1 String / #2 String / Quality inferred through the BOM', async () => {
    const d = path.join(DATA, 'mrpc');
    const req = await requestFor(path.join(d, 'train.tsv'), path.join(d, 'dev.tsv'));
    assert.deepEqual(req.mapping, { text: '#1 String', textPair: '#2 String', label: 'Quality' });
    const r = await importDataset(req, datasets);
    assert.ok(r.ok, r.reason);
    assert.equal(r.manifest!.sources[0].encoding, 'utf-8-bom');
    const rec = firstLine(path.join(r.dir!, 'train.jsonl'));
    assert.equal(typeof rec.text_pair, 'string');
  });

  it('MRPC original file: explicit column mapping, quoting off (bare " in the text), every row', async () => {
    const f = path.join(DATA, 'mrpc', 'original', 'msr_paraphrase_train.txt');
    assert.ok(fs.readFileSync(f, 'utf8').includes(' " '), 'the file holds bare quotes');
    const req: DatasetRequest = {
      task: 'sequence_classification', format: 'tsv', files: { train: f },
      mapping: { text: 3, textPair: 4, label: 0 }, options: { header: true, quoting: false },
    };
    const r = await importDataset(req, datasets, { id: 'msr' });
    assert.ok(r.ok, r.reason);
    assert.equal(r.report.errors, 0);
    assert.equal(r.manifest!.splits.train?.count, sourceCount('mrpc', 'original/msr_paraphrase_train.txt', 2));
    // With RFC 4180 quoting the same file reads wrong: quotes join fields and lines.
    const quoted = await validateDataset({ ...req, options: { header: true, quoting: true } });
    assert.ok(quoted.errors > 0 || quoted.splits.train!.examples !== r.manifest!.splits.train?.count, 'quoting on reads this file differently');
  });

  for (const set of ['sst2', 'mrpc', 'rte'] as const) {
    it(`${set}: every split's rows and label counts are those of SOURCE.md; test has no labels`, async () => {
      const d = path.join(DATA, set);
      const r = await importDataset(await requestFor(path.join(d, 'train.tsv'), path.join(d, 'dev.tsv'), path.join(d, 'test.tsv')), datasets, { id: `${set}-all` });
      assert.ok(r.ok, r.reason);
      const col = set === 'mrpc' ? 2 : 1;
      const m = r.manifest!;
      for (const [split, file] of [['train', 'train.tsv'], ['validation', 'dev.tsv'], ['test', 'test.tsv']] as const) {
        assert.equal(m.splits[split]?.count, sourceCount(set, file, col), `${set} ${split} rows`);
        const labels = sourceLabelCounts(set, file, col);
        if (labels) assert.deepEqual(m.splits[split]?.labels, labels, `${set} ${split} labels`);
        else assert.ok(!snapshotKeys(path.join(r.dir!, `${split}.jsonl`)).has('label'), `${set} ${split} is unlabelled`);
      }
      assert.equal(m.problems.errors, 0);
    });
  }

  it('RTE: sentence1/sentence2/label, string labels', async () => {
    const d = path.join(DATA, 'rte');
    const r = await importDataset(await requestFor(path.join(d, 'train.tsv'), path.join(d, 'dev.tsv')), datasets);
    assert.ok(r.ok, r.reason);
    assert.deepEqual(r.manifest!.mapping, { text: 'sentence1', textPair: 'sentence2', label: 'label' });
    assert.deepEqual(r.manifest!.labels, ['entailment', 'not_entailment']);
  });

  it('CoNLL-2003: sentences, tokens and documents of every split as in SOURCE.md, 9 IOB2 tags', async () => {
    const d = path.join(DATA, 'conll2003');
    const r = await importDataset(await requestFor(path.join(d, 'train.txt'), path.join(d, 'valid.txt'), path.join(d, 'test.txt')), datasets, { id: 'conll' });
    assert.ok(r.ok, r.reason);
    const m = r.manifest!;
    assert.equal(m.task, 'token_classification');
    for (const [split, file] of [['train', 'train.txt'], ['validation', 'valid.txt'], ['test', 'test.txt']] as const) {
      assert.equal(m.splits[split]?.count, sourceCount('conll2003', file, 2), `${split} sentences`);
      assert.equal(m.counts[split]?.tokens, sourceCount('conll2003', file, 3), `${split} tokens`);
      assert.equal(m.counts[split]?.documents, sourceCount('conll2003', file, 4), `${split} documents`);
    }
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

  it('SQuAD v1.1 dev: questions, articles, paragraphs and answers as in SOURCE.md, offsets all right', async () => {
    const f = path.join(DATA, 'squad_v1.1', 'dev-v1.1.json');
    const r = await importDataset(await requestFor(f), datasets, { id: 'squad' });
    assert.ok(r.ok, r.reason);
    assert.equal(r.manifest!.splits.train?.count, sourceProseCount('squad_v1.1', 'questions'));
    assert.equal(r.manifest!.counts.train?.documents, sourceProseCount('squad_v1.1', 'articles'));
    assert.equal(r.manifest!.counts.train?.paragraphs, sourceProseCount('squad_v1.1', 'paragraphs'));
    assert.equal(r.manifest!.counts.train?.answers, sourceProseCount('squad_v1.1', 'answer annotations'));
    assert.equal(r.report.errors, 0);
    const rec = firstLine(path.join(r.dir!, 'train.jsonl'));
    assert.equal(rec.title, 'Super_Bowl_50');
    assert.deepEqual(Object.keys(rec).sort(), ['answers', 'context', 'id', 'question', 'source', 'title']);
  });

  for (const file of ['valid.txt', 'test.txt']) {
    it(`WikiText-2 ${file}: its articles as documents`, async () => {
      const f = path.join(DATA, 'wikitext-2', file);
      const req = await requestFor(f);
      assert.equal(req.format, 'text');
      const r = await importDataset(req, datasets, { id: `wiki-${path.basename(file, '.txt')}` });
      assert.ok(r.ok, r.reason);
      // SOURCE.md counts lines that open with " = ". In test.txt two of them are a table's legend
      // (" = National record ", no closing "="), not article titles; the reader (and the worker's,
      // pretrain/corpus.py) rightly keeps those inside their article.
      const lines = fs.readFileSync(f, 'utf8').split('\n');
      const legend = lines.filter((l) => /^ = [^=]/.test(l) && !/ = $/.test(l)).length;
      assert.equal(r.manifest!.splits.train?.count, sourceCount('wikitext-2', file, 1) - legend);
      assert.equal(r.manifest!.splits.train?.count, lines.filter((l) => /^ = [^=].* = $/.test(l)).length);
      const rec = firstLine(path.join(r.dir!, 'train.jsonl'));
      assert.ok(Array.isArray(rec.sentences) && (rec.sentences as string[]).length > 1);
    });
  }

  it('a seeded split carves a reproducible validation split out of train', async () => {
    const f = path.join(DATA, 'rte', 'train.tsv');
    const req = { ...(await requestFor(f)), seededSplit: { validationFraction: 0.1, seed: 7 } };
    const a = await importDataset(req, datasets, { id: 'rte-a' });
    const b = await importDataset(req, datasets, { id: 'rte-b' });
    const va = a.manifest!.splits.validation!.count;
    assert.equal(a.manifest!.splits.train!.count + va, sourceCount('rte', 'train.tsv', 1));
    assert.ok(va > 180 && va < 320, String(va));
    assert.equal(fs.readFileSync(path.join(a.dir!, 'validation.jsonl'), 'utf8'), fs.readFileSync(path.join(b.dir!, 'validation.jsonl'), 'utf8'));
    const ids = (await listDatasets(datasets)).map((d) => d.id);
    assert.ok(ids.includes('rte-a') && ids.includes('sst2'));
  });
});
