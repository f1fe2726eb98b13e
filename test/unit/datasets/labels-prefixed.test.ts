// Label-prefixed text lines (fastText `__label__x text`, TREC `LABEL:sub text`) imported for real:
// TREC-like files built from SST-2 sentences, fine and coarse label sets from the same file, a
// chosen separator, several fastText labels as a multi-label example, and the errors with their lines.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitLabelPrefixed } from '../../../src/core/datasets/labelPrefixed';
import { datasetDir, readManifest, requestFromManifest, type DatasetManifest } from '../../../src/core/datasets/snapshot';
import { validateDataset } from '../../../src/core/datasets/validate';
import { DATA, tmpDir } from './helpers';
import { runCli as cli } from '../runCli';


interface Row { text: string; label: string }

/** SST-2 rows [from, to): sentence and label. */
function sst2(from: number, to: number): Row[] {
  return fs.readFileSync(path.join(DATA, 'sst2', 'train.tsv'), 'utf8').split('\n').slice(1 + from, 1 + to).filter(Boolean).map((l) => {
    const [text, label] = l.split('\t');
    return { text: text.trim(), label };
  });
}

/** TREC's layout: `COARSE:fine text`; coarse from the SST-2 label, fine from the sentence's length. */
const fine = (r: Row): string => `${r.label === '1' ? 'POS' : 'NEG'}:${r.text.split(' ').length > 8 ? 'long' : 'short'}`;

