// What the import guesses from a file's first lines: header, quoting, the CoNLL tag column. A
// guess that is not sure says so (`confident: false`) and the import asks.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guessDataset, guessHeader, guessQuoting } from '../../../src/core/datasets/detect';
import { validateDataset } from '../../../src/core/datasets/validate';
import { DATA, sourceCount, tmpDir } from './helpers';
import { needSetup } from '../needSetup';

describe('datasets: format guesses', () => {
  let dir: string;
  before(() => (dir = tmpDir()));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };

  it('GLUE TSVs with bare " are read with quoting off', async function () {
    needSetup(this, fs.existsSync(DATA), `shared data at ${DATA}`);
    for (const set of ['sst2', 'rte', 'mrpc']) {
      const g = await guessDataset(path.join(DATA, set, 'train.tsv'));
      assert.deepEqual(g.options, { header: true, quoting: false }, set);
    }
    const msr = fs.readFileSync(path.join(DATA, 'mrpc', 'original', 'msr_paraphrase_train.txt'), 'utf8').split('\n').slice(0, 200);
    assert.ok(msr.some((l) => / " /.test(l)));
    assert.equal(guessQuoting(msr, '\t'), false);
  });

  it('quoted fields are read with quoting on: commas inside "…" in a CSV, wrapped fields in a TSV', async () => {
    const csv = write('reviews.csv', 'text,label\n"Hello, world",pos\n"Bad, very bad",neg\nfine,pos\n');
    const g = await guessDataset(csv);
    assert.deepEqual(g.options, { header: true, quoting: true });
    const r = await validateDataset({ task: g.task!, format: g.format, mapping: g.mapping, files: { train: csv }, options: g.options });
    assert.equal(r.errors, 0);
    assert.equal(r.splits.train?.examples, 3);
    const tsv = write('wrapped.tsv', 'sentence\tlabel\n"a ""quoted"" word"\t1\n"plain"\t0\n');
    assert.equal((await guessDataset(tsv)).options?.quoting, true);
    assert.equal(guessQuoting(['a\tb', 'c\td'], ','), true, 'no quotes at all: the CSV default');
    assert.equal(guessQuoting(['a\tb', 'c\td'], '\t'), false, 'no quotes at all: the TSV default');
  });

  it('a file without a header is detected, its columns named by index, and the guess asks', async () => {
    assert.equal(guessHeader([['I loved it', 'positive'], ['Dull and long', 'negative'], ['Fine', 'positive']]), false);
    assert.equal(guessHeader([['great movie', '1'], ['awful', '0']]), false);
    assert.equal(guessHeader([['review_text', 'stars'], ['A long review that goes on about the plot', '5'], ['Short', '2']]), true);
    const f = write('noheader.csv', 'I loved it,positive\nDull and long,negative\nFine,positive\n');
    const g = await guessDataset(f);
    assert.equal(g.options?.header, false);
    assert.deepEqual(g.columns, ['0', '1']);
    assert.deepEqual(g.sample, ['I loved it', 'positive']);
    assert.equal(g.confident, false);
    const r = await validateDataset({ task: 'sequence_classification', format: 'csv', mapping: { text: 0, label: 1 }, files: { train: f }, options: g.options });
    assert.equal(r.splits.train?.examples, 3, 'the first line is an example');
    assert.deepEqual(r.files[0].counts.labels, { positive: 2, negative: 1 });
  });

  it('CoNLL: the last column is the tag by convention; a tag column elsewhere is found and asked', async function () {
    needSetup(this, fs.existsSync(DATA), `shared data at ${DATA}`);
    const g = await guessDataset(path.join(DATA, 'conll2003', 'valid.txt'));
    assert.equal(g.format, 'conll');
    assert.equal(g.confident, true);
    assert.equal(g.mapping.tags, -1);
    // The same sentences as token, NER tag, POS (chunk column dropped): the tag is no longer last.
    const src = fs.readFileSync(path.join(DATA, 'conll2003', 'valid.txt'), 'utf8').split('\n');
    const moved = src.map((l) => {
      const c = l.split(' ');
      return c.length === 4 ? [c[0], c[3], c[1]].join(' ') : l;
    });
    const f = write('moved.conll', moved.join('\n'));
    const h = await guessDataset(f);
    assert.equal(h.format, 'conll');
    assert.equal(h.confident, false, 'a tag column that is not the last is asked');
    assert.equal(h.mapping.tags, -2);
    const r = await validateDataset({ task: 'token_classification', format: 'conll', mapping: h.mapping, files: { train: f } });
    assert.equal(r.errors, 0);
    assert.equal(r.splits.train?.examples, sourceCount('conll2003', 'valid.txt', 2));
    assert.equal(r.files[0].counts.tokens, sourceCount('conll2003', 'valid.txt', 3));
  });
});
