// Dataset cartography from a run's dynamics.jsonl: regions by confidence and variability, the most
// telling examples first, and `bert-studio analyze dynamics` listing them at their source lines.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDynamics, regionOf, summarize, type DynamicsRow } from '../../../src/core/analysis/cartography';
import { tmpDir } from '../datasets/helpers';
import { runCli } from '../runCli';

function row(example: number, probs: number[], gold = '1'): DynamicsRow {
  const mean = probs.reduce((a, b) => a + b, 0) / probs.length;
  const sd = Math.sqrt(probs.reduce((a, p) => a + (p - mean) ** 2, 0) / probs.length);
  return { example, source: { file: '/w/data/train.tsv', line: example + 2 }, gold, epochs: probs.length, gold_prob: probs, confidence: mean, variability: sd, correctness: probs.filter((p) => p > 0.5).length / probs.length };
}

describe('dataset cartography', () => {
  const rows = [
    row(0, [0.9, 0.95, 0.97]), // easy
    row(1, [0.1, 0.08, 0.05]), // hard: a likely label error
    row(2, [0.2, 0.7, 0.9]), // ambiguous: learnt late
    row(3, [0.3, 0.35, 0.3]), // hard, less so than 1
    row(4, [0.55, 0.6, 0.65]), // easy, barely
  ];

  it('puts each example in its region', () => {
    assert.deepEqual(rows.map(regionOf), ['easy', 'hard', 'ambiguous', 'hard', 'easy']);
  });

  it('summarizes with the most telling examples first', () => {
    const s = summarize(rows);
    assert.deepEqual(s.regions, { easy: 2, ambiguous: 1, hard: 2 });
    assert.equal(s.epochs, 3);
    assert.deepEqual(s.byRegion.hard.map((r) => r.example), [1, 3]);
    assert.deepEqual(s.byRegion.easy.map((r) => r.example), [0, 4]);
  });

  it('skips rows without figures and lines that are not JSON', () => {
    const text = [...rows.map((r) => JSON.stringify(r)), JSON.stringify({ ...rows[0], confidence: null }), 'oops', ''].join('\n');
    const { rows: parsed, skipped } = parseDynamics(text);
    assert.equal(parsed.length, 5);
    assert.equal(skipped, 2);
  });

  it('bert-studio analyze dynamics lists a region at its source lines, and says how to get dynamics', async () => {
    const run = tmpDir('bert-studio-carto-');
    fs.writeFileSync(path.join(run, 'spec.json'), '{"task": "sequence_classification"}');
    const none = await runCli(['analyze', 'dynamics', '--model', run]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no dynamics\.jsonl .* train it with record_dynamics true/);
    fs.writeFileSync(path.join(run, 'dynamics.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = await runCli(['analyze', 'dynamics', '--model', run, '--region', 'hard']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /5 training examples over 3 epochs: 2 easy to learn \(40\.0%\), 1 ambiguous \(20\.0%\), 2 hard to learn \(40\.0%\)/);
    const listed = out.stdout.split('\n').filter((l) => l.includes('train.tsv:'));
    assert.deepEqual(listed.map((l) => /train\.tsv:(\d+)/.exec(l)?.[1]), ['3', '5']);
    const bad = await runCli(['analyze', 'dynamics', '--model', run, '--region', 'medium']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--region "medium": use easy, ambiguous or hard/);
  });
});
