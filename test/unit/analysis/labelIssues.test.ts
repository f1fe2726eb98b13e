// Likely label errors, host side: reading label_issues.jsonl, hiding reviewed issues, and the
// "Change label to X" edit on real SST-2 (TSV) and CoNLL-2003 lines, JSONL records and a quoted CSV
// with label names. Each edit is applied to the file's text and the file read again.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { changeLabelFix, issuesByFile, labelSpan, layoutFor, parseLabelIssues, readLabelIssues, reviewKey, type LabelIssue } from '../../../src/core/analysis/labelIssues';
import { parseQuoted } from '../../../src/core/datasets/delimited';
import type { DatasetManifest } from '../../../src/core/datasets/snapshot';
import type { QuickFix } from '../../../src/core/datasets/types';
import { DATA, tmpDir } from '../datasets/helpers';
import { needSetup } from '../needSetup';

function applyFix(text: string, fix: QuickFix): string {
  const lines = text.split('\n');
  for (const e of fix.edits) {
    assert.equal(e.line, e.endLine, 'one-line edit');
    const l = lines[e.line - 1];
    lines[e.line - 1] = l.slice(0, e.column - 1) + e.newText + l.slice(e.endColumn - 1);
  }
  return lines.join('\n');
}

function issue(file: string, line: number, given: string, suggested: string, extra: Partial<LabelIssue> = {}): LabelIssue {
  return { rank: 1, example: 0, source: { file, line }, given, suggested, score: 0.9, text: 'x', ...extra };
}

describe('label issues: reading and reviewing', () => {
  it('keeps valid rows, highest score first, and counts the rest', () => {
    const rows = [
      { rank: 2, example: 4, source: { file: '/d/a.tsv', line: 6 }, given: '0', suggested: '1', score: 0.7, text: 'b' },
      { rank: 1, example: 1, source: { file: '/d/a.tsv', line: 3 }, given: '1', suggested: '0', score: 0.95, text: 'a' },
      { rank: 3, example: 2, source: { file: '/d/a.tsv', line: 0 }, given: '1', suggested: '0', score: 0.5, text: 'bad line number' },
      { rank: 4, example: 2, source: null, given: '1', suggested: '0', score: 'high', text: 'bad score' },
    ];
    const text = `${rows.map((r) => JSON.stringify(r)).join('\n')}\n{not json\n`;
    const { issues, invalid } = parseLabelIssues(text);
    assert.deepEqual(issues.map((i) => i.example), [1, 4]);
    assert.equal(invalid, 3);
  });

  it('reads a run folder, and says nothing when there is no file', async () => {
    const dir = tmpDir('bert-studio-le-');
    assert.equal(await readLabelIssues(dir), undefined);
    fs.writeFileSync(path.join(dir, 'label_issues.jsonl'), `${JSON.stringify(issue('/d/a.tsv', 3, '1', '0'))}\n`);
    const read = await readLabelIssues(dir);
    assert.equal(read?.issues.length, 1);
  });

  it('hides reviewed issues; the mark follows the example when lines move', () => {
    const a = issue('/w/data/a.tsv', 3, '1', '0', { text: 'a fine film' });
    const b = issue('/w/data/a.tsv', 9, '0', '1', { text: 'dull', score: 0.99 });
    const c = issue('/w/data/b.tsv', 2, '0', '1', { text: 'other file' });
    const reviewed = new Set([reviewKey(a, '/w')]);
    const shown = issuesByFile([a, b, c], reviewed, '/w');
    assert.deepEqual(shown.get('/w/data/a.tsv')?.map((i) => i.text), ['dull']);
    assert.equal(shown.get('/w/data/b.tsv')?.length, 1);
    // The same example two lines further down (lines added above it) is still reviewed.
    assert.equal(reviewKey({ ...a, source: { file: '/w/data/a.tsv', line: 5 } }, '/w'), reviewKey(a, '/w'));
    // Another label on the same text is a new question.
    assert.notEqual(reviewKey({ ...a, given: '0' }, '/w'), reviewKey(a, '/w'));
  });
});

