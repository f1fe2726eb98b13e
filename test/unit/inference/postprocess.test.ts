import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { continuesWord, InferenceEngine } from '../../../src/core/inference/engine';
import { readModelConfig } from '../../../src/core/inference/folder';
import { aggregateEntities, argMax, bestSpan, sigmoid, softmax, toClassification, topK, type TokenPrediction } from '../../../src/core/inference/postprocess';
import { dataDir, useFixtures } from './fixtures';

describe('inference post-processing', () => {
  it('merges B-/I- words into entities; sub-words extend their word', () => {
    const text = 'Angela Merkel visited Zürich';
    const t = (s: number, e: number, label: string, continuation = false, probability = 0.9) => ({ span: [s, e] as const, continuation, label, probability });
    const entities = aggregateEntities(text, [
      { span: null, continuation: false, label: 'O', probability: 1 },
      t(0, 6, 'B-PER'),
      t(7, 13, 'I-PER', false, 0.7),
      t(14, 21, 'O'),
      t(22, 25, 'B-LOC'),
      t(25, 28, 'O', true),
    ]);
    assert.deepEqual(entities.map((e) => [e.type, e.text]), [['PER', 'Angela Merkel'], ['LOC', 'Zürich']]);
    assert.ok(Math.abs(entities[0].probability - 0.8) < 1e-9);
    const split = aggregateEntities('a b', [t(0, 1, 'B-PER'), t(2, 3, 'B-PER')]);
    assert.equal(split.length, 2);
  });

  it('top-k is ordered and the answer span stays in the allowed tokens', () => {
    assert.deepEqual(topK([0.1, 0.5, 0.3, 0.9, 0.2], 3), [3, 1, 2]);
    const span = bestSpan([9, 0, 5, 1], [9, 0, 1, 6], [false, true, true, true]);
    assert.deepEqual([span?.start, span?.end], [2, 3]);
  });

  it('a multi-label model returns every label whose sigmoid reaches the threshold in its config', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bs-multilabel-'));
    try {
      const id2label = { 0: 'LOC', 1: 'MISC', 2: 'ORG', 3: 'PER' };
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ id2label, problem_type: 'multi_label_classification', multi_label_threshold: 0.4 }));
      const config = readModelConfig(dir);
      assert.equal(config.multiLabelThreshold, 0.4);
      const logits = [2.0, -3.0, -0.2, 0.5]; // sigmoid: 0.881, 0.047, 0.450, 0.622
      const c = toClassification(sigmoid(logits), config.labels, config.multiLabelThreshold);
      assert.deepEqual(c.labels, ['LOC', 'ORG', 'PER']);
      assert.equal(c.label, 'LOC');
      assert.ok(Math.abs(c.probabilities[2].probability - 1 / (1 + Math.exp(0.2))) < 1e-12);
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ id2label, problem_type: 'multi_label_classification' }));
      assert.equal(readModelConfig(dir).multiLabelThreshold, 0.5);
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ id2label }));
      assert.equal(readModelConfig(dir).multiLabelThreshold, undefined);
      const single = toClassification(softmax(logits), config.labels);
      assert.equal(single.labels, undefined);
      assert.equal(single.label, 'LOC');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('NER post-processing on real model output', function () {
  this.timeout(120_000);
  const fx = useFixtures();
  const engine = new InferenceEngine({ idleMs: 60_000 });
  after(() => engine.dispose());

  /** Each token's label the plain way: its own softmax array, the first most probable label, the span trimmed by regex. */
  async function reference(folder: string, labels: readonly string[], text: string): Promise<{ preds: TokenPrediction[]; rows: Float32Array[] }> {
    const enc = await engine.encode(folder, text);
    const [out] = await engine.logits(folder, [text]);
    const n = out.dims[2];
    const preds: TokenPrediction[] = [];
    const rows: Float32Array[] = [];
    enc.spans.forEach((span, i) => {
      const row = out.data.slice(i * n, (i + 1) * n);
      rows.push(row);
      if (!span) return;
      const max = Math.max(...row);
      const exps = Array.from(row, (x) => Math.exp(x - max));
      const sum = exps.reduce((a, b) => a + b, 0);
      const probs = exps.map((e) => e / sum);
      const best = probs.indexOf(Math.max(...probs));
      let [start, end] = span;
      while (start < end && /\s/.test(text[start])) start++;
      while (end > start && /\s/.test(text[end - 1])) end--;
      preds.push({ span: [start, end], continuation: continuesWord(enc, i), label: labels[best], probability: probs[best] });
    });
    return { preds, rows };
  }

  it('tokenClassify gives exactly the entities of a straightforward per-token softmax and argmax (CoNLL, SST-2, hostile texts)', async () => {
    const folder = path.join(fx.dir, 'token_classification');
    const labels = readModelConfig(path.join(folder, 'onnx')).labels;
    const conll = readFileSync(path.join(dataDir(), 'conll2003/valid.txt'), 'utf8').split(/\n\s*\n/).map((s) => s.split('\n').filter((l) => l && !l.startsWith('-DOCSTART-')).map((l) => l.split(' ')[0]).join(' ')).filter(Boolean).slice(0, 150);
    const sst2 = readFileSync(path.join(dataDir(), 'sst2/dev.tsv'), 'utf8').split('\n').slice(1, 101).map((r) => r.split('\t')[0]);
    const hostile = ['  Leading spaces in Paris  ', 'tabs\tand\r\nline breaks in Berlin', '', ' ', 'Zürich, São Paulo and 東京 😀 visited', ...fx.reference.offsets.map((c) => c.text)];
    let entities = 0;
    for (const text of [...conll, ...sst2, ...hostile]) {
      const { preds, rows } = await reference(folder, labels, text);
      const expected = aggregateEntities(text, preds);
      assert.deepEqual(await engine.tokenClassify(folder, text), expected, text);
      entities += expected.length;
      for (const row of rows) assert.equal(argMax(softmax(row)), topK(softmax(row), 1)[0]);
    }
    assert.ok(entities > 500, `${entities} entities compared`); // a model that tags everything O would compare nothing
  });

  it('argMax is topK(values, 1)[0]: the first of equal values, NaN as topK takes it; softmax into a given array', () => {
    for (const values of [[0.2, 0.7, 0.7, 0.1], [3, 3], [1], [NaN, 1, 2], [1, NaN, 0], [-Infinity, -Infinity, 5], [0, -0]]) assert.equal(argMax(values), topK(values, 1)[0], JSON.stringify(values));
    const out = new Float64Array(3).fill(9);
    assert.equal(softmax([1, 2, 3, 4], 1, 3, out), out);
    assert.deepEqual(out, softmax([2, 3, 4]));
  });
});
