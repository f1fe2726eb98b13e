import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readModelConfig } from '../../../src/core/inference/folder';
import { aggregateEntities, bestSpan, sigmoid, softmax, toClassification, topK } from '../../../src/core/inference/postprocess';

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
