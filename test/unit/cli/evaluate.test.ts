// bert-studio evaluate and predict --input on a real (tiny) MRPC run: a file or an imported
// dataset's test split scored by the worker into <run>/evaluations/<name>/, the result in the
// run's events with its split; a whole file predicted with each row's source line.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../../src/cli/main';
import type { CliIo } from '../../../src/cli/io';
import { RunModel } from '../../../src/core/dashboard/model';
import { RunStore } from '../../../src/core/runs/store';
import { EVAL_PREFIX } from '../../../webview/dashboard/protocol';
import { studioLayout } from '../../../src/core/paths';
import { needSetup } from '../needSetup';
import { DATA, DEV_ROWS, mrpcRows, pairRunAvailable, RUN_ID, tinyPairRun, type PairRun } from '../inference/pairRun';

function capture(): { io: CliIo; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (d: Buffer) => (o += d.toString()));
  stderr.on('data', (d: Buffer) => (e += d.toString()));
  return { io: { stdout, stderr }, out: () => o, err: () => e };
}

interface Report { name: string; split: string; examples: number; out: string; metrics: Record<string, number> }

describe('bert-studio evaluate and predict --input', function () {
  this.timeout(600_000);
  let run: PairRun;
  let ws: string[];

  before(async function () {
    needSetup(this, pairRunAvailable(), 'the venv (scripts/setup.sh) and the shared MRPC data');
    run = await tinyPairRun();
    ws = ['--workspace', run.workspace];
  });

  it('scores a file and an imported test split the same way, into the run folder and its events', async () => {
    const file = capture();
    assert.equal(await main(['evaluate', '--model', RUN_ID, '--data', run.dev, '--json', ...ws], file.io), 0, file.err());
    const byFile = JSON.parse(file.out()) as Report;
    assert.equal(byFile.examples, DEV_ROWS);
    assert.equal(byFile.out, path.join(run.runDir, 'evaluations', 'dev-head'));
    const preds = fs.readFileSync(path.join(byFile.out, 'predictions.jsonl'), 'utf8').trim().split('\n');
    assert.equal(preds.length, DEV_ROWS);
    // TREC-style: train on one file, import another as the test split, evaluate on DATASET:test.
    const train = path.join(run.workspace, 'train-head.tsv');
    fs.writeFileSync(train, fs.readFileSync(path.join(DATA, 'mrpc', 'train.tsv'), 'utf8').split('\n').slice(0, 101).join('\n') + '\n');
    const imp = capture();
    assert.equal(await main(['dataset', 'import', train, '--test', run.dev, '--id', 'mrpc-small', ...ws], imp.io), 0, imp.err());
    const manifest = JSON.parse(fs.readFileSync(path.join(studioLayout(run.workspace).datasetsDir, 'mrpc-small', 'manifest.json'), 'utf8')) as { splits: Record<string, { count: number }> };
    assert.equal(manifest.splits.test.count, DEV_ROWS);
    const split = capture();
    assert.equal(await main(['evaluate', '--model', RUN_ID, '--data', 'mrpc-small:test', '--json', ...ws], split.io), 0, split.err());
    const bySplit = JSON.parse(split.out()) as Report;
    assert.equal(bySplit.name, 'mrpc-small-test');
    assert.deepEqual(bySplit.metrics, byFile.metrics, 'the snapshot of the same rows scores the same');
    // The dashboard's events: both evaluations, tagged, beside the validation eval.
    const evals = new RunStore(studioLayout(run.workspace).runsDir).events(RUN_ID).filter((e) => e.type === 'eval');
    const tagged = evals.filter((e) => e.type === 'eval' && e.split === 'test').map((e) => (e.type === 'eval' ? e.name : ''));
    assert.deepEqual(tagged.slice(-2), ['dev-head', 'mrpc-small-test']);
    assert.ok(evals.some((e) => e.type === 'eval' && e.split === undefined), 'the validation eval is still there');
    // The dashboard shows them beside the validation figures, not as points of the validation curve.
    const model = new RunModel();
    model.ingest(new RunStore(studioLayout(run.workspace).runsDir).events(RUN_ID));
    const report = model.evalReport();
    assert.deepEqual(report?.others?.map((o) => [o.name, o.split, o.metrics.accuracy]), [['dev-head', 'test', byFile.metrics.accuracy], ['mrpc-small-test', 'test', bySplit.metrics.accuracy]]);
    const validation = evals.filter((e) => e.type === 'eval' && e.split === undefined).length;
    const curve = model.snapshot().series.find((s) => s.name === `${EVAL_PREFIX}accuracy`);
    assert.equal(curve?.total, validation, 'one bucket per validation eval: the test evaluations are not on the curve');
  });

  it('names the fix for a missing split, an unknown dataset and a run without a model', async () => {
    const noSplit = capture();
    assert.equal(await main(['evaluate', '--model', RUN_ID, '--data', 'mrpc-small:validation', ...ws], noSplit.io), 2);
    assert.match(noSplit.err(), /no validation split .*Import it again with --validation FILE/);
    const unknown = capture();
    assert.equal(await main(['evaluate', '--model', RUN_ID, '--data', 'nosuch:test', ...ws], unknown.io), 2);
    assert.match(unknown.err(), /no imported dataset "nosuch".*dataset import/);
    const prefixed = path.join(run.workspace, 'trec-like.txt');
    fs.writeFileSync(prefixed, mrpcRows(run.dev).slice(0, 10).map((r) => `${r[0] === '1' ? 'SAME:yes' : 'DIFF:no'} ${r[3]}\n`).join(''));
    const lp = capture();
    assert.equal(await main(['evaluate', '--model', RUN_ID, '--data', prefixed, ...ws], lp.io), 2);
    assert.match(lp.err(), /label-prefixed lines .*import it as a test split first .*--label-prefixed --test trec-like\.txt/);
    const bare = path.join(studioLayout(run.workspace).runsDir, 'untrained');
    fs.mkdirSync(bare, { recursive: true });
    fs.copyFileSync(path.join(run.runDir, 'spec.json'), path.join(bare, 'spec.json'));
    const untrained = capture();
    assert.equal(await main(['evaluate', '--model', 'untrained', '--data', run.dev, ...ws], untrained.io), 2);
    assert.match(untrained.err(), /no trained model yet/);
    assert.doesNotMatch(untrained.err(), /Traceback|at .*\.js/);
  });

  it('predict --input writes one row per example with its source line, as JSONL and CSV', async () => {
    const rows = mrpcRows(run.dev);
    const outJsonl = path.join(run.workspace, 'dev.predictions.jsonl');
    const c = capture();
    assert.equal(await main(['predict', '--model', RUN_ID, '--input', run.dev, '--output', outJsonl, ...ws], c.io), 0, c.err());
    assert.match(c.err(), /examples\/s/);
    const got = fs.readFileSync(outJsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: number; text: string; text_pair: string; gold: string; label: string });
    assert.equal(got.length, DEV_ROWS);
    const worker = new Map(fs.readFileSync(path.join(run.runDir, 'evaluations', 'dev-head', 'predictions.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as { source: { line: number }; pred: string }).map((w) => [w.source.line, w.pred]));
    got.forEach((g, i) => {
      assert.equal(g.line, i + 2);
      assert.deepEqual([g.gold, g.text, g.text_pair], [rows[i][0], rows[i][3], rows[i][4]]);
      assert.equal(g.label, worker.get(g.line), `line ${g.line}: the worker's evaluation predicted the same`);
    });
    const outCsv = path.join(run.workspace, 'dev.predictions.csv');
    assert.equal(await main(['predict', '--model', RUN_ID, '--input', run.dev, '--output', outCsv, ...ws], capture().io), 0);
    const csv = fs.readFileSync(outCsv, 'utf8').trim().split('\n');
    assert.equal(csv[0], 'line,text,text_pair,gold,label,probability,labels,entities,truncated');
    assert.equal(csv.length, DEV_ROWS + 1);
    assert.ok(csv[1].startsWith('2,'));
    // Plain text, one example per line (blank lines skipped), and label-prefixed lines whose label is kept as gold.
    const txt = path.join(run.workspace, 'first.txt');
    fs.writeFileSync(txt, `${rows[0][3]}\n\n${rows[1][3]}\n`);
    const outTxt = path.join(run.workspace, 'first.jsonl');
    assert.equal(await main(['predict', '--model', RUN_ID, '--input', txt, '--output', outTxt, ...ws], capture().io), 0);
    assert.deepEqual(fs.readFileSync(outTxt, 'utf8').trim().split('\n').map((l) => { const o = JSON.parse(l) as { line: number; text: string }; return [o.line, o.text]; }), [[1, rows[0][3]], [3, rows[1][3]]]);
    const lp = path.join(run.workspace, 'prefixed.txt');
    fs.writeFileSync(lp, rows.slice(0, 6).map((r) => `__label__${r[0]} ${r[3]}\n`).join(''));
    const outLp = path.join(run.workspace, 'prefixed.jsonl');
    assert.equal(await main(['predict', '--model', RUN_ID, '--input', lp, '--output', outLp, ...ws], capture().io), 0);
    assert.deepEqual(fs.readFileSync(outLp, 'utf8').trim().split('\n').map((l) => { const o = JSON.parse(l) as { gold: string; text: string }; return [o.gold, o.text]; }), rows.slice(0, 6).map((r) => [r[0], r[3]]));
    const bad = capture();
    assert.equal(await main(['predict', '--model', RUN_ID, '--input', run.dev, '--output', path.join(run.workspace, 'x.txt'), ...ws], bad.io), 2);
    assert.match(bad.err(), /must end in \.jsonl or \.csv/);
  });
});
