// Multi-label sequence classification, host side: a set of labels per example, imported from JSONL
// label lists and from TSV cells split on a delimiter. The data is derived here from CoNLL-2003
// train.txt (each sentence labelled with the entity types it mentions, possibly none), never
// committed; expected counts come from that derivation.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main';
import { guessDataset } from '../../../src/core/datasets/detect';
import { importDataset, readManifest, snapshotRunInputs, type ImportResult } from '../../../src/core/datasets/snapshot';
import { snapshotStatistics } from '../../../src/core/datasets/stats';
import { whitespaceCounter } from '../../../src/core/datasets/tokenCount';
import type { DatasetDiagnostic, DatasetRequest, ProblemCode, QuickFix } from '../../../src/core/datasets/types';
import { validateDataset } from '../../../src/core/datasets/validate';
import { splitLabels } from '../../../src/core/runs/launch';
import { buildSpec, preflight } from '../../../src/core/runs/spec';
import { DATA, REPO, tmpDir } from './helpers';
import { needSetup } from '../needSetup';

interface Example {
  readonly text: string;
  readonly types: string[];
}

/** CoNLL-2003 sentences with the sorted set of entity types their gold tags mention. */
function conllExamples(file: string): Example[] {
  const out: Example[] = [];
  let tokens: string[] = [];
  let types = new Set<string>();
  const flush = (): void => {
    if (tokens.length) out.push({ text: tokens.join(' '), types: [...types].sort() });
    tokens = [];
    types = new Set();
  };
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const cells = line.trim().split(/\s+/);
    if (!line.trim() || cells[0] === '-DOCSTART-') {
      flush();
      continue;
    }
    tokens.push(cells[0]);
    const tag = cells[cells.length - 1];
    if (tag !== 'O') types.add(tag.slice(2));
  }
  flush();
  return out;
}

function tally(examples: readonly Example[]): { labels: Record<string, number>; perExample: Record<string, number> } {
  const labels: Record<string, number> = {};
  const perExample: Record<string, number> = {};
  for (const e of examples) {
    for (const t of e.types) labels[t] = (labels[t] ?? 0) + 1;
    perExample[e.types.length] = (perExample[e.types.length] ?? 0) + 1;
  }
  return { labels, perExample };
}

const jsonl = (xs: readonly Example[]): string => xs.map((e) => `${JSON.stringify({ text: e.text, label: e.types })}\n`).join('');
const tsv = (xs: readonly Example[]): string => `sentence\tlabel\n${xs.map((e) => `${e.text}\t${e.types.join('|')}\n`).join('')}`;

function readRecords(file: string): { text: string; label: unknown; source: { line: number } }[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { text: string; label: unknown; source: { line: number } });
}

/** Applies a quick fix's one-line edits to a file's text. */
function applyFix(text: string, fix: QuickFix): string {
  const lines = text.split('\n');
  for (const e of [...fix.edits].sort((a, b) => b.column - a.column)) {
    assert.equal(e.line, e.endLine, 'one-line edit');
    const l = lines[e.line - 1];
    lines[e.line - 1] = l.slice(0, e.column - 1) + e.newText + l.slice(e.endColumn - 1);
  }
  return lines.join('\n');
}

function only(diags: readonly DatasetDiagnostic[], code: ProblemCode): DatasetDiagnostic {
  const found = diags.filter((d) => d.code === code);
  assert.equal(found.length, 1, `one ${code}: ${JSON.stringify(found)}`);
  return found[0];
}

