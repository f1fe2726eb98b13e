// The dashboard's NER slices on a real (tiny) CoNLL-2003 run: the worker's evaluate writes
// predictions.jsonl per sentence, and the host's entity precision, recall, F1 and token accuracy
// agree with seqeval's for the whole set (the worker's metrics.json) and, per slice, with seqeval run
// on the slice's sentences, which the test picks from the CoNLL file itself (word count, entity
// types in its tag column, the keyword in its words, a flagged word's line inside the sentence).
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { findLabelErrors, readLabelIssues, type LabelIssue } from '../../../src/core/analysis/labelIssues';
import { computeSlices, lengthBucket, LENGTH_BUCKETS, NO_ENTITIES, parsePredictions, type NerPredictionRow, type SliceRow } from '../../../src/core/analysis/slices';
import { loadSlices } from '../../../src/core/dashboard/analysisData';
import { studioLayout } from '../../../src/core/paths';
import { evaluateRun } from '../../../src/core/runs/evaluate';
import { buildSpec } from '../../../src/core/runs/spec';
import { needSetup } from '../needSetup';
import { SLICES } from '../../../webview/dashboard/protocol';
import { runCli } from '../runCli';
import { DATA, ENV, PYTHON, ROOT } from './sst2Run';

const run$ = promisify(execFile);

/** seqeval's micro figures and the token accuracy for each named group of rows (indices into the predictions file). */
const SEQEVAL = `
import json, sys
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
out = {}
for name, idx in json.load(sys.stdin).items():
    if not idx:
        continue
    g, p = [rows[i]["gold"] for i in idx], [rows[i]["pred"] for i in idx]
    words = sum(len(x) for x in g)
    out[name] = {"count": len(idx), "gold": len(get_entities(g)), "predicted": len(get_entities(p)),
                 "precision": precision_score(g, p, zero_division=0), "recall": recall_score(g, p, zero_division=0),
                 "f1": f1_score(g, p, zero_division=0),
                 "tokenAccuracy": sum(a == b for x, y in zip(g, p) for a, b in zip(x, y)) / words if words else None}
print(json.dumps(out))
`;

interface Seqeval { count: number; gold: number; predicted: number; precision: number; recall: number; f1: number; tokenAccuracy: number | null }

async function seqeval(predictions: string, groups: Record<string, number[]>): Promise<Record<string, Seqeval>> {
  const child = execFile(PYTHON, ['-c', SEQEVAL, predictions], { env: ENV, maxBuffer: 16 << 20 });
  const done = new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: string) => (out += d));
    child.stderr?.on('data', (d: string) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
  });
  child.stdin?.end(JSON.stringify(groups));
  return JSON.parse(await done) as Record<string, Seqeval>;
}

/** The host's row against seqeval's: a figure the host leaves null (nothing to divide by) is seqeval's 0. */
function assertSame(row: Pick<SliceRow, 'count' | 'entities'> | undefined, expected: Seqeval | undefined, what: string): void {
  assert.ok(row?.entities && expected, `${what}: a row and seqeval's figures`);
  assert.equal(row.count, expected.count, `${what}: sentences`);
  assert.equal(row.entities.gold, expected.gold, `${what}: gold entities`);
  assert.equal(row.entities.predicted, expected.predicted, `${what}: predicted entities`);
  for (const k of ['precision', 'recall', 'f1'] as const) assert.ok(Math.abs((row.entities[k] ?? 0) - expected[k]) < 1e-12, `${what}: ${k} ${row.entities[k]} vs seqeval ${expected[k]}`);
  assert.equal(row.entities.tokenAccuracy, expected.tokenAccuracy, `${what}: token accuracy`);
}

/** The sentences of a CoNLL file: first line, words (first column) and tags (last column). */
function conllSentences(file: string): { line: number; words: string[]; tags: string[] }[] {
  const out: { line: number; words: string[]; tags: string[] }[] = [];
  let cur: { line: number; words: string[]; tags: string[] } | undefined;
  fs.readFileSync(file, 'utf8').split('\n').forEach((l, i) => {
    if (!l.trim() || l.startsWith('-DOCSTART-')) {
      cur = undefined;
      return;
    }
    const cells = l.trim().split(/\s+/);
    if (!cur) out.push((cur = { line: i + 1, words: [], tags: [] }));
    cur.words.push(cells[0] as string);
    cur.tags.push(cells[cells.length - 1] as string);
  });
  return out;
}