describe('label issues: "Change label to X" on real files', () => {
  it('SST-2 TSV: changes the label cell only, and refuses a line that no longer holds the label', function () {
    const src = path.join(DATA, 'sst2', 'train.tsv');
    needSetup(this, fs.existsSync(src), `SST-2 at ${src}`);
    const dir = tmpDir('bert-studio-le-');
    const file = path.join(dir, 'train.tsv');
    const text = fs.readFileSync(src, 'utf8').split('\n').slice(0, 21).join('\n') + '\n';
    fs.writeFileSync(file, text);
    const lines = text.split('\n');
    const layout = layoutFor(file, 'sequence_classification');
    assert.ok(layout);
    for (const n of [2, 7, 21]) {
      const [sentence, given] = lines[n - 1].split('\t');
      const other = given === '0' ? '1' : '0';
      const fix = changeLabelFix(lines[n - 1], issue(file, n, given, other), other, layout, lines[0]);
      assert.ok(fix, `a fix for line ${n}`);
      assert.equal(fix.title, `Change label to "${other}"`);
      const changed = applyFix(text, fix).split('\n');
      assert.equal(changed[n - 1], `${sentence}\t${other}`);
      assert.deepEqual(changed.filter((_, i) => i !== n - 1), lines.filter((_, i) => i !== n - 1));
      // After the edit the issue's given label is gone from the line: no second edit.
      assert.equal(changeLabelFix(changed[n - 1], issue(file, n, given, other), other, layout, lines[0]), undefined);
    }
  });

  it('CoNLL-2003: changes the tag column of the token line, other columns kept', function () {
    const src = path.join(DATA, 'conll2003', 'train.txt');
    needSetup(this, fs.existsSync(src), `CoNLL-2003 at ${src}`);
    const dir = tmpDir('bert-studio-le-');
    const file = path.join(dir, 'train.txt');
    const text = fs.readFileSync(src, 'utf8').split('\n').slice(0, 40).join('\n') + '\n';
    fs.writeFileSync(file, text);
    const lines = text.split('\n');
    const layout = layoutFor(file, 'token_classification');
    assert.deepEqual(layout, { kind: 'conll', column: -1 });
    const n = lines.findIndex((l) => / B-MISC$| I-MISC$/.test(l)) + 1;
    assert.ok(n > 0, 'a MISC token in the first lines');
    const cells = lines[n - 1].split(' ');
    const given = cells[3];
    const wanted = `${given.slice(0, 2)}ORG`;
    const fix = changeLabelFix(lines[n - 1], issue(file, n, given, wanted, { word: cells[0], token: 0 }), wanted, layout);
    assert.ok(fix);
    const changed = applyFix(text, fix).split('\n');
    assert.equal(changed[n - 1], [...cells.slice(0, 3), wanted].join(' '));
    assert.equal(changed.length, lines.length);
    // A line whose word is not the issue's (the file changed): no edit.
    assert.equal(changeLabelFix(lines[n - 1], issue(file, n, given, wanted, { word: 'Elsewhere', token: 0 }), wanted, layout), undefined);
  });

  it('JSONL: string and number labels keep their type; a tag list changes at the token', () => {
    const layout = layoutFor('/d/x.jsonl', 'sequence_classification');
    assert.ok(layout);
    const str = '{"text": "the label: is \\"pos\\"", "label": "pos", "source": 1}';
    const fix = changeLabelFix(str, issue('/d/x.jsonl', 4, 'pos', 'neg'), 'neg', layout);
    assert.ok(fix);
    assert.deepEqual(JSON.parse(applyFix(str, { ...fix, edits: fix.edits.map((e) => ({ ...e, line: 1, endLine: 1 })) })), { text: 'the label: is "pos"', label: 'neg', source: 1 });
    const num = '{"text": "a", "label": 3}';
    const fixNum = changeLabelFix(num, issue('/d/x.jsonl', 1, '3', '1'), '1', layout);
    assert.ok(fixNum);
    assert.deepEqual(JSON.parse(applyFix(num, fixNum)), { text: 'a', label: 1 });

    const ner = layoutFor('/d/n.jsonl', 'token_classification');
    assert.ok(ner);
    const line = '{"tokens": ["Paris", "is", "in", "France"], "tags": ["B-LOC", "O", "O", "B-LOC"]}';
    const fixTag = changeLabelFix(line, issue('/d/n.jsonl', 1, 'B-LOC', 'B-ORG', { word: 'France', token: 3 }), 'B-ORG', ner);
    assert.ok(fixTag);
    assert.deepEqual(JSON.parse(applyFix(line, fixTag)).tags, ['B-LOC', 'O', 'O', 'B-ORG']);
    assert.equal(labelSpan(line, issue('/d/n.jsonl', 1, 'O', 'B-ORG', { token: 3 }), ner), undefined, 'token 3 is not O');
  });

  it('CSV from a manifest: the mapped column by header name, quoting, and the file spelling of named labels', () => {
    const dir = tmpDir('bert-studio-le-');
    const file = path.join(dir, 'reviews.csv');
    const text = 'id,stars,review\n1,0,"Good, really good"\n2,1,"Bad ""very"" bad"\n';
    fs.writeFileSync(file, text);
    const manifest = { format: 'csv', mapping: { text: 'review', label: 'stars' }, options: { header: true, quoting: true }, label_names: { 0: 'negative', 1: 'positive' } } as unknown as DatasetManifest;
    const layout = layoutFor(file, 'sequence_classification', manifest);
    assert.ok(layout);
    const lines = text.split('\n');
    const fix = changeLabelFix(lines[1], issue(file, 2, 'negative', 'positive'), 'positive', layout, lines[0]);
    assert.ok(fix);
    assert.equal(fix.title, 'Change label to "positive"');
    const changed = applyFix(text, fix).split('\n');
    assert.deepEqual(parseQuoted(changed[1], ',').fields, ['1', '1', 'Good, really good']);
    assert.equal(changed[2], lines[2]);
    // The given label as named is not what line 3 holds ("positive" is 1 there, not 0): no edit.
    assert.equal(changeLabelFix(lines[2], issue(file, 3, 'negative', 'positive'), 'positive', layout, lines[0]), undefined);
    // NER from a CSV is not a layout the edit knows.
    assert.equal(layoutFor(file, 'token_classification', manifest), undefined);
  });
});

describe('bert-studio analyze label-errors: bad input', () => {
  async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
    const { runCli } = await import('../runCli');
    return runCli(args);
  }

  it('names the flag and the fix, with exit code 2, before any Python starts', async () => {
    const dir = tmpDir('bert-studio-le-');
    fs.writeFileSync(path.join(dir, 'spec.json'), '{"task": "sequence_classification"}');
    const cases: [string[], RegExp][] = [
      [['analyze'], /analyze label-errors --model RUN/],
      [['analyze', 'clusters'], /analyze clusters: unknown analysis; use: analyze label-errors/],
      [['analyze', 'label-errors'], /--model RUN_OR_DIR is required/],
      [['analyze', 'label-errors', '--model', tmpDir('bert-studio-le-')], /not a training run \(no spec\.json\)/],
      [['analyze', 'label-errors', '--model', dir, '--folds', '1'], /--folds "1": give a whole number of at least 2/],
      [['analyze', 'label-errors', '--model', dir, '--probs', 'last'], /--probs "last": use mean/],
      [['analyze', 'label-errors', '--model', dir, '--data', 'x.tsv'], /--data needs --folds K/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    }
  });
});
