// Parquet and Arrow imports on files that pyarrow wrote from the shared data
// (test/fixtures/datasets/make_columnar.py): the same examples as the text formats, ClassLabel
// integers named from the `datasets` metadata, row groups and zstd, a save_to_disk folder's splits,
// and bad rows or files reported by row with the fix.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guessDataset } from '../../../src/core/datasets/detect';
import { datasetDir, type DatasetManifest } from '../../../src/core/datasets/snapshot';
import { validateDataset } from '../../../src/core/datasets/validate';
import { python } from '../inference/fixtures';
import { needSetup } from '../needSetup';
import { runCli as cli } from '../runCli';
import { DATA, FIXTURES, tmpDir } from './helpers';

type Rec = { text?: string; label?: string; tokens?: string[]; tags?: string[]; question?: string; answers?: { text: string; answer_start: number }[]; source: { line: number } };

function records(dir: string, split: string): Rec[] {
  return fs.readFileSync(path.join(dir, `${split}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);
}

describe('datasets: Parquet and Arrow', function () {
  this.timeout(300_000);
  const dir = tmpDir('bert-studio-columnar-');
  const ws = path.join(dir, 'ws');
  const files = path.join(dir, 'files');
  const datasets = path.join(ws, '.bert-studio', 'datasets');
  const f = (name: string): string => path.join(files, name);

  before(function () {
    const py = python();
    needSetup(this, py && fs.existsSync(DATA), `the venv's Python with pyarrow (scripts/setup.sh) and shared data at ${DATA}`);
    fs.mkdirSync(ws);
    execFileSync(py, [path.join(FIXTURES, 'make_columnar.py'), DATA, files], { stdio: 'pipe' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function importOk(args: string[], id: string): Promise<DatasetManifest> {
    const r = await cli(['dataset', 'import', ...args, '--id', id, '--workspace', ws, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return (JSON.parse(r.stdout) as { manifest: DatasetManifest }).manifest;
  }

  it('guesses the task and columns from the first row', async () => {
    const sst = await guessDataset(f('sst2-dev.parquet'));
    assert.equal(sst.format, 'parquet');
    assert.equal(sst.task, 'sequence_classification');
    assert.deepEqual([sst.mapping.text, sst.mapping.label, sst.mapping.textPair], ['sentence', 'label', undefined]);
    const conll = await guessDataset(f('conll-valid.parquet'));
    assert.deepEqual([conll.task, conll.mapping], ['token_classification', { tokens: 'tokens', tags: 'ner_tags' }]);
    const squad = await guessDataset(f('squad-dev.parquet'));
    assert.equal(squad.task, 'question_answering');
    assert.equal((await guessDataset(f('sst2-dev.arrow'))).format, 'arrow');
  });

  it('a Parquet file imports the same examples as the TSV it was written from', async () => {
    await importOk([path.join(DATA, 'sst2', 'dev.tsv')], 'tsv');
    const raw = await importOk([f('sst2-dev-raw.parquet')], 'raw');
    const tsv = records(datasetDir(datasets, 'tsv'), 'train');
    const pq = records(datasetDir(datasets, 'raw'), 'train');
    assert.equal(raw.format, 'parquet');
    assert.equal(pq.length, tsv.length);
    pq.forEach((r, i) => {
      assert.equal(r.text?.trim(), tsv[i].text?.trim());
      assert.equal(r.label, tsv[i].label);
      // A row number: the TSV's line less its header.
      assert.equal(r.source.line, tsv[i].source.line - 1);
    });
    // The source is the Parquet file itself, hashed as stored.
    assert.equal(raw.sources[0].path, f('sst2-dev-raw.parquet'));
  });

  it('ClassLabel integers take their names from the datasets metadata (Parquet, Arrow, save_to_disk)', async () => {
    const tsv = records(datasetDir(datasets, 'tsv'), 'train');
    const names = tsv.map((r) => (r.label === '1' ? 'positive' : 'negative'));
    const m = await importOk([f('sst2-dev.parquet')], 'named');
    assert.deepEqual([...(m.labels ?? [])].sort(), ['negative', 'positive']);
    assert.deepEqual(records(datasetDir(datasets, 'named'), 'train').map((r) => r.label), names);
    await importOk([f('sst2-dev.arrow')], 'arrow');
    assert.deepEqual(records(datasetDir(datasets, 'arrow'), 'train').map((r) => r.label), names);
  });

  it('reads every row group of a zstd file', async () => {
    const m = await importOk([f('sst2-train-2000.parquet')], 'zstd');
    assert.equal(m.splits.train?.count, 2000);
    const train = fs.readFileSync(path.join(DATA, 'sst2', 'train.tsv'), 'utf8').split('\n').slice(1, 2001);
    const recs = records(datasetDir(datasets, 'zstd'), 'train');
    assert.equal(recs[1999].text?.trim(), train[1999].split('\t')[0].trim());
    assert.equal(recs[1999].label, train[1999].split('\t')[1] === '1' ? 'positive' : 'negative');
  });

  it('a save_to_disk DatasetDict folder gives its train and validation splits', async () => {
    const m = await importOk([f('sst2-disk')], 'disk');
    assert.equal(m.splits.train?.count, 500);
    assert.equal(m.splits.validation?.count, records(datasetDir(datasets, 'tsv'), 'train').length);
    assert.deepEqual([...(m.labels ?? [])].sort(), ['negative', 'positive']);
  });

  it('token classification and QA rows: tokens with named tags, Hub-style answers', async () => {
    const conll = await importOk([f('conll-valid.parquet')], 'conll-pq');
    const text = await importOk([path.join(DATA, 'conll2003', 'valid.txt')], 'conll-txt');
    assert.equal(conll.splits.train?.count, text.splits.train?.count);
    const a = records(datasetDir(datasets, 'conll-pq'), 'train');
    const b = records(datasetDir(datasets, 'conll-txt'), 'train');
    assert.deepEqual(a.map((r) => [r.tokens, r.tags]), b.map((r) => [r.tokens, r.tags]));
    const squad = await importOk([f('squad-dev.parquet')], 'squad-pq');
    const qa = records(datasetDir(datasets, 'squad-pq'), 'train');
    assert.equal(squad.splits.train?.count, 300);
    assert.ok(qa.every((r) => r.answers && r.answers.length > 0 && typeof r.question === 'string'));
  });

  it('bad rows are reported by row number, without a quick fix into the JSON text', async () => {
    const report = await validateDataset({ task: 'sequence_classification', format: 'parquet', files: { train: f('sst2-bad.parquet') }, mapping: { text: 'sentence', label: 'label' } });
    const ds = report.files[0].diagnostics;
    const empty = ds.find((d) => d.code === 'text.empty');
    const missing = ds.find((d) => d.code === 'label.missing');
    assert.equal(empty?.line, 3, JSON.stringify(ds));
    assert.match(empty?.message ?? '', /^Row 3: /);
    assert.equal(missing?.line, 5, JSON.stringify(ds));
    assert.ok(ds.every((d) => d.fix === undefined && d.column === 1));
    const r = await cli(['dataset', 'import', f('sst2-bad.parquet'), '--id', 'bad', '--workspace', ws]);
    assert.notEqual(r.code, 0);
    assert.ok(!fs.existsSync(datasetDir(datasets, 'bad')), 'nothing written on errors');
    const skipped = await importOk([f('sst2-bad.parquet'), '--skip-bad-rows'], 'bad');
    assert.equal(skipped.splits.train?.count, 6);
  });

  it('a truncated Parquet file is named as such, with the fix, and no stack trace', async () => {
    const r = await cli(['dataset', 'validate', f('truncated.parquet')]);
    assert.notEqual(r.code, 0);
    const out = r.stdout + r.stderr;
    assert.match(out, /not a readable Parquet file/);
    assert.match(out, /export the data again/);
    assert.doesNotMatch(out, /\n\s+at /);
  });
});