function records(dir: string, split: string): { text: string; label: string | string[]; source: { line: number } }[] {
  return fs.readFileSync(path.join(dir, `${split}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('datasets: label-prefixed lines', function () {
  this.timeout(120_000);
  const dir = tmpDir('bert-studio-lp-');
  const ws = path.join(dir, 'ws');
  fs.mkdirSync(ws);
  const datasets = path.join(ws, '.bert-studio', 'datasets');
  const train = sst2(0, 300);
  const test = sst2(300, 400);
  const trecTrain = path.join(dir, 'trec-train.txt');
  const trecTest = path.join(dir, 'trec-test.txt');
  fs.writeFileSync(trecTrain, train.map((r) => `${fine(r)} ${r.text}\n`).join(''));
  fs.writeFileSync(trecTest, test.map((r) => `${fine(r)} ${r.text}\n`).join(''));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('splits a line into labels and text, with columns', () => {
    assert.deepEqual(splitLabelPrefixed('DESC:manner How did serfdom develop ?'), { labels: [{ value: 'DESC:manner', column: 1, endColumn: 12 }], text: 'How did serfdom develop ?', textColumn: 13 });
    assert.equal(splitLabelPrefixed('DESC:manner How', { coarse: true })?.labels[0].value, 'DESC');
    const ft = splitLabelPrefixed('__label__a __label__b  two labels');
    assert.deepEqual(ft?.labels.map((l) => l.value), ['a', 'b']);
    assert.equal(ft?.text, 'two labels');
    assert.deepEqual(splitLabelPrefixed('POS ||| a b c', { separator: ' ||| ' })?.text, 'a b c');
    assert.equal(splitLabelPrefixed('POS'), undefined, 'no text');
  });

  it('TREC-style: fine labels, coarse labels from the same file, and a test split from another file', async () => {
    const r = await cli(['dataset', 'import', trecTrain, '--label-prefixed', '--test', trecTest, '--id', 'trec-fine', '--workspace', ws, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = (JSON.parse(r.stdout) as { manifest: DatasetManifest }).manifest;
    const fineLabels = [...new Set(train.map(fine))].sort();
    assert.deepEqual([...(m.labels ?? [])].sort(), fineLabels);
    assert.equal(m.splits.train?.count, train.length);
    assert.equal(m.splits.test?.count, test.length);
    const recs = records(datasetDir(datasets, 'trec-fine'), 'train');
    recs.forEach((rec, i) => {
      assert.equal(rec.text, train[i].text);
      assert.equal(rec.label, fine(train[i]));
      assert.equal(rec.source.line, i + 1);
    });
    const c = await cli(['dataset', 'import', trecTrain, '--coarse-labels', '--test', trecTest, '--id', 'trec-coarse', '--workspace', ws, '--json']);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const cm = (JSON.parse(c.stdout) as { manifest: DatasetManifest }).manifest;
    assert.deepEqual(cm.labels, ['NEG', 'POS']);
    const pos = train.filter((t) => t.label === '1').length;
    assert.deepEqual(cm.splits.train?.labels, { NEG: train.length - pos, POS: pos }, 'the coarse counts are SST-2\'s own label counts');
    assert.deepEqual(records(datasetDir(datasets, 'trec-coarse'), 'test').map((t) => t.label), test.map((t) => (t.label === '1' ? 'POS' : 'NEG')));
    // Re-validation reads the sources the way they were imported (options kept in the manifest).
    const again = await validateDataset(requestFromManifest(await readManifest(datasetDir(datasets, 'trec-coarse'))));
    assert.equal(again.errors, 0);
    assert.deepEqual(again.labels, ['NEG', 'POS']);
  });

  it('fastText lines with a chosen separator, label names, and several labels as multi-label', async () => {
    const ft = path.join(dir, 'ft.txt');
    fs.writeFileSync(ft, train.slice(0, 50).map((r) => `__label__${r.label}\t${r.text}\n`).join(''));
    const r = await cli(['dataset', 'import', ft, '--label-prefixed', '--label-separator', 'tab', '--label-names', '0=negative,1=positive', '--id', 'ft', '--workspace', ws, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = (JSON.parse(r.stdout) as { manifest: DatasetManifest }).manifest;
    assert.deepEqual(m.labels, ['negative', 'positive']);
    assert.deepEqual(records(datasetDir(datasets, 'ft'), 'train').map((t) => [t.text, t.label]), train.slice(0, 50).map((t) => [t.text, t.label === '1' ? 'positive' : 'negative']));
    const multi = path.join(dir, 'ft-multi.txt');
    fs.writeFileSync(multi, '__label__a __label__b first text\n__label__b second text\n__label__a third text here\n');
    const refused = await cli(['dataset', 'validate', multi, '--label-prefixed']);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /ft-multi\.txt:1:10: error: This line has 2 labels \(a, b\): import the file as multi-label \(--multi-label\)/);
    const ok = await cli(['dataset', 'import', multi, '--label-prefixed', '--multi-label', '--id', 'ftm', '--workspace', ws, '--json']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.deepEqual(records(datasetDir(datasets, 'ftm'), 'train').map((t) => t.label), [['a', 'b'], ['b'], ['a']]);
  });

  it('a line without text is an error at its line; without --label-prefixed the advice names the flag', async () => {
    const bad = path.join(dir, 'bad.txt');
    fs.writeFileSync(bad, `${fine(train[0])} ${train[0].text}\nPOS:short\n${fine(train[1])} ${train[1].text}\n${fine(train[2])} ${train[2].text}\n`);
    const v = await cli(['dataset', 'validate', bad, '--label-prefixed']);
    assert.equal(v.code, 1);
    assert.match(v.stdout, /bad\.txt:2:1: error: No label and text here: each line is a label, a space, then the text/);
    const advice = await cli(['dataset', 'import', trecTrain, '--task', 'sequence_classification', '--workspace', ws]);
    assert.equal(advice.code, 2);
    assert.match(advice.stderr, /--label-prefixed.*add --coarse-labels to keep "(POS|NEG)"/);
    const wrongTask = await cli(['dataset', 'import', trecTrain, '--label-prefixed', '--task', 'mlm', '--workspace', ws]);
    assert.equal(wrongTask.code, 2);
    assert.match(wrongTask.stderr, /--label-prefixed lines hold sequence_classification examples/);
  });
});