describe('datasets: multi-label classification (entity types of CoNLL-2003 sentences)', function () {
  this.timeout(120_000);
  const N_TRAIN = 3000;
  const N_DEV = 600;
  let dir: string;
  let datasets: string;
  let train: Example[];
  let dev: Example[];
  let expectedLabels: string[];

  before(function () {
    const conll = path.join(DATA, 'conll2003', 'train.txt');
    needSetup(this, fs.existsSync(conll), `shared CoNLL-2003 at ${conll}`);
    const all = conllExamples(conll);
    train = all.slice(0, N_TRAIN);
    dev = all.slice(N_TRAIN, N_TRAIN + N_DEV);
    expectedLabels = [...new Set(train.flatMap((e) => e.types))].sort();
    dir = tmpDir('bert-studio-ml-');
    datasets = path.join(dir, 'datasets');
    fs.writeFileSync(path.join(dir, 'train.jsonl'), jsonl(train));
    fs.writeFileSync(path.join(dir, 'dev.jsonl'), jsonl(dev));
    fs.writeFileSync(path.join(dir, 'train.tsv'), tsv(train));
    fs.writeFileSync(path.join(dir, 'dev.tsv'), tsv(dev));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  /** What every clean import of the derived set must hold. */
  async function checkSnapshot(result: ImportResult, delimiter: string | undefined): Promise<void> {
    assert.ok(result.ok, result.reason);
    const m = result.manifest;
    assert.ok(m && result.dir);
    assert.equal(m.multi_label, true);
    assert.equal(m.label_delimiter, delimiter);
    assert.equal(m.splits.train?.count, train.length);
    assert.equal(m.splits.validation?.count, dev.length);
    assert.deepEqual(m.labels, expectedLabels);
    assert.deepEqual(m.label_map, Object.fromEntries(expectedLabels.map((l, i) => [l, i])));
    // Frequency per individual label, and the labels-per-example histogram, per split.
    const t = tally(train);
    assert.deepEqual(m.splits.train?.labels, t.labels);
    assert.deepEqual(m.counts.train?.labelsPerExample, t.perExample);
    assert.deepEqual(m.counts.validation?.labelsPerExample, tally(dev).perExample);
    for (const code of ['label.unknown', 'label.emptyItem', 'label.duplicate', 'label.list', 'label.missing'] as const) assert.equal(m.problems.byCode[code], undefined, code);
    // Records hold label lists, in the source's order, pointing at their source lines.
    const header = delimiter ? 1 : 0;
    const recs = readRecords(path.join(result.dir, 'train.jsonl'));
    assert.equal(recs.length, train.length);
    recs.forEach((r, i) => {
      assert.deepEqual(r.label, train[i].types);
      assert.equal(r.text, train[i].text);
      assert.equal(r.source.line, i + 1 + header);
    });
    assert.ok(recs.some((r) => (r.label as string[]).length === 0), 'sentences without entities keep an empty set');
    assert.deepEqual(
      readRecords(path.join(result.dir, 'validation.jsonl')).map((r) => r.label),
      dev.map((e) => e.types),
    );
    // Statistics over the snapshot agree with the derivation.
    const stats = await snapshotStatistics(result.dir, m, { counter: whitespaceCounter, maxSeqLength: 128 });
    const s = stats.splits.find((x) => x.split === 'train');
    assert.deepEqual(s?.labels, t.labels);
    assert.deepEqual(s?.labelsPerExample, t.perExample);
  }

  it('JSONL label lists: detected as multi-label, imported as lists with the individual labels', async () => {
    const guess = await guessDataset(path.join(dir, 'train.jsonl'));
    assert.equal(guess.task, 'sequence_classification');
    assert.equal(guess.multiLabel, true);
    const request: DatasetRequest = { task: 'sequence_classification', format: 'jsonl', mapping: guess.mapping, multiLabel: guess.multiLabel, files: { train: path.join(dir, 'train.jsonl'), validation: path.join(dir, 'dev.jsonl') } };
    await checkSnapshot(await importDataset(request, datasets, { id: 'ml-jsonl' }), undefined);
  });

  it('TSV cells split on the chosen delimiter: the same snapshot, delimiter in the manifest', async () => {
    const guess = await guessDataset(path.join(dir, 'train.tsv'));
    assert.notEqual(guess.multiLabel, true, 'a TSV is not inferred: the user picks the delimiter');
    const request: DatasetRequest = { task: 'sequence_classification', format: 'tsv', mapping: { text: 'sentence', label: 'label' }, multiLabel: true, labelDelimiter: '|', files: { train: path.join(dir, 'train.tsv'), validation: path.join(dir, 'dev.tsv') } };
    await checkSnapshot(await importDataset(request, datasets, { id: 'ml-tsv' }), '|');
  });

  it('broken copies: empty item, duplicate label, unknown dev label and a list in a single-label import, at file:line with fixes', async () => {
    const bad = path.join(dir, 'broken');
    fs.mkdirSync(bad);
    // Rows with at least two types to break, and a dev row with PER to misspell.
    const two = train.map((e, i) => ({ e, i })).filter((x) => x.e.types.length >= 2);
    const a = two[0];
    const b = two[1];
    const d = dev.findIndex((e) => e.types.includes('PER'));
    assert.ok(a && b && d >= 0);
    const trainRows = train.map((e) => `${e.text}\t${e.types.join('|')}`);
    trainRows[a.i] = `${a.e.text}\t${a.e.types[0]}||${a.e.types.slice(1).join('|')}`;
    trainRows[b.i] = `${b.e.text}\t${[...b.e.types, b.e.types[0]].join('|')}`;
    const devRows = dev.map((e) => `${e.text}\t${e.types.join('|')}`);
    devRows[d] = `${dev[d].text}\t${dev[d].types.map((t) => (t === 'PER' ? 'PERS' : t)).join('|')}`;
    const trainFile = path.join(bad, 'train.tsv');
    const devFile = path.join(bad, 'dev.tsv');
    const trainText = `sentence\tlabel\n${trainRows.join('\n')}\n`;
    const devText = `sentence\tlabel\n${devRows.join('\n')}\n`;
    fs.writeFileSync(trainFile, trainText);
    fs.writeFileSync(devFile, devText);
    const report = await validateDataset({ task: 'sequence_classification', format: 'tsv', mapping: { text: 'sentence', label: 'label' }, multiLabel: true, labelDelimiter: '|', files: { train: trainFile, validation: devFile } });
    const diags = report.files.flatMap((f) => f.diagnostics);
    const good = tsv(train).split('\n');

    const empty = only(diags, 'label.emptyItem');
    assert.equal(empty.file, trainFile);
    assert.equal(empty.line, a.i + 2); // header + 1-based
    assert.ok(empty.fix);
    assert.equal(applyFix(trainText, empty.fix).split('\n')[a.i + 1], good[a.i + 1], 'the fix drops the empty item');

    const dup = only(diags, 'label.duplicate');
    assert.equal(dup.line, b.i + 2);
    assert.match(dup.message, new RegExp(`"${b.e.types[0]}" is listed twice`));
    assert.ok(dup.fix);
    assert.equal(applyFix(trainText, dup.fix).split('\n')[b.i + 1], good[b.i + 1], 'the fix drops the repeat');

    const unknown = only(diags, 'label.unknown');
    assert.equal(unknown.file, devFile);
    assert.equal(unknown.line, d + 2);
    const devLine = devText.split('\n')[d + 1];
    assert.equal(devLine.slice(unknown.column - 1, unknown.endColumn! - 1), 'PERS');
    assert.match(unknown.message, /Did you mean "PER"/);
    assert.ok(unknown.fix);
    assert.equal(applyFix(devText, unknown.fix).split('\n')[d + 1], tsv(dev).split('\n')[d + 1]);
    // Both broken rows stay in, deduplicated, as the trainer would read them.
    assert.equal(report.splits.train?.examples, train.length);

    // JSONL: the same problems inside a list, and a list label in a single-label mapping.
    const jl = train.map((e) => JSON.stringify({ text: e.text, label: e.types }));
    jl[a.i] = JSON.stringify({ text: a.e.text, label: [a.e.types[0], '', ...a.e.types.slice(1)] });
    jl[b.i] = JSON.stringify({ text: b.e.text, label: [...b.e.types, b.e.types[0]] });
    const jText = `${jl.join('\n')}\n`;
    const jFile = path.join(bad, 'train.jsonl');
    fs.writeFileSync(jFile, jText);
    const jr = await validateDataset({ task: 'sequence_classification', format: 'jsonl', mapping: { text: 'text', label: 'label' }, multiLabel: true, files: { train: jFile } });
    const jd = jr.files.flatMap((f) => f.diagnostics);
    const je = only(jd, 'label.emptyItem');
    assert.equal(je.line, a.i + 1);
    assert.deepEqual(JSON.parse(applyFix(jText, je.fix!).split('\n')[a.i]), { text: a.e.text, label: a.e.types });
    const jdup = only(jd, 'label.duplicate');
    assert.equal(jdup.line, b.i + 1);
    assert.deepEqual(JSON.parse(applyFix(jText, jdup.fix!).split('\n')[b.i]), { text: b.e.text, label: b.e.types });

    // Single-label mapping over strings, with one list: that row is an error that suggests multi-label.
    const single = train.map((e) => JSON.stringify({ text: e.text, label: e.types[0] ?? 'NONE' }));
    single[a.i] = JSON.stringify({ text: a.e.text, label: a.e.types });
    const sFile = path.join(bad, 'single.jsonl');
    fs.writeFileSync(sFile, `${single.join('\n')}\n`);
    const sr = await validateDataset({ task: 'sequence_classification', format: 'jsonl', mapping: { text: 'text', label: 'label' }, files: { train: sFile } });
    const list = only(sr.files.flatMap((f) => f.diagnostics), 'label.list');
    assert.equal(list.file, sFile);
    assert.equal(list.line, a.i + 1);
    assert.equal(list.severity, 'error');
    assert.match(list.message, /multi-label/);
    assert.equal(sr.splits.train?.examples, train.length - 1);
  });

  it('a run on the snapshot takes multi_label from the manifest; the trainer reads its JSONL', async function () {
    const inputs = await snapshotRunInputs(datasets, 'ml-tsv');
    assert.equal(inputs.multiLabel, true);
    assert.equal(inputs.trainCount, train.length);
    const spec = buildSpec({ task: inputs.task, model: 'default', train: inputs.train, validation: inputs.validation, labels: inputs.labels, multiLabel: inputs.multiLabel, datasetId: 'ml-tsv', training: { eval_steps: 50 } });
    assert.equal(spec.data.multi_label, true);
    assert.deepEqual(spec.data.labels, expectedLabels);
    assert.equal(spec.training.metric_for_best_model, 'micro_f1');
    const [trainLabels, validationLabels] = await Promise.all([splitLabels(spec.data.train, spec.task), splitLabels(spec.data.validation, spec.task)]);
    assert.deepEqual([...(trainLabels ?? [])].sort(), expectedLabels);
    assert.deepEqual(preflight({ spec, pythonPath: process.execPath, trainLabels, validationLabels }), []);
    // The manifest itself says it, for the wizard's own reader too.
    assert.equal((await readManifest(path.join(datasets, 'ml-tsv'))).multi_label, true);

    const python = path.join(REPO, '.venv', 'bin', 'python');
    needSetup(this, fs.existsSync(python), 'the venv Python (scripts/setup.sh)');
    const specFile = path.join(dir, 'spec.json');
    fs.writeFileSync(specFile, JSON.stringify(spec));
    // The worker's own spec validation and example loading (no training): labels and sets as written.
    const script = [
      'import json, sys',
      'from pathlib import Path',
      'from bert_studio_trainer.spec import parse_spec',
      'from bert_studio_trainer.tasks.classification import ClassificationTask',
      'spec = parse_spec(json.loads(Path(sys.argv[1]).read_text()))',
      'task = ClassificationTask(spec)',
      'tr = task.load_examples(Path(spec.data.train), "train")',
      'task.fit_labels(tr)',
      'va = task.load_examples(Path(spec.data.validation), "validation")',
      'print(json.dumps({"multi": task.multi_label, "labels": task.labels, "n": [len(tr), len(va)], "first": [r["label"] for r in tr[:50]]}))',
    ].join('\n');
    const out = JSON.parse(execFileSync(python, ['-c', script, specFile], { cwd: path.join(REPO, 'trainer'), encoding: 'utf8' }).trim().split('\n').pop() as string) as { multi: boolean; labels: string[]; n: number[]; first: string[][] };
    assert.equal(out.multi, true);
    assert.deepEqual(out.labels, expectedLabels);
    assert.deepEqual(out.n, [train.length, dev.length]);
    assert.deepEqual(out.first, train.slice(0, 50).map((e) => e.types));
  });

  it('CLI: dataset import --label-delimiter writes a multi-label snapshot; train --dataset needs no --multi-label', async () => {
    const ws = path.join(dir, 'ws');
    fs.mkdirSync(ws);
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: new Writable({ write: (c, _e, cb) => ((stdout += String(c)), cb()) }),
      stderr: new Writable({ write: (c, _e, cb) => ((stderr += String(c)), cb()) }),
    };
    const code = await main(['dataset', 'import', path.join(dir, 'train.tsv'), '--validation', path.join(dir, 'dev.tsv'), '--label-delimiter', '|', '--id', 'cli-ml', '--workspace', ws, '--json'], io);
    assert.equal(code, 0, stderr);
    const m = await readManifest(path.join(ws, '.bert-studio', 'datasets', 'cli-ml'));
    assert.equal(m.multi_label, true);
    assert.equal(m.label_delimiter, '|');
    assert.deepEqual(m.labels, expectedLabels);
    // A worker that exits at once (`true`): only the spec the CLI writes matters here.
    const t = await main(['train', '--dataset', 'cli-ml', '--workspace', ws, '--python', '/bin/true', '--set', 'eval_steps=50', '--detach', '--json'], io);
    assert.equal(t, 0, stderr);
    const run = JSON.parse(stdout.trim().split('\n').pop() as string) as { dir: string };
    const spec = JSON.parse(fs.readFileSync(path.join(run.dir, 'spec.json'), 'utf8')) as { data: Record<string, unknown>; training: Record<string, unknown> };
    assert.equal(spec.data.multi_label, true);
    assert.equal(spec.training.metric_for_best_model, 'micro_f1');
  });
});