function head(src: string, dst: string, lines: number): void {
  const text = fs.readFileSync(src, 'utf8').split('\n').slice(0, lines);
  while (text.length && text[text.length - 1]?.trim()) text.pop();
  fs.writeFileSync(dst, `${text.join('\n')}\n`);
}

describe('NER slices of a real CoNLL-2003 run', function () {
  this.timeout(900_000);
  let workspace: string;
  let runDir: string;
  let train: string;
  let dev: string;

  before(async function () {
    needSetup(this, fs.existsSync(PYTHON) && fs.existsSync(path.join(DATA, 'conll2003', 'train.txt')), 'the training environment (.venv) and the shared CoNLL-2003 data');
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-ner-slices-'));
    train = path.join(workspace, 'train-head.txt');
    dev = path.join(workspace, 'valid-head.txt');
    head(path.join(DATA, 'conll2003', 'train.txt'), train, 1200);
    head(path.join(DATA, 'conll2003', 'valid.txt'), dev, 1000);
    runDir = path.join(studioLayout(workspace).runsDir, 'ner-tiny');
    fs.mkdirSync(runDir, { recursive: true });
    const spec = buildSpec({
      task: 'token_classification', model: 'default', train, validation: dev, device: 'cpu', export: false,
      training: { max_steps: 40, per_device_train_batch_size: 16, max_seq_length: 32, learning_rate: 3e-4, eval_steps: 1000, save_steps: 1000 },
    });
    fs.writeFileSync(path.join(runDir, 'spec.json'), JSON.stringify(spec));
    await run$(PYTHON, ['-m', 'bert_studio_trainer', 'train', '--run-dir', runDir], { env: ENV, maxBuffer: 64 << 20 });
  });

  after(() => {
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('gives seqeval\'s figures for the whole evaluation and for every slice of its sentences', async () => {
    const opts = { python: PYTHON, packageRoot: ROOT, model: runDir, device: 'cpu' };
    const evaluation = await evaluateRun({ ...opts, data: { file: dev, split: 'validation', name: 'valid-head' } });
    const file = path.join(evaluation.out, 'predictions.jsonl');
    const { rows, invalid } = parsePredictions(fs.readFileSync(file, 'utf8'));
    assert.equal(invalid, 0);
    const sentences = conllSentences(dev);
    assert.equal(rows.length, sentences.length);
    assert.ok(rows.every((r) => 'tokens' in r), 'every row is a sentence');
    const ner = rows as NerPredictionRow[];
    assert.deepEqual(ner.map((r) => r.source?.line), sentences.map((s) => s.line), 'one row per sentence, at its first line');
    const f1 = evaluation.metrics.f1 as number;
    assert.ok(f1 > 0, `a model that finds entities (F1 ${f1}); else every figure is 0 and proves little`);

    const slices = await loadSlices(runDir, { evaluation: 'valid-head', pattern: 'said', mode: 'keyword' }, undefined);
    const r = slices.report;
    assert.ok(r?.entities, slices.note);
    assert.equal(r.task, 'token_classification');
    assert.equal(SLICES.problem(JSON.parse(JSON.stringify(slices))), undefined, 'the page accepts what the host sends');
    assert.equal(r.examples, sentences.length);
    // The whole set: the worker's own seqeval figures (metrics.json).
    for (const [k, m] of [['f1', 'f1'], ['precision', 'precision'], ['recall', 'recall'], ['tokenAccuracy', 'accuracy']] as const) {
      assert.ok(Math.abs((r.entities[k] ?? -1) - (evaluation.metrics[m] as number)) < 1e-12, `${k}: ${r.entities[k]} vs the worker's ${evaluation.metrics[m]}`);
    }
    assert.equal(r.entities.words, sentences.reduce((a, s) => a + s.words.length, 0));

    // Slices picked from the CoNLL file, scored by seqeval.
    const groups: Record<string, number[]> = { all: sentences.map((_, i) => i) };
    const pick = (name: string, keep: (s: (typeof sentences)[number]) => boolean): void => {
      groups[name] = sentences.flatMap((s, i) => (keep(s) ? [i] : []));
    };
    let lo = 0;
    for (const hi of [...LENGTH_BUCKETS, Infinity]) {
      const from = lo;
      pick(`length ${hi === Infinity ? lengthBucket(LENGTH_BUCKETS[LENGTH_BUCKETS.length - 1] + 1) : lengthBucket(hi)}`, (s) => s.words.length > from && s.words.length <= hi);
      lo = hi;
    }
    const types = [...new Set(sentences.flatMap((s) => s.tags.filter((t) => t !== 'O').map((t) => t.slice(2))))];
    assert.ok(types.length >= 3, `several entity types in the data: ${types.join(', ')}`);
    for (const t of types) pick(`type ${t}`, (s) => s.tags.some((x) => x.slice(2) === t));
    pick(`type ${NO_ENTITIES}`, (s) => s.tags.every((x) => x === 'O'));
    pick('said', (s) => s.words.join(' ').toLowerCase().includes('said'));
    pick('not said', (s) => !s.words.join(' ').toLowerCase().includes('said'));
    const expected = await seqeval(file, groups);
    assertSame({ count: r.examples, entities: r.entities }, expected.all, 'all');
    const byLength = new Map(r.byLength.map((x) => [`length ${x.name}`, x]));
    const byType = new Map(r.byLabel.map((x) => [`type ${x.name}`, x]));
    for (const [name, idx] of Object.entries(groups)) {
      if (!idx.length || name === 'all') continue;
      const row = name.startsWith('length ') ? byLength.get(name) : name.startsWith('type ') ? byType.get(name) : name === 'said' ? r.pattern?.matching : r.pattern?.rest;
      assertSame(row, expected[name], name);
    }
    assert.equal(byLength.size, Object.entries(groups).filter(([n, i]) => n.startsWith('length ') && i.length).length, 'no empty bucket shown');
    assert.deepEqual([...byType.keys()].sort(), Object.entries(groups).filter(([n, i]) => n.startsWith('type ') && i.length).map(([n]) => n).sort());
    assert.ok((r.pattern?.matching.count ?? 0) > 0, 'some sentences say "said"');
  });

  it('slices the training data by its flagged words, and the CLI prints the same figures', async () => {
    const opts = { python: PYTHON, packageRoot: ROOT, model: runDir, device: 'cpu' };
    const evaluation = await evaluateRun({ ...opts, data: { file: train, split: 'train', name: 'train-head' } });
    await findLabelErrors({ python: PYTHON, packageRoot: ROOT, run: runDir });
    const issues = (await readLabelIssues(runDir))?.issues ?? [];
    assert.ok(issues.length > 0 && issues.every((i) => i.word !== undefined), 'NER label issues name words');
    const s = await loadSlices(runDir, { evaluation: 'train-head' }, undefined);
    const r = s.report;
    assert.ok(r?.flagged, s.note);
    assert.equal(r.flagged.issues, issues.length);
    // Independently: a sentence is flagged when a flagged word's line lies inside it (CoNLL: one word a line).
    const sentences = conllSentences(train);
    const lines = new Set(issues.map((i) => i.source?.line));
    const flagged = sentences.flatMap((x, i) => (x.words.some((_, w) => lines.has(x.line + w)) ? [i] : []));
    assert.ok(flagged.length > 0 && flagged.length < sentences.length, `${flagged.length} of ${sentences.length} sentences flagged`);
    const expected = await seqeval(path.join(evaluation.out, 'predictions.jsonl'), { flagged, rest: sentences.flatMap((_, i) => (flagged.includes(i) ? [] : [i])) });
    assertSame(r.flagged.flagged, expected.flagged, 'with a flagged word');
    assertSame(r.flagged.rest, expected.rest, 'not flagged');
    assert.equal(r.flagged.flagged.name, 'with a flagged word');

    const json = await runCli(['analyze', 'slices', '--model', runDir, '--evaluation', 'train-head', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), JSON.parse(JSON.stringify(r)));
    const text = await runCli(['analyze', 'slices', '--model', runDir, '--evaluation', 'valid-head', '--regex', '^[A-Z]+\\b']);
    assert.equal(text.code, 0, text.stderr);
    const v = (await loadSlices(runDir, { evaluation: 'valid-head' }, undefined)).report?.entities;
    const pct = (x: number | null | undefined): string => `${(100 * (x ?? 0)).toFixed(1)}%`;
    assert.match(text.stdout, new RegExp(`^${conllSentences(dev).length} sentences of evaluation valid-head, entity F1 ${pct(v?.f1).replace('.', '\\.')} \\(precision [\\d.]+%, recall [\\d.]+%\\), token accuracy ${pct(v?.tokenAccuracy).replace('.', '\\.')}\n`));
    assert.match(text.stdout, /By entity type in the gold tags:\n {2}\s+count +P +R +F1 +tokens\n {2}[A-Z]+ +\d+ +[\d.]+%/);
    assert.match(text.stdout, new RegExp(`Likely label errors \\(${issues.length} words flagged in the run\\)`));
  });
});

describe('NER slices of purpose-built sentences', () => {
  const sentence = (index: number, tokens: string[], gold: string[], pred: string[], line: number | null): NerPredictionRow => ({
    index, text: tokens.join(' '), tokens, gold, pred, correct: gold.join() === pred.join(), source: line === null ? null : { file: '/w/train.txt', line },
  });

  it('counts an entity right only with its type and both ends, and an I- after O as an entity start (seqeval\'s default)', () => {
    const rows = [
      sentence(0, ['John', 'Smith', 'went', 'to', 'Paris'], ['B-PER', 'I-PER', 'O', 'O', 'B-LOC'], ['B-PER', 'O', 'O', 'O', 'B-ORG'], 1),
      sentence(1, ['New', 'York', 'Times'], ['B-ORG', 'I-ORG', 'I-ORG'], ['I-ORG', 'I-ORG', 'I-ORG'], 7),
      sentence(2, ['ok'], ['O'], ['O'], 11),
    ];
    const s = computeSlices(rows, { evaluation: 'e' });
    // Gold: PER(0-1), LOC(4), ORG(0-2); predicted: PER(0), ORG(4), ORG(0-2) (I- after the start opens it).
    const e = s.entities;
    assert.deepEqual({ ...e, f1: undefined }, { gold: 3, predicted: 3, matched: 1, precision: 1 / 3, recall: 1 / 3, f1: undefined, words: 9, correctWords: 6, tokenAccuracy: 6 / 9 });
    assert.ok(Math.abs((e?.f1 ?? 0) - 1 / 3) < 1e-12);
    assert.deepEqual(s.byLabel.map((x) => [x.name, x.count]), [['LOC', 1], ['ORG', 1], ['PER', 1], [NO_ENTITIES, 1]]);
    const none = s.byLabel.find((x) => x.name === NO_ENTITIES)?.entities;
    assert.deepEqual([none?.precision, none?.recall, none?.f1, none?.tokenAccuracy], [null, null, null, 1], 'no entities: nothing to divide by, not 0');
    assert.equal(s.byLength[0]?.entities?.gold, 3);
  });

  it('flags a sentence by a word\'s line (CoNLL: the sentence line plus the word; JSONL: the sentence line), else by its words', () => {
    const t = ['a', 'b', 'c'];
    const o = ['O', 'O', 'O'];
    const rows = [sentence(0, t, o, o, 1), sentence(1, t, o, o, 5), sentence(2, t, o, o, 9), sentence(3, ['x', 'y'], ['B-PER', 'O'], ['O', 'O'], null)];
    const issue = (line: number | null, token: number, word: string, given: string, text: string): LabelIssue => ({ rank: 1, example: 0, source: line === null ? null : { file: '/w/train.txt', line }, given, suggested: 'O', score: 0.9, text, word, token });
    const s = computeSlices(rows, { evaluation: 'e', issues: [issue(7, 2, 'c', 'O', 'a b c'), issue(1, 0, 'a', 'O', 'a b c'), issue(null, 0, 'x', 'B-PER', 'x y'), issue(10, 2, 'c', 'O', 'a b c')] });
    // Line 7 is word 2 of the sentence at 5; line 1 is the sentence at 1; line 10 is word 1 of the sentence at 9, not word 2: not it.
    assert.equal(s.flagged?.flagged.count, 3);
    assert.deepEqual(s.flagged?.flagged.entities?.gold, 1);
    assert.equal(s.flagged?.rest.count, 1);
  });

  it('counts a row whose tags do not match its words as unreadable, not as a sentence', () => {
    const good = { index: 0, text: 'a b', tokens: ['a', 'b'], gold: ['O', 'O'], pred: ['O', 'O'], correct: true, source: null };
    const { rows, invalid } = parsePredictions([JSON.stringify(good), JSON.stringify({ ...good, pred: ['O'] }), JSON.stringify({ ...good, tokens: 'a b' })].join('\n'));
    assert.equal(rows.length, 1);
    assert.equal(invalid, 2);
  });
});
